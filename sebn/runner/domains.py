"""The registry of domains: a name -> the module of ``domains/`` that describes it.

Adding a domain touches this one table and its own module, which defines
``domain(name) -> Domain`` (:class:`sebn.runner.interface.Domain`). Modules are imported
by name when a run needs them, so ``sebn`` never imports a simulator it does not use and
no import points from the runner up into ``domains/``.
"""

from __future__ import annotations

import importlib

from sebn.runner.interface import Domain, ExperimentError

DOMAINS = {
    "doorkey": "domains.doorkey",
    "doorkey_sizes": "domains.doorkey",
    "bipedalwalker": "domains.bipedalwalker",
    "robosuite_door": "domains.robosuite_door",
    "pointmaze": "domains.pointmaze",
    "pointmaze_medium": "domains.pointmaze",
    "antmaze": "domains.antmaze",
    "adroit_relocate": "domains.adroit_relocate",
    "student_doorkey": "domains.student",
    "student_bipedalwalker": "domains.student",
    "student_robosuite_door": "domains.student",
}


def load_domain(name: str) -> Domain:
    """The domain ``name``, from its module's ``domain(name)``.

    Raises:
        ExperimentError: an unknown name, with the known ones.
    """
    if name not in DOMAINS:
        raise ExperimentError(f"unknown domain '{name}'; choose one of {', '.join(DOMAINS)}")
    return importlib.import_module(DOMAINS[name]).domain(name)
