"""Benchmark runs through ``sebn run``'s machinery: timed once, read back from their files."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np

from sebn.experiment import run


def timed_run(**kwargs) -> Path:
    """:func:`sebn.experiment.run`, recording its wall time the first time it completes
    (a run skipped as complete keeps the time it took)."""
    start = time.perf_counter()
    run_dir = run(progress=False, **kwargs)
    timing = run_dir / "bench_seconds.json"
    if not timing.exists():
        timing.write_text(json.dumps({"seconds": time.perf_counter() - start}))
    return run_dir


def seconds(run_dir: Path) -> float:
    return json.loads((run_dir / "bench_seconds.json").read_text())["seconds"]


def evals(run_dir: Path) -> dict[str, np.ndarray]:
    """The columns of a run's ``evals.csv``."""
    with (run_dir / "evals.csv").open() as f:
        rows = list(csv.DictReader(f))
    return {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}
