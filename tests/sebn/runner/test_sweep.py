"""Sweeps on the simulated student: the process pool and a local Ray cluster give the same
runs for the same seeds, a killed sweep redoes only what was missing, a failed run is
recorded and the others finish, and a sweep that cannot run as asked stops before any run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sebn.cli import main
from sebn.core.records import read_jsonl
from sebn.runner.sweep import Job, Outcome, SweepError, on_pool, sweep

GRID = {
    "domain": "student_doorkey",
    "curricula": ["sebn-generation_size=50", "uniform"],
    "seeds": [0, 1],
    "steps": 400,
    "curriculum_options": {"sebn": {"generation_size": 70, "delta": 0.02}},
}

TWO_BY_TWO = "sweep student_doorkey --curricula sebn,uniform --seeds 0-1 --steps 200 --no-progress".split()
"""sebn and uniform, two seeds each, 200 steps: the sweep the checks below start."""


def episodes(runs, label, seed):
    return read_jsonl(runs / "student_doorkey" / label / f"seed{seed}" / "episodes.jsonl")


def test_a_ray_address_with_no_cluster_is_named(tmp_path):
    pytest.importorskip("ray")
    with pytest.raises(SweepError, match='--ray nonsense: no Ray cluster there .* give "auto"'):
        sweep(**GRID, runs=tmp_path, ray_address="nonsense", progress=False)


def test_pool_and_ray_give_identical_runs(tmp_path):
    ray = pytest.importorskip("ray")
    pool = sweep(**GRID, runs=tmp_path / "pool", workers=2, progress=False)
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        on_ray = sweep(**GRID, runs=tmp_path / "ray", ray_address="auto", progress=False)
    finally:
        ray.shutdown()
    assert [o.status for o in pool] == [o.status for o in on_ray] == ["done"] * 4
    sebn = (
        "sebn-delta=0.02-generation_size=50"  # the label's option wins over the flag's, the flag's other option stays
    )
    assert [(o.label, o.seed) for o in pool] == [(sebn, 0), ("uniform", 0), (sebn, 1), ("uniform", 1)]
    for label in (sebn, "uniform"):
        for seed in GRID["seeds"]:
            ran = episodes(tmp_path / "pool", label, seed)
            assert len(ran) == GRID["steps"] and ran == episodes(tmp_path / "ray", label, seed)
    assert episodes(tmp_path / "pool", sebn, 0) != episodes(tmp_path / "pool", sebn, 1)
    generations = read_jsonl(tmp_path / "pool" / "student_doorkey" / sebn / "seed0" / "generations.jsonl")
    assert len(generations) == GRID["steps"] // 50


def live_processes_in_group(group: int) -> list[int]:
    """Processes of a process group that are neither gone nor zombies (Linux ``/proc``)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


def test_a_killed_sweep_completes_only_what_was_missing(tmp_path):
    sweep = "sweep student_doorkey --curricula sebn,uniform --seeds 0-1 --steps 3000 --workers 1 --no-progress"
    command = [sys.executable, "-m", "sebn.cli", *sweep.split(), "--runs", str(tmp_path)]
    first_run = tmp_path / "student_doorkey" / "sebn" / "seed0"
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (first_run / "final.json").exists():
            assert time.monotonic() < deadline and process.poll() is None, "the first run did not finish"
            time.sleep(0.2)
    finally:
        process.kill()  # the sweep only: its worker must notice and stop
        process.wait()
    deadline = time.monotonic() + 10
    while live_processes_in_group(process.pid):
        assert time.monotonic() < deadline, "the killed sweep's worker went on"
        time.sleep(0.2)
    done_before = json.loads((first_run / "config.json").read_text())
    unfinished = [d for d in (tmp_path / "student_doorkey").glob("*/seed*") if not (d / "final.json").exists()]
    assert unfinished or pytest.skip("the sweep finished before it could be killed")

    assert main(command[3:]) == 0
    assert json.loads((first_run / "config.json").read_text()) == done_before  # not redone
    for label in ("sebn", "uniform"):
        for seed in (0, 1):
            assert len(episodes(tmp_path, label, seed)) == 3000
    summary = json.loads((tmp_path / "student_doorkey" / "sweep.json").read_text())
    assert [r["status"] for r in summary["runs"]] == ["done"] * 4


