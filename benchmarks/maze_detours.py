"""Why PPO students plateau on PointMaze Medium: every finished run's final policy replayed on
one fixed set of start/goal cells, its success split by the task's detour; writes its section
of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.maze_detours                  # the 1M-step teacher runs on Medium
    .venv/bin/python -m benchmarks.maze_detours --tasks 5 --quick  # print only

A task's detour is how many moves its shortest free path takes beyond the Manhattan distance
between its cells: 0 where a straight-line route exists, 2 or more where the point must first
move away from the goal to go round a wall. The dense reward (``exp(-distance)``) pulls the
point straight at the goal, against the wall, on every detour task. Each policy plays as the
runs evaluate it (greedy, normalised observations), placed exactly on its cells, until it
reaches the goal or its time limit. Beside it, the same split of each run's own training
episodes of its last tenth, on the tasks its curriculum chose.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from scipy.stats import mannwhitneyu

from agents.common import RunningMeanStd
from agents.ppo import Agent
from benchmarks.markdown import ROOT, publish, spread
from benchmarks.runs import finished_runs
from domains.pointmaze import MazeTaskEnv, domain
from sebn.cli.arguments import positive_int
from sebn.report.summary import probability_of_improvement
from sebn.runner.domains import DOMAINS
from sebn.runner.rundir import RunDir

POINTMAZES = sorted(name for name, module in DOMAINS.items() if module == "domains.pointmaze")
"""The domains whose runs this benchmark replays (an AntMaze policy acts on another body)."""

SUCCESS = "goalreached"
"""The maze's one target: whether the episode reached its goal (:mod:`domains.common`)."""

DETOURS = {"0": (0, 1), "2": (2, 3), "4 or more": (4, np.inf)}
"""Detour classes by name: ``[low, high)`` moves (the grid's parity makes every detour even)."""


def detour(env: MazeTaskEnv, start: list[int], goal: list[int]) -> int:
    """Moves of the shortest free path beyond the Manhattan distance between the cells."""
    return beyond_manhattan(env.path_length(start, goal), start, goal)


def detour_class(moves: int) -> str:
    """The name of the :data:`DETOURS` class holding a detour of ``moves``."""
    return next(name for name, (low, high) in DETOURS.items() if low <= moves < high)


def beyond_manhattan(path: int, start: list[int], goal: list[int]) -> int:
    """Moves of a ``path`` between two cells beyond the Manhattan distance between them."""
    return path - int(np.abs(np.subtract(start, goal)).sum())


def training_detours(run: RunDir) -> dict[str, list[bool]]:
    """Whether each training episode of the run's last tenth reached its goal, by the detour
    class of the task its curriculum gave (the ``applied`` cells and path the maze recorded)."""
    episodes = [e for e in run.episodes() if "applied" in e]
    if not episodes:
        return {}
    outcomes = defaultdict(list)
    for episode in episodes:
        if episode["step"] > 0.9 * episodes[-1]["step"]:
            applied = episode["applied"]
            moves = beyond_manhattan(applied["path"], applied["start"], applied["goal"])
            outcomes[detour_class(moves)].append(bool(episode["targets"][SUCCESS]))
    return outcomes


def detour_tasks(env: MazeTaskEnv, per_class: int, seed: int = 0) -> list[tuple[list[int], list[int], int]]:
    """``per_class`` start/goal cell pairs of each detour class (all of a class when it has
    fewer), drawn once with ``seed``, as ``(start, goal, detour)``."""
    rng = np.random.default_rng(seed)
    cells = env.free.tolist()
    pairs = [(s, g, detour(env, s, g)) for s in cells for g in cells if s != g]
    tasks = []
    for name in DETOURS:
        members = [p for p in pairs if detour_class(p[2]) == name]
        chosen = rng.choice(len(members), size=min(per_class, len(members)), replace=False)
        tasks += [members[i] for i in sorted(chosen)]
    return tasks


