"""What every test session here needs, doctests of sebn/, agents/ and domains/ included."""

import builtins

import pytest


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    """A doctest's last shown value stays in ``builtins._`` (the interactive display hook);
    a tuple holding a list there breaks any later import that hashes builtins' values
    (tyro does, at import), so each test ends without it."""
    if isinstance(item, pytest.DoctestItem):
        builtins.__dict__.pop("_", None)
