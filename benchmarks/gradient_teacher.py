"""The gradient-norm teacher (mean_norm, sum_norm) vs uniform vs no teacher (the env's
own start distribution), through ``sebn sweep`` and ``sebn report``; writes its section of
BENCHMARKS.md (one per student).

    .venv/bin/python -m benchmarks.gradient_teacher --steps 20000 --seeds 5          # SAC, the paper's student
    .venv/bin/python -m benchmarks.gradient_teacher --algo ppo --steps 1000000 --seeds 5 \
        --others-steps 300000 --others-seeds 2                                     # PPO at the paper's budget
    # a shorter budget on two processes, one per core, each with its own domains:
    .venv/bin/python -m benchmarks.gradient_teacher --algo ppo --steps 150000 --seeds 5 \
        --others-steps 30000 --others-seeds 2 --workers 1 --domains pointmaze &
    .venv/bin/python -m benchmarks.gradient_teacher --algo ppo --steps 150000 --seeds 5 \
        --others-steps 30000 --others-seeds 2 --workers 1 --domains pointmaze_medium,adroit_relocate,antmaze
    .venv/bin/python -m benchmarks.gradient_teacher --quick      # 2 seeds x 3k steps, PointMaze UMaze only, print only

Runs go to ``runs/bench-teacher`` (SAC) or ``runs/bench-teacher-<algo>``: an interrupted
benchmark resumes, and completed runs are not redone; runs archived in the repository
(:mod:`benchmarks.archive`: finished ones, and stopped ones saved with their checkpoints)
are restored first, and a domain's runs are archived once they have all finished. AdroitHandRelocate and AntMaze run
with ``--others-steps`` and ``--others-seeds`` (smaller: they are slower per step;
``--others-seeds 0`` leaves them out). ``--domains`` runs a subset, so that two processes
can share the runs directory, each with its own domains (never one domain in two
processes); the section is written by whichever finishes the last domain. A runs directory
of its own keeps its own section and figures (``--runs runs/bench-teacher-ppo-1m``: section
``gradient_teacher_ppo_1m``), so the paper's budget sits beside a shorter one. Besides the
report: env steps until the evaluation success reached 0.5 and 0.8, the teacher's updates
per run, and how hard the tasks each curriculum chose were early and late in training
(:func:`difficulty`).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from benchmarks.archive import ARCHIVE, restore, save
from benchmarks.markdown import ROOT, report_table, spread, write_section
from benchmarks.runs import finished_runs, finished_sweep
from sebn.cli.arguments import non_negative_int, positive_int
from sebn.curricula.teacher import INITIAL_STD
from sebn.report.plots import DIFFICULTIES, EVAL_METRICS, applied_records, plot_runs
from sebn.report.summary import summarise
from sebn.runner.rundir import RunDir

CURRICULA = ("gradient-mean_norm", "gradient-sum_norm", "uniform", "target")
MILESTONES = (0.5, 0.8)
PAPER_STEPS = 1_000_000
"""The gradient paper's budget per run."""
EVALUATIONS = {"pointmaze": 25, "pointmaze_medium": 25, "adroit_relocate": 10, "antmaze": 10}
"""Evaluations per run, at least: PPO reaches 0.9 success on UMaze within ~60k steps, so steps
to a milestone need a finer grid than a tenth of the run; the slower domains keep tenths (their
evaluation episodes cost more than their short training runs otherwise)."""
EVALUATION_GRID = {"pointmaze": 8_192, "pointmaze_medium": 20_480}
"""The coarsest evaluation interval in env steps, for long runs: at the paper's 1M steps, 25
evaluations would leave 40k steps between them, and every curriculum is past 0.8 success on
UMaze by the first (measured, seed 0, session 16). An evaluation is 10 episodes of the full
time limit (the mazes are continuing tasks), inference only: at 1M steps, 122 evaluations on
UMaze play 366k steps, 48 on Medium 288k (about 7% of a run's time, profiled)."""
STUDENTS = {
    "sac": "SAC with the gradient paper's preset (3x256, batch 256, gamma 0.99, temperature 0.05), 1 env",
    "ppo": "PPO with CleanRL's `ppo_continuous_action.py` defaults (1 env x 2,048 steps, 32 minibatches, 10 "
    "epochs, 2x64 tanh, normalised observations and rewards; `sebn.runner.interface.PPO_CONTINUOUS_ARGS`); an "
    "episode's teacher reward: the updates that learnt from its rollouts (docs/domains.md)",
}


