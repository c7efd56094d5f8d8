"""The gradient-norm teacher (Algorithm 1 of the gradient-norm paper).

The teacher is a Pyro model: a small network maps the teacher's state (the last finished
episode's task and return) to a distribution over the task space, and
``pyro.sample`` draws each part of the task. Each decision is rewarded by the size of the
student's gradients during the episode played on it (:class:`sebn.runner.gradients.GradientStats`
collects them):

    mean_norm = (1/T) sum_t ||g_t||          sum_norm = (1/T) ||sum_t g_t||

with ``T`` the episode's length and ``g_t`` the gradient of one student update (one
``on_update`` call) restricted to the chosen parameters. After every ``batch_size``
rewarded decisions, ``teacher_updates`` REINFORCE steps with a learned baseline: the loss
is ``-mean(A * log pi(task | state)) + mean((b(state) - r)^2)``, ``A = r - b(state)``
standardised over the batch (gradient norms drift by orders of magnitude during
training; standardising keeps the step size meaningful). The log-probabilities come from
the Pyro trace of the model conditioned on the tasks taken.

Task spaces: a ``gymnasium.spaces.Dict`` of ``Box`` and ``Discrete`` parts, or one such
part (then named ``"task"``). Box parts are squashed into their bounds by a tanh, so every
sample is a valid task; snapping to valid cells is the domain's job. Before its first
update the teacher draws close to uniformly over the task space (:data:`INITIAL_STD`;
Discrete parts start with equal logits), so an untrained teacher is the uniform
curriculum and what a teacher changes is what it learnt.

Example:
    >>> from gymnasium import spaces
    >>> teacher = GradientNormTeacher(spaces.Discrete(3), batch_size=2, seed=0)
    >>> task = teacher.sample(1)[0]
    >>> sorted(task), task["task"] in range(3)
    (['task'], True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from gymnasium import spaces
from pyro import poutine
from torch import nn

from sebn.core.records import as_lists
from sebn.curricula.base import BaseCurriculum, Episode, Setting, Task
from sebn.curricula.registry import REWARDS

INITIAL_STD = 0.85
"""The Box parts' standard deviation before the first update (before squashing): the tanh
of a centred Gaussian with it is the closest to uniform over ``[-1, 1]`` (Kolmogorov
distance 0.010; 20% of each dimension's draws in the outer tenth of its range at either
end, as uniform draws). The teacher started with 1.05 until 2026-12 (distance 0.055; 30%
there), so its tasks leaned to the task space's edges (a maze's corners); a checkpoint keeps
the start, so such a run is never resumed with the new one."""


class TeacherPolicy(nn.Module):
    """State -> parameters of each task part's distribution, plus the baseline."""

    def __init__(self, parts: Mapping[str, spaces.Space], state_dim: int, hidden: int):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(state_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.heads = nn.ModuleDict()
        for name, part in parts.items():
            size = 2 * int(np.prod(part.shape)) if isinstance(part, spaces.Box) else int(part.n)
            self.heads[name] = nn.Linear(hidden, size)
            nn.init.zeros_(self.heads[name].weight)  # start from the same distribution in every state
            nn.init.zeros_(self.heads[name].bias)
        self.baseline = nn.Sequential(nn.Linear(state_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, state: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.trunk(state)
        return {name: head(h) for name, head in self.heads.items()}


class GradientNormTeacher(BaseCurriculum):
    """A REINFORCE teacher over a task space, rewarded by the student's gradient norms.

    Args:
        task_space: a ``Dict`` of ``Box``/``Discrete`` parts, or one such part.
        batch_size: decisions per teacher update (``B``).
        teacher_updates: gradient steps per batch.
        reward: ``"mean_norm"`` or ``"sum_norm"``.
        lr: Adam learning rate of the policy and the baseline.
        hidden: width of the teacher's two hidden layers.
        min_std: floor of the Box parts' standard deviation (before squashing), below
            :data:`INITIAL_STD`.
        seed: seeds the teacher's network and its sampling.
    """

    kind = "gradient"

    def __init__(
        self,
        task_space: spaces.Space,
        batch_size: int = 16,
        teacher_updates: int = 1,
        reward: str = "mean_norm",
        lr: float = 1e-3,
        hidden: int = 64,
        min_std: float = 0.05,
        seed: int = 0,
    ):
        super().__init__(seed)
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {', '.join(REWARDS)}, not {reward!r}")
        if batch_size < 1 or teacher_updates < 1:
            raise ValueError("batch_size and teacher_updates must be at least 1")
        if not 0 <= min_std < INITIAL_STD:
            raise ValueError(f"min_std must be at least 0 and below {INITIAL_STD}, not {min_std}")
        parts = dict(task_space.spaces) if isinstance(task_space, spaces.Dict) else {"task": task_space}
        for name, part in parts.items():
            if not isinstance(part, (spaces.Box, spaces.Discrete)):
                raise TypeError(
                    f"task part '{name}' is a {type(part).__name__}; the teacher handles Box and Discrete parts"
                )
        self.parts = parts
        self.batch_size, self.teacher_updates, self.reward, self.min_std = batch_size, teacher_updates, reward, min_std
        self.std_offset = math.log(math.expm1(INITIAL_STD - min_std))  # softplus(std_offset) + min_std = INITIAL_STD
        self.state_dim = sum(self._width(p) for p in parts.values()) + 1
        torch.manual_seed(seed)  # the network's initial weights
        self.policy = TeacherPolicy(parts, self.state_dim, hidden).double()
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=lr)
        self.teacher_state = [0.0] * self.state_dim
        self.pending: dict[int, dict[str, Any]] = {}
        self.batch: list[dict[str, Any]] = []
        self.updates = 0
        self.last_loss: float | None = None
        self.last_reward: float | None = None

    @classmethod
    def build(cls, setting: Setting, seed: int = 0, **options: Any) -> GradientNormTeacher:
        return cls(setting.space.space, seed=seed, **options)

    @staticmethod
    def _width(part: spaces.Space) -> int:
        return int(np.prod(part.shape)) if isinstance(part, spaces.Box) else int(part.n)

    # --- the Pyro model ----------------------------------------------------------------

    def model(self, state: torch.Tensor) -> dict[str, torch.Tensor]:
        """One decision per row of ``state``: ``pyro.sample`` per task part."""
        # The network's parameters stay out of Pyro's global param store: the teacher
        # optimises them itself, and two teachers in one process must not share them.
        params = self.policy(state)
        task = {}
        with pyro.plate("decisions", state.shape[0]):
            for name, part in self.parts.items():
                task[name] = pyro.sample(name, self._distribution(part, params[name]))
        return task

    def _distribution(self, part: spaces.Space, out: torch.Tensor) -> dist.Distribution:
        if isinstance(part, spaces.Discrete):
            return dist.Categorical(logits=out)
        mean, raw_std = out.chunk(2, dim=-1)
        std = torch.nn.functional.softplus(raw_std + self.std_offset) + self.min_std
        low, high = (torch.as_tensor(b, dtype=torch.float64).reshape(-1) for b in (part.low, part.high))
        squash = [dist.transforms.TanhTransform(), dist.transforms.AffineTransform((high + low) / 2, (high - low) / 2)]
        return dist.TransformedDistribution(dist.Normal(mean, std), squash).to_event(1)

    def log_prob(self, states: torch.Tensor, tasks: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``log pi(task | state)`` per decision, from the trace of the conditioned model."""
        trace = poutine.trace(poutine.condition(self.model, data=dict(tasks))).get_trace(states)
        trace.compute_log_prob()
        return sum(trace.nodes[name]["log_prob"] for name in self.parts)

    # --- the curriculum protocol ---------------------------------------------------------

    def _sample(self, n: int, rng: np.random.Generator) -> list[Task]:
        state = torch.tensor([self.teacher_state] * n, dtype=torch.float64)
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**31)))
            drawn = self.model(state)
        tasks = []
        for i in range(n):
            task = {}
            for name, part in self.parts.items():
                value = drawn[name][i]
                if isinstance(part, spaces.Box):
                    # Round-off can reach the bounds exactly; keep the value strictly inside
                    # so its log-probability stays finite.
                    low, high = (
                        np.asarray(part.low, dtype=float).reshape(-1),
                        np.asarray(part.high, dtype=float).reshape(-1),
                    )
                    margin = 1e-9 * (high - low)
                    task[name] = np.clip(value.numpy(), low + margin, high - margin).reshape(part.shape).tolist()
                else:
                    task[name] = int(value)
            self.pending[self.issued + i] = {"state": list(self.teacher_state), "task": task}
            tasks.append(task)
        return tasks

    def observe(self, episodes: Sequence[Episode]) -> None:
        for episode in episodes:
            decision = self.pending.pop(episode.ticket, None) if episode.ticket is not None else None
            if decision is None:
                raise ValueError(f"episode with ticket {episode.ticket} matches no pending decision of this teacher")
            reward = float((episode.gradients or {}).get(self.reward, 0.0))
            self.batch.append({**decision, "reward": reward})
            self.teacher_state = self._encode(episode.task, episode.episode_return)
            if len(self.batch) >= self.batch_size:
                self._update()

    def _encode(self, task: Mapping[str, Any], episode_return: float) -> list[float]:
        features = []
        for name, part in self.parts.items():
            if isinstance(part, spaces.Box):
                low, high = (
                    np.asarray(part.low, dtype=float).reshape(-1),
                    np.asarray(part.high, dtype=float).reshape(-1),
                )
                features += (2 * (np.asarray(task[name], dtype=float).reshape(-1) - low) / (high - low) - 1).tolist()
            else:
                features += np.eye(part.n)[int(task[name])].tolist()
        # Returns span orders of magnitude across domains; a signed log keeps them in range.
        return features + [math.copysign(math.log1p(abs(episode_return)), episode_return)]

    def _update(self) -> None:
        states = torch.tensor([d["state"] for d in self.batch], dtype=torch.float64)
        rewards = torch.tensor([d["reward"] for d in self.batch], dtype=torch.float64)
        tasks = {}
        for name, part in self.parts.items():
            values = [d["task"][name] for d in self.batch]
            tasks[name] = torch.tensor(values, dtype=torch.float64 if isinstance(part, spaces.Box) else torch.long)
            if isinstance(part, spaces.Box):
                tasks[name] = tasks[name].reshape(len(values), -1)
        for _ in range(self.teacher_updates):
            baseline = self.policy.baseline(states).squeeze(-1)
            advantage = rewards - baseline.detach()
            if len(advantage) > 1:
                advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
            loss = -(advantage * self.log_prob(states, tasks)).mean() + (baseline - rewards).pow(2).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        self.last_loss = float(loss.detach())
        self.last_reward = float(rewards.mean())
        self.updates += 1
        self.batch = []
        self.scalars += [("curriculum/teacher_loss", self.last_loss), ("curriculum/teacher_reward", self.last_reward)]

    def state(self) -> dict[str, Any]:
        state = {**super().state(), "teacher_state": self.teacher_state, "batch": self.batch, "updates": self.updates}
        state["initial_std"] = INITIAL_STD
        state["pending"] = {str(k): v for k, v in self.pending.items()}
        state["policy"], state["optimizer"] = as_lists(self.policy.state_dict()), _optimizer_state(self.optimizer)
        return state

    def load_state(self, state: Mapping[str, Any]) -> None:
        super().load_state(state)
        started_at = state.get("initial_std", 1.05)  # checkpoints from before it was kept: 1.05
        if started_at != INITIAL_STD:
            raise ValueError(
                f"this teacher started with standard deviation {started_at} and sebn's teacher starts with "
                f"{INITIAL_STD} now, so it would change its distribution mid-run; start the run again (another --runs)"
            )
        self.teacher_state, self.batch, self.updates = (
            list(state["teacher_state"]),
            list(state["batch"]),
            int(state["updates"]),
        )
        self.pending = {int(k): v for k, v in state["pending"].items()}
        self.policy.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in state["policy"].items()})
        self.optimizer.load_state_dict(_optimizer_from(state["optimizer"]))


def _optimizer_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Adam's state as JSON-able lists."""
    saved = optimizer.state_dict()
    return {
        "param_groups": saved["param_groups"],
        "state": {str(k): {n: v.tolist() for n, v in s.items()} for k, s in saved["state"].items()},
    }


def _optimizer_from(data: Mapping[str, Any]) -> dict[str, Any]:
    state = {}
    for k, s in data["state"].items():
        state[int(k)] = {
            n: torch.tensor(v, dtype=torch.float32 if n == "step" else torch.float64) for n, v in s.items()
        }
    return {"param_groups": data["param_groups"], "state": state}
