"""One timed training run of each agent, ours and Stable-Baselines3's, with the same env and
hyperparameters; each returns env steps per second (``benchmarks.bench_agents`` alternates
and repeats them)."""

from __future__ import annotations

import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from agents import ppo, sac, td3_fork

OURS_OFF_POLICY = {
    "env_id": "Pendulum-v1",
    "learning_starts": 1000,
    "batch_size": 256,
    "hidden_sizes": [256, 256],
    "eval_every": 0,
    "save_buffer": False,
}
SB3_OFF_POLICY = {
    "learning_starts": 1000,
    "batch_size": 256,
    "policy_kwargs": {"net_arch": [256, 256]},
    "seed": 1,
    "device": "cpu",
}
"""Pendulum-v1 with 2x256 networks and batches of 256, learning after 1,000 random steps."""


def steps_per_second(steps: int, learn: Callable[[], object]) -> float:
    start = time.perf_counter()
    learn()
    return steps / (time.perf_counter() - start)


def ours_sac(steps: int, run_dir: str) -> float:
    args = sac.Args(**OURS_OFF_POLICY, total_timesteps=steps, policy_frequency=1, run_dir=run_dir)
    return steps_per_second(steps, lambda: sac.train(args))


def sb3_sac(steps: int, run_dir: str) -> float:
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", gym.make("Pendulum-v1"), buffer_size=steps, **SB3_OFF_POLICY)
    return steps_per_second(steps, lambda: model.learn(steps))


def ours_td3(steps: int, run_dir: str, fork_weight: float = 0.5) -> float:
    args = td3_fork.Args(**OURS_OFF_POLICY, total_timesteps=steps, fork_weight=fork_weight, run_dir=run_dir)
    return steps_per_second(steps, lambda: td3_fork.train(args))


def sb3_td3(steps: int, run_dir: str) -> float:
    from stable_baselines3 import TD3
    from stable_baselines3.common.noise import NormalActionNoise

    noise = NormalActionNoise(np.zeros(1), 0.2 * np.ones(1))
    model = TD3(
        "MlpPolicy",
        gym.make("Pendulum-v1"),
        buffer_size=steps,
        learning_rate=3e-4,
        action_noise=noise,
        **SB3_OFF_POLICY,
    )
    return steps_per_second(steps, lambda: model.learn(steps))


def ours_ppo(steps: int, run_dir: str) -> float:
    args = ppo.Args(
        env_id="CartPole-v1", total_timesteps=steps, num_envs=4, num_steps=128, eval_every=0, run_dir=run_dir
    )
    return steps_per_second(steps, lambda: ppo.train(args))


def sb3_ppo(steps: int, run_dir: str) -> float:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    # CleanRL's CartPole defaults, which ours shares: 4 envs x 128 steps, 4 epochs of 4 minibatches
    hyperparameters = {
        "n_steps": 128,
        "batch_size": 128,
        "n_epochs": 4,
        "learning_rate": 2.5e-4,
        "ent_coef": 0.01,
        "clip_range": 0.2,
        "gae_lambda": 0.95,
        "policy_kwargs": {"net_arch": [64, 64]},
    }
    model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=4, seed=1), seed=1, device="cpu", **hyperparameters)
    return steps_per_second(steps, lambda: model.learn(steps))


def sb3_version() -> str:
    try:
        import stable_baselines3

        return stable_baselines3.__version__
    except ImportError:
        return "(not installed)"
