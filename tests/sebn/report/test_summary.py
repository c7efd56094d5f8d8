"""`sebn report` against hand-computed IQMs, probabilities of improvement and bootstrap
intervals on a small fixed table of runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sebn.cli import main
from sebn.curricula.registry import curriculum_label
from sebn.report.summary import iqm, probability_of_improvement, stratified_interval, summarise

# final success on the hardest setting, and the first evaluation step reaching 0.5 (None: never)
TABLE = {
    "sebn": [(0.9, 2000), (0.7, 3000), (0.8, 2000), (0.1, None)],
    "uniform": [(0.5, 4000), (0.6, 3000), (0.2, None), (0.3, None)],
}
BUDGET = 5000


def write_runs(root, options=None):
    for curriculum, runs in TABLE.items():
        given = (options or {}).get(curriculum, {})
        for seed, (final, reach) in enumerate(runs):
            run_dir = root / "toy" / curriculum_label(curriculum, given) / f"seed{seed}"
            run_dir.mkdir(parents=True)
            (run_dir / "config.json").write_text(
                json.dumps(
                    {
                        "domain": "toy",
                        "curriculum": curriculum,
                        "seed": seed,
                        "steps": BUDGET,
                        "curriculum_options": given,
                    }
                )
            )
            (run_dir / "final.json").write_text(
                json.dumps(
                    {
                        "global_step": BUDGET,
                        "hardest": {"eval/success_rate": final},
                        "transfer": {"eval/success_rate": final / 2},
                    }
                )
            )
            rows = ["step,eval/success_rate"]
            for step in range(1000, BUDGET + 1, 1000):
                rows.append(f"{step},{0.6 if reach is not None and step >= reach else 0.1}")
            (run_dir / "evals.csv").write_text("\n".join(rows) + "\n")


def percentile_interval(strata, statistic, resamples=20_000, seed=1):
    """The stratified percentile bootstrap written out by hand, for comparison."""
    rng = np.random.default_rng(seed)
    draws = [statistic(*(s[rng.integers(0, len(s), len(s))] for s in strata)) for _ in range(resamples)]
    return np.percentile(draws, [2.5, 97.5])


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm([0.9, 0.7, 0.8, 0.1]) == pytest.approx((0.7 + 0.8) / 2)
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(4.5)
    assert iqm([3.0]) == 3.0


def test_probability_of_improvement_counts_pairs():
    sebn, uniform = [r for r, _ in TABLE["sebn"]], [r for r, _ in TABLE["uniform"]]
    wins = sum((x > y) + 0.5 * (x == y) for x in sebn for y in uniform)
    assert probability_of_improvement(sebn, uniform) == pytest.approx(wins / 16) == pytest.approx(12 / 16)


def test_intervals_match_a_bootstrap_by_hand():
    sebn = np.array([r for r, _ in TABLE["sebn"]])
    uniform = np.array([r for r, _ in TABLE["uniform"]])
    for strata, statistic in (([sebn], iqm), ([sebn, uniform], probability_of_improvement)):
        low, high = stratified_interval(strata, statistic)
        expected = percentile_interval(strata, statistic)
        assert low == pytest.approx(expected[0], abs=0.03) and high == pytest.approx(expected[1], abs=0.03)
    assert stratified_interval([np.array([0.4, 0.4, 0.4])], iqm) == pytest.approx((0.4, 0.4))
    assert stratified_interval([np.array([1.0, 1.0]), np.array([0.0])], probability_of_improvement) == (1.0, 1.0)


def test_summary_of_a_fixed_table(tmp_path):
    write_runs(tmp_path)
    (report,) = summarise([tmp_path])
    assert report.domain == "toy" and report.envs == ["hardest", "transfer"] and report.reference == "sebn"
    rows = {row.label: row for row in report.rows}
    assert [row.label for row in report.rows] == ["sebn", "uniform"]
    assert rows["sebn"].final["hardest"][0] == pytest.approx(0.75)
    assert rows["uniform"].final["hardest"][0] == pytest.approx(0.4)
    assert rows["uniform"].final["transfer"][0] == pytest.approx(0.2)
    # never reaching counts as the budget: sebn [2000, 3000, 2000, 5000] -> IQM of 2000, 3000
    assert rows["sebn"].to_threshold[0] == pytest.approx(2500) and rows["sebn"].reached == 3
    assert rows["uniform"].to_threshold[0] == pytest.approx(4500) and rows["uniform"].reached == 2
    # evaluations 0.1 before reaching, 0.6 after, at 1000..5000: sebn [0.5, 0.4, 0.5, 0.1] -> IQM 0.45
    assert rows["sebn"].during[0] == pytest.approx(0.45)
    assert rows["sebn"].improvement is None
    assert rows["uniform"].improvement[0] == pytest.approx(12 / 16)
    low, high = rows["sebn"].final["hardest"][1:]
    assert low <= 0.75 <= high and 0.1 <= low and high <= 0.9


def test_a_curriculum_name_stands_for_its_one_label(tmp_path):
    write_runs(tmp_path, options={"uniform": {"window": 3}})
    (report,) = summarise([tmp_path], reference="uniform")
    assert report.reference == "uniform-window=3"
    rows = {row.label: row for row in report.rows}
    assert rows["uniform-window=3"].improvement is None
    assert rows["sebn"].improvement[0] == pytest.approx(1 - 12 / 16)


def test_cli_writes_the_report_and_plots(tmp_path, capsys):
    write_runs(tmp_path)
    out = tmp_path / "report.md"
    assert main(["report", str(tmp_path), "-o", str(out)]) == 0
    text = out.read_text()
    assert "| sebn | 4 | 0.75 [" in text and ">= 4,500 [" in text and "(2/4)" in text and "| 0.75 [0.2" in text
    assert (tmp_path / "report_toy.png").stat().st_size > 0
    assert main(["report", str(tmp_path / "nothing"), "-o", str(out)]) == 2
    assert f"{tmp_path / 'nothing'}: no such directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "-o", str(out)]) == 2
    assert "no run directories" in capsys.readouterr().err


def test_a_curriculum_of_one_run_is_said_to_have_no_interval(tmp_path, capsys):
    write_runs(tmp_path)
    out = tmp_path / "report.md"
    assert (
        main(["report", str(tmp_path / "toy" / "uniform" / "seed0"), str(tmp_path / "toy" / "sebn"), "-o", str(out)])
        == 0
    )
    warning = "uniform: one run each, so each interval is that run's value"
    assert f"warning: toy: {warning}" in capsys.readouterr().err
    assert warning in out.read_text()


def test_a_run_with_one_evaluation_is_plotted_as_a_point(tmp_path):
    from sebn.report.plots import plot_runs
    from sebn.runner.experiment import run

    # the student evaluates at step 0 and every eval_every: past the budget, only the first
    run("student_doorkey", "uniform", steps=50, runs=tmp_path, agent_options={"eval_every": 1000}, progress=False)
    figure = plot_runs([tmp_path], tmp_path / "plot.png")
    (line,) = figure.axes[0].lines
    assert len(line.get_xdata()) == 1 and line.get_marker() == "o"
    assert (tmp_path / "plot.png").stat().st_size > 0
