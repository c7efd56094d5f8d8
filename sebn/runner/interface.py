"""The contract between the runner and the outside: what a domain declares, the door
through which an agent meets a curriculum, and what an agent's ``train()`` returns.

Domains (``domains/``) and agents (``agents/``) import this module, and the model layers
below it where they need a spec, never the runner's other modules: the runner finds them
by name (:mod:`sebn.runner.domains`), so no arrow points back up.

An agent is a module with a ``@dataclass Args`` and
``train(args, make_env=None, callbacks=None) -> TrainResult``; ``callbacks`` is a
:class:`Callbacks`, its only contact with a curriculum.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sebn.curricula.registry import curricula_for

if TYPE_CHECKING:
    import gymnasium as gym
    from torch import nn


class ExperimentError(Exception):
    """A run that cannot start as asked (unknown domain, a run directory holding another run)."""


@dataclass
class Domain:
    """What ``sebn run`` needs to know about a domain.

    Attributes:
        name: the domain's name.
        make_env: ``make_env(index)`` builds training env ``index``; ``-1`` the evaluation env
            (``None`` for the simulated student, which needs none).
        final_envs: name -> builder of each env the finished agent is evaluated on.
        agent: a module of :mod:`agents`: ``"ppo"``, ``"ppo_options"``, ``"sac"``,
            ``"td3_fork"`` or ``"student"``.
        agent_args: the agent's ``Args`` fields this domain sets.
        students: the other agents this domain trains with (``sebn run --algo``): module of
            :mod:`agents` -> its ``Args`` fields here; ``agent`` is the default student.
        default_steps: env steps when ``--steps`` is not given.
        spec: its requirement spec (SEBN domains), or ``None``.
        tasks: the tasks a curriculum may choose (the spec's settings x targets the env accepts).
        evaluation: the evaluation task.
        target_tasks: what ``target`` (no curriculum) trains on: ``[evaluation]`` unless the
            evaluation plays more than that task's target (DoorKey's evaluation chains its
            three options, so each option trains on the hardest setting with its own target).
        task_space: for domains without a spec, the space the gradient-norm teacher and
            ``uniform`` draw from (``target`` leaves the env its own start distribution).
        version: raised whenever the env changes what a task means (layout, dynamics,
            rewards); ``config.json`` records it, and a run of another version is never
            resumed or reused.
    """

    name: str
    make_env: Callable[[int], gym.Env] | None
    final_envs: dict[str, Callable[[], gym.Env]]
    agent: str
    agent_args: dict[str, Any] = field(default_factory=dict)
    students: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_steps: int = 100_000
    spec: Path | None = None
    tasks: list[dict[str, Any]] | None = None
    evaluation: dict[str, Any] | None = None
    target_tasks: list[dict[str, Any]] | None = None
    task_space: gym.Space | None = None
    version: int = 1

    def student(self, algo: str | None = None) -> tuple[str, dict[str, Any]]:
        """The agent module and its ``Args`` fields for ``algo`` (``None``: the default).

        Raises:
            ExperimentError: an agent this domain does not train with, naming those it does.
        """
        if algo is None or algo == self.agent:
            return self.agent, dict(self.agent_args)
        if algo not in self.students:
            raise ExperimentError(
                f"domain {self.name} trains with {', '.join([self.agent, *self.students])} "
                f"(default {self.agent}), not {algo!r}"
            )
        return algo, dict(self.students[algo])

    @property
    def curricula(self) -> tuple[str, ...]:
        """The curricula it takes: those of the registry that suit a domain with (or without) a spec."""
        return curricula_for(self.spec is not None)


PPO_CONTINUOUS_ARGS = {
    "num_envs": 1,
    "num_steps": 2048,
    "learning_rate": 3e-4,
    "anneal_lr": True,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "num_minibatches": 32,
    "update_epochs": 10,
    "clip_coef": 0.2,
    "ent_coef": 0.0,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
    "hidden_sizes": [64, 64],
    "normalize_obs": True,
    "normalize_reward": True,
}
"""The teacher domains' PPO student (``--algo ppo``): CleanRL's ``ppo_continuous_action.py``
defaults, benchmarked on MuJoCo tasks (docs.cleanrl.dev, "ppo_continuous_action.py"):
1 env x 2048 steps, 32 minibatches, 10 epochs, learning rate 3e-4 annealed, gamma 0.99,
GAE lambda 0.95, clip 0.2, no entropy bonus, 2x64 tanh networks, observations and rewards
normalised. No published PPO tuning for PointMaze, AntMaze or Adroit was found."""


def teacher_domain(
    name: str,
    make_env: Callable[[int], gym.Env],
    task_space: gym.Space,
    learning_starts: int,
    eval_every: int,
    default_steps: int,
    version: int = 1,
) -> Domain:
    """A domain without a spec, for the gradient-norm teacher: the paper's SAC student
    (``--preset gradient-paper``), or PPO (:data:`PPO_CONTINUOUS_ARGS`) with ``--algo ppo``,
    evaluated on ``make_env(-1)`` (the env's own start distribution) during and after training;
    ``version`` as for :class:`Domain`."""
    return Domain(
        version=version,
        name=name,
        make_env=make_env,
        final_envs={"default": lambda: make_env(-1)},
        agent="sac",
        agent_args={
            "preset": "gradient-paper",
            "learning_starts": learning_starts,
            "eval_every": eval_every,
            "eval_episodes": 10,
        },
        students={"ppo": {**PPO_CONTINUOUS_ARGS, "eval_every": eval_every, "eval_episodes": 10}},
        default_steps=default_steps,
        task_space=task_space,
    )


def run_as_command(domain: str) -> None:
    """``python -m domains.<module> ARGS`` is ``sebn run <domain> ARGS``: this process
    becomes that command (a new program, not an import of the command line)."""
    os.execv(sys.executable, [sys.executable, "-m", "sebn.cli", "run", domain, *sys.argv[1:]])


class Callbacks:
    """The only door between an agent and a curriculum or teacher. Override what you need.

    * ``on_start(handles)``: once, before training; ``handles`` holds ``"envs"``; for
      off-policy agents ``"replay_buffer"`` (call ``.clear()`` on it to empty it); and
      ``"credit"``: which episodes an update learns from, ``"step"`` (the default: those
      in the env step before it) or ``"rollout"`` (on-policy: those in the rollout before
      it; :mod:`sebn.runner.feeder`); and ``"log"``: the agent's ``log(key, value, step)``
      for scalars, so the curriculum's land in the agent's own TensorBoard run (and,
      when tracked, its Weights & Biases run) rather than in a second one.
    * ``on_episode(info)``: after each finished training episode, with ``task`` (the reset
      options' task echoed by the env, if any), ``return``, ``length``, ``global_step``,
      ``final_info`` (the env's last info) and ``env_index``.
    * ``on_step(global_step)``: at the start of every step of the training envs, before
      the episodes that step finishes and the updates it feeds.
    * ``on_update(modules)``: after ``backward()`` and before the optimiser step, so the
      gradients of ``modules`` (``"actor"``, ``"critic"``, ...) are readable; they are
      overwritten by the next update, so copy what you keep.
    * ``on_eval(step, metrics)``: after each evaluation.
    * ``reset_options(env_index)``: the options for the next reset of a training env
      (a curriculum's task goes here); ``None`` for the env's default.
    * ``state_dict()`` / ``load_state_dict(state)``: saved in and restored from the agent's
      checkpoints (plain Python values), so a curriculum resumes with the agent.
    """

    def on_start(self, handles: Mapping[str, Any]) -> None:
        """Once, before training: ``{"envs": ..., "replay_buffer": ...}``."""

    def reset_options(self, env_index: int) -> dict[str, Any] | None:
        """Options for the next reset of training env ``env_index``; ``None``: the env's default."""
        return None

    def on_step(self, global_step: int) -> None:
        """At the start of every step of the training envs."""

    def on_episode(self, info: Mapping[str, Any]) -> None:
        """After each finished training episode."""

    def on_update(self, modules: Mapping[str, nn.Module]) -> None:
        """After ``backward()``, before the optimiser step."""

    def on_eval(self, step: int, metrics: Mapping[str, float]) -> None:
        """After each evaluation."""

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of the callbacks (nothing by default)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` gave, when the agent resumes."""


Policy = Callable[[np.ndarray], np.ndarray]
"""A batch of observations -> a batch of actions."""


@dataclass
class TrainResult:
    """What every agent's ``train()`` returns.

    Attributes:
        global_step: env steps trained.
        policy: the trained policy for evaluation (``None`` for the simulated student,
            which has no env to act in).
        last_eval: the last training-time evaluation (``eval/...`` metrics and its
            ``global_step``; empty when evaluation was off).
        modules: the trained networks by name (``"agent"`` for PPO; ``"actor"``,
            ``"critics"``... for the off-policy agents).
        final: evaluations the agent makes itself at the end, by name (the simulated
            student's exact success), beside those the runner makes on the domain's envs.
        extra: agent-specific numbers worth reporting (TD3-FORK's ``fork_weight``).
    """

    global_step: int
    policy: Policy | None
    last_eval: dict[str, float] = field(default_factory=dict)
    modules: dict[str, Any] = field(default_factory=dict)
    final: dict[str, dict[str, float]] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)


def episode_success(info: Mapping[str, Any]) -> float | None:
    """The env's own success flag in an episode's last info, if it reports one."""
    for key in ("is_success", "success"):
        if key in info:
            return float(np.asarray(info[key]).item())
    return None


def evaluate(policy: Policy, env: gym.Env, episodes: int, seed: int) -> dict[str, float]:
    """Deterministic evaluation on a separate env: mean return, length and (when the env
    reports it) success rate."""
    returns, lengths, successes = [], [], []
    for episode in range(episodes):
        obs, info = env.reset(seed=seed + episode)
        done, total, length = False, 0.0, 0
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs[None])[0])
            total += float(reward)
            length += 1
            done = terminated or truncated
        returns.append(total)
        lengths.append(length)
        success = episode_success(info)
        if success is not None:
            successes.append(success)
    metrics = {"eval/episodic_return": float(np.mean(returns)), "eval/episodic_length": float(np.mean(lengths))}
    if successes:
        metrics["eval/success_rate"] = float(np.mean(successes))
    return metrics
