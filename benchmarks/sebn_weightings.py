"""The SEBN curriculum's weightings on the simulated student of the paper's three specs:
the paper's point change against the posterior-aware ``expected`` and ``thompson``;
writes its section of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.sebn_weightings            # 10 seeds x 3 specs x 5 curricula (~15 min here)
    .venv/bin/python -m benchmarks.sebn_weightings --quick    # 2 seeds, scratch dir, print only

Each variant is a curriculum label run through ``sebn sweep`` on the ``student_*`` domains
(:mod:`domains.student`: the spec's tasks and evaluation task, :mod:`agents.student` in
place of reinforcement learning; steps are episodes). ``sebn`` is the paper's curriculum
(MLE, point change); ``sebn-method=laplace`` keeps the point change of the posterior
predictive means, so the fit method and the weighting are measured apart. Besides the
reports, a table shows what each weighting is made of: the mean change it used per
generation, the point change beside it, and the posterior's spread.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.markdown import ROOT, publish, report_table
from benchmarks.runs import finished_sweep
from sebn.cli.arguments import positive_int
from sebn.report.summary import probability_of_improvement, read_run, steps_to, stratified_interval, summarise
from sebn.runner.rundir import RunDir, find_runs

BUDGETS = {"doorkey": 2000, "bipedalwalker": 6000, "robosuite_door": 2000}
"""Episodes per run, by spec: enough for most curricula to pass the threshold."""
VARIANTS = (
    "sebn",
    "sebn-method=laplace",
    "sebn-method=laplace-weighting=expected",
    "sebn-method=laplace-weighting=thompson",
    "uniform",
)
THRESHOLD = 0.75


def ingredients(run_dirs: list[Path]) -> tuple[float, float, float] | None:
    """Mean over a label's runs and generations of the change used, the point change and
    the posterior's spread (``sd`` of ``P_g`` over the draws); ``None`` without generations."""
    used, point, sd = [], [], []
    for run_dir in run_dirs:
        for generation in RunDir(run_dir).generations():
            used.append(np.mean(generation["change"]))
            point.append(np.mean(generation.get("point_change", generation["change"])))
            sd.append(np.mean(generation.get("spread", [0.0])))
    return (float(np.mean(used)), float(np.mean(point)), float(np.mean(sd))) if used else None


def ingredients_table(outcomes, labels: list[str]) -> list[str]:
    """:func:`ingredients` of each label's runs, as a markdown table."""
    rows = [
        "| curriculum | mean change used per task and generation | mean point change | mean posterior sd of P_g |",
        "|---|---|---|---|",
    ]
    for label in labels:
        measured = ingredients([Path(o.run_dir) for o in outcomes if o.label == label])
        if measured is not None:
            rows.append(f"| {label} | " + " | ".join(f"{value:.4f}" for value in measured) + " |")
    return rows


def sooner_table(runs: Path, domain: str, labels: list[str]) -> list[str]:
    """Per label: ``P(a run of it reaches the threshold in fewer episodes than a run of the
    paper's sebn)``, ties half, with a 95% stratified bootstrap interval. Every curriculum
    ends at the student's ceiling, so the final success cannot tell them apart; this can."""
    episodes = {
        label: np.array([steps_to(run, THRESHOLD)[0] for run in map(read_run, find_runs([runs / domain / label]))])
        for label in labels
    }

    def sooner(variant, reference, axis=-1):
        return probability_of_improvement(-variant, -reference, axis=axis)

    rows = [f"| curriculum | P(reaches {THRESHOLD} sooner than sebn) |", "|---|---|"]
    for label in labels:
        if label != "sebn":
            value = float(sooner(episodes[label], episodes["sebn"]))
            low, high = stratified_interval([episodes[label], episodes["sebn"]], sooner)
            rows.append(f"| {label} | {value:.2f} [{low:.2f}, {high:.2f}] |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help="curriculum labels")
    parser.add_argument("--seeds", type=positive_int, default=10)
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--quick", action="store_true", help="2 seeds into a scratch directory; print only")
    args = parser.parse_args()
    runs = ROOT / "runs" / ("bench-weightings-quick" if args.quick else "bench-weightings")
    seeds = 2 if args.quick else args.seeds
    labels = args.variants.split(",")
    lines = [
        "## SEBN weightings on the simulated student (`benchmarks/sebn_weightings.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.sebn_weightings --seeds {seeds}`"
        + (f" --variants {args.variants}" if labels != list(VARIANTS) else "")
        + f"; {seeds} seeds per curriculum and spec, {args.workers} runs at a time. The simulated student "
        "(`sebn/curricula/students.py`, rate 0.02, decay 1.5) on each spec's tasks; success is the exact "
        "probability that the evaluation task's target succeeds under the student's competencies, every 50 "
        "episodes. Generations of 100 episodes, delta 0.01. `point`: the paper's `|P_g - P_(g-1)|`; "
        "`expected`: `E|P_g - P_(g-1)|` over the two generations' posteriors (every pair of draws); "
        "`thompson`: the change between one draw of each; Laplace posteriors, 1,000 draws. Tables from "
        f"`sebn report --threshold {THRESHOLD}` (IQM over seeds, 95% stratified bootstrap intervals; "
        "P(sebn > curriculum) compares final success with the paper's point-change curriculum).",
        "",
    ]
    for spec, budget in BUDGETS.items():
        domain = f"student_{spec}"
        outcomes = finished_sweep(
            domain, labels, range(seeds), steps=budget, runs=runs, workers=args.workers, progress=False
        )
        (report,) = summarise([runs / domain / label for label in labels], threshold=THRESHOLD)
        lines += [
            f"### `{spec}.sebn`, {budget:,} episodes",
            "",
            report_table(report),
            "",
            *sooner_table(runs, domain, labels),
            "",
            *ingredients_table(outcomes, labels),
            "",
        ]
    publish("sebn_weightings", lines, write=not args.quick)


if __name__ == "__main__":
    main()
