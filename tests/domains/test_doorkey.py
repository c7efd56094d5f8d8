"""The DoorKey env: layouts do what the task asks, sensors match hand values, the
50-step rule, rewards and reported targets, gymnasium's checker, chained options, and
what the domain's no-curriculum baseline trains on."""

from __future__ import annotations

import itertools
from collections import deque

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from minigrid.core.grid import Grid
from minigrid.core.world_object import Door, Goal, Key, Wall

from domains.doorkey import (
    DIRECTIONS,
    HARDEST,
    OPEN,
    PATIENCE,
    PICK_UP,
    ROOM_SIZES,
    DoorKeyEnv,
    check_task,
    make_env,
    valid_tasks,
)
from domains.grid_paths import manhattan, passable, path_length
from domains.lightworld import reading


def cells(env, kind):
    return [(x, y) for x in range(env.size) for y in range(env.size) if isinstance(env.grid.get(x, y), kind)]


def inner_walls(env):
    """Wall squares that are neither the outer wall nor the door's partition."""
    split = env.door_pos[0] if env.door_pos else None
    return [(x, y) for x, y in cells(env, Wall) if 0 < x < env.size - 1 and 0 < y < env.size - 1 and x != split]


@pytest.mark.parametrize("task", valid_tasks(), ids=lambda t: "-".join(str(v) for v in t.values()))
def test_layout_is_what_the_task_asks(task):
    env = DoorKeyEnv()
    for seed in range(30):
        _, info = env.reset(seed=seed, options={"task": task})
        assert info["task"] == task
        assert len(cells(env, Goal)) == 1
        assert len(cells(env, Door)) == len(cells(env, Key)) == task["exists_door"]
        first = cells(env, Key)[0] if task["exists_door"] else cells(env, Goal)[0]
        interests = cells(env, Key) + cells(env, Door) + cells(env, Goal)
        if task["distance"] == 0:
            assert manhattan(env.agent_pos, first) <= 2
        else:
            assert all(manhattan(env.agent_pos, p) > 2 for p in interests)
        if task["exists_door"]:
            door = env.grid.get(*env.door_pos)
            assert door.is_locked and not door.is_open
            assert env.agent_pos[0] < env.door_pos[0] < env.goal_pos[0] and env.key_pos[0] < env.door_pos[0]
        walls = inner_walls(env)
        if task["wall"]:  # across the way to the goal, the only target whose spec lines need avoid_wall
            assert 2 <= len(walls) <= 3
            start = env.door_pos or env.agent_pos
            assert path_length(env.grid, start, env.goal_pos, onto=True, through_doors=True) > manhattan(
                start, env.goal_pos
            )
            if task["exists_door"]:
                assert all(x > env.door_pos[0] for x, _ in walls)  # the key and the door stay in plain reach
        else:
            assert walls == []
        assert solve(env)[1], f"unsolvable layout for {task}, seed {seed}"


def test_same_seed_same_layout():
    a, b = DoorKeyEnv(), DoorKeyEnv()
    for seed in range(5):
        a.reset(seed=seed, options={"task": {"distance": 1, "wall": 1, "exists_door": 1, "target": "goalreached"}})
        b.reset(seed=seed, options={"task": {"distance": 1, "wall": 1, "exists_door": 1, "target": "goalreached"}})
        assert a.grid == b.grid and a.agent_pos == b.agent_pos


def fixed_layout(env):
    """Agent at (3, 4); key 1 up; wall segment 2 down; goal 3 right; door 3 left."""
    env.reset(seed=0, options={"task": {"distance": 0, "wall": 0, "exists_door": 1, "target": "goalreached"}})
    env.grid = Grid(env.size, env.size)
    env.grid.wall_rect(0, 0, env.size, env.size)
    env.grid.set(3, 3, Key("yellow"))
    env.grid.set(3, 6, Wall())
    env.grid.set(6, 4, Goal())
    env.grid.set(0, 4, Door("yellow", is_locked=True))
    env.agent_pos, env.carrying = (3, 4), False
    env.key_pos, env.door_pos, env.goal_pos = (3, 3), (0, 4), (6, 4)


def test_sensors_match_hand_values():
    env = DoorKeyEnv()
    fixed_layout(env)
    obs = env.observation()
    up, right, down, left = range(4)
    expected = np.zeros(17, dtype=np.float32)
    expected[0 * 4 + up] = 0.875  # key 1 up
    expected[1 * 4 + left] = 1 - 3 / 8  # door 3 left (in the outer wall here)
    expected[2 * 4 + up] = 0.0  # outer wall 4 up: past the range finder's 2 squares
    expected[2 * 4 + right] = 0.0  # outer wall at x=7, 4 squares away
    expected[2 * 4 + down] = 0.75  # the wall segment 2 down
    expected[2 * 4 + left] = 0.0  # the door sits where the wall would be sensed
    expected[3 * 4 + right] = 0.625  # goal 3 right
    np.testing.assert_allclose(obs, expected)
    env.carrying = True
    assert env.observation()[-1] == 1.0


