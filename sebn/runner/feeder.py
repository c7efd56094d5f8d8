"""Feeding a curriculum's tasks to a vector env, and its finished episodes back.

:class:`CurriculumFeeder` is the vector-env helper between a curriculum (in the main
process) and the training envs (in it, or in ``AsyncVectorEnv`` workers). It speaks the
agents' callback protocol (:class:`sebn.runner.interface.Callbacks`): every reset of a training env
asks :meth:`reset_options` for the env's next task, passed on as
``reset(options={"task": ...})``; every finished episode comes back through
:meth:`on_episode`, with the env's target outcomes (``final_info["targets"]``), and reaches
``curriculum.observe`` exactly once, tagged with its task's ticket.

Gradient statistics (for the gradient-norm teacher) are credited by time: an update
counts for every episode that took part in the env step before it. An episode that ends
in a step still gets the updates that step feeds (its last transition is in them); an
episode begun by a reset in that step does not. So an episode is handed to the
curriculum at the next step (``on_step``), or at :meth:`close`.

An env that does not echo the task it was given in ``info["task"]`` raises
:class:`TaskNotAppliedError`: silently ignored options are how curricula stop working
without anyone noticing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sebn.curricula.base import BaseCurriculum, Episode, Task
from sebn.runner.gradients import GradientStats
from sebn.runner.interface import Callbacks


class TaskNotAppliedError(RuntimeError):
    """A training env did not report back the task it was reset with."""


@dataclass
class _Running:
    ticket: int
    task: Task
    stats: GradientStats | None
    stepped: bool = False
    episode: Episode | None = field(default=None)


class CurriculumFeeder(Callbacks):
    """Callbacks that feed ``curriculum``'s tasks to the training envs' resets.

    Args:
        curriculum: any curriculum of :mod:`sebn.curricula`.
        gradients: collect the student's gradient statistics per episode: ``"actor"``,
            ``"critic"`` or ``"both"`` (``None``: do not).
        last_layer: only the last linear layer's gradients count.
        clear_buffer: empty the student's replay buffer at every new task (the
            gradient-norm paper's option).
        on_finished: called with each episode as it reaches the curriculum (to write
            ``episodes.jsonl``, say).
    """

    def __init__(
        self,
        curriculum: BaseCurriculum,
        gradients: str | None = None,
        last_layer: bool = False,
        clear_buffer: bool = False,
        on_finished: Callable[[Episode], None] | None = None,
    ):
        self.curriculum, self.gradients, self.last_layer = curriculum, gradients, last_layer
        self.clear_buffer, self.on_finished = clear_buffer, on_finished
        self.running: dict[int, _Running] = {}
        self.closing: list[_Running] = []
        self.replay_buffer = None
        self.delivered = 0

    def on_start(self, handles: Mapping[str, Any]) -> None:
        self.replay_buffer = handles.get("replay_buffer")
        if self.clear_buffer and self.replay_buffer is None:
            raise ValueError("clear_buffer needs an off-policy agent (one with a replay buffer)")

    def reset_options(self, env_index: int) -> dict[str, Any]:
        ticket = self.curriculum.issued
        task = self.curriculum.sample(1)[0]
        stats = GradientStats(self.gradients, self.last_layer) if self.gradients else None
        self.running[env_index] = _Running(ticket, task, stats)
        if self.clear_buffer and self.replay_buffer is not None:
            self.replay_buffer.clear()
        return {"task": task}

    def on_step(self, global_step: int) -> None:
        self._deliver()
        for running in self.running.values():
            running.stepped = True

    def on_episode(self, info: Mapping[str, Any]) -> None:
        index = info["env_index"]
        running = self.running.pop(index, None)
        if running is None:
            raise RuntimeError(f"env {index} finished an episode the feeder never gave a task")
        echoed = info.get("task")
        if not _same_task(echoed, running.task):
            raise TaskNotAppliedError(
                f"env {index} was reset with task {running.task} but reported {echoed!r} in info['task']; "
                "a task-settable env must apply reset(options={'task': ...}) and echo it"
            )
        final = info.get("final_info", {})
        targets = {k: int(v) for k, v in dict(final.get("targets", {})).items()}
        applied = final.get("applied")
        running.episode = Episode(
            dict(running.task),
            targets,
            float(info["return"]),
            int(info["length"]),
            int(info["global_step"]),
            ticket=running.ticket,
            applied=_plain(applied),
        )
        self.closing.append(running)

    def on_update(self, modules: Mapping[str, Any]) -> None:
        if not self.gradients:
            return
        for running in [*self.running.values(), *self.closing]:
            if running.stepped:
                running.stats.add(modules)

    def on_eval(self, step: int, metrics: Mapping[str, float]) -> None:
        """Evaluations do not concern the curriculum."""

    def state_dict(self) -> dict[str, Any]:
        """The curriculum's state, after handing over the finished episodes; episodes still
        running are not kept (a resumed agent starts every env afresh)."""
        self._deliver()
        return {"curriculum": self.curriculum.state(), "delivered": self.delivered}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.curriculum.load_state(state["curriculum"])
        self.delivered = int(state["delivered"])
        self.running, self.closing = {}, []

    def close(self) -> None:
        """Hand over the episodes still waiting for their last updates."""
        self._deliver()

    def _deliver(self) -> None:
        if not self.closing:
            return
        episodes = []
        for running in self.closing:
            episode = running.episode
            if running.stats is not None:
                episode.gradients = running.stats.rewards(episode.length)
            episodes.append(episode)
        self.closing = []
        episodes.sort(key=lambda e: e.ticket)
        self.curriculum.observe(episodes)
        self.delivered += len(episodes)
        if self.on_finished is not None:
            for episode in episodes:
                self.on_finished(episode)


def _same_task(echoed: Any, task: Mapping[str, Any]) -> bool:
    if not isinstance(echoed, Mapping) or set(echoed) != set(task):
        return False
    return all(
        np.allclose(np.asarray(echoed[k], dtype=float), np.asarray(task[k], dtype=float))
        if not isinstance(task[k], str)
        else echoed[k] == task[k]
        for k in task
    )


def _plain(value: Any) -> Any:
    """NumPy values out of a vector env's info as plain JSON-able Python."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value
