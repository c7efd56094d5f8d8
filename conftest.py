"""What every test session here needs, doctests of sebn/, agents/ and domains/ included."""

import builtins
import os

import pytest
import torch

# One intra-op thread in this process and, through the variable, in every one a test starts
# (CLIs, sweep workers, notebook kernels): `make test` runs a test process per core, and torch's
# default of a thread per core then makes two processes' threads spin against each other (one
# SVI test: 221 s of CPU with two threads, 57 s with one, the other core busy).
torch.set_num_threads(1)
os.environ["OMP_NUM_THREADS"] = "1"


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    """A doctest's last shown value stays in ``builtins._`` (the interactive display hook);
    a tuple holding a list there breaks any later import that hashes builtins' values
    (tyro does, at import), so each test ends without it."""
    if isinstance(item, pytest.DoctestItem):
        builtins.__dict__.pop("_", None)
