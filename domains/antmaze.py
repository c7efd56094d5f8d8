"""AntMaze (gymnasium-robotics) with its start and goal cells set by a task; the same
task format and guarantees as :mod:`domains.pointmaze` (every teacher output maps to a free
cell, exact placement, success as the target ``goalreached``).

Example:
    >>> env = make_env(0)
    >>> env.reset(seed=0, options={"task": {"start": [1, 1], "goal": [3, 3]}})[1]["cells"]
    {'start': [1, 1], 'goal': [3, 3]}
"""

from __future__ import annotations

from domains.pointmaze import maze_domain, maze_envs
from sebn.runner.interface import Domain, run_as_command

ENV_ID = "AntMaze_UMazeDense-v5"  # dense reward, as for PointMaze (see domains.pointmaze.MAZES)
make_env = maze_envs(ENV_ID)


def domain(name: str = "antmaze") -> Domain:
    """AntMaze UMaze for the runner."""
    return maze_domain(name, ENV_ID, learning_starts=5000, eval_every=10_000, default_steps=300_000)


if __name__ == "__main__":
    run_as_command("antmaze")
