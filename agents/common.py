"""The little the single-file agents share: replay buffer, logging, seeding, the training
envs' bookkeeping and checkpoints (the callbacks and evaluation are the runner's contract,
:mod:`sebn.runner.interface`). No framework: each agent's loop stays in its own file.

Example:
    >>> buffer = ReplayBuffer(obs_shape=(3,), action_shape=(1,), capacity=10)
    >>> buffer.add(np.zeros((1, 3)), np.ones((1, 3)), np.zeros((1, 1)), np.array([1.0]), np.array([False]))
    >>> len(buffer)
    1
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from sebn.runner.interface import Callbacks, evaluate


def start_run(args) -> tuple[np.random.Generator, Path]:
    """Threads, seeds and the run directory (with ``args.json``) for an agent's ``Args``."""
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "args.json").write_text(json.dumps(dataclasses.asdict(args), indent=1))
    return np.random.default_rng(args.seed), run_dir


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch; one thread keeps runs reproducible and fast on CPU."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = deterministic


def mlp(
    sizes: list[int], activation: type[nn.Module] = nn.ReLU, output_activation: type[nn.Module] | None = None
) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
        elif output_activation is not None:
            layers.append(output_activation())
    return nn.Sequential(*layers)


class ReplayBuffer:
    """A ring buffer of transitions; ``terminated`` (not truncated) marks true ends, so
    the critic bootstraps through time limits."""

    def __init__(self, obs_shape: tuple[int, ...], action_shape: tuple[int, ...], capacity: int):
        self.capacity = capacity
        self.obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.next_obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.actions = np.zeros((capacity, *action_shape), dtype=np.float32)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.position = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs, next_obs, actions, rewards, terminated) -> None:
        """Add a batch of transitions, one per env."""
        for i in range(len(obs)):
            p = self.position
            self.obs[p], self.next_obs[p], self.actions[p] = obs[i], next_obs[i], actions[i]
            self.rewards[p], self.terminated[p] = rewards[i], terminated[i]
            self.position = (p + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        index = rng.integers(0, self.size, size=batch_size)
        return {
            "obs": torch.from_numpy(self.obs[index]),
            "next_obs": torch.from_numpy(self.next_obs[index]),
            "actions": torch.from_numpy(self.actions[index]),
            "rewards": torch.from_numpy(self.rewards[index]),
            "terminated": torch.from_numpy(self.terminated[index]),
        }

    def clear(self) -> None:
        """Forget every transition (the gradient-norm teacher's clear-buffer option)."""
        self.position = 0
        self.size = 0

    def state_dict(self) -> dict[str, Any]:
        n = self.size
        return {
            "obs": torch.from_numpy(self.obs[:n].copy()),
            "next_obs": torch.from_numpy(self.next_obs[:n].copy()),
            "actions": torch.from_numpy(self.actions[:n].copy()),
            "rewards": torch.from_numpy(self.rewards[:n].copy()),
            "terminated": torch.from_numpy(self.terminated[:n].copy()),
            "position": self.position,
            "size": n,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        n = state["size"]
        for key in ("obs", "next_obs", "actions", "rewards", "terminated"):
            getattr(self, key)[:n] = state[key].numpy()
        self.position, self.size = state["position"], n


class RunningMeanStd:
    """Running mean and variance (parallel Welford), for observation and return scaling."""

    def __init__(self, shape: tuple[int, ...] = ()):
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 1e-4

    def update(self, batch: np.ndarray) -> None:
        mean, var, count = batch.mean(axis=0), batch.var(axis=0), batch.shape[0]
        delta, total = mean - self.mean, self.count + count
        self.mean = self.mean + delta * count / total
        self.var = (self.var * self.count + var * count + delta**2 * self.count * count / total) / total
        self.count = total

    def normalize(self, x: np.ndarray, clip: float = 10.0) -> np.ndarray:
        return np.clip((x - self.mean) / np.sqrt(self.var + 1e-8), -clip, clip).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {
            "mean": torch.as_tensor(np.asarray(self.mean)),
            "var": torch.as_tensor(np.asarray(self.var)),
            "count": float(self.count),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.mean, self.var, self.count = state["mean"].numpy(), state["var"].numpy(), state["count"]


class RunLogger:
    """TensorBoard scalars under namespaced keys (``charts/``, ``losses/``, ``eval/``),
    mirrored to Weights & Biases when tracking."""

    def __init__(self, run_dir: str | Path, config: Mapping[str, Any], track: bool = False, project: str = "sebn"):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(run_dir))
        self.writer.add_text(
            "hyperparameters", "|param|value|\n|-|-|\n" + "\n".join(f"|{k}|{v}|" for k, v in config.items())
        )
        self.wandb = None
        if track:
            try:
                import wandb
            except ImportError:
                raise SystemExit("--track needs wandb: pip install wandb") from None
            self.wandb = wandb.init(project=project, config=dict(config), dir=str(run_dir), sync_tensorboard=True)

    def scalar(self, key: str, value: float, step: int) -> None:
        self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()
        if self.wandb is not None:
            self.wandb.finish()


def env_info(infos: Mapping[str, Any], i: int) -> dict[str, Any]:
    """Env ``i``'s own info out of a vector env's merged infos (dict values, such as a
    task or target outcomes, are merged key by key, so they are split back recursively)."""
    own = {}
    for key, value in infos.items():
        mask = infos.get(f"_{key}")
        if key.startswith("_") or (mask is not None and not mask[i]):
            continue
        own[key] = env_info(value, i) if isinstance(value, Mapping) else value[i]
    return own


def report_episodes(
    finished: np.ndarray,
    infos: Mapping[str, Any],
    returns: np.ndarray,
    lengths: np.ndarray,
    tasks: list[Any],
    global_step: int,
    logger: RunLogger,
    callbacks: Callbacks,
) -> None:
    """Log and hand over each finished training episode, then zero its counters."""
    for i in np.flatnonzero(finished):
        final_info = env_info(infos, i)
        logger.scalar("charts/episodic_return", returns[i], global_step)
        logger.scalar("charts/episodic_length", lengths[i], global_step)
        callbacks.on_episode(
            {
                "task": tasks[i],
                "return": float(returns[i]),
                "length": int(lengths[i]),
                "global_step": global_step,
                "final_info": final_info,
                "env_index": int(i),
            }
        )
        returns[i], lengths[i] = 0, 0


def evaluate_and_log(
    policy: Callable[[np.ndarray], np.ndarray],
    env: gym.Env,
    args,
    global_step: int,
    logger: RunLogger,
    callbacks: Callbacks,
) -> dict[str, float]:
    """Evaluate, log under ``eval/`` and tell the callbacks; the result records its step."""
    metrics = evaluate(policy, env, args.eval_episodes, seed=10_000 + args.seed)
    for key, value in metrics.items():
        logger.scalar(key, value, global_step)
    callbacks.on_eval(global_step, metrics)
    return {**metrics, "global_step": global_step}


def atomic_save(state: Mapping[str, Any], path: Path) -> None:
    """``torch.save`` to a temporary file, then rename: a kill mid-save keeps the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(dict(state), tmp)
    os.replace(tmp, path)


class Checkpointer:
    """Saves and restores what a run needs to continue: every stateful object (modules,
    optimisers, buffers, normalisers: anything with ``state_dict``; or a tensor), the RNGs,
    the training envs' RNGs and the loop's counters. Files are written atomically and
    read with ``torch.load(weights_only=True)``.

    ``optional`` names objects saved only when asked (a large replay buffer) and
    restored when present.
    """

    def __init__(
        self,
        path: Path,
        stateful: Mapping[str, Any],
        rng: np.random.Generator,
        envs: gym.vector.VectorEnv,
        optional: tuple[str, ...] = (),
    ):
        self.path, self.stateful, self.rng, self.envs, self.optional = path, dict(stateful), rng, envs, optional

    def save(self, env_rng, include_optional: bool = True, **counters) -> None:
        state: dict[str, Any] = {"rng": rng_state(self.rng), "env_rng": env_rng, "counters": counters}
        for name, obj in self.stateful.items():
            if name in self.optional and not include_optional:
                continue
            state[name] = obj.detach().clone() if isinstance(obj, torch.Tensor) else obj.state_dict()
        atomic_save(state, self.path)

    def restore(self) -> dict[str, Any] | None:
        """Load the checkpoint into the objects; returns its counters (``None`` if none)."""
        if not self.path.exists():
            return None
        state = torch.load(self.path, weights_only=True)
        for name, obj in self.stateful.items():
            if name not in state:
                if name in self.optional:
                    continue
                raise KeyError(f"checkpoint {self.path} has no '{name}'")
            if isinstance(obj, torch.Tensor):
                with torch.no_grad():
                    obj.copy_(state[name])
            else:
                obj.load_state_dict(state[name])
        set_rng_state(state["rng"], self.rng)
        set_env_rng_states(self.envs, state["env_rng"])
        return state["counters"]


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """Every RNG a run draws from, in a form ``torch.load(weights_only=True)`` accepts."""
    return {
        "python": random.getstate(),
        "numpy_global": _plain(np.random.get_state()),
        "torch": torch.get_rng_state(),
        "generator": rng.bit_generator.state,
    }


def set_rng_state(state: Mapping[str, Any], rng: np.random.Generator) -> None:
    random.setstate(_tuples(state["python"]))
    legacy = state["numpy_global"]
    np.random.set_state((legacy[0], np.array(legacy[1], dtype=np.uint32), *legacy[2:]))
    torch.set_rng_state(state["torch"])
    rng.bit_generator.state = state["generator"]


def _plain(legacy_state):
    name, keys, pos, has_gauss, cached = legacy_state
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def make_vector_env(
    make_env: Callable[[int], gym.Env], num_envs: int, asynchronous: bool = False
) -> gym.vector.VectorEnv:
    """Training envs without autoreset: the loop resets finished envs itself, one at a
    time, so each reset can carry its own options and the final observation stays put.
    ``asynchronous`` steps them in worker processes (``AsyncVectorEnv``)."""
    vector = gym.vector.AsyncVectorEnv if asynchronous else gym.vector.SyncVectorEnv
    return vector([lambda i=i: make_env(i) for i in range(num_envs)], autoreset_mode=gym.vector.AutoresetMode.DISABLED)


def reset_envs(
    envs: gym.vector.VectorEnv,
    mask: np.ndarray,
    callbacks: Callbacks,
    obs: np.ndarray | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, list[Any]]:
    """Reset the masked envs, each with its own reset options; returns the observations
    and each reset env's echoed task (``info["task"]``, ``None`` elsewhere).

    With ``obs=None`` (the first reset) every env is reset once without options (seeded
    from ``seed``), since a vector env must hold an observation for each env before it can
    reset one alone; envs whose callbacks give options are then reset again with them.
    """
    tasks: list[Any] = [None] * envs.num_envs

    def echo(info: dict, i: int) -> None:
        own = env_info(info, i)
        if "task" in own:
            tasks[i] = own["task"]

    fresh = obs is None
    if fresh:
        obs, info = envs.reset(seed=seed)
        for i in range(envs.num_envs):
            echo(info, i)
    for i in np.flatnonzero(mask):
        options = callbacks.reset_options(int(i))
        if fresh and options is None:
            continue
        only = np.zeros(envs.num_envs, dtype=bool)
        only[i] = True
        new_obs, info = envs.reset(options={**(options or {}), "reset_mask": only})
        obs[i] = new_obs[i]
        echo(info, i)
    return obs, tasks


@dataclass
class EnvStep:
    """One step of every training env. ``next_obs`` holds the true last observation of the
    envs that finished (they are already reset in :attr:`TrainingEnvs.obs`)."""

    next_obs: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    finished: np.ndarray
    env_rng: list[dict[str, Any]] | None


class TrainingEnvs:
    """The training envs and their episode bookkeeping, shared by every agent's loop.

    :meth:`step` steps every env, logs and hands over each finished episode, and resets the
    finished envs one at a time with their own reset options; :attr:`obs` then holds what
    to act on next and :attr:`tasks` each env's current task.
    """

    def __init__(
        self, make_env: Callable[[int], gym.Env], num_envs: int, callbacks: Callbacks, asynchronous: bool = False
    ):
        self.envs = make_vector_env(make_env, num_envs, asynchronous)
        self.callbacks = callbacks
        self.returns, self.lengths = np.zeros(num_envs), np.zeros(num_envs, dtype=int)
        self.obs: np.ndarray | None = None
        self.tasks: list[Any] = [None] * num_envs

    def start(self, seed: int | None) -> None:
        """Reset every env (seeded, or from restored env RNGs when ``seed`` is ``None``)."""
        self.obs, self.tasks = reset_envs(self.envs, np.ones(self.envs.num_envs, dtype=bool), self.callbacks, seed=seed)

    def step(
        self,
        actions: np.ndarray,
        global_step: int,
        logger: RunLogger,
        keep_rng: bool = False,
        buffer: ReplayBuffer | None = None,
    ) -> EnvStep:
        """Step every env; ``keep_rng`` records the env RNGs before this step's resets, so a
        run resumed from a checkpoint taken now redraws exactly the same new episodes. The
        transitions go into ``buffer`` before episodes are handed over, so a callback that
        clears the buffer at an episode's end clears its last transition too."""
        self.callbacks.on_step(global_step)
        next_obs, rewards, terminations, truncations, infos = self.envs.step(actions)
        if buffer is not None:
            buffer.add(self.obs, next_obs, actions, rewards, terminations)
        self.returns += rewards
        self.lengths += 1
        finished = terminations | truncations
        report_episodes(finished, infos, self.returns, self.lengths, self.tasks, global_step, logger, self.callbacks)
        env_rng = env_rng_states(self.envs) if keep_rng else None
        self.obs = next_obs
        if finished.any():
            self.obs, new_tasks = reset_envs(self.envs, finished, self.callbacks, next_obs.copy())
            self.tasks = [new if done else old for new, old, done in zip(new_tasks, self.tasks, finished)]
        return EnvStep(next_obs, rewards, terminations, truncations, finished, env_rng)


def env_rng_states(envs: gym.vector.VectorEnv) -> list[dict[str, Any]]:
    """Each training env's RNG state (through ``get_attr``, so worker processes too)."""
    return [rng.bit_generator.state for rng in envs.get_attr("np_random")]


def set_env_rng_states(envs: gym.vector.VectorEnv, states) -> None:
    generators = []
    for state in states:
        generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
        generator.bit_generator.state = state
        generators.append(generator)
    envs.set_attr("np_random", generators)
