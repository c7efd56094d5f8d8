"""check, simulate, fit, score and show, from the command line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sebn.cli import main

SPEC = "specs/bipedalwalker.sebn"
THETA = {
    "move": [0.2, 0.5, 0.3],
    "climb": [0.5, 0.4, 0.1],
    "jump": [0.3, 0.4, 0.3],
    "balance": [0.2, 0.5, 0.3],
    "descend": [0.3, 0.5, 0.2],
}


@pytest.fixture
def theta_file(tmp_path):
    path = tmp_path / "theta.json"
    path.write_text(json.dumps({"theta": THETA}))
    return path


def test_check_valid_spec_exits_0_with_warnings(capsys):
    assert main(["check", SPEC]) == 0
    out = capsys.readouterr().out
    assert "405 settings" in out and "warning:" in out and "not identifiable" in out


def test_simulate_fit_score_round_trip(tmp_path, theta_file, capsys):
    episodes, fit_file = tmp_path / "episodes.jsonl", tmp_path / "fit.json"
    assert main(["simulate", SPEC, "--theta", str(theta_file), "-n", "3000", "--seed", "1", "-o", str(episodes)]) == 0
    lines = episodes.read_text().splitlines()
    assert len(lines) == 3000
    record = json.loads(lines[0])
    assert {"step", "task", "targets", "return", "length"} <= set(record)
    assert main(["fit", SPEC, str(episodes), "--method", "mle", "-o", str(fit_file)]) == 0
    fitted = json.loads(fit_file.read_text())
    assert fitted["method"] == "mle" and fitted["data"]["records"] == 3000
    assert all(abs(sum(p) - 1) < 1e-9 for p in fitted["theta"].values())
    capsys.readouterr()
    assert main(["score", SPEC, "--fit", str(fit_file), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 405
    assert set(rows[0]) == {"env", "target", "p"} and set(rows[0]["env"]) == {
        "ground_roughness",
        "pit_gap",
        "stump_height",
        "stair_width",
        "stair_steps",
    }
    assert main(["score", SPEC, "--fit", str(theta_file), "--top", "3"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 4 and table[0].split()[-2:] == ["target", "p"]
    probabilities = [float(line.split()[-1]) for line in table[1:]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_fit_nuts_writes_posterior_draws(tmp_path, capsys):
    spec = "specs/robosuite_door.sebn"
    theta = tmp_path / "t.json"
    theta.write_text(
        json.dumps({"theta": {"move_arm": [0.3, 0.7], "unlock": [0.5, 0.5], "open_door": [0.2, 0.5, 0.3]}})
    )
    episodes, fit_file = tmp_path / "e.jsonl", tmp_path / "f.json"
    assert main(["simulate", spec, "--theta", str(theta), "-n", "300", "-o", str(episodes)]) == 0
    assert main(["fit", spec, str(episodes), "--method", "nuts", "--samples", "100", "-o", str(fit_file)]) == 0
    assert "±" in capsys.readouterr().out
    assert len(json.loads(fit_file.read_text())["draws"]["open_door"]) == 100


def test_fit_warns_what_its_rollouts_cannot_identify_and_score_gives_intervals(tmp_path, capsys):
    spec = "specs/doorkey.sebn"
    theta = tmp_path / "t.json"
    theta.write_text(
        json.dumps(
            {
                "theta": {
                    "move": [0.2, 0.3, 0.5],
                    "pick_up": [0.3, 0.7],
                    "avoid_wall": [0.4, 0.6],
                    "open_door": [0.5, 0.5],
                }
            }
        )
    )
    episodes, no_wall, fit_file = tmp_path / "e.jsonl", tmp_path / "w.jsonl", tmp_path / "f.json"
    assert main(["simulate", spec, "--theta", str(theta), "-n", "1500", "--observe", "task", "-o", str(episodes)]) == 0
    kept = [line for line in episodes.read_text().splitlines() if json.loads(line)["task"]["wall"] == 0]
    no_wall.write_text("".join(f"{line}\n" for line in kept if json.loads(line)["task"]["target"] == "goalreached"))
    widths = {}
    for data, identified in ((episodes, 5), (no_wall, 3)):
        assert main(["fit", spec, str(data), "--method", "laplace", "--samples", "300", "-o", str(fit_file)]) == 0
        out = capsys.readouterr().out
        assert f"{identified} identifiable from these rollouts" in out
        assert ("cannot identify" in out) == (identified < 5)
        assert main(["score", spec, "--fit", str(fit_file), "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert all(r["p_low"] <= r["p"] <= r["p_high"] for r in rows)
        hardest = next(r for r in rows if r["env"] == {"distance": 0, "wall": 1, "exists_door": 1})
        widths[identified] = hardest["p_high"] - hardest["p_low"]
    assert "cannot identify log P(avoid_wall>=1)" in out and "cannot identify log P(open_door>=1)" in out
    # the hardest task hinges on avoid_wall and open_door, which rollouts without walls leave to the prior
    assert widths[3] > 1.5 * widths[5]  # 0.17 against 0.10
    assert main(["score", spec, "--fit", str(fit_file), "--top", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[-2:] == ["90%", "interval"]


def test_simulate_draws_with_the_theta_files_rates(tmp_path, capsys):
    spec, theta, episodes = tmp_path / "g.sebn", tmp_path / "t.json", tmp_path / "e.jsonl"
    spec.write_text("g : (| move=1)\n")
    theta.write_text(json.dumps({"theta": {"move": [0.0, 1.0]}, "rates": {"g": {"success": 0.5, "slip": 0.1}}}))
    assert main(["simulate", str(spec), "--theta", str(theta), "-n", "4000", "-o", str(episodes)]) == 0
    successes = [json.loads(line)["targets"]["g"] for line in episodes.read_text().splitlines()]
    assert abs(np.mean(successes) - 0.5) < 0.03  # the file's success rate, not the spec's 0.95
    theta.write_text(json.dumps({"theta": {"move": [0.0, 1.0]}, "rates": {"g": {"success": 0.1, "slip": 0.5}}}))
    assert main(["simulate", str(spec), "--theta", str(theta), "-n", "5", "-o", str(episodes)]) == 2
    assert "rates of g must have 0 < slip < success < 1" in capsys.readouterr().err


def test_fit_of_an_empty_file_exits_2(tmp_path, capsys):
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n\n")
    assert main(["fit", SPEC, str(empty), "-o", str(tmp_path / "f.json")]) == 2
    assert "holds no episodes" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["score", SPEC, "--fit", "missing.json"], "cannot read missing.json"),
        (["simulate", SPEC, "--theta", "specs/doorkey.sebn", "-n", "5", "-o", "x"], "not valid JSON"),
        (["fit", SPEC, "missing.jsonl", "-o", "x"], "cannot read"),
    ],
)
def test_bad_files_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_theta_not_matching_the_spec_exits_2(tmp_path, capsys):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"theta": {**THETA, "move": [0.5, 0.5]}}))
    assert main(["score", SPEC, "--fit", str(path)]) == 2
    assert "theta['move'] must be 3 probabilities" in capsys.readouterr().err


def test_unknown_target_exits_2(theta_file, capsys):
    assert main(["score", SPEC, "--fit", str(theta_file), "--target", "fly"]) == 2
    assert "unknown target 'fly'" in capsys.readouterr().err


def test_show_draws_a_png(tmp_path):
    out = tmp_path / "net.png"
    assert main(["show", "specs/doorkey.sebn", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_and_plot_name_an_output_they_cannot_write(tmp_path, capsys):
    assert main(["show", "specs/doorkey.sebn", "-o", "/proc/sebn/net.png"]) == 2
    assert capsys.readouterr().err.startswith("sebn show: error: cannot write /proc/sebn/net.png:")
    with pytest.raises(SystemExit):
        main(["plot", str(tmp_path), "-o", str(tmp_path / "curves.txt")])
    assert "argument -o/--output: expected an image file" in capsys.readouterr().err


def test_check_imports_neither_torch_nor_networkx():
    probe = (
        "import sys; from sebn.cli import main; main(['check', 'specs/doorkey.sebn']); "
        "print('torch' in sys.modules or 'networkx' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip().endswith("False"), result.stderr


BIG = "".join(f"env v{i} : 0..9\n" for i in range(30)) + "".join(f"g : (v{i}=0 | a{i}=1)\n" for i in range(4))
"""10^30 settings; g is likeliest (its success rate) wherever v0..v3 are all non-zero."""


@pytest.fixture
def big_spec(tmp_path):
    spec = tmp_path / "big.sebn"
    spec.write_text(BIG)
    theta = tmp_path / "theta.json"
    theta.write_text(json.dumps({"theta": {f"a{i}": [0.5, 0.5] for i in range(4)}}))
    return spec, theta


def test_score_of_a_space_too_large_to_list_asks_for_top(big_spec, capsys):
    spec, theta = big_spec
    assert main(["score", str(spec), "--fit", str(theta)]) == 2
    assert "1e+30 settings, too many to list (the limit is 250,000); --top K lists" in capsys.readouterr().err


def test_score_top_of_a_huge_space_finds_the_likeliest_settings(big_spec, capsys):
    spec, theta = big_spec
    assert main(["score", str(spec), "--fit", str(theta), "--top", "5", "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert len(rows) == 5 and "not guaranteed the likeliest of all" in captured.err
    assert all(row["p"] == pytest.approx(0.95) for row in rows)  # the success rate: no line applies
    assert all(all(row["env"][f"v{i}"] != 0 for i in range(4)) for row in rows)


def test_simulate_and_check_a_huge_space(big_spec, tmp_path, capsys):
    spec, theta = big_spec
    out = tmp_path / "rollouts.jsonl"
    assert main(["simulate", str(spec), "--theta", str(theta), "-n", "50", "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 50
    assert main(["check", str(spec)]) == 0
    assert "(1e+30 settings)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "text, where, message",
    [
        ("competency x : 0..100000\ng : (| x=1)\n", ":1:16:", "competency x has levels up to 100000, over the limit"),
        ("g : (| x=101)\n", ":1:10:", "level 101 is over the limit of 100"),
        ("env x : 0..100001\ng : (x=1 | m=1)\n", ":1:12:", "value 100001 is over the limit of 100,000"),
        ("g : (x>=1000000 | m=1)\n", ":1:9:", "value 1000000 is over the limit of 100,000"),
    ],
)
def test_domains_beyond_their_bounds_are_spec_errors(tmp_path, capsys, text, where, message):
    spec = tmp_path / "s.sebn"
    spec.write_text(text)
    assert main(["check", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}{where} error: {message}" in err


def test_check_of_one_variable_of_100001_values(tmp_path, capsys):
    spec = tmp_path / "wide.sebn"
    spec.write_text("env x : 0..100000\ng : (x>=500 | a=1)\ng : (x=77 | b=1)\n")
    assert main(["check", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "no requirement in 499 of 100,001 settings" in out and "2 identifiable" in out
