"""The little the single-file agents share: seeding, networks, the replay buffer, running
statistics, logging and checkpoints (the training envs' bookkeeping is
:mod:`agents.training_envs`; callbacks and evaluation are the runner's contract,
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
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from sebn.runner.interface import Callbacks, ExperimentError, evaluate


def check_ranges(args: Any, positive: str = "", non_negative: str = "", fractions: str = "") -> None:
    """Refuse the fields of an agent's ``Args`` outside their range: those named in
    ``positive`` (> 0), ``non_negative`` (>= 0) and ``fractions`` (in [0, 1]), each a
    space-separated list of names; a list field, each item; ``None`` passes (an option left
    off).

    Raises:
        ValueError: naming every field out of range, with its range and value.

    Example:
        >>> from types import SimpleNamespace
        >>> check_ranges(SimpleNamespace(num_steps=0, gamma=1.5), positive="num_steps", fractions="gamma")
        Traceback (most recent call last):
        ...
        ValueError: num_steps must be > 0, got 0; gamma must be in [0, 1], got 1.5
    """
    rules = (
        (positive, "> 0", lambda v: v > 0),
        (non_negative, ">= 0", lambda v: v >= 0),
        (fractions, "in [0, 1]", lambda v: 0 <= v <= 1),
    )
    wrong = []
    for names, shown, holds in rules:
        for name in names.split():
            value = getattr(args, name)
            items = value if isinstance(value, list) else [value]
            if not all(item is None or holds(item) for item in items):
                wrong.append(
                    f"{name} must be {shown}{' (each item)' if isinstance(value, list) else ''}, got {value!r}"
                )
    if wrong:
        raise ValueError("; ".join(wrong))


def start_run(args) -> tuple[np.random.Generator, Path]:
    """Threads, seeds and the run directory (with ``args.json``) for an agent's ``Args``."""
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "args.json").write_text(json.dumps(dataclasses.asdict(args), indent=1))
    return np.random.default_rng(args.seed), run_dir


def registered_env(env_id: str) -> Callable[[int], gym.Env]:
    """``make_env`` for a registered Gymnasium env: a clear ``ValueError`` for an id that is
    not registered or an observation the agents' flat networks cannot take."""
    try:
        probe = gym.make(env_id)
    except gym.error.Error as err:
        raise ValueError(f"env id {env_id!r}: {err}") from None
    space = probe.observation_space
    probe.close()
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise ValueError(
            f"env id {env_id!r} observes {space}; the agents take a flat Box observation (a domain with its own "
            "observations runs through `sebn run DOMAIN`)"
        )
    return lambda index: gym.make(env_id)


def command_line(train: Callable, args_class: type) -> None:
    """An agent's command line: its ``Args`` from the flags (tyro), then ``train``; a bad
    value is one line on stderr and exit status 2, the result one JSON line."""
    import tyro

    try:
        result = train(tyro.cli(args_class))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(json.dumps({"global_step": result.global_step, **result.last_eval}))


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
    mirrored to Weights & Biases when tracking: project ``sebn`` (or ``$WANDB_PROJECT``),
    the run named by the last three parts of its directory (``doorkey/sebn/seed0``) and
    grouped by the two before the seed, files under ``run_dir/wandb``. ``WANDB_MODE=offline``
    keeps everything on disk, for ``wandb sync`` later."""

    def __init__(self, run_dir: str | Path, config: Mapping[str, Any], track: bool = False, project: str = "sebn"):
        from torch.utils.tensorboard import SummaryWriter

        self.wandb = None
        if track:  # before any SummaryWriter: W&B mirrors the writers made after it starts
            try:
                import wandb
            except ImportError:
                raise SystemExit('--track needs Weights & Biases: pip install -e ".[wandb]"') from None
            parts = Path(run_dir).resolve().parts
            self.wandb = wandb.init(
                project=os.environ.get("WANDB_PROJECT", project),
                name="/".join(parts[-3:]),
                group="/".join(parts[-3:-1]),
                config=dict(config),
                dir=str(run_dir),
                sync_tensorboard=True,
            )
        self.writer = SummaryWriter(str(run_dir))
        self.writer.add_text(
            "hyperparameters", "|param|value|\n|-|-|\n" + "\n".join(f"|{k}|{v}|" for k, v in config.items())
        )

    def scalar(self, key: str, value: float, step: int) -> None:
        self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()
        if self.wandb is not None:
            self.wandb.finish()


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
    read with ``torch.load(weights_only=True)``. The checkpoint before the latest is kept
    (``previous.pt`` beside it): when the latest cannot be read (a disk that lost part of
    it), the run says so and resumes from the previous one; the records it wrote after
    that are cut back with the rest of the state.

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
        self.previous = path.with_name("previous.pt")

    def save(self, env_rng, include_optional: bool = True, **counters) -> None:
        state: dict[str, Any] = {"rng": rng_state(self.rng), "env_rng": env_rng, "counters": counters}
        for name, obj in self.stateful.items():
            if name in self.optional and not include_optional:
                continue
            state[name] = obj.detach().clone() if isinstance(obj, torch.Tensor) else obj.state_dict()
        fresh = self.path.with_suffix(".new")
        atomic_save(state, fresh)
        if self.path.exists():
            os.replace(self.path, self.previous)
        os.replace(fresh, self.path)  # killed just before: only previous.pt is left, and restore takes it

    def restore(self) -> dict[str, Any] | None:
        """Load the checkpoint into the objects; returns its counters (``None`` if none).

        Raises:
            ExperimentError: no checkpoint that exists can be read.
        """
        state, failures = None, []
        for path in (self.path, self.previous):
            if not path.exists():
                continue
            try:
                state = torch.load(path, weights_only=True)
                break
            except Exception as err:  # a truncated or overwritten file fails in zip, pickle or torch
                reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else "empty message"
                failures.append(f"{path} cannot be read ({type(err).__name__}: {reason})")
        if failures and state is not None:
            print(f"warning: {failures[0]}; resuming from the checkpoint before it", file=sys.stderr, flush=True)
        if state is None:
            if failures:
                raise ExperimentError(
                    "; ".join(failures) + f". Delete the run directory {self.path.parent.parent} to start this run "
                    "over, or restore the file."
                )
            return None
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
        counters = state["counters"]
        print(f"resuming from step {counters.get('global_step', 0):,} ({path})", file=sys.stderr, flush=True)
        return counters


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
