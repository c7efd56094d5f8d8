"""The simulated student (:class:`sebn.curricula.students.SimulatedStudent`) behind the agents'
interface, so that ``sebn run`` and ``sebn sweep`` compare curricula on a spec in seconds.

One "env step" is one episode: the callbacks' ``reset_options(0)`` gives the task, the
student plays it and learns, ``on_episode`` gets the outcomes. Every ``eval_every``
episodes ``on_eval`` gets ``eval/success_rate``: the exact probability of success on the
evaluation tasks under the student's current competencies. The student keeps no
checkpoint: an interrupted run starts again from the beginning (it takes seconds, and a
seed replays it exactly).

    python -m agents.student --spec specs/doorkey.sebn --total-timesteps 2000
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import tyro

from agents.common import check_ranges, start_run
from sebn.core.network import SEBN
from sebn.core.spec import load_spec
from sebn.curricula.students import SimulatedStudent
from sebn.runner.interface import Callbacks, TrainResult


@dataclass
class Args:
    spec: str = "specs/doorkey.sebn"
    """the requirement spec whose generative story the student follows"""
    evaluation: list[dict[str, Any]] = field(default_factory=list)
    """tasks whose mean success is reported (default: every setting of the spec's last target)"""
    seed: int = 1
    """seeds the student's outcomes"""
    total_timesteps: int = 2000
    """episodes to play"""
    rate: float = 0.02
    """skill gained per episode at the student's frontier"""
    decay: float = 1.5
    """how fast learning fades with the gap beyond one level"""
    observe: str = "all"
    """'all': every target's outcome is reported; 'task': only the trained target's"""
    eval_every: int = 50
    """episodes between evaluations (exact: the probability of success, not a sample)"""
    run_dir: str = "runs/student"
    """where args.json goes"""
    threads: int = 1
    """torch threads"""

    def __post_init__(self):
        check_ranges(self, positive="total_timesteps threads", non_negative="rate decay eval_every")


def train(args: Args, make_env=None, callbacks: Callbacks | None = None) -> TrainResult:
    """Let the callbacks' tasks teach a simulated student; returns ``global_step``, no
    policy, and ``final``: the last evaluation."""
    start_run(args)
    callbacks = callbacks or Callbacks()
    net = SEBN(load_spec(args.spec))
    student = SimulatedStudent(net, rate=args.rate, decay=args.decay, observe=args.observe, seed=args.seed)
    evaluation = args.evaluation or [{**net.describe_setting(row), "target": net.targets[-1]} for row in net.settings()]
    callbacks.on_start({})

    def evaluate(step: int) -> dict[str, float]:
        metrics = {"eval/success_rate": float(student.success(evaluation).mean())}
        callbacks.on_eval(step, metrics)
        return metrics

    metrics = evaluate(0)
    for step in range(1, args.total_timesteps + 1):
        callbacks.on_step(step)
        task = (callbacks.reset_options(0) or {}).get("task", evaluation[0])
        episode = student.play(task)
        callbacks.on_episode(
            {
                "env_index": 0,
                "task": task,
                "return": episode.episode_return,
                "length": 1,
                "global_step": step,
                "final_info": {"targets": episode.targets},
            }
        )
        if args.eval_every and step % args.eval_every == 0:
            metrics = evaluate(step)
    return TrainResult(args.total_timesteps, None, metrics, final={"evaluation": metrics})


if __name__ == "__main__":
    result = train(tyro.cli(Args))
    print(json.dumps(result.final))
