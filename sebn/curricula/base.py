"""The curriculum protocol and what every curriculum shares: episodes, task spaces, tickets.

Every curriculum follows one protocol: ``sample(n)`` hands out tasks, ``observe(episodes)``
takes finished episodes back, ``state()`` is a JSON-able snapshot from which
``load_state`` resumes exactly (the RNG included). The i-th task a curriculum hands out
has *ticket* i (``issued`` counts them); the episode played on it carries the ticket
back, so a curriculum can credit an outcome to the decision that caused it however
episodes interleave.

A curriculum is built for a :class:`Setting`: the tasks it may choose (a spec's
:class:`TaskSpace`, or a :class:`GymTaskSpace` for domains without a spec) and the tasks
that "no curriculum" trains on. The curricula themselves live beside this module:
:mod:`sebn.curricula.sebn` (the SEBN paper's), :mod:`sebn.curricula.baselines`
(uniform, target), :mod:`sebn.curricula.alp_gmm`, :mod:`sebn.curricula.teacher` (the
gradient-norm teacher); :mod:`sebn.curricula.registry` names them all.

Example:
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> from sebn.curricula.sebn import SEBNCurriculum
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=2)\\ngoalreached : (| move=1)\\n"))
    >>> curriculum = SEBNCurriculum(net, generation_size=4, seed=0)
    >>> tasks = curriculum.sample(4)
    >>> episodes = [Episode(t, {"goalreached": t["wall"] == 0}, 1.0, 1, i, ticket=i) for i, t in enumerate(tasks)]
    >>> curriculum.observe(episodes)
    >>> curriculum.generation
    1
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from sebn.core.network import SEBN

Task = dict[str, Any]


@dataclass
class Episode:
    """One finished episode as a curriculum sees it.

    Attributes:
        task: the task it was played on (env variables, and ``target`` when the spec has several).
        targets: target name -> 1 (succeeded) or 0; a target not observed is absent.
        episode_return: the undiscounted return.
        length: steps.
        step: the student's global env step when it ended.
        ticket: the index of the task among those the curriculum handed out.
        gradients: reward metrics of the student's gradients during the episode
            (``mean_norm``, ``sum_norm``, ``updates``), when the agent reports them.
        applied: what the env actually set up for the task, when it reports it
            (``final_info["applied"]``: a maze's cells, Adroit's ball and target).
    """

    task: Mapping[str, Any]
    targets: Mapping[str, int]
    episode_return: float
    length: int
    step: int
    ticket: int | None = None
    gradients: Mapping[str, float] | None = None
    applied: Mapping[str, Any] | None = None

    def to_record(self) -> dict[str, Any]:
        """The ``episodes.jsonl`` record (:mod:`sebn.runner.rundir`; docs/cli.md's file formats)."""
        record = {
            "step": self.step,
            "task": dict(self.task),
            "targets": {k: int(v) for k, v in self.targets.items()},
            "return": float(self.episode_return),
            "length": int(self.length),
        }
        if self.ticket is not None:
            record["ticket"] = self.ticket
        if self.gradients is not None:
            record["gradients"] = dict(self.gradients)
        if self.applied is not None:
            record["applied"] = dict(self.applied)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Episode:
        return cls(
            record["task"],
            record.get("targets", {}),
            record["return"],
            record["length"],
            record["step"],
            record.get("ticket"),
            record.get("gradients"),
            record.get("applied"),
        )


@runtime_checkable
class Curriculum(Protocol):
    issued: int

    def sample(self, n: int, rng: np.random.Generator | None = None) -> list[Task]: ...

    def observe(self, episodes: Sequence[Episode]) -> None: ...

    def state(self) -> dict[str, Any]: ...

    def load_state(self, state: Mapping[str, Any]) -> None: ...


class BaseCurriculum(abc.ABC):
    """Ticket counting, the seeded RNG and their part of :meth:`state`; subclasses say
    how tasks are drawn (:meth:`_sample`)."""

    kind = "base"

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.issued = 0
        self.log: list[dict[str, Any]] = []
        self.scalars: list[tuple[str, float]] = []

    def sample(self, n: int, rng: np.random.Generator | None = None) -> list[Task]:
        """``n`` tasks, drawn with ``rng`` (the curriculum's own seeded RNG by default)."""
        tasks = self._sample(n, self.rng if rng is None else rng)
        self.issued += n
        return tasks

    @abc.abstractmethod
    def _sample(self, n: int, rng: np.random.Generator) -> list[Task]:
        """``n`` tasks drawn with ``rng``."""

    @classmethod
    def build(cls, setting: Setting, seed: int = 0, **options: Any) -> BaseCurriculum:
        """The curriculum for ``setting``; most take its task space."""
        return cls(setting.space, seed=seed, **options)

    def observe(self, episodes: Sequence[Episode]) -> None:
        """Most baselines learn nothing from episodes."""

    def pop_log(self) -> list[dict[str, Any]]:
        """Records of what it decided (``self.log``) since the last call, for ``generations.jsonl``."""
        log, self.log = self.log, []
        return log

    def pop_scalars(self) -> list[tuple[str, float]]:
        """``(key, value)`` pairs to log (``self.scalars``) since the last call: TensorBoard's ``curriculum/``."""
        scalars, self.scalars = self.scalars, []
        return scalars

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "issued": self.issued, "rng": self.rng.bit_generator.state}

    def load_state(self, state: Mapping[str, Any]) -> None:
        if state.get("kind") != self.kind:
            raise ValueError(f"state is for a '{state.get('kind')}' curriculum, not '{self.kind}'")
        self.issued = int(state["issued"])
        self.rng.bit_generator.state = dict(state["rng"])


