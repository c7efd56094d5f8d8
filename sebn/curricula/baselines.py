"""The baselines every curriculum is compared with: domain randomisation and no curriculum.

Example:
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> space = TaskSpace(SEBN(parse_spec("goalreached : (wall=1 | move=1)\\n")))
    >>> UniformCurriculum(space, seed=0).sample(1)[0]["wall"] in (0, 1), TargetCurriculum([{"wall": 1}]).sample(2)
    (True, [{'wall': 1}, {'wall': 1}])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sebn.curricula.base import BaseCurriculum, GymTaskSpace, Setting, TaskSpace


class UniformCurriculum(BaseCurriculum):
    """Domain randomisation: every task equally likely."""

    kind = "uniform"

    def __init__(self, space: TaskSpace | GymTaskSpace, seed: int = 0):
        super().__init__(seed)
        self.space = space

    def _sample(self, n, rng):
        return self.space.uniform(n, rng)


class TargetCurriculum(BaseCurriculum):
    """No curriculum: always the evaluation task(s), cycled in order."""

    kind = "target"

    def __init__(self, tasks: Sequence[Mapping[str, Any]], seed: int = 0):
        super().__init__(seed)
        if not tasks:
            raise ValueError("the target curriculum needs at least one evaluation task")
        self.tasks = [dict(t) for t in tasks]

    @classmethod
    def build(cls, setting: Setting, seed: int = 0) -> TargetCurriculum:
        return cls(setting.target_tasks, seed=seed)

    def _sample(self, n, rng):
        return [dict(self.tasks[(self.issued + i) % len(self.tasks)]) for i in range(n)]
