"""AntMaze with tasks: the ant and the goal are where the task says (read back from
MuJoCo), and any teacher output resets without an error."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from domains.antmaze import make_env


def test_ant_and_goal_are_placed_exactly():
    env = make_env(0)
    inner = env.maze_env
    for start, goal in [([1, 1], [3, 3]), ([3, 1], [1, 3]), ([2, 3], [1, 2])]:
        _, info = env.reset(seed=0, options={"task": {"start": start, "goal": goal}})
        assert info["cells"] == {"start": start, "goal": goal}
        np.testing.assert_allclose(inner.ant_env.data.qpos[:2], inner.maze.cell_rowcol_to_xy(np.array(start)))
        np.testing.assert_allclose(inner.goal, inner.maze.cell_rowcol_to_xy(np.array(goal)))


def test_teacher_outputs_never_fail_a_reset():
    env = make_env(0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        task = {"start": rng.uniform(-3, 3, size=2).tolist(), "goal": int(rng.integers(-100, 100))}
        _, info = env.reset(options={"task": task})
        assert info["cells"]["start"] in env.free.tolist() and info["cells"]["goal"] in env.free.tolist()


@pytest.mark.filterwarnings("ignore:.*infinity")
def test_passes_the_env_checker():
    check_env(make_env(0), skip_render_check=True)
