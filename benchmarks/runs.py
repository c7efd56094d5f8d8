"""Benchmark runs through ``sebn sweep``: a benchmark reports only on finished grids."""

from __future__ import annotations

from sebn.runner.sweep import Outcome, sweep


def finished_sweep(domain: str, curricula, seeds, **options) -> list[Outcome]:
    """:func:`sebn.runner.sweep.sweep`, stopping the benchmark with every failed run named.

    Completed runs are skipped and interrupted ones resume, so re-running a benchmark
    only runs what is missing.
    """
    outcomes = sweep(domain, curricula, seeds, **options)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        raise SystemExit("failed runs: " + "; ".join(f"{o.run_dir}: {o.error}" for o in failed))
    return outcomes
