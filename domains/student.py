"""The simulated student on a spec domain's tasks: ``student_doorkey``,
``student_bipedalwalker`` and ``student_robosuite_door`` have the tasks, spec and evaluation
task of ``doorkey``, ``bipedalwalker`` and ``robosuite_door``, and
:mod:`agents.student` in place of reinforcement learning. A run is a few seconds, so
sweeps, reports and notebooks can be tried (and tested) without a simulator's cost; steps
are episodes.

    sebn run student_doorkey --curriculum sebn --steps 2000
"""

from __future__ import annotations

import importlib

from sebn.runner.interface import Domain, run_as_command


def domain(name: str):
    """``student_<domain>`` for the runner."""
    base_name = name.removeprefix("student_")
    base = importlib.import_module(f"domains.{base_name}").domain(base_name)
    return Domain(
        name=name,
        make_env=None,
        final_envs={},
        agent="student",
        agent_args={"spec": str(base.spec), "evaluation": [base.evaluation], "eval_every": 50},
        default_steps=2000,
        spec=base.spec,
        tasks=base.tasks,
        evaluation=base.evaluation,
    )


if __name__ == "__main__":
    run_as_command("student_doorkey")
