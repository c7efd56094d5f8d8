"""Tiny environments with known answers, in the spirit of SB3's identity envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class IdentityBoxEnv(gym.Env):
    """Observe a target in [-1, 1]; reward -(action - target)^2. Optimal return: 0."""

    def __init__(self, episode_length: int = 20):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.episode_length = episode_length

    def _draw(self) -> np.ndarray:
        self.target = self.np_random.uniform(-1, 1, size=(1,)).astype(np.float32)
        return self.target

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._draw(), {}

    def step(self, action):
        reward = -float(np.sum((np.asarray(action) - self.target) ** 2))
        self.t += 1
        return self._draw(), reward, False, self.t >= self.episode_length, {}


class ConstantRewardEnv(gym.Env):
    """Reward 1 every step, a constant observation, cut by a time limit after 10 steps.

    With truncation bootstrapped, the value of the observation is 1 / (1 - gamma)."""

    def __init__(self):
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, dtype=np.float32), 1.0, False, self.t >= 10, {}
