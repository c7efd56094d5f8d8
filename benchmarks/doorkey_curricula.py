"""DoorKey: SEBN vs uniform vs anti vs target-only vs ALP-GMM, PPO options, the same
env-step budget for each, through ``sebn sweep`` and ``sebn report``; writes its section
of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.doorkey_curricula --steps 300000 --seeds 10
    .venv/bin/python -m benchmarks.doorkey_curricula --steps 1000000 --seeds 3 --curricula sebn,anti,uniform,target \
        --runs runs/bench-doorkey-1m
    .venv/bin/python -m benchmarks.doorkey_curricula --quick       # 2 seeds x 20k steps, print only

Runs go to ``runs/bench-doorkey``: an interrupted benchmark resumes where it stopped and
completed runs are not redone (``benchmarks.doorkey_sebn_variants`` shares them). Another
budget needs its own ``--runs`` directory (a run directory keeps its step count); each
budget has its own section.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.markdown import ROOT, report_table, write_section
from benchmarks.runs import finished_sweep
from domains.doorkey import TARGETS
from sebn.curricula.registry import curricula_for
from sebn.report.plots import plot_runs
from sebn.report.summary import read_run, steps_to, summarise
from sebn.runner.rundir import RunDir, find_runs

STRICT_THRESHOLD = 0.9
LATE = 0.8  # "late in training": the last fifth of each run's steps


def agent_options(steps: int, eval_episodes: int = 30) -> dict:
    """Evaluation every twentieth of the run; ``benchmarks.doorkey_sebn_variants`` runs with
    the same, so the two share their runs."""
    return {"eval_every": max(steps // 20, 1), "eval_episodes": eval_episodes}


def late_outcomes(run_dirs: list[Path]) -> dict[tuple[str, int], list[int]]:
    """Outcomes of the training episodes' own targets in the last fifth of each run, pooled
    over the runs, by the episode's target and the task's ``wall`` value: where the options
    still fail."""
    outcomes = defaultdict(list)
    for run_dir in run_dirs:
        episodes = RunDir(run_dir).episodes()
        late = LATE * episodes[-1]["step"]
        for episode in episodes:
            target = episode["task"]["target"]
            if episode["step"] >= late and target in episode["targets"]:
                outcomes[target, episode["task"]["wall"]].append(episode["targets"][target])
    return outcomes


def runs_reaching(label_dir: Path, threshold: float) -> str:
    """``label k/n``: how many of the label's finished runs reached ``threshold`` during training."""
    runs = [run for run in map(read_run, find_runs([label_dir])) if run is not None]
    return f"{label_dir.name} {sum(steps_to(run, threshold)[1] for run in runs)}/{len(runs)}"


def outcome_table(label_dirs: list[Path]) -> list[str]:
    rows = [
        "| curriculum | " + " | ".join(f"{target}: wall=0 / wall=1 (episodes)" for target in TARGETS) + " |",
        "|---|" + "---|" * len(TARGETS),
    ]
    for label_dir in label_dirs:
        outcomes = late_outcomes(find_runs([label_dir]))
        cells = []
        for target in TARGETS:
            by_wall = [outcomes[target, wall] for wall in (0, 1)]
            rates = " / ".join(f"{np.mean(o):.2f}" if o else "-" for o in by_wall)
            cells.append(f"{rates} ({' / '.join(f'{len(o):,}' for o in by_wall)})")
        rows.append(f"| {label_dir.name} | {' | '.join(cells)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300_000, help="env steps per run")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--curricula", default=",".join(curricula_for(has_spec=True)))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--eval-episodes", type=int, default=agent_options(1)["eval_episodes"])
    parser.add_argument("--runs", default=str(ROOT / "runs" / "bench-doorkey"))
    parser.add_argument("--quick", action="store_true", help="2 seeds x 20k steps into a scratch directory; print only")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.seeds, args.runs = 20_000, 2, str(ROOT / "runs" / "bench-doorkey-quick")
    options = agent_options(args.steps, args.eval_episodes)
    curricula = args.curricula.split(",")
    finished_sweep(
        "doorkey",
        curricula,
        range(args.seeds),
        steps=args.steps,
        runs=args.runs,
        workers=args.workers,
        agent_options=options,
        progress=False,
    )
    label_dirs = [Path(args.runs) / "doorkey" / name for name in curricula]
    (report,) = summarise(label_dirs)
    reaching = ", ".join(runs_reaching(label_dir, STRICT_THRESHOLD) for label_dir in label_dirs)
    section = f"doorkey_curricula_{args.steps}"
    figure = ROOT / "benchmarks" / "results" / f"{section}.png"
    lines = [
        f"## DoorKey curricula, {args.steps:,} env steps (`benchmarks/doorkey_curricula.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.doorkey_curricula --steps {args.steps} --seeds {args.seeds}"
        + (f" --curricula {args.curricula}" if curricula != list(curricula_for(has_spec=True)) else "")
        + (f" --runs {args.runs}" if args.runs != parser.get_default("runs") else "")
        + "`; "
        f"{args.seeds} seeds per curriculum, {args.steps:,} env steps each, {args.workers} at a time on the 2 "
        "cores. PPO options "
        "(one actor and critic per target, 4x64 tanh layers, 8 envs x 128 steps); SEBN and anti: generations of 100 "
        "episodes, MLE. Evaluation: the options chained on the hardest setting (distance 0, wall 1, door), "
        f"{args.eval_episodes} episodes with sampled actions every {options['eval_every']:,} steps; the finished agent "
        "also on the unseen 32x32 grid. Table from `sebn report` (IQM over seeds, 95% stratified bootstrap intervals):",
        "",
        report_table(report),
        "",
        f"Runs whose training-time evaluation reached {STRICT_THRESHOLD:g} on the hardest setting: {reaching}.",
        "",
        f"Where the options fail: training episodes in the last {1 - LATE:.0%} of each run's steps, pooled "
        "over the seeds, "
        "success of the episode's own target, by target and the task's wall (the wall stands across the way "
        "to the goal):",
        "",
        *outcome_table(label_dirs),
        "",
        f"![DoorKey curricula](benchmarks/results/{figure.name})",
    ]
    print("\n".join(lines))
    if args.quick:
        return
    plot_runs(label_dirs, figure, smoothing=0.6)
    write_section(section, lines)


if __name__ == "__main__":
    main()
