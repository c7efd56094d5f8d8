"""One experiment end to end: every file written, a complete run skipped, a killed run
resumed with no episode lost or counted twice."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from domains.pointmaze import MazeTaskEnv
from sebn.cli import main
from sebn.core.records import read_jsonl
from sebn.report.plots import plot_runs
from sebn.runner import experiment
from sebn.runner.domains import DOMAINS, load_domain
from sebn.runner.experiment import ExperimentError, check_agent_options, plan_run, run

SMALL = {"hidden_sizes": [16], "num_envs": 4, "num_steps": 64, "eval_every": 1024, "eval_episodes": 2}
FLAGS = [
    "--steps",
    "6144",
    "--generation-size",
    "10",
    "--checkpoint-every",
    "512",
    "--no-progress",
    *(f"--agent={k}={json.dumps(v)}" for k, v in SMALL.items()),
]


def small_run(tmp_path, **changes):
    """A 3,072-step DoorKey run with SEBN and a small agent, checkpointed every 1,024 steps."""
    asked = {"seed": 0, "steps": 3072, "curriculum_options": {"generation_size": 10}, "agent_options": SMALL}
    return run("doorkey", "sebn", runs=tmp_path, checkpoint_every=1024, progress=False, **{**asked, **changes})


def test_a_short_run_writes_every_file(tmp_path, capsys):
    run_dir = small_run(tmp_path)
    assert run_dir == tmp_path / "doorkey" / "sebn-generation_size=10" / "seed0"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["domain"] == "doorkey" and config["seed"] == 0 and config["version"]
    assert config["started"] and config["finished"]
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", config["commit"])  # the tests run in a git checkout
    assert config["agent_args"]["options"] == 3
    episodes = read_jsonl(run_dir / "episodes.jsonl")
    assert episodes and all({"step", "task", "targets", "return", "length", "ticket"} <= set(e) for e in episodes)
    assert all(e["task"]["target"] in e["targets"] for e in episodes)
    generations = read_jsonl(run_dir / "generations.jsonl")
    assert [g["generation"] for g in generations] == list(range(1, len(episodes) // 10 + 1))
    assert abs(sum(generations[-1]["p"]) - 1) < 1e-9
    with (run_dir / "evals.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1024, 2048, 3072] and "eval/success_rate" in rows[0]
    final = json.loads((run_dir / "final.json").read_text())
    assert set(final) == {"global_step", "hardest", "transfer_16x16", "transfer_32x32"}
    assert list(run_dir.glob("events.out.tfevents.*"))
    checkpoint = torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)
    assert checkpoint["callbacks"]["delivered"] == len(episodes)

    mtime = (run_dir / "config.json").stat().st_mtime
    capsys.readouterr()
    assert small_run(tmp_path) == run_dir  # complete: skipped, and said so
    assert f"{run_dir} is already complete: nothing to run" in capsys.readouterr().err
    assert (run_dir / "config.json").stat().st_mtime == mtime
    with pytest.raises(ExperimentError, match="holds a different run"):
        small_run(tmp_path, steps=9999)


def kill_past_checkpoint(command: list[str], run_dir, ready=lambda saved: True) -> None:
    """Start ``command`` and SIGKILL it once a checkpoint whose callback state passes
    ``ready`` exists and episodes were recorded beyond it."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = run_dir / "checkpoints" / "latest.pt"
    deadline = time.time() + 120
    saved, loaded_version = None, None
    while time.time() < deadline and process.poll() is None:
        try:
            version = checkpoint.stat().st_mtime_ns
            if version != loaded_version:  # loading every poll took a tenth of the CPU the run needs
                saved, loaded_version = torch.load(checkpoint, weights_only=True)["callbacks"], version
        except FileNotFoundError:  # none yet, or between the two renames of a save (Checkpointer.save)
            saved, loaded_version = None, None
        if saved is not None and ready(saved):
            recorded = len((run_dir / "episodes.jsonl").read_text().splitlines())
            if recorded > saved["delivered"] + 3:
                break
        time.sleep(0.05)
    assert process.poll() is None, process.stderr.read().decode()
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_killed_run_resumes_without_losing_or_repeating_episodes(tmp_path):
    command = [sys.executable, "-m", "sebn.cli", "run", "doorkey", "--runs", str(tmp_path), *FLAGS]
    run_dir = tmp_path / "doorkey" / "sebn-generation_size=10" / "seed0"
    checkpoint = run_dir / "checkpoints" / "latest.pt"
    kill_past_checkpoint(command, run_dir)
    before = read_jsonl(run_dir / "episodes.jsonl")
    at_kill = len(before)
    saved = torch.load(checkpoint, weights_only=True)["callbacks"]["delivered"]
    assert not json.loads((run_dir / "config.json").read_text()).get("finished")

    resume_point = torch.load(checkpoint, weights_only=True)["counters"]["global_step"]
    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0
    assert f"resuming from step {resume_point:,} ({checkpoint})" in resumed.stderr
    episodes = read_jsonl(run_dir / "episodes.jsonl")
    tickets = [e["ticket"] for e in episodes]
    assert len(tickets) == len(set(tickets))  # none counted twice
    assert episodes[:saved] == before[:saved]  # those the checkpoint knew are kept as they were
    steps = [e["step"] for e in episodes]
    assert steps == sorted(steps)
    final = torch.load(checkpoint, weights_only=True)["callbacks"]
    assert final["delivered"] == len(episodes) and at_kill > saved  # the records after the checkpoint were cut
    assert final["curriculum"]["generation"] == len(read_jsonl(run_dir / "generations.jsonl"))
    with (run_dir / "evals.csv").open() as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1024, 2048, 3072, 4096, 5120, 6144]


