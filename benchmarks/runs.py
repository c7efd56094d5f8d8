"""Benchmark runs through ``sebn sweep``: a benchmark reports only on finished grids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sebn.runner.rundir import RunDir, find_runs, run_label
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


def finished_runs(runs: Path) -> Iterator[tuple[str, RunDir]]:
    """Each finished run under ``runs`` (one with ``final.json``), with its label."""
    for run_dir in find_runs([runs]):
        run = RunDir(run_dir)
        if run.read_final() is not None:
            yield run_label(run.read_config()), run
