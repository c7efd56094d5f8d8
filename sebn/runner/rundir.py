"""The one reader and writer of a run directory.

``runs/<domain>/<label>/seed<S>/`` (the label: :func:`run_label`)
holds:

* ``config.json``: what was run (domain and its version, curriculum and its options, seed,
  steps, agent options and arguments), the package version, the git commit (``-dirty``
  when the working tree had uncommitted changes), start and end times;
* TensorBoard events (the agent's ``charts/``, ``losses/``, ``eval/``; the curriculum's
  ``curriculum/``);
* ``episodes.jsonl``: every finished training episode, one record each, appended and
  flushed as it reaches the curriculum;
* ``generations.jsonl``: what an adaptive curriculum decided (one record per SEBN generation);
* ``evals.csv``: the agent's periodic evaluations (the domain's evaluation env);
* ``final.json``: the last evaluation on every evaluation env of the domain;
* ``checkpoints/latest.pt``: agent, optimiser, RNGs and the curriculum's state together;
* ``failed.json``: why the last attempt failed, if it did (a sweep goes on without it).

``runs/<domain>/sweep.json`` lists a sweep's grid and outcomes.

Example:
    >>> import tempfile
    >>> run = RunDir.of(tempfile.mkdtemp(), "doorkey", "sebn", 0)
    >>> run.path.parts[-3:], run.read_config()
    (('doorkey', 'sebn', 'seed0'), None)
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sebn import __version__
from sebn.core.records import JsonlWriter, read_jsonl, write_json, write_jsonl
from sebn.curricula.registry import curriculum_label


class RunsError(ValueError):
    """Run directories that cannot be read as asked (none found, no evaluations yet)."""


def run_label(config: Mapping[str, Any]) -> str:
    """A run's label from its ``config.json`` (or the run asked for): the curriculum's label
    (:func:`sebn.curricula.registry.curriculum_label`), then ``@<agent>`` when the run chose
    a student other than its domain's default (``sebn-window=3@ppo``), so runs of two
    students never share a directory or a report row.

    Example:
        >>> run_label({"curriculum": "sebn", "curriculum_options": {"window": 3}, "algo": "ppo"})
        'sebn-window=3@ppo'
    """
    label = curriculum_label(config["curriculum"], config.get("curriculum_options", {}))
    return f"{label}@{config['algo']}" if config.get("algo") else label


@dataclass(frozen=True)
class RunDir:
    """One run's directory, by path."""

    path: Path

    @classmethod
    def of(cls, runs: str | Path, domain: str, label: str, seed: int) -> RunDir:
        return cls(Path(runs) / domain / label / f"seed{seed}")

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoints" / "latest.pt"

    def has_checkpoint(self) -> bool:
        """Whether the run left a checkpoint (the latest, or the one before it when a kill
        fell between the two renames of a save)."""
        return self.checkpoint.exists() or self.checkpoint.with_name("previous.pt").exists()

    @property
    def episodes_path(self) -> Path:
        return self.path / "episodes.jsonl"

    @property
    def generations_path(self) -> Path:
        return self.path / "generations.jsonl"

    @property
    def evals_path(self) -> Path:
        return self.path / "evals.csv"

    @property
    def final_path(self) -> Path:
        return self.path / "final.json"

    # --- config and outcome ------------------------------------------------------------

    def read_config(self) -> dict[str, Any] | None:
        return _read_json(self.config_path) if self.config_path.exists() else None

    def write_config(self, config: Mapping[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.config_path, dict(config))

    def read_final(self) -> dict[str, Any] | None:
        """``final.json``, or ``None`` for a run not finished."""
        return _read_json(self.final_path) if self.final_path.exists() else None

    def write_final(self, final: Mapping[str, Any]) -> None:
        write_json(self.final_path, dict(final))

    def record_failure(self, message: str, traceback: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.path / "failed.json", {"error": message, "traceback": traceback})

    def clear_failure(self) -> None:
        (self.path / "failed.json").unlink(missing_ok=True)

    # --- records ------------------------------------------------------------------------

    def episodes(self) -> list[dict[str, Any]]:
        return read_jsonl(self.episodes_path) if self.episodes_path.exists() else []

    def generations(self) -> list[dict[str, Any]]:
        path = self.generations_path
        return read_jsonl(path) if path.exists() and path.stat().st_size else []

    def evals(self) -> list[dict[str, str]]:
        """The rows of ``evals.csv``, by column name.

        Raises:
            RunsError: the run has no evaluations yet, or a row (other than a torn last one,
                from a killed writer) is not a number under each column of the header.
        """
        path = self.evals_path
        if not path.exists():
            raise RunsError(f"{self.path} has no evaluations yet (evals.csv)")
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.splitlines()
        if lines and not text.endswith("\n"):
            lines = lines[:-1]
        rows = list(csv.reader(lines))  # one row per line, so a row's index is its line
        if not rows or not rows[0] or rows[0][0] != "step":
            raise RunsError(f"{path}:1: expected a header step,<metric>,..., got {lines[0] if lines else 'nothing'!r}")
        header, records = rows[0], []
        for number, row in enumerate(rows[1:], start=2):
            if len(row) != len(header) or not all(_is_number(value) for value in row):
                raise RunsError(f"{path}:{number}: expected {len(header)} numbers, got {lines[number - 1]!r}")
            records.append(dict(zip(header, row)))
        return records

    def append_eval(self, step: int, metrics: Mapping[str, float]) -> None:
        new = not self.evals_path.exists()
        with self.evals_path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["step", *sorted(metrics)])
            writer.writerow([step, *(metrics[k] for k in sorted(metrics))])
            f.flush()

    def count_records(self) -> tuple[int, int]:
        """Generations and evaluations written so far."""
        return len(read_jsonl(self.generations_path)) if self.generations_path.exists() else 0, _csv_rows(
            self.evals_path
        )

    def writers(self) -> tuple[JsonlWriter, JsonlWriter]:
        """Appenders of ``episodes.jsonl`` and ``generations.jsonl``."""
        return JsonlWriter(self.episodes_path, fsync=False), JsonlWriter(self.generations_path, fsync=False)

    def clear_records(self) -> None:
        """A run starting without a checkpoint starts its records afresh (an attempt killed
        before its first checkpoint may have left some)."""
        for path in (
            self.episodes_path,
            self.generations_path,
            self.evals_path,
            *self.path.glob("events.out.tfevents.*"),
        ):
            path.unlink(missing_ok=True)

    def keep_first_records(self, episodes: int, generations: int, evals: int) -> None:
        """Back to a checkpoint: the records written after it are cut away (the resumed
        run writes them again), so none is counted twice."""
        _keep_first(self.episodes_path, episodes)
        _keep_first(self.generations_path, generations)
        _keep_first_rows(self.evals_path, evals)