def tables(runs: Path) -> list[str]:
    """The report's success and return tables for the runs under ``runs``."""
    lines = []
    for metric in EVAL_METRICS:
        (report,) = summarise([runs], reference="gradient-mean_norm", metric=metric)
        lines += [f"#### {metric.replace('_', ' ')}", "", report_table(report), ""]
    return lines


def milestones(runs: Path) -> list[str]:
    """Env steps to each success milestone (IQM over seeds, 95% intervals; runs that never
    reach it count as their budget, shown ``>=``) and the teacher's updates per run."""
    reports = {m: {row.label: row for row in summarise([runs], threshold=m)[0].rows} for m in MILESTONES}
    updates = defaultdict(list)  # of finished runs, as the report's: one still going would count its updates so far
    for label, run in finished_runs(runs):
        if label.startswith("gradient"):
            updates[label].append(teacher_updates(run.path))
    header = [*(f"env steps to success {m:g} (runs reaching)" for m in MILESTONES), "teacher updates per run"]
    lines = ["| curriculum | " + " | ".join(header) + " |", "|---|" + "---|" * len(header)]
    for label in reports[MILESTONES[0]]:
        cells = []
        for milestone in MILESTONES:
            row = reports[milestone][label]
            value, low, high = row.to_threshold
            reached = "" if row.reached == row.runs else ">="
            cells.append(f"{reached}{value:,.0f} [{low:,.0f}, {high:,.0f}] ({row.reached}/{row.runs})")
        cells.append(spread(updates[label], digits=0) if label in updates else "-")
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return lines


def difficulty(runs: Path) -> list[str]:
    """The difficulty of the tasks each curriculum chose (a maze's start-to-goal path, Adroit's
    ball-to-target distance: :data:`sebn.report.plots.DIFFICULTIES`), its median over the first
    and over the last tenth of a run's training episodes; each cell: median [min, max] over
    seeds. Empty for runs recorded before their domain kept the measure."""
    columns = defaultdict(lambda: defaultdict(list))
    measures = set()
    for label, run in finished_runs(runs):
        applied = applied_records(run.path)
        measure = next((key for key in DIFFICULTIES if applied and key in applied[0][1]), None)
        if measure is None:
            continue
        measures.add(measure)
        last_step = applied[-1][0]
        column = columns[label]
        column["first"].append(np.median([a[measure] for step, a in applied if step <= 0.1 * last_step]))
        column["last"].append(np.median([a[measure] for step, a in applied if step > 0.9 * last_step]))
    if not columns:
        return []
    (measure,) = measures
    name = DIFFICULTIES[measure]
    lines = [f"| curriculum | {name}: first tenth | {name}: last tenth |", "|---|---|---|"]
    lines += [f"| {label} | {spread(c['first'])} | {spread(c['last'])} |" for label, c in sorted(columns.items())]
    return [*lines, ""]


def finished_count(runs: Path) -> int:
    """Finished runs under ``runs``; 0 when no run has started there yet."""
    return len(list(finished_runs(runs))) if runs.is_dir() else 0


def section_tag(runs: str | Path) -> str:
    """What names the section and figures of the runs under ``runs``: the directory's name
    past ``bench-teacher``, so a budget run into its own directory keeps its own section
    (``runs/bench-teacher-ppo``: ``_ppo``; ``runs/bench-teacher-ppo-1m``: ``_ppo_1m``)."""
    name = Path(runs).name
    tag = name.removeprefix("bench-teacher") if name.startswith("bench-teacher") else f"-{name}"
    return tag.replace("-", "_")