def test_cli_reports_bad_flags(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "gridland"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'gridland'" in capsys.readouterr().err
    assert main(["run", "doorkey", "--curriculum", "uniform", "--generation-size", "5", "--runs", str(tmp_path)]) == 2
    assert "--generation-size applies to the sebn and anti curricula" in capsys.readouterr().err
    assert main(["run", "doorkey", "--curriculum", "target", "--window", "3", "--runs", str(tmp_path)]) == 2
    assert "--window applies to the sebn and anti curricula" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "doorkey", "--delta", "-1"])
    assert "expected a non-negative number, got '-1'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "doorkey", "--seed", "-1"])
    assert "argument --seed: expected a non-negative integer, got '-1'" in capsys.readouterr().err
    assert main(["run", "doorkey", "--agent", "hiden_sizes=[8]", "--no-progress", "--runs", str(tmp_path)]) == 2
    assert "ppo_options has no argument hiden_sizes; its arguments:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, message",
    [
        ({"hiden_sizes": [8]}, "ppo has no argument hiden_sizes"),
        ({"learning_rate": "3e-4"}, "ppo's learning_rate takes float, got '3e-4'"),
        ({"hidden_sizes": [64, 64.5]}, "ppo's hidden_sizes takes list[int], got [64, 64.5] (item 1 of list"),
        ({"num_envs": 2.5}, "ppo's num_envs takes int, got 2.5"),
        ({"target_kl": "none"}, "ppo's target_kl takes float | None, got 'none'"),
    ],
)
def test_agent_options_are_checked_by_name_and_type(options, message):
    with pytest.raises(ExperimentError) as error:
        check_agent_options("ppo", options)
    assert message in str(error.value)


def test_agent_options_of_the_right_types_pass():
    check_agent_options("ppo", {"learning_rate": 1, "hidden_sizes": [8, 8], "target_kl": None, "env_id": "CartPole-v1"})
    check_agent_options("sac", {"preset": "gradient-paper", "target_network_frequency": 2})


@pytest.mark.parametrize(
    "options, message",
    [
        ({"delta": "x"}, "sebn's delta takes float, got 'x'"),
        ({"method": "foo"}, "curriculum sebn-method=foo: method must be one of mle, map, svi, laplace, nuts"),
        ({"generation_size": 0}, "curriculum sebn-generation_size=0: generation_size and window must be at least 1"),
    ],
)
def test_bad_curriculum_options_stop_the_run_before_it_writes(tmp_path, options, message):
    with pytest.raises(ExperimentError) as error:
        run("student_doorkey", "sebn", steps=100, runs=tmp_path, curriculum_options=options, progress=False)
    assert message in str(error.value)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "domain, algo, options, message",
    [
        ("pointmaze", "ppo", {"num_steps": -3}, "ppo: num_steps must be > 0, got -3"),
        ("pointmaze", "sac", {"gamma": 1.5}, "sac: gamma must be in [0, 1], got 1.5"),
        ("bipedalwalker", "td3_fork", {"hidden_sizes": [64, 0]}, "td3_fork: hidden_sizes must be > 0 (each item)"),
        ("student_doorkey", None, {"rate": -0.1}, "student: rate must be >= 0, got -0.1"),
    ],
)
def test_agent_options_out_of_range_stop_the_run_before_it_writes(tmp_path, domain, algo, options, message):
    with pytest.raises(ExperimentError) as error:
        plan_run(domain, "uniform", steps=100, runs=tmp_path, agent_options=options, algo=algo)
    assert message in str(error.value)
    assert not list(tmp_path.iterdir())


