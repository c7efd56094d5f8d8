"""Feeding a curriculum's tasks to a vector env, and its finished episodes back.

:class:`CurriculumFeeder` is the vector-env helper between a curriculum (in the main
process) and the training envs (in it, or in ``AsyncVectorEnv`` workers). It speaks the
agents' callback protocol (:class:`sebn.runner.interface.Callbacks`): every reset of a training env
asks :meth:`reset_options` for the env's next task, passed on as
``reset(options={"task": ...})``; every finished episode comes back through
:meth:`on_episode`, with the env's target outcomes (``final_info["targets"]``), and reaches
``curriculum.observe`` exactly once, tagged with its task's ticket.

Gradient statistics (for the gradient-norm teacher) are credited to the episodes whose
transitions the update learns from, by one of two rules the agent declares at
``on_start`` (``handles["credit"]``):

* ``"step"`` (off-policy agents, SAC and TD3-FORK: an update after every env step): an
  update counts for every episode that took part in the env step before it. An episode
  that ends in a step still gets the updates that step feeds (its last transition is in
  them); an episode begun by a reset in that step does not. So an episode is handed to
  the curriculum at the next step (``on_step``), or at :meth:`close`.
* ``"rollout"`` (PPO: every update of an iteration learns from the rollout before it): an
  episode gets every update made after each rollout it has a transition in, so an episode
  that ends mid-rollout waits for the updates of its rollout and is handed over at the
  first step after them (without gradient statistics to collect, nothing waits). PPO's
  minibatches draw from every env and step of the rollout, so an episode's transitions
  are in each of them in expectation; the rule credits all, not the minibatches that
  happened to hold them, and the rewards average over the updates, not the episode's
  steps (:mod:`sebn.runner.gradients`). So the episodes of one rollout share their
  reward; a gradient of each episode's own transitions would tell them apart (not built).

Episodes reach the curriculum in the order they ended (ticket order within a step).

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

CREDIT_RULES = ("step", "rollout")
"""How an agent's updates are credited to episodes (module docstring)."""


class TaskNotAppliedError(RuntimeError):
    """A training env did not report back the task it was reset with."""


@dataclass
class _Running:
    ticket: int
    task: Task
    stats: GradientStats | None
    stepped: bool = False
    episode: Episode | None = field(default=None)
    updates_at_end: int = 0


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
        self.updates = 0
        self.credit = "step"

    def on_start(self, handles: Mapping[str, Any]) -> None:
        self.replay_buffer = handles.get("replay_buffer")
        if self.clear_buffer and self.replay_buffer is None:
            raise ValueError("clear_buffer needs an off-policy agent (one with a replay buffer)")
        self.credit = handles.get("credit", "step")
        if self.credit not in CREDIT_RULES:
            raise ValueError(f"credit must be one of {', '.join(CREDIT_RULES)}, not {self.credit!r}")

    def reset_options(self, env_index: int) -> dict[str, Any]:
        ticket = self.curriculum.issued
        task = self.curriculum.sample(1)[0]
        stats = GradientStats(self.gradients, self.last_layer) if self.gradients else None
        self.running[env_index] = _Running(ticket, task, stats)
        if self.clear_buffer and self.replay_buffer is not None:
            self.replay_buffer.clear()
        return {"task": task}

    def on_step(self, global_step: int) -> None:
        # only gradients need an episode to wait for its rollout's updates
        self._deliver(waiting=self.credit == "rollout" and self.gradients is not None)
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
        running.updates_at_end = self.updates
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
        self.updates += 1
        if not self.gradients:
            return
        credited = [running.stats for running in [*self.running.values(), *self.closing] if running.stepped]
        if credited:
            gradients = credited[0].read(modules)  # the same gradients for every episode credited
            for stats in credited:
                stats.add_read(gradients)

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

    def _deliver(self, waiting: bool = False) -> None:
        """Hand the finished episodes to the curriculum; with ``waiting``, only those an
        update has learnt from since they ended (the rollout rule)."""
        done = [not waiting or self.updates > r.updates_at_end for r in self.closing]
        ready = [r for r, d in zip(self.closing, done) if d]
        if not ready:
            return
        self.closing = [r for r, d in zip(self.closing, done) if not d]
        episodes = []
        for running in ready:
            episode = running.episode
            if running.stats is not None:
                episode.gradients = running.stats.rewards(episode.length, per_update=self.credit == "rollout")
            episodes.append(episode)
        episodes.sort(key=lambda e: (e.step, e.ticket))
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