class TaskSpace:
    """The tasks of a spec: its env settings, times its targets when it has several.

    Args:
        net: the network.
        targets: the targets trained (all of the spec's by default).
        tasks: an explicit list of tasks instead (a domain that allows fewer).
    """

    def __init__(
        self, net: SEBN, targets: Sequence[str] | None = None, tasks: Sequence[Mapping[str, Any]] | None = None
    ):
        self.net = net
        self.targets = list(targets or net.targets)
        unknown = [t for t in self.targets if t not in net.targets]
        if unknown:
            raise ValueError(f"unknown target(s) {unknown}; the spec has: {', '.join(net.targets)}")
        self.explicit = tasks is not None
        if tasks is not None:
            if not tasks:
                raise ValueError("the task list is empty")
            self._settings = torch.from_numpy(net.settings_from_tasks(tasks))
            self._target_index = torch.tensor([self.target_index(t) for t in tasks], dtype=torch.long)

    @property
    def multi_target(self) -> bool:
        return len(self.net.targets) > 1

    def target_index(self, task: Mapping[str, Any]) -> int:
        """The index in ``net.targets`` of the task's target."""
        name = task.get("target", self.targets[-1] if len(self.targets) == 1 else None)
        if name is None:
            raise ValueError(f"task {dict(task)} names no target; the spec has several: {', '.join(self.net.targets)}")
        if name not in self.targets:
            raise ValueError(f"task {dict(task)}: target '{name}' is not trained here ({', '.join(self.targets)})")
        return self.net.targets.index(name)

    def __len__(self) -> int:
        if self.explicit:
            return len(self._target_index)
        return self.net.n_settings * len(self.targets)

    def all(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every task as ``settings[N, n_env]`` and ``target_index[N]`` (setting-major)."""
        if self.explicit:
            return self._settings, self._target_index
        settings = torch.from_numpy(self.net.settings())
        index = torch.tensor([self.net.targets.index(t) for t in self.targets], dtype=torch.long)
        return settings.repeat_interleave(len(index), dim=0), index.repeat(settings.shape[0])

    def task(self, setting: torch.Tensor | Sequence[int], target: int) -> Task:
        task: Task = self.net.describe_setting(setting)
        if self.multi_target:
            task["target"] = self.net.targets[int(target)]
        return task

    def tasks(self, settings: torch.Tensor, target_index: torch.Tensor) -> list[Task]:
        return [self.task(s, t) for s, t in zip(settings.tolist(), target_index.tolist())]

    def uniform(self, n: int, rng: np.random.Generator) -> list[Task]:
        """``n`` tasks uniformly at random (each variable on its own for a product space,
        so the space is never enumerated)."""
        if self.explicit:
            index = rng.integers(0, len(self), size=n)
            return self.tasks(self._settings[index], self._target_index[index])
        columns = [rng.choice(np.asarray(domain), size=n) for domain in self.net.domains]
        grid = np.stack(columns, axis=-1) if columns else np.zeros((n, 0))  # a spec may have no env variables
        settings = torch.as_tensor(grid, dtype=torch.long).reshape(n, len(self.net.env))
        names = rng.choice(len(self.targets), size=n)
        target_index = torch.tensor([self.net.targets.index(self.targets[i]) for i in names], dtype=torch.long)
        return self.tasks(settings, target_index)


class GymTaskSpace:
    """The tasks of a domain without a spec: a gym space of ``Box`` and ``Discrete``
    parts (a ``Dict``, or one part named ``"task"``), in the teacher's task format.

    Example:
        >>> from gymnasium import spaces
        >>> space = GymTaskSpace(spaces.Dict({"cell": spaces.Discrete(4)}))
        >>> space.uniform(1, np.random.default_rng(0))[0]["cell"] in range(4)
        True
    """

    def __init__(self, space):
        from gymnasium import spaces

        self.space = space
        self.parts = dict(space.spaces) if isinstance(space, spaces.Dict) else {"task": space}
        for name, part in self.parts.items():
            if not isinstance(part, (spaces.Box, spaces.Discrete)):
                raise TypeError(
                    f"task part '{name}' is a {type(part).__name__}; uniform handles Box and Discrete parts"
                )

    def uniform(self, n: int, rng: np.random.Generator) -> list[Task]:
        """``n`` tasks uniformly at random."""
        from gymnasium import spaces

        tasks = []
        for _ in range(n):
            task = {}
            for name, part in self.parts.items():
                if isinstance(part, spaces.Discrete):
                    task[name] = int(part.start + rng.integers(part.n))
                else:
                    task[name] = rng.uniform(part.low, part.high).astype(float).tolist()
            tasks.append(task)
        return tasks


@dataclass
class Setting:
    """What a curriculum is built for.

    Attributes:
        space: the tasks it may choose.
        target_tasks: what ``target`` (no curriculum) trains on: the evaluation task(s);
            ``[{}]`` (the env's own start distribution) for domains without a spec.
    """

    space: TaskSpace | GymTaskSpace
    target_tasks: list[dict[str, Any]] = field(default_factory=lambda: [{}])