def teacher_updates(run_dir: Path) -> int:
    """The REINFORCE updates a teacher run made, from its final checkpoint."""
    state = torch.load(RunDir(run_dir).checkpoint, weights_only=True)["callbacks"]["curriculum"]
    return int(state["updates"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=positive_int, default=20_000, help="env steps per PointMaze UMaze run")
    parser.add_argument(
        "--medium-steps", type=positive_int, help="env steps per PointMaze Medium run (default: --steps)"
    )
    parser.add_argument("--seeds", type=positive_int, default=5)
    parser.add_argument(
        "--others-steps", type=positive_int, default=10_000, help="env steps per AdroitHandRelocate / AntMaze run"
    )
    parser.add_argument(
        "--others-seeds", type=non_negative_int, default=2, help="0 leaves AdroitHandRelocate and AntMaze out"
    )
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument(
        "--domains",
        help="comma-separated subset to run now (default: all); the section is written once all have finished, so "
        "two processes may share the runs directory when their subsets differ",
    )
    parser.add_argument("--algo", choices=tuple(STUDENTS), default="sac", help="the student (default: the paper's)")
    parser.add_argument("--runs", help="default: runs/bench-teacher (SAC), runs/bench-teacher-<algo>")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 seeds x 3k steps on PointMaze UMaze into a scratch directory; print only",
    )
    args = parser.parse_args()
    suffix = "" if args.algo == "sac" else f"-{args.algo}"
    default_runs = ROOT / "runs" / f"bench-teacher{suffix}"
    runs_option = f" --runs {args.runs}" if args.runs and Path(args.runs).resolve() != default_runs else ""
    args.runs = args.runs or str(default_runs)
    plan = {
        "pointmaze": (args.steps, args.seeds),
        "pointmaze_medium": (args.medium_steps or args.steps, args.seeds),
        "adroit_relocate": (args.others_steps, args.others_seeds),
        "antmaze": (args.others_steps, args.others_seeds),
    }
    evaluations = {
        domain: max(EVALUATIONS[domain], steps // EVALUATION_GRID.get(domain, steps))
        for domain, (steps, _) in plan.items()
    }
    if args.quick:
        plan, args.runs = {"pointmaze": (3000, 2)}, str(ROOT / "runs" / "bench-teacher-quick")
        evaluations = {"pointmaze": 3}
    plan = {domain: budget for domain, budget in plan.items() if budget[1] > 0}
    selected = args.domains.split(",") if args.domains else list(plan)
    if unknown := set(selected) - set(plan):
        parser.error(f"--domains: unknown {', '.join(sorted(unknown))}; allowed: {', '.join(plan)}")
    if not args.quick and (restored := restore(Path(args.runs))):
        print(f"restored {len(restored)} run(s) from {ARCHIVE}")
    for domain in selected:
        steps, seeds = plan[domain]
        finished_sweep(
            domain,
            CURRICULA,
            range(seeds),
            steps=steps,
            runs=args.runs,
            workers=args.workers,
            agent_options={"eval_every": max(steps // evaluations[domain], 1)},
            algo=args.algo,
        )
        if not args.quick:
            save(Path(args.runs))
    waiting = [d for d, (_, seeds) in plan.items() if finished_count(Path(args.runs) / d) < seeds * len(CURRICULA)]
    if waiting:
        print(f"section not written: {', '.join(waiting)} not finished (another process, or a later --domains)")
        return
    student = "" if args.algo == "sac" else f" --algo {args.algo}"
    lines = [
        "## Gradient-norm teacher"
        + (f", {args.algo.upper()} student" if student else "")
        + f", PointMaze at {plan['pointmaze'][0]:,} steps"
        + " (`benchmarks/gradient_teacher.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.gradient_teacher{student} --steps {args.steps} "
        + (f"--medium-steps {args.medium_steps} " if args.medium_steps else "")
        + f"--seeds {args.seeds} --others-steps {args.others_steps} --others-seeds {args.others_seeds}{runs_option}` "
        "(`--workers` and `--domains` share it over the cores). "
        f"{STUDENTS[args.algo]}; the teacher: batches of 16 decisions, 1 update each, rewards from the actor's "
        f"gradients, first draws close to uniform (pre-tanh standard deviation {INITIAL_STD}, since 2026-12); "
        "`target` is no teacher (the env's "
        "own start distribution). Evaluation: 10 episodes on the env's own start distribution (position noise "
        "included), as many times per run as each heading says. Tables from `sebn report`: IQM over seeds with 95% "
        "stratified bootstrap intervals, and P(mean_norm teacher > curriculum).",
        "",
    ]
    tag = section_tag(Path(args.runs))
    for domain, (steps, seeds) in plan.items():
        figure = ROOT / "benchmarks" / "results" / f"teacher_{domain}{tag}.png"
        lines += [
            f"### {domain}: {seeds} seeds x {steps:,} env steps, {evaluations[domain]} evaluations per run"
            + (" (below the paper's 1M steps: what fits here)" if steps < PAPER_STEPS else ""),
            "",
            *tables(Path(args.runs) / domain),
            *milestones(Path(args.runs) / domain),
            "",
            *difficulty(Path(args.runs) / domain),
            f"![{domain}](benchmarks/results/{figure.name})",
            "",
        ]
        if not args.quick:
            plot_runs([Path(args.runs) / domain], figure, smoothing=0.6, metrics=EVAL_METRICS)
    print("\n".join(lines))
    if not args.quick:
        write_section(f"gradient_teacher{tag}", lines)


if __name__ == "__main__":
    main()
