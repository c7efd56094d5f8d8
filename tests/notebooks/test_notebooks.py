"""Every notebook runs top to bottom, each in under two minutes of CPU time, in a fresh
workspace: the repository's files but not its ``runs/``, so what a notebook finds there (a
finished DoorKey run, runs of an older version) cannot change what the test sees. CPU time,
not wall time: on a busy machine a notebook waits for a core without costing more."""

from __future__ import annotations

import resource
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LIMIT = 120
CELL_TIMEOUT = 600  # wall seconds a cell may take on a busy machine before the test gives up


def test_there_are_three_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["1_", "2_", "3_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    for name in ("specs", "notebooks"):
        (tmp_path / name).symlink_to(ROOT / name)
    notebook = nbformat.read(path, as_version=4)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # the kernel is shut down and reaped, so its CPU time is among the children's
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert 0 < seconds < LIMIT, f"{path.name} took {seconds:.0f} s of CPU"
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was drawn"