def test_a_failed_run_is_recorded_and_the_others_finish(tmp_path, capsys):
    # passes every check before the start, then cannot write its episodes
    blocked = tmp_path / "student_doorkey" / "uniform" / "seed1"
    (blocked / "episodes.jsonl").mkdir(parents=True)
    code = main([*TWO_BY_TWO, "--runs", str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    assert "3 of 4 runs complete" in out and f"failed: {blocked}" in out
    failed = json.loads((blocked / "failed.json").read_text())
    assert "Traceback" in failed["traceback"]
    for label, seed in (("sebn", 0), ("uniform", 0), ("sebn", 1)):
        assert len(episodes(tmp_path, label, seed)) == 200


def test_a_directory_holding_another_run_stops_the_sweep_before_any_run(tmp_path, capsys):
    clash = tmp_path / "student_doorkey" / "uniform" / "seed1"
    clash.mkdir(parents=True)
    (clash / "config.json").write_text(
        json.dumps({"domain": "student_doorkey", "curriculum": "uniform", "seed": 1, "steps": 5})
    )
    code = main([*TWO_BY_TWO, "--runs", str(tmp_path)])
    assert code == 2
    assert f"{clash} holds a different run (steps 5 there, 200 asked" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "student_doorkey",
        "student_doorkey/uniform",
        "student_doorkey/uniform/seed1",
        "student_doorkey/uniform/seed1/config.json",
    ]


@pytest.mark.parametrize(
    "option, message",
    [
        ("learning_rate=0.5", "student has no argument learning_rate; its arguments:"),
        ('rate="fast"', "student's rate takes float, got 'fast'"),
    ],
)
def test_a_bad_agent_option_stops_the_sweep_before_any_run(tmp_path, capsys, option, message):
    code = main(
        ["sweep", "student_doorkey", "--seeds", "0-1", "--steps", "200", "--no-progress"]
        + ["--runs", str(tmp_path), "--agent", option]
    )
    assert code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_sweep_of_another_student_labels_its_runs_and_an_unknown_one_stops_it(tmp_path, capsys):
    flags = ["--curricula", "uniform", "--seeds", "0", "--steps", "256", "--no-progress", "--runs", str(tmp_path)]
    ppo = [
        "--agent",
        "num_envs=2",
        "--agent",
        "num_steps=64",
        "--agent",
        "num_minibatches=2",
        "--agent",
        "update_epochs=1",
    ]
    assert main(["sweep", "bipedalwalker", *flags, "--algo", "ppo", *ppo, "--agent", "eval_episodes=1"]) == 0
    assert (
        json.loads((tmp_path / "bipedalwalker" / "uniform@ppo" / "seed0" / "config.json").read_text())["algo"] == "ppo"
    )
    assert main(["sweep", "bipedalwalker", *flags, "--algo", "dqn"]) == 2
    assert "trains with td3_fork, ppo (default td3_fork), not 'dqn'" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["--seeds 2-1", "--seeds x", "--curricula ,", "--workers 0"])
def test_bad_flags_are_explained(bad, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", "student_doorkey", *bad.split()])
    assert exit_.value.code == 2 and "error: argument" in capsys.readouterr().err


def test_curricula_the_domain_lacks_are_named(capsys):
    assert main(["sweep", "student_doorkey", "--curricula", "sebn,gradient-sum_norm"]) == 2
    assert "takes the curricula sebn, anti, uniform, target, alp-gmm, not gradient-sum_norm" in capsys.readouterr().err
    assert main(["sweep", "student_doorkey", "--curricula", "sebn-generation=20"]) == 2
    assert "sebn has no option 'generation' (its options: concentration, delta," in capsys.readouterr().err


def die_on_seed_1(job):
    """A stand-in for a run whose simulator kills its process."""
    if job.seed == 1:
        os._exit(3)
    return Outcome(job.label, job.seed, str(job.run_dir), "done")


def test_a_dead_worker_fails_its_run_only(tmp_path):
    jobs = [Job("student_doorkey", "uniform", "uniform", seed, 10, str(tmp_path), {}, {}) for seed in range(4)]
    outcomes = dict(on_pool(2, task=die_on_seed_1)(jobs))
    assert [outcomes[i].status for i in range(4)] == ["done", "failed", "done", "done"]
    assert "died" in outcomes[1].error
