"""Every notebook runs top to bottom, each in under two minutes, in a fresh workspace: the
repository's files but not its ``runs/``, so what a notebook finds there (a finished
DoorKey run, runs of an older version) cannot change what the test sees."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LIMIT = 120


def test_there_are_three_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["1_", "2_", "3_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    for name in ("specs", "notebooks"):
        (tmp_path / name).symlink_to(ROOT / name)
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=LIMIT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - start
    assert seconds < LIMIT, f"{path.name} took {seconds:.0f} s"
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was drawn"
