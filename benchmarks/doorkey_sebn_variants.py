"""DoorKey: variants of the SEBN curriculum against the plain one and uniform; writes its
section of BENCHMARKS.md. Two studies: ``steadiness`` (a window of generations, larger
generations) and ``weightings`` (the posterior-aware ``expected`` and ``thompson``).

    .venv/bin/python -m benchmarks.doorkey_sebn_variants            # 10 seeds x 300k steps (~45 min of runs here)
    .venv/bin/python -m benchmarks.doorkey_sebn_variants --study weightings
    .venv/bin/python -m benchmarks.doorkey_sebn_variants --quick    # 2 seeds x 20k steps, scratch dir, print only

The DoorKey benchmark found SEBN's competency estimates jumping between generations far
more than the agent changes. Each variant is a curriculum label (``sebn-window=3``: theta
fit on the latest three generations), so one ``sebn sweep`` runs them and one report
compares them. Runs share ``runs/bench-doorkey-v<N>`` (N: DoorKey's version) and the agent options of
``benchmarks.doorkey_curricula``: its ``sebn`` and ``uniform`` runs are reused, not redone.
Besides the report, a table measures how steady each variant's fits are: per generation,
how far the expected competency levels move and the mean ``|P_g - P_{g-1}|`` over tasks
(the signal the SEBN weights are made of).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.doorkey_curricula import RUNS, VERSION, agent_options
from benchmarks.markdown import ROOT, publish, report_table, spread
from benchmarks.runs import finished_sweep
from benchmarks.sebn_weightings import ingredients_table
from sebn.cli.arguments import positive_int
from sebn.report.summary import summarise
from sebn.runner.rundir import RunDir

STUDIES = {
    "steadiness": (
        "steadier SEBN fits",
        "sebn,sebn-window=3,sebn-window=5,sebn-generation_size=300,uniform",
    ),
    "weightings": (
        "posterior-aware SEBN weightings",
        "sebn,sebn-method=laplace-weighting=expected,sebn-method=laplace-weighting=thompson,uniform",
    ),
}
"""Study -> its title and curriculum labels."""


def steadiness(run_dir: Path) -> tuple[int, float, float] | None:
    """Generations, mean per-generation move of the expected competency levels, and mean
    ``|P_g - P_{g-1}|``; ``None`` for a run without SEBN generations."""
    generations = RunDir(run_dir).generations()
    if not generations:
        return None
    expected = np.array([[np.dot(np.arange(len(p)), p) for p in g["theta"].values()] for g in generations])
    moves = np.abs(np.diff(expected, axis=0)).mean() if len(expected) > 1 else np.nan
    return len(generations), float(moves), float(np.mean([np.mean(g["change"]) for g in generations]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", choices=tuple(STUDIES), default="steadiness")
    parser.add_argument("--variants", help="curriculum labels (default: the study's)")
    parser.add_argument("--steps", type=positive_int, default=300_000)
    parser.add_argument("--seeds", type=positive_int, default=10)
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--quick", action="store_true", help="2 seeds x 20k steps into a scratch directory; print only")
    args = parser.parse_args()
    title, default_variants = STUDIES[args.study]
    args.variants = args.variants or default_variants
    runs = ROOT / "runs" / RUNS["doorkey"]
    if args.quick:
        args.steps, args.seeds, runs = 20_000, 2, ROOT / "runs" / f"{RUNS['doorkey']}-quick"
    labels = args.variants.split(",")
    outcomes = finished_sweep(
        "doorkey",
        labels,
        range(args.seeds),
        steps=args.steps,
        runs=runs,
        workers=args.workers,
        agent_options=agent_options(args.steps),
        progress=False,
    )
    (report,) = summarise([runs / "doorkey" / label for label in labels])
    rows = [
        "| curriculum | generations | expected-level move per generation | mean &#124;P_g - P_(g-1)&#124; |",
        "|---|---|---|---|",
    ]
    for label in labels:
        measured = [steadiness(Path(o.run_dir)) for o in outcomes if o.label == label]
        if measured and None not in measured:
            generations, moves, changes = zip(*measured)
            rows.append(f"| {label} | {spread(generations, 0)} | {spread(moves, 3)} | {spread(changes, 4)} |")
    lines = [
        f"## DoorKey (version {VERSION}): {title} (`benchmarks/doorkey_sebn_variants.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.doorkey_sebn_variants --study {args.study} --variants "
        f"{args.variants} --seeds "
        f"{args.seeds} "
        f"--steps {args.steps}`; {args.seeds} seeds per curriculum, {args.steps:,} env steps, {args.workers} "
        "at a time, "
        "PPO options and evaluation as in the DoorKey curricula sections above. Report from `sebn report` "
        "(IQM over seeds, 95% "
        "stratified bootstrap intervals):",
        "",
        report_table(report),
        "",
        "How steady the fits are (median [min, max] over seeds; expected levels averaged over the competencies):",
        "",
        *rows,
    ]
    if args.study == "weightings":
        lines += [
            "",
            "What the weights were made of (means over seeds and generations):",
            "",
            *ingredients_table(outcomes, labels),
        ]
    prefix = f"doorkey_v{VERSION}_sebn"
    section = f"{prefix}_variants" if args.study == "steadiness" else f"{prefix}_{args.study}"
    publish(section, lines, write=not args.quick)


if __name__ == "__main__":
    main()