def test_a_runs_directory_that_cannot_be_made_is_named():
    runs = "/proc/sebn-runs"  # procfs takes no new directories, even from root
    with pytest.raises(ExperimentError, match=f"runs directory {runs}: cannot create it"):
        plan_run("student_doorkey", "uniform", steps=10, runs=runs)


def test_a_budget_of_no_steps_is_refused_not_replaced_by_the_default(tmp_path):
    with pytest.raises(ExperimentError, match="steps must be at least 1"):
        plan_run("student_doorkey", "uniform", steps=0, runs=tmp_path)


def test_plot_of_runs(tmp_path, capsys):
    small_run(tmp_path)
    out = tmp_path / "plot.png"
    assert main(["plot", str(tmp_path / "doorkey"), "-o", str(out), "--ema", "0.5"]) == 0
    assert out.stat().st_size > 0
    assert main(["plot", str(tmp_path / "nothing"), "-o", str(out)]) == 2
    assert f"{tmp_path / 'nothing'}: no such directory" in capsys.readouterr().err


TINY_SAC = {
    "preset": "none",
    "hidden_sizes": [16],
    "batch_size": 32,
    "learning_starts": 200,
    "eval_every": 400,
    "eval_episodes": 1,
}


TINY_PPO = {"num_steps": 256, "num_minibatches": 4, "update_epochs": 2, "hidden_sizes": [16]}


def test_a_ppo_student_feeds_the_gradient_teacher_by_rollouts(tmp_path):
    tiny = {**TINY_PPO, "eval_every": 512}
    options = {"reward": "mean_norm", "batch_size": 2}
    run_dir = run(
        "pointmaze",
        "gradient",
        steps=1024,
        runs=tmp_path,
        curriculum_options=options,
        agent_options=tiny,
        algo="ppo",
        progress=False,
    )
    assert run_dir.parent.name == "gradient-mean_norm-batch_size=2@ppo"
    episodes = read_jsonl(run_dir / "episodes.jsonl")
    # every episode waited for the updates of its rollouts: 8 minibatch updates each (2 epochs x 4)
    assert episodes and all(e["gradients"]["updates"] % 8 == 0 and e["gradients"]["updates"] > 0 for e in episodes)
    state = torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)["callbacks"]["curriculum"]
    assert state["updates"] >= 1


def test_clear_buffer_is_refused_for_a_student_without_a_replay_buffer(tmp_path):
    options = {"reward": "mean_norm", "clear_buffer": True}
    with pytest.raises(ExperimentError, match="ppo keeps none"):
        experiment.plan_run("pointmaze", "gradient", runs=tmp_path, curriculum_options=options, algo="ppo")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("curriculum", ["gradient", "uniform", "target"])
def test_pointmaze_runs_with_the_space_curricula(tmp_path, curriculum):
    options = {"reward": "sum_norm", "batch_size": 2, "clear_buffer": True} if curriculum == "gradient" else {}
    run_dir = run(
        "pointmaze",
        curriculum,
        seed=1,
        steps=800,
        runs=tmp_path,
        curriculum_options=options,
        agent_options=TINY_SAC,
        progress=False,
    )
    label = "gradient-sum_norm-batch_size=2-clear_buffer=true" if curriculum == "gradient" else curriculum
    assert run_dir == tmp_path / "pointmaze" / label / "seed1"
    episodes = read_jsonl(run_dir / "episodes.jsonl")
    assert episodes and all(set(e["targets"]) == {"goalreached"} for e in episodes)
    state = torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)["callbacks"]["curriculum"]
    if curriculum == "gradient":
        assert all(e["gradients"]["updates"] >= 0 for e in episodes)
        assert any(e["gradients"]["sum_norm"] > 0 for e in episodes)
        assert state["updates"] >= 1
    elif curriculum == "target":
        assert all(e["task"] == {} for e in episodes)
    else:
        assert all(0 <= x <= 1 for e in episodes for x in e["task"]["start"] + e["task"]["goal"])
    assert json.loads((run_dir / "final.json").read_text())["default"]["eval/episodic_length"] > 0