def hand_built(size: int, agent, key=None, door=None, goal=None, walls=()) -> DoorKeyEnv:
    """A room of ``size`` with exactly these items (no split wall unless ``walls`` has it)."""
    env = DoorKeyEnv(size=size)
    env.reset(seed=0)
    env.grid = Grid(size, size)
    env.grid.wall_rect(0, 0, size, size)
    for pos in walls:
        env.grid.set(*pos, Wall())
    for kind, pos in ((Key("yellow"), key), (Door("yellow", is_locked=True), door), (Goal(), goal)):
        if pos is not None:
            env.grid.set(*pos, kind)
    env.agent_pos, env.key_pos, env.door_pos, env.goal_pos, env.carrying = agent, key, door, goal, False
    return env


UP, RIGHT, DOWN, LEFT = range(4)
KEY, DOOR, WALL, GOAL = (4 * i for i in range(4))


def test_the_papers_worked_example():
    """The rightmost env of the paper's Fig. 3: a key one step up, a wall one step down and the
    goal four steps down (past that wall): 0.875 key up, 0.875 wall down, 0.5 goal down."""
    env = hand_built(8, agent=(2, 2), key=(2, 1), goal=(2, 6), walls=[(2, 3), (3, 3)])
    obs = env.observation()
    assert obs[KEY + UP] == 0.875 and obs[WALL + DOWN] == 0.875 and obs[GOAL + DOWN] == 0.5
    assert obs[KEY + DOWN] == obs[GOAL + UP] == 0.0


def test_an_item_is_sensed_on_its_sides_of_the_agent_only():
    env = hand_built(16, agent=(5, 5), goal=(8, 3))  # 3 right and 2 up, off the agent's row and column
    obs = env.observation()
    assert obs[GOAL + RIGHT] == reading(3) and obs[GOAL + UP] == reading(2)
    assert obs[GOAL + LEFT] == obs[GOAL + DOWN] == 0.0
    level = hand_built(16, agent=(5, 5), key=(2, 5)).observation()  # level with the agent: left only
    assert level[KEY + LEFT] == reading(3) and level[KEY + UP] == level[KEY + DOWN] == level[KEY + RIGHT] == 0.0


def test_a_held_key_is_no_longer_sensed():
    env = hand_built(8, agent=(2, 2), key=(2, 1))
    env.carrying = True
    obs = env.observation()
    assert obs[KEY : KEY + 4].sum() == 0.0 and obs[-1] == 1.0


def test_far_items_are_sensed_and_never_read_more_than_nearer_ones():
    far = [hand_built(32, agent=(1, 1), goal=(1 + d, 1)).observation()[GOAL + RIGHT] for d in range(1, 31)]
    assert all(r > 0 for r in far) and all(a >= b for a, b in zip(far, far[1:]))
    assert far[:4] == [0.875, 0.75, 0.625, 0.5] and set(far[3:]) == {0.5}  # four squares or more: far


def test_walls_are_sensed_within_two_squares():
    near = hand_built(32, agent=(2, 1)).observation()  # outer walls 2 left and 1 up
    assert near[WALL + LEFT] == 0.75 and near[WALL + UP] == 0.875 and near[WALL + RIGHT] == near[WALL + DOWN] == 0
    assert hand_built(32, agent=(3, 3)).observation()[WALL : WALL + 4].sum() == 0  # 3 squares from every wall


def sensor_values(size: int, layouts: int) -> set[tuple[int, float]]:
    """(sensor, reading) pairs seen over random layouts of every task and random walks."""
    env, seen = DoorKeyEnv(size=size), set()
    rng = np.random.default_rng(size)
    for seed in range(layouts):
        obs, _ = env.reset(seed=seed, options={"task": valid_tasks()[seed % len(valid_tasks())]})
        for _ in range(20):
            seen |= {(i, float(v)) for i, v in enumerate(obs)}
            obs, _, terminated, truncated, _ = env.step(int(rng.integers(4)))
            if terminated or truncated:
                break
    return seen


