"""The gradient-norm teacher (mean_norm, sum_norm) vs uniform vs no teacher (the env's
own start distribution), SAC with the paper's preset, through ``sebn sweep`` and
``sebn report``; writes its section of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.gradient_teacher --steps 20000 --seeds 5
    .venv/bin/python -m benchmarks.gradient_teacher --quick      # 2 seeds x 3k steps, PointMaze UMaze only, print only

Runs go to ``runs/bench-teacher``: an interrupted benchmark resumes, and completed runs
are not redone. AdroitHandRelocate and AntMaze run with ``--others-steps`` and
``--others-seeds`` (smaller: they are slower per step; ``--others-seeds 0`` leaves them out).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.markdown import ROOT, report_table, write_section
from benchmarks.runs import finished_sweep
from sebn.report.plots import plot_runs
from sebn.report.summary import summarise

CURRICULA = ("gradient-mean_norm", "gradient-sum_norm", "uniform", "target")


def tables(runs: Path) -> list[str]:
    """The report's success and return tables for the runs under ``runs``."""
    lines = []
    for metric in ("success_rate", "episodic_return"):
        (report,) = summarise([runs], reference="gradient-mean_norm", metric=metric)
        lines += [f"#### {metric.replace('_', ' ')}", "", report_table(report), ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per PointMaze run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--others-steps", type=int, default=10_000, help="env steps per AdroitHandRelocate / AntMaze run"
    )
    parser.add_argument("--others-seeds", type=int, default=2, help="0 leaves AdroitHandRelocate and AntMaze out")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", default=str(ROOT / "runs" / "bench-teacher"))
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 seeds x 3k steps on PointMaze UMaze into a scratch directory; print only",
    )
    args = parser.parse_args()
    plan = {
        "pointmaze": (args.steps, args.seeds),
        "pointmaze_medium": (args.steps, args.seeds),
        "adroit_relocate": (args.others_steps, args.others_seeds),
        "antmaze": (args.others_steps, args.others_seeds),
    }
    if args.quick:
        plan, args.runs = {"pointmaze": (3000, 2)}, str(ROOT / "runs" / "bench-teacher-quick")
    lines = [
        "## Gradient-norm teacher (`benchmarks/gradient_teacher.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.gradient_teacher --steps {args.steps} --seeds {args.seeds} "
        f"--others-steps {args.others_steps} --others-seeds {args.others_seeds}`; {args.workers} at a time on "
        "the 2 cores. "
        "SAC with the gradient paper's preset (3x256, batch 256, gamma 0.99, temperature 0.05), 1 env; the teacher: "
        "batches of 16 decisions, 1 update each, rewards from the actor's gradients; `target` is no teacher (the env's "
        "own start distribution). Evaluation: 10 episodes on the env's own start distribution (position noise "
        "included), 10 times per run. Tables from `sebn report`: IQM over seeds with 95% stratified bootstrap "
        "intervals, and P(mean_norm teacher > curriculum).",
        "",
    ]
    for domain, (steps, seeds) in plan.items():
        if seeds <= 0:
            continue
        finished_sweep(
            domain,
            CURRICULA,
            range(seeds),
            steps=steps,
            runs=args.runs,
            workers=args.workers,
            agent_options={"eval_every": max(steps // 10, 1)},
        )
        figure = ROOT / "benchmarks" / "results" / f"teacher_{domain}.png"
        lines += [
            f"### {domain}: {seeds} seeds x {steps:,} env steps"
            + ("" if domain.startswith("pointmaze") else " (a budget far below the paper's 1M steps: what fits here)"),
            "",
            *tables(Path(args.runs) / domain),
            f"![{domain}](benchmarks/results/{figure.name})",
            "",
        ]
        if not args.quick:
            plot_runs([Path(args.runs) / domain], figure, smoothing=0.6)
    print("\n".join(lines))
    if not args.quick:
        write_section("gradient_teacher", lines)


if __name__ == "__main__":
    main()
