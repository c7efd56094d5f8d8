"""sebn's curricula in anyone's training loop: a Gymnasium wrapper on each env and a task
supply in the main process, for a single env, Gymnasium vector envs (``SyncVectorEnv``,
``AsyncVectorEnv``) and Stable-Baselines3's ``DummyVecEnv``/``SubprocVecEnv``.

The curriculum stays in the main process (:class:`TaskSupply`). Each env is wrapped in
:class:`CurriculumWrapper`, which holds a queue of tasks handed to it ahead of time, so an
env that resets itself inside a worker process (auto-reset) always has its next task: the
supply keeps every env one task ahead. At each reset the wrapper takes the next task from
its queue and applies it (``reset(options={"task": task})``, or a user's ``apply_task``);
when the episode ends it puts a report in ``info["curriculum"]`` (the task's ticket, the
task, the target outcomes, return and length), which the vector env carries back to the
main process, where the supply hands it to ``curriculum.observe`` and gives the env a new
task. Every episode reaches ``observe`` exactly once; a task handed out is never lost or
given twice (a reset in mid-episode replays the episode's task): :meth:`TaskSupply.state`
keeps the tasks still out, and a supply loaded from it hands them out again first (their
episodes start afresh, as a resumed run's do).

Example (Gymnasium's vector env, CartPole's pole length as the task; Stable-Baselines3:
:meth:`TaskSupply.sb3_callback`):
    >>> import gymnasium as gym
    >>> from sebn.curricula.baselines import TargetCurriculum
    >>> def set_pole(env, task):
    ...     env.unwrapped.length = task["pole_length"]
    >>> supply = TaskSupply(TargetCurriculum([{"pole_length": 0.5}, {"pole_length": 1.0}]), num_envs=2)
    >>> envs = gym.vector.SyncVectorEnv(
    ...     [lambda i=i: CurriculumWrapper(gym.make("CartPole-v1"), index=i, apply_task=set_pole) for i in range(2)]
    ... )
    >>> supply.attach(envs)
    >>> _ = envs.reset(seed=0)
    >>> for _ in range(100):
    ...     _, _, _, _, infos = envs.step(envs.action_space.sample())
    ...     finished = supply.after_step(envs, infos)
    >>> supply.observed > 0, supply.curriculum.issued == supply.observed + 4  # each env holds two tasks
    (True, True)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from sebn.curricula.base import BaseCurriculum, Episode, Task


@dataclass(frozen=True)
class EpisodeReport:
    """What a wrapped env says of a finished episode, in ``info["curriculum"]`` (a plain
    object, so vector envs carry it whole rather than splitting a dict into arrays)."""

    ticket: int
    task: Task
    targets: Mapping[str, int]
    episode_return: float
    length: int


class CurriculumWrapper(gym.Wrapper):
    """The env side: takes each reset's task from the tasks the supply handed it, and
    reports each finished episode in ``info["curriculum"]``.

    Args:
        env: any Gymnasium env.
        index: the env's index in its vector env (0 for a single env): which of the
            supply's offers are for it.
        apply_task: how to set a task for envs that do not take
            ``reset(options={"task": task})``: called as ``apply_task(env, task)`` before
            a plain ``reset``.
        outcomes: the target outcomes of a finished episode, ``outcomes(info, episode_return)
            -> {target: 0 or 1}``; by default ``info["targets"]``, else
            ``{"success": info["is_success"]}``, else success when the return is positive.
    """

    def __init__(
        self,
        env: gym.Env,
        index: int = 0,
        apply_task: Callable[[gym.Env, Task], None] | None = None,
        outcomes: Callable[[Mapping[str, Any], float], Mapping[str, int]] | None = None,
    ):
        super().__init__(env)
        if index < 0:
            raise ValueError(f"index is the env's place in its vector env (0 for a single env), got {index}")
        self.index, self.apply_task, self.outcomes = index, apply_task, outcomes or default_outcomes
        self.queue: deque[tuple[int, Task]] = deque()
        self.current: tuple[int, Task] | None = None
        self.finished_current = False
        self.episode_return, self.length = 0.0, 0

    def give_tasks(self, offer: Mapping[int, Sequence[tuple[int, Task]]]) -> int:
        """Queue the tasks offered to this env's index (``{index: [(ticket, task), ...]}``);
        returns how many it holds."""
        self.queue.extend((int(t), dict(task)) for t, task in offer.get(self.index, ()))
        return len(self.queue)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if not self.queue and (self.current is None or self.finished_current):
            raise RuntimeError(
                f"env {self.index} was reset without a task: give it tasks first (TaskSupply.attach, or "
                "TaskSupply.sb3_callback for Stable-Baselines3)"
            )
        if self.current is None or self.finished_current:  # a reset mid-episode replays its task
            self.current = self.queue.popleft()
        self.finished_current = False
        task = self.current[1]
        self.episode_return, self.length = 0.0, 0
        if self.apply_task is not None:
            self.apply_task(self.env, task)
            return self.env.reset(seed=seed, options=options)
        return self.env.reset(seed=seed, options={**(options or {}), "task": task})

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.episode_return += float(reward)
        self.length += 1
        if terminated or truncated:
            self.finished_current = True
            ticket, task = self.current
            targets = {k: int(v) for k, v in dict(self.outcomes(info, self.episode_return)).items()}
            info = {**info, "curriculum": EpisodeReport(ticket, task, targets, self.episode_return, self.length)}
        return obs, reward, terminated, truncated, info


def _call_each(envs, method: str, *args: Any) -> list[Any]:
    """``method(*args)`` of each env of ``envs`` (a wrapped env, a Gymnasium vector env or
    Stable-Baselines3's VecEnv), through its wrappers; the results in env order."""
    if isinstance(envs, gym.vector.VectorEnv):
        return list(envs.call(method, *args))
    if hasattr(envs, "env_method"):  # Stable-Baselines3's VecEnv
        return list(envs.env_method(method, *args))
    return [envs.get_wrapper_attr(method)(*args)]


def default_outcomes(info: Mapping[str, Any], episode_return: float) -> dict[str, int]:
    """``info["targets"]``, else ``{"success": info["is_success"]}`` (Gymnasium-Robotics,
    SB3's convention), else ``{"success": return > 0}`` (MiniGrid pays only on success)."""
    if "targets" in info:
        return dict(info["targets"])
    if "is_success" in info:
        return {"success": int(bool(info["is_success"]))}
    return {"success": int(episode_return > 0)}


class TaskSupply:
    """The main-process side: samples tasks from the curriculum, keeps every env one task
    ahead, and hands each finished episode to ``curriculum.observe`` exactly once.

    Args:
        curriculum: any curriculum of :mod:`sebn.curricula`.
        num_envs: the envs it supplies (wrapped with indices ``0..num_envs - 1``).
        on_finished: called with each :class:`~sebn.curricula.base.Episode` as the
            curriculum gets it (to log it, say).
    """

    def __init__(self, curriculum: BaseCurriculum, num_envs: int, on_finished: Callable[[Episode], None] | None = None):
        if not isinstance(curriculum, BaseCurriculum):
            raise TypeError(f"curriculum must be one of sebn.curricula's curricula, got {type(curriculum).__name__}")
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.curriculum, self.num_envs, self.on_finished = curriculum, num_envs, on_finished
        self.out: dict[int, list[tuple[int, Task]]] = {i: [] for i in range(num_envs)}
        self.returned: deque[tuple[int, Task]] = deque()  # handed out before a resume: handed out again first
        self.observed = 0
        self.steps = 0

    # --- what any loop calls -----------------------------------------------------------

    def top_up(self) -> dict[int, list[tuple[int, Task]]]:
        """The tasks each env needs to hold two (the one it plays or will play next, and
        the next): an offer for :meth:`CurriculumWrapper.give_tasks`."""
        offer = {}
        for index, held in self.out.items():
            new = [self._next() for _ in range(2 - len(held))]
            if new:
                held.extend(new)
                offer[index] = new
        return offer

    def finished(self, report: EpisodeReport, index: int) -> Episode:
        """One episode's report (``info["curriculum"]``) from env ``index``: to the curriculum.

        Raises:
            ValueError: a report of a task this supply did not hand that env (seen twice,
                or from an env wrapped with another index).
        """
        held = self.out[index]
        if not held or held[0][0] != report.ticket:
            raise ValueError(f"env {index} reported ticket {report.ticket}, but holds {[t for t, _ in held]}")
        _, task = held.pop(0)
        episode = Episode(task, dict(report.targets), report.episode_return, report.length, self.steps, report.ticket)
        self.curriculum.observe([episode])
        self.observed += 1
        if self.on_finished is not None:
            self.on_finished(episode)
        return episode

    # --- Gymnasium: a single wrapped env or a vector env of them ------------------------

    def attach(self, envs: gym.Env | gym.vector.VectorEnv) -> None:
        """Give a wrapped env, or every env of a vector env, its first tasks (before its
        first reset).

        Raises:
            ValueError: ``envs`` are not ``num_envs`` envs wrapped in
                :class:`CurriculumWrapper` with the indices ``0..num_envs - 1``.
        """
        count = getattr(envs, "num_envs", 1)
        wrapped = all(_call_each(envs, "has_wrapper_attr", "give_tasks"))
        indices = sorted(_call_each(envs, "get_wrapper_attr", "index")) if wrapped else None
        if count != self.num_envs or indices != list(range(self.num_envs)):
            raise ValueError(
                f"the supply feeds {self.num_envs} envs, each wrapped in CurriculumWrapper(env, index=i) with i its "
                f"place in the vector env; got {count} env(s), "
                + (f"with the indices {indices}" if wrapped else "not all of them wrapped")
            )
        self._give(envs, self.top_up())

    def after_step(self, envs: gym.Env | gym.vector.VectorEnv, infos: Mapping[str, Any]) -> list[Episode]:
        """After each ``step``: the finished episodes' reports (in ``infos``, a single env's
        info or a vector env's) to the curriculum, and new tasks to the envs that used one."""
        if isinstance(envs, gym.vector.VectorEnv):
            reports = infos.get("curriculum")
            mask = infos.get("_curriculum", np.zeros(self.num_envs, dtype=bool))
            finished = [(int(i), reports[i]) for i in np.flatnonzero(mask)] if reports is not None else []
        else:
            finished = [(0, infos["curriculum"])] if "curriculum" in infos else []
        return self._receive(envs, finished)

    def _receive(self, envs, finished: list[tuple[int, EpisodeReport]]) -> list[Episode]:
        """One step of every env done: its finished episodes to the curriculum, then new tasks."""
        self.steps += self.num_envs
        episodes = [self.finished(report, index) for index, report in finished]
        if episodes:
            self._give(envs, self.top_up())
        return episodes

    def _give(self, envs, offer: Mapping[int, list]) -> None:
        if offer:
            _call_each(envs, "give_tasks", offer)

    # --- Stable-Baselines3 ---------------------------------------------------------------

    def sb3_callback(self):
        """A Stable-Baselines3 callback that feeds the model's vector env (its envs wrapped
        in :class:`CurriculumWrapper`): pass it to ``model.learn(callback=...)`` after
        :meth:`attach`-ing the vector env (``model.learn`` resets it first).
        Needs ``pip install -e ".[sb3]"``."""
        try:
            from stable_baselines3.common.callbacks import BaseCallback
        except ImportError:
            raise ImportError('TaskSupply.sb3_callback needs Stable-Baselines3: pip install -e ".[sb3]"') from None
        supply = self

        class CurriculumCallback(BaseCallback):
            def _on_step(self) -> bool:
                infos = self.locals["infos"]
                supply._receive(
                    self.training_env, [(i, info["curriculum"]) for i, info in enumerate(infos) if "curriculum" in info]
                )
                return True

        return CurriculumCallback()

    # --- checkpoints ---------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The curriculum's state and the tasks handed out but not yet finished."""
        out = sorted((t for held in self.out.values() for t in held), key=lambda item: item[0])
        return {
            "curriculum": self.curriculum.state(),
            "out": [[ticket, task] for ticket, task in [*self.returned, *out]],
            "observed": self.observed,
            "steps": self.steps,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state`; the envs start afresh, so the tasks that were out
        are handed out again, first, with their tickets."""
        self.curriculum.load_state(state["curriculum"])
        self.returned = deque((int(ticket), dict(task)) for ticket, task in state["out"])
        self.out = {i: [] for i in range(self.num_envs)}
        self.observed, self.steps = int(state["observed"]), int(state["steps"])

    def _next(self) -> tuple[int, Task]:
        if self.returned:
            return self.returned.popleft()
        ticket = self.curriculum.issued
        return ticket, self.curriculum.sample(1)[0]