def test_large_rooms_give_no_reading_the_training_rooms_do_not_but_the_near_sides_widths():
    # an 8x8 room's near side is 2 or 3 squares wide: the key is never 3 or more squares left
    # or right of the agent there, nor the door 4 or more to its right
    key_right, key_left, door_right = KEY + RIGHT, KEY + LEFT, DOOR + RIGHT
    wider = {(key_right, 0.5), (key_right, 0.625), (key_left, 0.5), (key_left, 0.625), (door_right, 0.5)}
    assert sensor_values(32, 150) - sensor_values(8, 600) <= wider


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(8, 32), seed=st.integers(0, 10_000), task=st.sampled_from(valid_tasks()), steps=st.integers(0, 30)
)
def test_readings_stay_in_0_1_on_any_layout_and_size(size, seed, task, steps):
    env = DoorKeyEnv(size=size)
    obs, _ = env.reset(seed=seed, options={"task": task})
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(int(rng.integers(6)))
        if terminated or truncated:
            break
        assert np.all((obs >= 0) & (obs <= 1))
    needed = [pos for pos in (env.door_pos, env.goal_pos) if pos is not None and pos != env.agent_pos]
    for group, pos in zip((DOOR, GOAL), (env.door_pos, env.goal_pos)):
        if pos in needed:
            assert obs[group : group + 4].max() > 0  # its direction is always known


def test_fifty_steps_without_progress_truncate():
    env = DoorKeyEnv()
    env.reset(seed=1, options={"task": {"distance": 1, "wall": 0, "exists_door": 0, "target": "goalreached"}})
    for step in range(1, PATIENCE + 1):
        _, reward, terminated, truncated, info = env.step(PICK_UP)  # nothing to pick up: no progress
        assert reward == 0 and not terminated
        assert truncated == (step == PATIENCE)
    assert info == {"targets": {"goalreached": 0}, "is_success": False}


def test_progress_resets_the_count():
    env = DoorKeyEnv()
    env.reset(seed=1, options={"task": {"distance": 1, "wall": 0, "exists_door": 0, "target": "goalreached"}})
    for _ in range(PATIENCE - 1):
        env.step(PICK_UP)
    path = plan(env, env.goal_pos, onto=True)
    _, _, _, truncated, _ = env.step(path[0])  # one step closer: progress
    assert not truncated and env.since_progress == 0


@pytest.mark.parametrize(
    "target,reported",
    [
        ("haskey", {"haskey": 1}),
        ("dooropened", {"haskey": 1, "dooropened": 1}),
        ("goalreached", {"haskey": 1, "dooropened": 1, "goalreached": 1}),
    ],
)
def test_success_rewards_and_reports_the_subgoals(target, reported):
    env = DoorKeyEnv()
    env.reset(seed=2, options={"task": {"distance": 0, "wall": 1, "exists_door": 1, "target": target}})
    rewards, done = solve(env)
    assert done and rewards == [0.0] * (len(rewards) - 1) + [1.0]
    assert env.last_info == {"targets": reported, "is_success": True}


def test_bad_tasks_are_refused_clearly():
    with pytest.raises(ValueError, match="haskey needs exists_door=1"):
        check_task({"distance": 0, "wall": 0, "exists_door": 0, "target": "haskey"})
    with pytest.raises(ValueError, match="target must be one of"):
        check_task({"distance": 0, "wall": 0, "exists_door": 1, "target": "key"})
    with pytest.raises(ValueError, match="wall must be 0 or 1"):
        check_task({"distance": 0, "wall": 2, "exists_door": 1, "target": "haskey"})
    with pytest.raises(ValueError, match="lacks distance"):
        check_task({"wall": 0, "exists_door": 1, "target": "haskey"})
    with pytest.raises(ValueError, match="unknown room .*doorkey_sizes"):
        check_task(dict(HARDEST, room=1))
    with pytest.raises(ValueError, match="lacks room"):
        check_task(HARDEST, ROOM_SIZES)
    with pytest.raises(ValueError, match="room must be one of 0..1"):
        check_task(dict(HARDEST, room=2), ROOM_SIZES)


@pytest.mark.parametrize("size", [8, 32])
def test_passes_the_env_checker(size):
    check_env(DoorKeyEnv(size=size), skip_render_check=True)


def test_transfer_grid_builds_every_task():
    env = DoorKeyEnv(size=32)
    for task in valid_tasks():
        env.reset(seed=0, options={"task": task})
        assert solve(env)[1]


# --- a scripted solver: shortest paths by breadth-first search -----------------------------


def plan(env, goal, onto):
    """Moves from the agent to ``goal`` (onto it, or to a neighbouring square)."""
    start = env.agent_pos
    queue, parent = deque([start]), {start: None}
    while queue:
        pos = queue.popleft()
        if (pos == goal) if onto else manhattan(pos, goal) == 1:
            moves = []
            while parent[pos] is not None:
                pos, move = parent[pos]
                moves.append(move)
            return moves[::-1]
        for move, (dx, dy) in enumerate(DIRECTIONS):
            nxt = (pos[0] + dx, pos[1] + dy)
            if nxt not in parent and passable(env.grid, nxt):
                parent[nxt] = (pos, move)
                queue.append(nxt)
    raise AssertionError(f"no way to {goal}")


