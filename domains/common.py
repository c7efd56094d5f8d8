"""What the task-settable wrappers of gymnasium-robotics envs share."""

from __future__ import annotations

from typing import Any

import gymnasium as gym


class SuccessTaskEnv(gym.Env):
    """An env around ``self.env`` (set by the subclass) whose episode end reports the
    env's own ``info["success"]`` as the target ``goalreached`` and as ``is_success``, and
    what the reset applied (``self.applied``) for the curriculum's records."""

    env: gym.Env
    applied: dict[str, Any]

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            success = bool(info.get("success", False))
            info = {**info, "targets": {"goalreached": int(success)}, "is_success": success, "applied": self.applied}
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        self.env.close()
