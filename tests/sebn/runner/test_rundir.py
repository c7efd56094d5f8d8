"""A run directory's files read back: what a killed writer leaves is skipped, anything else
that is not what the runner writes is named by file and line, for ``sebn report`` and
``sebn plot`` as one line and exit code 2."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sebn.cli import main
from sebn.runner.rundir import RunDir, RunsError
from tests.benchmarks.rundirs import episode, write_run


def a_run(tmp_path) -> RunDir:
    """A finished run as the runner writes it: two evaluations and one final one."""
    write_run(tmp_path, "uniform", 0, [episode(1, {}, True)])
    run = RunDir.of(tmp_path, "demo", "uniform", 0)
    run.write_config({**run.read_config(), "steps": 200})
    run.write_final({"global_step": 200, "default": {"eval/success_rate": 0.8, "eval/episodic_return": 5.0}})
    run.append_eval(100, {"eval/success_rate": 0.5, "eval/episodic_return": 3.0})
    run.append_eval(200, {"eval/success_rate": 0.75, "eval/episodic_return": 4.0})
    return run


def test_evaluations_come_back_by_column_and_a_torn_last_row_is_skipped(tmp_path):
    run = a_run(tmp_path)
    with run.evals_path.open("a") as f:
        f.write("300,0.9")  # a killed writer: no newline
    assert run.evals() == [
        {"step": "100", "eval/episodic_return": "3.0", "eval/success_rate": "0.5"},
        {"step": "200", "eval/episodic_return": "4.0", "eval/success_rate": "0.75"},
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ('garbage,"\n', r"evals.csv:1: expected a header step,<metric>,..., got 'garbage,\"'"),
        ("", "evals.csv:1: expected a header step,<metric>,..., got 'nothing'"),
        ("step,success_rate\n100,0.5\n200\n300,0.7\n", "evals.csv:3: expected 2 numbers, got '200'"),
        ("step,success_rate\n100,half\n", "evals.csv:2: expected 2 numbers, got '100,half'"),
    ],
)
def test_a_bad_evaluations_file_is_named_with_its_line(tmp_path, text, message):
    run = a_run(tmp_path)
    run.evals_path.write_text(text)
    with pytest.raises(RunsError, match=message):
        run.evals()


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("config.json", "{\n  'domain': 1}", r"config.json:2:3: not valid JSON"),
        ("final.json", "[1, 2]", "final.json: expected a JSON object, got list"),
    ],
)
def test_a_bad_json_file_of_a_run_is_named(tmp_path, name, text, message):
    run = a_run(tmp_path)
    (run.path / name).write_text(text)
    with pytest.raises(RunsError, match=message):
        run.read_config() if name == "config.json" else run.read_final()


@pytest.mark.parametrize(
    "command, name",
    [
        *(("report", name) for name in ("config.json", "final.json", "evals.csv", "episodes.jsonl")),
        *(("plot", name) for name in ("config.json", "evals.csv", "episodes.jsonl")),  # no final.json in a plot
    ],
)
def test_report_and_plot_name_a_damaged_file_in_one_line(tmp_path, capsys, command, name):
    run = a_run(tmp_path / "runs")
    (run.path / name).write_text('garbage,"\n')
    assert main([command, str(tmp_path / "runs"), "-o", str(tmp_path / "out.png")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"sebn {command}: error: {run.path / name}:") and error.count("\n") == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(codec="utf-8"), max_size=60))
def test_fuzzed_evaluations_files_are_read_or_named(tmp_path, text):
    run = a_run(tmp_path)
    run.evals_path.write_text(text, encoding="utf-8")
    try:
        rows = run.evals()
    except RunsError as error:
        assert str(error).startswith(f"{run.evals_path}:")
    else:
        assert all(set(row) == set(rows[0]) for row in rows)


def test_a_metric_the_run_did_not_record_is_named(tmp_path, capsys):
    run = a_run(tmp_path / "runs")
    run.evals_path.write_text("step,eval/episodic_return\n100,3.0\n")
    code = main(["plot", str(tmp_path / "runs"), "-o", str(tmp_path / "out.png")])
    assert code == 0  # the default metric: the success rate when recorded, else the return
    assert main(["report", str(tmp_path / "runs"), "-o", str(tmp_path / "out.png"), "--metric", "success_rate"]) == 2
    assert (
        f"{run.evals_path}: no column eval/success_rate (it has step, eval/episodic_return)" in capsys.readouterr().err
    )
