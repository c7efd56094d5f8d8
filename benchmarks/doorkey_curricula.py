"""DoorKey: SEBN vs uniform vs anti vs target-only vs ALP-GMM, PPO options, the same
env-step budget for each, through ``sebn sweep`` and ``sebn report``; writes its section
of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.doorkey_curricula --steps 300000 --seeds 10
    .venv/bin/python -m benchmarks.doorkey_curricula --quick       # 2 seeds x 20k steps, print only

    .venv/bin/python -m benchmarks.doorkey_curricula --domain doorkey_sizes --curricula sebn,uniform,target

Runs go to ``runs/bench-doorkey-v<N>`` (N: DoorKey's version; the sizes variant, which
also trains in 16x16 rooms, to ``runs/bench-doorkey-sizes-v<N>``): an interrupted benchmark
resumes where it stopped and completed runs are not redone
(``benchmarks.doorkey_sebn_variants`` shares them). Another budget needs its own ``--runs``
directory (a run directory keeps its step count); each budget has its own section. The
sections measured on earlier versions (``runs/bench-doorkey``: version 2, 7-square line
sensors; ``runs/bench-doorkey-v3`` and ``runs/bench-doorkey-sizes``: version 3) stay in
BENCHMARKS.md under their own headings.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.markdown import ROOT, report_table, write_section
from benchmarks.runs import finished_sweep
from domains.doorkey import TARGETS
from sebn.cli.arguments import positive_int
from sebn.curricula.registry import curricula_for
from sebn.report.plots import plot_runs
from sebn.report.summary import iqm, read_run, stratified_interval, summarise
from sebn.runner.domains import load_domain
from sebn.runner.rundir import RunDir, find_runs

STRICT_THRESHOLD = 0.9
LATE = 0.8  # "late in training": the last fifth of each run's steps
EARLY_BUDGETS = (50_000, 100_000, 150_000)  # the paper's jumpstart: success early in training
VERSION = load_domain("doorkey").version  # the sizes variant shares the env and its version
RUNS = {"doorkey": f"bench-doorkey-v{VERSION}", "doorkey_sizes": f"bench-doorkey-sizes-v{VERSION}"}
SECTIONS = {"doorkey": f"doorkey_v{VERSION}_curricula", "doorkey_sizes": f"doorkey_sizes_v{VERSION}_curricula"}
TITLES = {
    "doorkey": f"DoorKey (version {VERSION}) curricula",
    "doorkey_sizes": f"DoorKey (version {VERSION}) with room sizes (`specs/doorkey_sizes.sebn`: 8x8 and 16x16 rooms) "
    "curricula",
}
UNSEEN = {"doorkey": "unseen 16x16 and 32x32 grids", "doorkey_sizes": "16x16 (a training size) and unseen 32x32 grids"}
PAPER = (
    "The paper (Fig. 5 and Sec. 4.1) reports a jumpstart of the SEBN curriculum over no curriculum on the hardest "
    "setting, both ending high, and on the unseen 32x32 grid 93% success with SEBN against 82% without a curriculum."
)


def agent_options(steps: int, eval_episodes: int = 30) -> dict:
    """Evaluation every 10,000 steps (every twentieth of a shorter run), so the early budgets are
    measured; ``benchmarks.doorkey_sebn_variants`` runs with the same, so the two share their runs."""
    return {"eval_every": max(min(10_000, steps // 20), 1), "eval_episodes": eval_episodes}


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


def success_at(run, budget: int) -> float:
    """The training-time evaluation at the first evaluation step at or past ``budget``."""
    return float(run.curve[min(np.searchsorted(run.steps, budget), len(run.curve) - 1)])


def early_table(label_dirs: list[Path], budgets: tuple[int, ...]) -> list[str]:
    """Success on the hardest setting at fixed early budgets, and env steps to 0.9: IQM over
    seeds with 95% stratified bootstrap intervals."""
    (strict,) = summarise(label_dirs, threshold=STRICT_THRESHOLD)
    to_strict = {row.label: row for row in strict.rows}
    header = [
        *(f"success at {b // 1000}k steps" for b in budgets),
        f"env steps to {STRICT_THRESHOLD:g} (runs reaching)",
    ]
    rows = ["| curriculum | " + " | ".join(header) + " |", "|---|" + "---|" * len(header)]
    for label_dir in label_dirs:
        runs = [run for run in map(read_run, find_runs([label_dir])) if run is not None]
        cells = []
        for budget in budgets:
            values = np.array([success_at(run, budget) for run in runs])
            cells.append("{:.2f} [{:.2f}, {:.2f}]".format(iqm(values), *stratified_interval([values], iqm)))
        row = to_strict[label_dir.name]
        value, low, high = row.to_threshold
        cells.append(
            f"{'>=' if row.reached < row.runs else ''}{value:,.0f} [{low:,.0f}, {high:,.0f}] ({row.reached}/{row.runs})"
        )
        rows.append(f"| {label_dir.name} | {' | '.join(cells)} |")
    return rows


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
    parser.add_argument("--steps", type=positive_int, default=300_000, help="env steps per run")
    parser.add_argument("--seeds", type=positive_int, default=10)
    parser.add_argument("--curricula", default=",".join(curricula_for(has_spec=True)))
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--eval-episodes", type=positive_int, default=agent_options(1)["eval_episodes"])
    parser.add_argument(
        "--domain", choices=tuple(RUNS), default="doorkey", help="doorkey_sizes: the room's size is an env variable"
    )
    parser.add_argument("--runs", help=f"default: runs/{RUNS['doorkey']} (doorkey), runs/{RUNS['doorkey_sizes']}")
    parser.add_argument("--quick", action="store_true", help="2 seeds x 20k steps into a scratch directory; print only")
    args = parser.parse_args()
    default_runs = str(ROOT / "runs" / RUNS[args.domain])
    args.runs = args.runs or default_runs
    if args.quick:
        args.steps, args.seeds, args.runs = 20_000, 2, default_runs + "-quick"
    options = agent_options(args.steps, args.eval_episodes)
    curricula = args.curricula.split(",")
    finished_sweep(
        args.domain,
        curricula,
        range(args.seeds),
        steps=args.steps,
        runs=args.runs,
        workers=args.workers,
        agent_options=options,
        progress=False,
    )
    label_dirs = [Path(args.runs) / args.domain / name for name in curricula]
    (report,) = summarise(label_dirs)
    section = f"{SECTIONS[args.domain]}_{args.steps}"
    budgets = tuple(b for b in EARLY_BUDGETS if b < args.steps) or (args.steps // 2,)
    figure = ROOT / "benchmarks" / "results" / f"{section}.png"
    lines = [
        f"## {TITLES[args.domain]}, {args.steps:,} env steps (`benchmarks/doorkey_curricula.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.doorkey_curricula --steps {args.steps} --seeds {args.seeds}"
        + (f" --domain {args.domain}" if args.domain != "doorkey" else "")
        + (f" --curricula {args.curricula}" if curricula != list(curricula_for(has_spec=True)) else "")
        + (f" --runs {args.runs}" if args.runs != default_runs else "")
        + "`; "
        f"{args.seeds} seeds per curriculum, {args.steps:,} env steps each, {args.workers} at a time on the 2 "
        "cores. PPO options "
        "(one actor and critic per target, 4x64 tanh layers, 8 envs x 128 steps); SEBN and anti: generations of 100 "
        "episodes, MLE. Evaluation: the options chained on the hardest setting (distance 0, wall 1, door) in an 8x8 "
        f"room, {args.eval_episodes} episodes with sampled actions every {options['eval_every']:,} steps; the finished "
        f"agent also on {UNSEEN[args.domain]}. Table from `sebn report` (IQM over seeds, 95% stratified bootstrap "
        "intervals):",
        "",
        report_table(report),
        "",
        "Early in training (the jumpstart), from the training-time evaluations on the hardest setting:",
        "",
        *early_table(label_dirs, budgets),
        "",
        PAPER,
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
