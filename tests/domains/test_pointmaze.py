"""PointMaze with tasks: exact placement read back from MuJoCo, every teacher output
mapped to a valid task, success reported as a target."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.pointmaze import MAZES, MazeTaskEnv


@pytest.fixture(scope="module")
def umaze():
    return MazeTaskEnv(MAZES["umaze"])


@pytest.mark.parametrize("maze", ["umaze", "medium"])
def test_every_free_cell_is_placed_exactly(maze):
    env = MazeTaskEnv(MAZES[maze])
    inner = env.maze_env
    for start in env.free.tolist():
        goal = env.free[(env.free.tolist().index(start) + 1) % len(env.free)].tolist()
        _, info = env.reset(seed=0, options={"task": {"start": start, "goal": goal}})
        assert info["cells"] == {"start": start, "goal": goal}
        np.testing.assert_allclose(inner.point_env.data.qpos[:2], inner.maze.cell_rowcol_to_xy(np.array(start)))
        np.testing.assert_allclose(inner.point_env.data.qvel[:2], 0.0)
        np.testing.assert_allclose(inner.goal, inner.maze.cell_rowcol_to_xy(np.array(goal)))


@settings(max_examples=200, deadline=None)
@given(
    part=st.one_of(
        st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=2, max_size=2),
        st.integers(-(10**6), 10**6),
        st.lists(st.integers(-50, 50), min_size=2, max_size=2),
    )
)
def test_any_teacher_output_maps_to_a_free_cell(umaze, part):
    cell = umaze.cell(part)
    assert cell in umaze.free.tolist()


def test_unit_square_and_index_forms(umaze):
    assert umaze.cell([0.0, 0.0]) == [1, 1]  # the top-left corner is a wall: nearest free cell
    assert umaze.cell([1.0, 1.0]) == [3, 3]
    assert umaze.cell([0.5, 0.0]) in ([1, 1], [3, 1])  # the middle row is wall there: a nearest free cell
    assert umaze.cell(0) == umaze.free[0].tolist() and umaze.cell(len(umaze.free)) == umaze.free[0].tolist()
    assert umaze.cell([2, 1]) in ([1, 1], [3, 1])  # a wall cell given directly


@pytest.mark.parametrize("part", ["abc", None, [1, 2, 3], [[1, 2]], {"row": 1}, ["1", "2"]])
def test_a_part_that_is_not_a_number_or_a_pair_is_named(umaze, part):
    with pytest.raises(ValueError, match="a start or goal is a number or a pair of numbers, got"):
        umaze.reset(seed=0, options={"task": {"start": part, "goal": [1, 1]}})


@pytest.mark.parametrize("maze", ["umaze", "medium"])
def test_path_lengths_are_shortest_paths_round_the_walls(maze):
    env = MazeTaskEnv(MAZES[maze])
    free = [tuple(cell) for cell in env.free.tolist()]
    for a in free:
        for b in free:
            steps = abs(a[0] - b[0]) + abs(a[1] - b[1])
            length = env.path_length(list(a), list(b))
            assert length == env.path_length(list(b), list(a)) and length >= steps
            assert (length == 0) == (a == b) and (steps != 1 or length == 1)
            # shortest: some free neighbour of a is one move nearer b
            neighbours = [(a[0] + dr, a[1] + dc) for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))]
            assert a == b or min(env.path_length(list(n), list(b)) for n in neighbours if n in free) == length - 1
    assert MazeTaskEnv(MAZES["umaze"]).path_length([1, 1], [3, 1]) == 6  # round the U: 2 cells apart, 6 moves


def test_the_record_gives_the_cells_and_their_path(umaze):
    _, info = umaze.reset(seed=0, options={"task": {"start": [1, 1], "goal": [3, 1]}})
    assert info["cells"] == {"start": [1, 1], "goal": [3, 1]}
    assert umaze.applied == {"start": [1, 1], "goal": [3, 1], "path": 6}
    _, info = umaze.reset(seed=3)
    assert umaze.applied["path"] == umaze.path_length(info["cells"]["start"], info["cells"]["goal"])


def test_the_goal_stays_and_a_reach_at_any_step_is_reported_at_the_time_limit():
    env = MazeTaskEnv(MAZES["umaze"], max_episode_steps=80)
    env.reset(seed=0, options={"task": {"start": [1, 1], "goal": [1, 2]}})
    goal = env.maze_env.goal.copy()
    at_goal = []
    for _ in range(80):  # push towards +x: through the goal's cell and on to the wall beyond it
        _, _, terminated, truncated, info = env.step(np.array([1.0, 0.0], dtype=np.float32))
        at_goal.append(info["success"])
        assert not terminated
    assert truncated and np.array_equal(env.maze_env.goal, goal)
    assert any(at_goal) and not at_goal[-1]  # it passed through the goal and left it
    assert info["targets"] == {"goalreached": 1} and info["is_success"] is True


def test_staying_at_the_goal_earns_the_most_reward():
    env = MazeTaskEnv(MAZES["umaze"], max_episode_steps=30)
    env.reset(seed=0, options={"task": {"start": [1, 2], "goal": [1, 2]}})
    rewards = [env.step(np.zeros(2, dtype=np.float32))[1] for _ in range(30)]
    assert min(rewards) > np.exp(-0.45)  # every step within the goal's radius pays more than any step outside it


def test_time_limit_is_a_truncation():
    env = MazeTaskEnv(MAZES["umaze"], max_episode_steps=20)
    env.reset(seed=0, options={"task": {"start": [1, 1], "goal": [3, 1]}})
    for _ in range(20):
        _, _, terminated, truncated, info = env.step(np.zeros(2, dtype=np.float32))
    assert truncated and not terminated and info["targets"] == {"goalreached": 0}


def test_without_a_task_the_env_draws_its_own(umaze):
    _, info = umaze.reset(seed=3)
    assert info["task"] == {} and info["cells"]["start"] in umaze.free.tolist()


@pytest.mark.filterwarnings("ignore:.*infinity")
def test_passes_the_env_checker():
    check_env(MazeTaskEnv(MAZES["umaze"]), skip_render_check=True)


def test_default_draws_follow_this_env_rng():
    a, b = MazeTaskEnv(MAZES["medium"]), MazeTaskEnv(MAZES["medium"])
    a.reset(seed=5)
    b.reset(seed=5)
    b.np_random = np.random.default_rng(99)  # a checkpoint restore sets the RNG: the maze must follow it
    a.np_random = np.random.default_rng(99)
    assert a.reset()[1]["cells"] == b.reset()[1]["cells"]
    assert [a.reset()[1]["cells"] for _ in range(5)] == [b.reset()[1]["cells"] for _ in range(5)]