def solve(env):
    """Play the task optimally; returns the rewards and whether it succeeded."""
    rewards = []

    def act(action):
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        env.last_info = info
        return terminated or truncated

    target = env.task["target"]
    if env.key_pos is not None:
        for move in plan(env, env.key_pos, onto=False):
            act(move)
        if act(PICK_UP) or target == "haskey":
            return rewards, env.last_info.get("is_success", False)
        for move in plan(env, env.door_pos, onto=False):
            act(move)
        if act(OPEN):
            return rewards, env.last_info.get("is_success", False)
    for move in plan(env, env.goal_pos, onto=True):
        if act(move):
            break
    return rewards, env.last_info.get("is_success", False)


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
def test_training_options_follow_the_task_target():
    env = make_env(0)
    for target in ("haskey", "dooropened", "goalreached"):
        obs, _ = env.reset(seed=0, options={"task": {"distance": 0, "wall": 0, "exists_door": 1, "target": target}})
        assert (
            obs.shape == (20,)
            and obs[17:].tolist() == np.eye(3)[["haskey", "dooropened", "goalreached"].index(target)].tolist()
        )
    check_env(env, skip_render_check=True)


def test_chained_options_hand_over_key_door_goal():
    env = make_env(-1)
    obs, info = env.reset(seed=4)
    assert info["task"] == HARDEST
    inner = env.unwrapped
    seen = [int(obs[17:].argmax())]

    def act(action):
        obs, reward, terminated, truncated, info = env.step(action)
        seen.append(int(obs[17:].argmax()))
        return terminated, info

    for move in plan(inner, inner.key_pos, onto=False):
        act(move)
    for _ in range(PATIENCE - 1):  # dawdle: the key option's own patience is nearly spent
        act(OPEN)
    act(PICK_UP)
    assert inner.since_progress == 0  # a subgoal: the door option starts its own 50 steps
    for move in plan(inner, inner.door_pos, onto=False):
        act(move)
        assert inner.since_progress == 0  # every step towards the door is progress
    act(OPEN)
    for move in plan(inner, inner.goal_pos, onto=True):
        terminated, info = act(move)
    assert terminated and info["is_success"]
    assert [k for k, _ in itertools.groupby(seen)] == [0, 1, 2]


def test_no_curriculum_trains_every_option_the_evaluation_chains():
    from sebn.runner.experiment import build_curriculum, load_domain

    curriculum = build_curriculum(load_domain("doorkey"), "target", seed=0, options={})
    tasks = curriculum.sample(6)
    hardest_setting = {k: v for k, v in HARDEST.items() if k != "target"}
    assert all({k: v for k, v in t.items() if k != "target"} == hardest_setting for t in tasks)
    assert [t["target"] for t in tasks] == ["haskey", "dooropened", "goalreached"] * 2  # the chain's order, evenly
    assert all(t in valid_tasks() for t in tasks)


# --- the sizes variant: the room's size is part of the task ---------------------------------


@pytest.mark.parametrize("room", range(len(ROOM_SIZES)))
def test_the_sizes_variant_lays_every_task_out_in_its_room(room):
    env = DoorKeyEnv(room_sizes=ROOM_SIZES)
    for task in valid_tasks(ROOM_SIZES):
        if task["room"] == room:
            _, info = env.reset(seed=3, options={"task": task})
            assert env.size == ROOM_SIZES[room] and env.grid.width == ROOM_SIZES[room]
            assert info["task"] == task
            assert solve(env)[1]


def test_the_sizes_domain_trains_in_both_rooms_and_evaluates_the_papers():
    from sebn.runner.experiment import build_curriculum, load_domain

    domain = load_domain("doorkey_sizes")
    assert {t["room"] for t in domain.tasks} == {0, 1} and len(domain.tasks) == 2 * len(valid_tasks())
    assert [t["room"] for t in domain.target_tasks] == [0, 0, 0]
    curriculum = build_curriculum(domain, "uniform", seed=0, options={})
    env = domain.make_env(0)
    sizes = set()
    for task in curriculum.sample(40):
        env.reset(seed=0, options={"task": task})
        sizes.add(env.unwrapped.size)
    assert sizes == set(ROOM_SIZES)
    evaluation = domain.final_envs["hardest"]()
    evaluation.reset(seed=0)
    assert evaluation.unwrapped.size == 8 and evaluation.unwrapped.task == HARDEST