def replay(run_dir: Path, tasks: list[tuple[list[int], list[int], int]]) -> list[bool]:
    """Whether the run's final PPO policy reaches the goal of each task."""
    torch.set_num_threads(1)
    run = RunDir(run_dir)
    config = run.read_config()
    arguments = config["agent_args"]
    env = domain(config["domain"]).make_env(0)
    agent = Agent(env.observation_space.shape[0], env.action_space, arguments["hidden_sizes"])
    state = torch.load(run.checkpoint, weights_only=True)
    agent.load_state_dict(state["agent"])
    observations = RunningMeanStd(env.observation_space.shape)
    observations.load_state_dict(state["obs_rms"])
    reached = []
    for index, (start, goal, _) in enumerate(tasks):
        obs, _ = env.reset(seed=index, options={"task": {"start": start, "goal": goal}})
        done, success = False, False
        while not (done or success):
            scaled = observations.normalize(obs) if arguments.get("normalize_obs") else obs.astype(np.float32)
            with torch.no_grad():
                action = agent.greedy(torch.as_tensor(scaled[None]))[0].numpy()
            obs, _, terminated, truncated, info = env.step(action)
            done, success = terminated or truncated, bool(info["success"])
        reached.append(success)
    return reached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", default="runs/bench-teacher-ppo-1m/pointmaze_medium", help="relative to the repository"
    )
    parser.add_argument("--tasks", type=positive_int, default=30, help="start/goal pairs per detour class")
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--quick", action="store_true", help="print only")
    args = parser.parse_args()
    runs = list(finished_runs(ROOT / args.runs))
    if not runs:
        parser.error(f"--runs: no finished runs under {args.runs}")
    mazes = sorted({run.read_config()["domain"] for _, run in runs})
    if len(mazes) > 1 or mazes[0] not in POINTMAZES:
        parser.error(
            f"--runs: the finished runs under {args.runs} are of {', '.join(mazes)}; "
            f"point it at the runs of one of {', '.join(POINTMAZES)}"
        )
    tasks = detour_tasks(domain(mazes[0]).make_env(0), args.tasks)
    with mp.get_context("spawn").Pool(args.workers) as pool:
        outcomes = pool.starmap(replay, [(run.path, tasks) for _, run in runs])
    classes = [detour_class(moves) for *_, moves in tasks]
    rates = defaultdict(lambda: defaultdict(list))  # curriculum -> detour class -> per-run success
    around = defaultdict(dict)  # curriculum -> seed -> success on the tasks with a detour
    by_teacher = {True: [], False: []}  # whether a gradient-norm teacher chose the tasks -> the same
    in_training = defaultdict(lambda: defaultdict(list))  # curriculum -> detour class -> episodes' success
    for (label, run), reached in zip(runs, outcomes):
        config = run.read_config()
        for name, successes in training_detours(run).items():
            in_training[label][name] += successes
        for name in DETOURS:
            rates[label][name].append(np.mean([r for r, c in zip(reached, classes) if c == name]))
        around[label][config["seed"]] = np.mean([r for r, (*_, d) in zip(reached, tasks) if d > 0])
        by_teacher[config["curriculum"] == "gradient"].append(around[label][config["seed"]])
    taught, untaught = by_teacher[True], by_teacher[False]
    sizes = {name: classes.count(name) for name in DETOURS}
    header = " | ".join(f"detour {name} ({sizes[name]} tasks)" for name in DETOURS)
    lines = [
        "## PointMaze: success by detour, final PPO policies (`benchmarks/maze_detours.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.maze_detours --tasks {args.tasks}"
        + (f" --runs {args.runs}" if args.runs != parser.get_default("runs") else "")
        + f"`; the final policies of the {len(runs)} finished runs in `{args.runs}`, each on the same "
        f"{len(tasks)} start/goal cell pairs ({args.tasks} per detour class, drawn once), placed exactly, greedy, "
        "until the goal or the time limit. A task's detour: the moves of its shortest free path beyond the Manhattan "
        "distance between its cells (0: a straight-line route exists). Each cell: success rate, median [min, max] "
        "over seeds.",
        "",
        f"| curriculum | runs | {header} | any detour, per seed |",
        "|---|---|" + "---|" * (len(DETOURS) + 1),
        *(
            f"| {label} | {len(by_class['0'])} | "
            + " | ".join(spread(by_class[name]) for name in DETOURS)
            + " | "
            + ", ".join(f"{seed}: {rate:.2f}" for seed, rate in sorted(around[label].items()))
            + " |"
            for label, by_class in sorted(rates.items())
        ),
    ]
    if taught and untaught:
        lines += [
            "",
            f"Tasks with a detour, a run with a teacher against one without ({len(taught)} and {len(untaught)} runs): "
            f"P(taught > untaught) = {probability_of_improvement(taught, untaught):.2f}, two-sided Mann-Whitney "
            f"p = {mannwhitneyu(taught, untaught).pvalue:.3f}.",
        ]
    if in_training:
        lines += [
            "",
            "The same runs' own training episodes of their last tenth, on the tasks each curriculum chose: success "
            "rate (episodes), all seeds pooled.",
            "",
            "| curriculum | " + " | ".join(f"detour {name}" for name in DETOURS) + " |",
            "|---|" + "---|" * len(DETOURS),
            *(
                f"| {label} | "
                + " | ".join(
                    f"{np.mean(by_class[name]):.2f} ({len(by_class[name])})" if by_class[name] else "- (0)"
                    for name in DETOURS
                )
                + " |"
                for label, by_class in sorted(in_training.items())
            ),
        ]
    publish("maze_detours", lines, write=not args.quick)


if __name__ == "__main__":
    main()
