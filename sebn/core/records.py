"""Episode records and their append-only JSON-lines storage.

One JSON object per line, appended and flushed per record, so a killed writer loses at
most the line it was writing; readers skip such a torn last line. The episode format
(``episodes.jsonl``) has at least ``step``, ``task`` (env values, and ``target`` when the
spec has several), ``targets`` (name -> 0/1, absent when not observed), ``return`` and
``length``.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "episodes.jsonl"
    >>> with JsonlWriter(path) as out:
    ...     out.write({"step": 1, "task": {"wall": 1}, "targets": {"goalreached": 1}, "return": 1.0, "length": 9})
    >>> read_jsonl(path)[0]["targets"]
    {'goalreached': 1}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch


class RecordError(ValueError):
    """A records file that cannot be read: names the file and line."""


class JsonlWriter:
    """Appends one JSON object per line, flushed (and fsynced) per record."""

    def __init__(self, path: str | Path, fsync: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(self.path)
        self._file = open(self.path, "a", encoding="utf-8")
        self._fsync = fsync

    def write(self, record: Mapping) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut a half-written last line (a killed writer) so appending resumes cleanly."""
    if not path.exists():
        return
    with open(path, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


def write_jsonl(path: str | Path, records: Iterable[Mapping]) -> None:
    """Write records to a new file (replacing any old one)."""
    Path(path).unlink(missing_ok=True)
    with JsonlWriter(path, fsync=False) as out:
        for record in records:
            out.write(record)


def write_json(path: str | Path, data: Mapping) -> None:
    """One JSON document, written to a temporary file and renamed: a kill never leaves it torn."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def read_jsonl(path: str | Path) -> list[dict]:
    """Read every complete record; a torn last line (a killed writer) is skipped.

    Raises:
        RecordError: if the file is missing or a line other than a torn last one is bad.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RecordError(f"{path}: cannot read: {err}") from None
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            if number == len(lines) and not text.endswith("\n"):
                break
            raise RecordError(f"{path}:{number}: not a JSON object: {err.msg}") from None
        if not isinstance(record, dict):
            raise RecordError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records


def observations(net, records: Iterable[Mapping], source: str = "records") -> tuple[torch.Tensor, torch.Tensor]:
    """Env settings ``[n, n_env]`` and outcomes ``[n, m]`` (1, 0, or -1 when not observed).

    Raises:
        RecordError: on a record without a task, an unknown target, or a value not 0/1.
    """
    tasks, rows = [], []
    for i, record in enumerate(records, start=1):
        task, targets = record.get("task"), record.get("targets", {})
        if not isinstance(task, Mapping) or not isinstance(targets, Mapping):
            raise RecordError(f"{source}: record {i} needs a 'task' object and a 'targets' object")
        row = []
        for name in targets:
            if name not in net.targets:
                raise RecordError(
                    f"{source}: record {i}: unknown target '{name}' (the spec has: {', '.join(net.targets)})"
                )
        for name in net.targets:
            value = targets.get(name)
            if value not in (None, 0, 1):
                raise RecordError(f"{source}: record {i}: target '{name}' must be 0 or 1, got {value!r}")
            row.append(-1 if value is None else int(value))
        tasks.append(task)
        rows.append(row)
    try:
        settings = torch.from_numpy(net.settings_from_tasks(tasks))
    except ValueError:
        for i, task in enumerate(tasks, start=1):  # which record: looked for only when one is bad
            try:
                net.settings_from_tasks([task])
            except ValueError as err:
                raise RecordError(f"{source}: record {i}: {err}") from None
        raise
    return settings, torch.tensor(rows, dtype=torch.long).reshape(len(rows), len(net.targets))


def as_lists(tensors: Mapping[str, Any]) -> dict[str, list]:
    """Named tensors (or arrays) as JSON-able nested lists, for records and states.

    Example:
        >>> as_lists({"move": torch.tensor([0.25, 0.75])})
        {'move': [0.25, 0.75]}
    """
    return {name: value.tolist() for name, value in tensors.items()}