def find_runs(paths: Iterable[Path]) -> list[Path]:
    """Run directories (holding ``config.json``) at or below each path.

    Raises:
        RunsError: a path that does not exist, or none found.
    """
    paths = list(paths)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise RunsError(f"{', '.join(missing)}: no such directory")
    found = []
    for path in paths:
        if (path / "config.json").exists():
            found.append(path)
        else:
            found += sorted(p.parent for p in path.glob("**/config.json"))
    if not found:
        raise RunsError(f"no run directories (with config.json) in {', '.join(map(str, paths))}")
    return found


def write_sweep(runs: str | Path, domain: str, record: Mapping[str, Any]) -> None:
    """``runs/<domain>/sweep.json``: a sweep's grid and its outcomes."""
    write_json(Path(runs) / domain / "sweep.json", dict(record))


def provenance() -> dict[str, Any]:
    """What ``config.json`` records of where a run came from: the package version, the
    git commit and the start time."""
    return {"version": __version__, "commit": _git_commit(), "started": now()}


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _git_commit() -> str | None:
    try:
        # the full hash, never a tag's name; "-dirty" when the working tree has uncommitted changes
        out = subprocess.run(
            ["git", "describe", "--always", "--abbrev=40", "--dirty", "--exclude=*"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_json(path: Path) -> dict[str, Any]:
    """A run's JSON file; :class:`RunsError` naming it when it is not a JSON object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise RunsError(f"{path}: cannot read: {err}") from None
    except json.JSONDecodeError as err:
        raise RunsError(f"{path}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from None
    if not isinstance(value, dict):
        raise RunsError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def _keep_first(path: Path, n: int) -> None:
    if not path.exists():
        return
    records = read_jsonl(path)
    if len(records) != n:
        tmp = path.with_suffix(".tmp")
        write_jsonl(tmp, records[:n])
        os.replace(tmp, path)


def _csv_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(newline="") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)


def _keep_first_rows(path: Path, n: int) -> None:
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not n:
        path.unlink()
    elif len(rows) - 1 != n:
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", newline="") as f:
            csv.writer(f).writerows(rows[: n + 1])
        os.replace(tmp, path)
