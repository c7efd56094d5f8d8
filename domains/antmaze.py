"""AntMaze (gymnasium-robotics) with its start and goal cells set by a task; the same
task format and guarantees as :mod:`domains.pointmaze` (every teacher output maps to a free
cell, exact placement, success as the target ``goalreached``).

Example:
    >>> env = make_env(0)
    >>> env.reset(seed=0, options={"task": {"start": [1, 1], "goal": [3, 3]}})[1]["cells"]
    {'start': [1, 1], 'goal': [3, 3]}
"""

from __future__ import annotations

import gymnasium as gym

from domains.pointmaze import MAZE_VERSION, MazeTaskEnv
from sebn.runner.interface import run_as_command, teacher_domain

ENV_ID = "AntMaze_UMazeDense-v5"  # dense reward, as for PointMaze (see domains.pointmaze.MAZES)


def make_env(index: int) -> gym.Env:
    """Training env ``index`` (exact placement); ``-1``: the evaluation env, the env's own
    start distribution with its position noise."""
    return MazeTaskEnv(ENV_ID, position_noise=0.25 if index < 0 else 0.0)


def domain(name: str = "antmaze"):
    """AntMaze UMaze for the runner."""
    return teacher_domain(
        name,
        make_env,
        MazeTaskEnv(ENV_ID).task_space,
        learning_starts=5000,
        eval_every=10_000,
        default_steps=300_000,
        version=MAZE_VERSION,
    )


if __name__ == "__main__":
    run_as_command("antmaze")