def test_curricula_are_checked_against_the_domain(tmp_path):
    with pytest.raises(
        ExperimentError, match="domain pointmaze takes the curricula gradient, uniform, target, not 'sebn'"
    ):
        run("pointmaze", "sebn", steps=100, runs=tmp_path, progress=False)
    with pytest.raises(
        ExperimentError, match="domain doorkey takes the curricula sebn, anti, uniform, target, alp-gmm"
    ):
        run("doorkey", "gradient", steps=100, runs=tmp_path, progress=False)


def test_a_short_run_still_gets_five_training_time_evaluations(tmp_path):
    from sebn.runner.experiment import plan_run

    assert plan_run("doorkey", "uniform", steps=8000, runs=tmp_path).arguments["eval_every"] == 1600
    assert plan_run("doorkey", "uniform", steps=300_000, runs=tmp_path).arguments["eval_every"] == 10_000
    asked = plan_run("doorkey", "uniform", steps=8000, runs=tmp_path, agent_options={"eval_every": 0})
    assert asked.arguments["eval_every"] == 0  # what the user asks for stands


def test_a_runs_path_through_a_file_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "notes").write_text("not a directory")
    for runs in (tmp_path / "notes", tmp_path / "notes" / "deeper"):
        with pytest.raises(ExperimentError, match=r"notes is a file, not a directory"):
            run("student_doorkey", "sebn", steps=100, runs=runs, progress=False)


def test_killed_teacher_run_resumes_after_teacher_updates(tmp_path):
    command = [
        sys.executable,
        "-m",
        "sebn.cli",
        "run",
        "pointmaze",
        "--curriculum",
        "gradient",
        "--teacher-batch",
        "4",
        "--steps",
        "4800",
        "--checkpoint-every",
        "2400",  # 8 of the maze's 300-step episodes: room for more to be recorded past a checkpoint
        "--no-progress",
        "--runs",
        str(tmp_path),
        *(f"--agent={k}={json.dumps(v)}" for k, v in {**TINY_SAC, "eval_every": 3000}.items()),
    ]
    run_dir = tmp_path / "pointmaze" / "gradient-mean_norm-batch_size=4" / "seed0"
    # the checkpoint's teacher has updated, and the first episodes after it do not complete a batch
    kill_past_checkpoint(
        command,
        run_dir,
        ready=lambda saved: saved["curriculum"]["updates"] >= 1 and len(saved["curriculum"]["batch"]) <= 2,
    )
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    tickets = [e["ticket"] for e in read_jsonl(run_dir / "episodes.jsonl")]
    assert len(tickets) == len(set(tickets))
    assert json.loads((run_dir / "config.json").read_text())["finished"]


def short_teacher_run(tmp_path, domain: str, steps: int, algo: str = "sac"):
    """The gradient-norm teacher (batches of 2 decisions) and a tiny student, evaluated at the end."""
    agent = {**TINY_SAC, "learning_starts": 100} if algo == "sac" else dict(TINY_PPO)
    options = {"curriculum_options": {"batch_size": 2}, "agent_options": {**agent, "eval_every": steps}}
    return run(domain, "gradient", steps=steps, runs=tmp_path, algo=algo, progress=False, **options)


@pytest.mark.parametrize("algo", ["sac", "ppo"])
@pytest.mark.parametrize(
    "domain,steps", [("antmaze", 1000), ("adroit_relocate", 450)]
)  # episodes: up to 700 and 200 steps
def test_other_teacher_domains_run_with_each_student(tmp_path, domain, steps, algo):
    run_dir = short_teacher_run(tmp_path, domain, steps, algo)
    episodes = read_jsonl(run_dir / "episodes.jsonl")
    assert episodes and any(e["gradients"]["updates"] > 0 for e in episodes)


@pytest.mark.parametrize("module", sorted(set(DOMAINS.values())))
def test_domain_modules_run_as_scripts(module):
    done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--curriculum" in done.stdout


@pytest.mark.parametrize(
    "domain,pictures",
    [
        ("adroit_relocate", ["the curriculum: difficulty"]),
        ("pointmaze", ["the curriculum: difficulty", "start cells chosen", "goal cells chosen"]),
    ],
)
def test_plot_of_teacher_runs_shows_what_was_chosen(tmp_path, domain, pictures):
    run_dir = short_teacher_run(tmp_path, domain, 450)
    episodes = read_jsonl(run_dir / "episodes.jsonl")
    if domain == "adroit_relocate":
        assert all(e["applied"]["distance"] > 0 for e in episodes)
    else:
        maze = MazeTaskEnv()
        assert all(
            e["applied"]["path"] == maze.path_length(e["applied"]["start"], e["applied"]["goal"]) for e in episodes
        )
    out = tmp_path / "teacher.png"
    assert main(["plot", str(tmp_path), "-o", str(out)]) == 0 and out.stat().st_size > 0
    figure = plot_runs([tmp_path], out, metrics=["success_rate", "episodic_return"])
    panels = [ax for ax in figure.axes if ax.get_title()]  # not the colour bars
    assert [ax.get_title().split(" (")[0] for ax in panels] == ["evaluation", "evaluation", *pictures]
    assert [ax.get_ylabel() for ax in panels[:2]] == ["success rate", "episodic return"]


