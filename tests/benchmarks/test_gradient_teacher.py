"""The teacher benchmark's tables (steps to a milestone, teacher updates, the chosen tasks'
difficulty), on run directories whose records are known."""

import sys

import pytest
import torch

from benchmarks.gradient_teacher import difficulty, finished_count, main, milestones, section_tag
from tests.benchmarks.rundirs import cells, episode, write_run


def write_teacher_run(runs, seed, successes, updates, finished=True):
    """A mean_norm teacher run on PointMaze evaluated every 1,000 steps with these success
    rates, whose last checkpoint counts ``updates`` teacher updates."""
    steps = 1000 * len(successes)
    run = write_run(
        runs,
        "gradient",
        seed,
        [episode(1, {}, False)],
        domain="pointmaze",
        options={"reward": "mean_norm"},
        finished=False,
        steps=steps,
    )
    for step, success in enumerate(successes, 1):
        run.append_eval(1000 * step, {"eval/success_rate": success, "eval/episodic_return": 0.0})
    run.checkpoint.parent.mkdir()
    torch.save({"callbacks": {"curriculum": {"updates": updates}}}, run.checkpoint)
    if finished:
        run.write_final({"global_step": steps, "default": {"eval/success_rate": successes[-1]}})


def test_milestones_count_steps_to_success_and_updates_of_finished_runs_only(tmp_path):
    write_teacher_run(tmp_path, 0, [0.2, 0.5, 0.9], updates=30)
    write_teacher_run(tmp_path, 1, [0.6, 0.7, 0.7], updates=34)
    write_teacher_run(tmp_path, 2, [0.0], updates=3, finished=False)  # still going: counted by nobody
    row = cells(milestones(tmp_path / "pointmaze"), "gradient-mean_norm")
    assert row["env steps to success 0.5 (runs reaching)"].endswith("(2/2)")
    assert row["env steps to success 0.8 (runs reaching)"].startswith(">=") and row[
        "env steps to success 0.8 (runs reaching)"
    ].endswith("(1/2)")
    assert row["teacher updates per run"] == "32 [30, 34]"


def test_difficulty_takes_the_median_path_of_the_first_and_last_tenth_per_seed(tmp_path):
    for seed, late in enumerate((4, 8)):
        # Steps 1-100: the first tenth (1-10) is given paths of 2, the last tenth (91-100) `late`.
        paths = [2 if step <= 10 else late if step > 90 else 50 for step in range(1, 101)]
        records = [episode(step, {}, False, applied={"path": path}) for step, path in enumerate(paths, 1)]
        write_run(tmp_path, "gradient", seed, records, domain="pointmaze", options={"reward": "mean_norm"})
    old = [episode(step, {}, False, applied={"start": [1, 1]}) for step in (1, 2)]  # before the measure
    write_run(tmp_path, "uniform", 0, old, domain="pointmaze")
    lines = difficulty(tmp_path / "pointmaze")
    row = cells(lines, "gradient-mean_norm")
    assert row == {
        "start-to-goal path, cells: first tenth": "2.00 [2.00, 2.00]",
        "start-to-goal path, cells: last tenth": "6.00 [4.00, 8.00]",
    }
    assert not any(line.startswith("| uniform |") for line in lines)


def test_difficulty_is_empty_without_the_measure(tmp_path):
    write_run(tmp_path, "uniform", 0, [episode(1, {}, False)], domain="pointmaze")
    assert difficulty(tmp_path / "pointmaze") == []


def test_an_unknown_domain_is_refused_with_the_allowed_ones(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["gradient_teacher", "--domains", "pointmaze,hopper"])
    with pytest.raises(SystemExit):
        main()
    assert "--domains: unknown hopper; allowed: pointmaze, pointmaze_medium, adroit_relocate, antmaze" in (
        capsys.readouterr().err
    )


def test_finished_count_counts_finished_runs_and_a_domain_not_yet_started_as_none(tmp_path):
    write_run(tmp_path, "uniform", 0, [episode(1, {}, False)], domain="pointmaze")
    write_run(tmp_path, "uniform", 1, [episode(1, {}, False)], domain="pointmaze", finished=False)
    assert finished_count(tmp_path / "pointmaze") == 1
    assert finished_count(tmp_path / "antmaze") == 0


@pytest.mark.parametrize(
    "runs, tag",
    [
        ("runs/bench-teacher", ""),
        ("runs/bench-teacher-ppo", "_ppo"),
        ("runs/bench-teacher-ppo-1m", "_ppo_1m"),
        ("/tmp/my-runs", "_my_runs"),
    ],
)
def test_a_runs_directory_names_its_own_section(runs, tag):
    assert section_tag(runs) == tag


@pytest.mark.parametrize("flag", [["--steps", "0"], ["--seeds", "-1"], ["--others-seeds", "x"]])
def test_a_bad_budget_is_refused_with_what_is_allowed(monkeypatch, capsys, flag):
    monkeypatch.setattr(sys, "argv", ["gradient_teacher", *flag])
    with pytest.raises(SystemExit):
        main()
    error = capsys.readouterr().err
    assert f"argument {flag[0]}: expected a " in error and "integer" in error
