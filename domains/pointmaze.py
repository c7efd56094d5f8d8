"""PointMaze (gymnasium-robotics) with its start and goal set by a task: the gradient-norm
teacher's first domain.

A task is ``{"start": ..., "goal": ...}``; each part is either

* two floats in ``[0, 1]`` (a point of the unit square over the maze's grid, what a
  teacher's ``Box`` gives), or
* one integer, an index into the maze's free cells (what a ``Discrete`` gives), or
* two integers, a ``(row, col)`` cell.

Every part is mapped to a free cell: the nearest free cell to the point (values outside
the square are clipped first), the index modulo the number of free cells, the nearest free
cell to a wall cell. So no teacher output can make a reset fail; ``info["cells"]`` says
where the agent and the goal were placed, and ``info["task"]`` echoes the task as given.
Placement is exact (no position noise) unless ``position_noise`` is set. The task is
gymnasium-robotics' own default, continuing: the goal stays put and every episode runs to
the time limit (truncated), with the dense reward ``exp(-distance to goal)`` at every step,
so the best return is reaching the goal fast and staying there. (Ending the episode at the
goal instead, ``continuing_task=False``, paid for hovering just outside the goal's 0.45
radius: our PPO students learned that, their return rising while their success fell; domain
version 2 fixed it.) The last ``info`` has ``targets = {"goalreached": 0 or 1}`` (1: the
goal was reached at some step), ``is_success`` and ``applied`` (the cells used and
``path``, the moves between them along the maze's shortest free path: the task's
difficulty, recorded with the episode for the curriculum pictures). Without a task the env
draws its own start and goal, as gymnasium-robotics does (the ``target`` baseline).

Example:
    >>> env = MazeTaskEnv(MAZES["umaze"])
    >>> obs, info = env.reset(seed=0, options={"task": {"start": [0.0, 0.0], "goal": [1, 3]}})
    >>> info["cells"]
    {'start': [1, 1], 'goal': [1, 3]}
    >>> env.path_length([1, 1], [3, 1])  # round the U's wall, not through it
    6
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np

from domains.common import SuccessTaskEnv
from sebn.runner.interface import Domain, run_as_command, teacher_domain

try:
    import gymnasium_robotics
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError('the maze domains need gymnasium-robotics: pip install -e ".[robotics]"') from None

gym.register_envs(gymnasium_robotics)

# The dense-reward variants: the gradient paper does not say which reward it used, and with
# the sparse one SAC learned nothing within a budget that fits here (BENCHMARKS.md: eval
# success 0.0 vs 0.3 after 20k steps on UMaze, same preset and seed).
MAZES = {"umaze": "PointMaze_UMazeDense-v3", "medium": "PointMaze_MediumDense-v3"}
MAZE_VERSION = 2
"""The maze domains' version: 2 since the task is continuing (the goal stays, episodes run to
the time limit); version 1 ended an episode at the goal."""


class MazeTaskEnv(SuccessTaskEnv):
    """A maze env of gymnasium-robotics whose resets take a start/goal task, with the
    observation dict flattened (achieved goal, desired goal, observation).

    Args:
        env_id: a ``PointMaze_*`` or ``AntMaze_*`` id.
        position_noise: uniform noise (in cells) added to the placements; 0: exact.
        max_episode_steps: the time limit (the env's own by default).

    Attributes:
        maze_env: the gymnasium-robotics env inside (its simulator state, goal, maze).
    """

    success_at_any_step = True

    def __init__(self, env_id: str = MAZES["umaze"], position_noise: float = 0.0, max_episode_steps: int | None = None):
        inner = gym.make(
            env_id,
            continuing_task=True,
            reset_target=False,
            **({"max_episode_steps": max_episode_steps} if max_episode_steps else {}),
        )
        inner.unwrapped.position_noise_range = position_noise
        self.env = gym.wrappers.FlattenObservation(inner)
        self.maze_env = inner.unwrapped
        self.observation_space, self.action_space = self.env.observation_space, self.env.action_space
        maze = self.maze_env.maze
        self.free = np.array(
            [(r, c) for r in range(maze.map_length) for c in range(maze.map_width) if maze.maze_map[r][c] != 1]
        )
        self.shape = (maze.map_length, maze.map_width)
        corridors = nx.grid_2d_graph(*self.shape).subgraph(map(tuple, self.free.tolist()))
        self.paths = dict(nx.all_pairs_shortest_path_length(corridors))
        self.task_space = gym.spaces.Dict(
            {"start": gym.spaces.Box(0.0, 1.0, (2,)), "goal": gym.spaces.Box(0.0, 1.0, (2,))}
        )

    def cell(self, part: Any) -> list[int]:
        """The free cell a task part stands for (see the module docstring); never raises
        for a number or a pair of numbers."""
        value = np.asarray(part)
        if not np.issubdtype(value.dtype, np.number) or value.shape not in ((), (2,)):
            raise ValueError(f"a start or goal is a number or a pair of numbers, got {part!r}")
        if value.ndim == 0:
            return self.free[int(value) % len(self.free)].tolist()
        if np.issubdtype(value.dtype, np.integer):
            point = value.astype(float)
        else:
            point = np.clip(np.nan_to_num(value.astype(float), nan=0.5), 0.0, 1.0) * (np.array(self.shape) - 1)
        return self.free[np.argmin(np.sum((self.free - point) ** 2, axis=1))].tolist()

    def path_length(self, start: list[int], goal: list[int]) -> int:
        """Moves between two free cells along the maze's shortest path (up, down, left, right)."""
        return self.paths[tuple(start)][tuple(goal)]

    def placed(self, start: list[int], goal: list[int]) -> dict[str, Any]:
        """Records the cells a reset used (``applied``) and returns them (``info["cells"]``)."""
        self.applied = {"start": start, "goal": goal, "path": self.path_length(start, goal)}
        return {"start": start, "goal": goal}

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        super().reset(seed=seed)
        # The maze draws default starts, goals and noise from this env's RNG, so seeding,
        # checkpointing and restoring this env's RNG covers it too.
        self.maze_env.np_random = self.np_random
        task = dict(options["task"]) if options and options.get("task") else None
        if task is None:  # no task, or an empty one: the env's own start and goal
            obs, info = self.env.reset()
            maze = self.maze_env.maze
            cells = self.placed(
                maze.cell_xy_to_rowcol(self.maze_env.reset_pos).tolist(),
                maze.cell_xy_to_rowcol(self.maze_env.goal).tolist(),
            )
            return obs, {**info, "task": {}, "cells": cells}
        missing = {"start", "goal"} - set(task)
        if missing:
            raise ValueError(f"a maze task needs start and goal, got {task}")
        cells = self.placed(self.cell(task["start"]), self.cell(task["goal"]))
        obs, info = self.env.reset(
            options={"reset_cell": np.array(cells["start"]), "goal_cell": np.array(cells["goal"])}
        )
        return obs, {**info, "task": task, "cells": cells}


def maze_envs(env_id: str) -> Callable[[int], MazeTaskEnv]:
    """``make_env(index)`` for a maze: training envs place exactly; ``-1``, the evaluation
    env, keeps the env's own start distribution with its position noise."""

    def make_env(index: int) -> MazeTaskEnv:
        return MazeTaskEnv(env_id, position_noise=0.25 if index < 0 else 0.0)

    return make_env


def maze_domain(name: str, env_id: str, learning_starts: int, eval_every: int, default_steps: int) -> Domain:
    """A maze as a teacher domain of the runner, at :data:`MAZE_VERSION`."""
    return teacher_domain(
        name,
        maze_envs(env_id),
        MazeTaskEnv(env_id).task_space,
        learning_starts=learning_starts,
        eval_every=eval_every,
        default_steps=default_steps,
        version=MAZE_VERSION,
    )


def domain(name: str = "pointmaze") -> Domain:
    """PointMaze UMaze (``pointmaze``) or Medium (``pointmaze_medium``) for the runner."""
    env_id = MAZES["medium" if name.endswith("medium") else "umaze"]
    return maze_domain(name, env_id, learning_starts=1000, eval_every=5000, default_steps=100_000)


if __name__ == "__main__":
    run_as_command("pointmaze")