def test_a_run_made_with_other_agent_arguments_is_not_reused(tmp_path):
    run_dir = run("student_doorkey", "uniform", seed=0, steps=50, runs=tmp_path, progress=False)
    config = json.loads((run_dir / "config.json").read_text())
    config["agent_args"]["rate"] = 0.5  # as if the domain file had changed the student since
    (run_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ExperimentError, match=r"other agent arguments \(rate;"):
        run("student_doorkey", "uniform", seed=0, steps=50, runs=tmp_path, progress=False)


def test_a_run_of_another_domain_version_is_not_reused(tmp_path, monkeypatch):
    run_dir = run("student_doorkey", "uniform", seed=0, steps=50, runs=tmp_path, progress=False)
    assert json.loads((run_dir / "config.json").read_text())["domain_version"] == 1
    changed = dataclasses.replace(load_domain("student_doorkey"), version=2)  # as if the env had changed since
    monkeypatch.setattr(experiment, "load_domain", lambda name: changed)
    with pytest.raises(
        ExperimentError, match="holds a run of student_doorkey version 1, and the domain is at version 2"
    ):
        run("student_doorkey", "uniform", seed=0, steps=50, runs=tmp_path, progress=False)


def test_run_directories_of_other_options_sit_side_by_side(tmp_path):
    first = run(
        "student_doorkey", "sebn", steps=60, runs=tmp_path, curriculum_options={"generation_size": 20}, progress=False
    )
    second = run(
        "student_doorkey", "sebn", steps=60, runs=tmp_path, curriculum_options={"generation_size": 30}, progress=False
    )
    assert (first.parent.name, second.parent.name) == ("sebn-generation_size=20", "sebn-generation_size=30")
    assert len(read_jsonl(first / "generations.jsonl")) == 3 and len(read_jsonl(second / "generations.jsonl")) == 2


def test_options_spelt_out_at_their_defaults_are_the_same_run(tmp_path):
    spelt_out = {"generation_size": 100, "window": 1, "method": "mle"}  # as the command line's flags give them
    first = run("student_doorkey", "sebn", steps=60, runs=tmp_path, curriculum_options=spelt_out, progress=False)
    again = plan_run("student_doorkey", "sebn", steps=60, runs=tmp_path)  # a sweep leaves them out
    assert again.run_dir == first and again.finished


def test_a_tracked_run_mirrors_the_agents_and_the_curriculums_metrics_offline(tmp_path):
    command = [sys.executable, "-m", "sebn.cli", "run", "doorkey", "--runs", str(tmp_path), *FLAGS, "--track"]
    command[command.index("6144")] = "2048"
    environment = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    finished = subprocess.run(command, capture_output=True, text=True, env=environment)
    assert finished.returncode == 0, finished.stderr
    run_dir = tmp_path / "doorkey" / "sebn-generation_size=10" / "seed0"
    (log,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    records = log.read_bytes()  # protocol buffers: the keys and names are stored as they are
    assert b"doorkey/sebn-generation_size=10/seed0" in records
    for key in ("charts/episodic_return", "losses/policy_loss", "eval/success_rate", "curriculum/log_likelihood"):
        assert key.encode() in records, key
    assert json.loads((run_dir / "config.json").read_text())["agent_args"]["track"] is True
    # whether a run is tracked is not part of what it is: it may go on untracked
    assert plan_run("doorkey", "sebn", 0, 2048, tmp_path, {"generation_size": 10}, SMALL, checkpoint_every=512).finished


def test_track_without_weights_and_biases_names_the_extra(tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "wandb" else find_spec(name))
    with pytest.raises(ExperimentError, match=r'pip install -e "\.\[wandb\]"'):
        plan_run("doorkey", "sebn", runs=tmp_path, track=True)
    with pytest.raises(ExperimentError, match="student logs none"):
        plan_run("student_doorkey", "uniform", runs=tmp_path, track=True)
