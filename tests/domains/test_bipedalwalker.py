"""BipedalWalker terrain from tasks: the generated ground holds exactly the obstacles and
ranges asked, seeds reproduce it, the target fires, and a short SEBN run goes through."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gymnasium.envs.box2d.bipedal_walker import (
    SCALE,
    TERRAIN_HEIGHT,
    TERRAIN_STARTPAD,
    TERRAIN_STEP,
    BipedalWalkerHeuristics,
)
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.bipedalwalker import (
    EVALUATION,
    LEVELS,
    PIT_DEPTH,
    PIT_WIDTH,
    ROUGHNESS,
    STAIR_STEPS,
    STAIR_WIDTH,
    STUMP_HEIGHT,
    STUMP_WIDTH,
    TerrainWalker,
    task_from,
    valid_tasks,
)
from sebn.core.network import SEBN
from sebn.core.spec import load_spec
from sebn.curricula.base import TaskSpace
from sebn.curricula.registry import curricula_for
from sebn.report.summary import summarise
from sebn.runner.experiment import ExperimentError, run

FLOAT32 = 1e-5  # Box2D keeps vertices in single precision
levels = st.fixed_dictionaries({name: st.integers(0, count - 1) for name, count in LEVELS.items()})


@pytest.fixture(scope="module")
def walker():
    return TerrainWalker()


def outline(env):
    return np.array(env.terrain_x), np.array(env.terrain_y)


def vertical_faces(env):
    """(x, rise) of every vertical face of the ground's outline."""
    x, y = outline(env)
    vertical = np.flatnonzero(np.diff(x) == 0)
    return x[vertical], np.diff(y)[vertical]


def boxes(env):
    """The (left x, width, height) of every static box on the ground (the stumps), left to right."""
    sizes = []
    for body in env.terrain:
        shape = body.fixtures[0].shape
        if len(getattr(shape, "vertices", [])) == 4:
            vertices = np.array(shape.vertices)
            sizes.append((vertices[:, 0].min(), *(vertices.max(0) - vertices.min(0))))
    return sorted(sizes)


def test_env_checker_passes(walker):
    check_env(walker, skip_render_check=True)


@settings(max_examples=60, deadline=None)
@given(task=levels, seed=st.integers(0, 2**31 - 1))
def test_terrain_holds_exactly_the_obstacles_asked(walker, task, seed):
    _, info = walker.reset(seed=seed, options={"task": task_from(task)})
    assert info["task"] == task_from(task)
    kinds = {o["kind"] for o in walker.obstacles}
    asked = {
        "pit": task["pit_gap"],
        "stump": task["stump_height"],
        "stairs": task["stair_width"] or task["stair_steps"],
    }
    wanted = {kind for kind, level in asked.items() if level}
    assert kinds <= wanted and (not wanted or kinds)

    faces_x, rises = vertical_faces(walker)
    pits = [o for o in walker.obstacles if o["kind"] == "pit"]
    stairs = [o for o in walker.obstacles if o["kind"] == "stairs"]
    stumps = [o for o in walker.obstacles if o["kind"] == "stump"]
    # every vertical face is a pit wall or a stair, and the outline shows each pit's width
    assert len(rises) == 2 * len(pits) + sum(o["steps"] for o in stairs)
    drops = np.isclose(rises, -PIT_DEPTH * TERRAIN_STEP)
    for pit in pits:
        lo, hi = PIT_WIDTH[task["pit_gap"]]
        assert lo <= pit["width"] <= hi
        left = np.flatnonzero(np.isclose(faces_x, pit["x"]) & drops)
        assert len(left) == 1 and np.isclose(faces_x[left[0] + 1] - faces_x[left[0]], pit["width"] * TERRAIN_STEP)
    stair_faces = np.isclose(np.abs(rises), TERRAIN_STEP)
    assert stair_faces.sum() == sum(o["steps"] for o in stairs)
    for flight in stairs:
        width_range = STAIR_WIDTH[task["stair_width"] or 1]
        steps_range = STAIR_STEPS[task["stair_steps"] or 1]
        assert (
            width_range[0] <= flight["width"] <= width_range[1] and steps_range[0] <= flight["steps"] <= steps_range[1]
        )
        faces = faces_x[(faces_x >= flight["x"] - 1e-9) & stair_faces][: flight["steps"]]
        np.testing.assert_allclose(np.diff(faces), flight["width"] * TERRAIN_STEP)
    # the stumps are the boxes standing on the ground, of the sizes asked
    sizes = boxes(walker)
    assert len(sizes) == len(stumps)
    for (x, width, height), stump in zip(sizes, stumps):
        assert np.isclose(x, stump["x"], atol=FLOAT32)
        assert np.isclose(width, stump["width"] * TERRAIN_STEP, atol=FLOAT32)
        assert np.isclose(height, stump["height"] * TERRAIN_STEP, atol=FLOAT32)
        assert STUMP_WIDTH[0] * TERRAIN_STEP - FLOAT32 <= width <= STUMP_WIDTH[1] * TERRAIN_STEP + FLOAT32
        lo, hi = STUMP_HEIGHT[task["stump_height"]]
        assert lo * TERRAIN_STEP - FLOAT32 <= height <= hi * TERRAIN_STEP + FLOAT32


@pytest.mark.parametrize("level", range(LEVELS["ground_roughness"]))
def test_roughness_scales_the_grounds_random_kicks(walker, level):
    walker.reset(seed=level, options={"task": task_from({"ground_roughness": level})})
    lo, hi = ROUGHNESS[level]
    assert lo <= walker.roughness <= hi
    x, y = outline(walker)
    assert np.allclose(np.diff(x), TERRAIN_STEP)  # no obstacle: one point per terrain step
    velocity = np.diff(y)
    kicks = velocity[1:] - 0.8 * velocity[:-1] - 0.01 * np.sign(TERRAIN_HEIGHT - y[1:-1])
    kicks = kicks[TERRAIN_STARTPAD:]  # the start pad is flat
    assert np.all(np.abs(kicks) <= walker.roughness / SCALE + 1e-9)
    assert np.abs(kicks).max() >= 0.9 * walker.roughness / SCALE
    if level == 0:
        assert np.allclose(y, TERRAIN_HEIGHT)


def test_same_task_and_seed_give_the_same_terrain(walker):
    task = EVALUATION["combined"]
    walker.reset(seed=3, options={"task": task})
    first = (outline(walker), list(walker.obstacles))
    walker.reset(seed=4, options={"task": task})
    other = outline(walker)
    walker.reset(seed=3, options={"task": task})
    again = (outline(walker), list(walker.obstacles))
    np.testing.assert_array_equal(first[0][1], again[0][1])
    assert first[1] == again[1]
    assert len(other[1]) != len(first[0][1]) or not np.allclose(other[1], first[0][1])


def test_tasks_are_the_specs_settings():
    tasks = valid_tasks()
    space = TaskSpace(SEBN(load_spec("specs/bipedalwalker.sebn")), tasks=tasks)
    assert len(tasks) == 405 == len(space)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"pit_gap": 3}, "pit_gap must be an integer in 0..2"),
        ({"stair_steps": 1.5}, "stair_steps must be"),
        ({"target": "jump"}, "one target"),
        ({"stump_hieght": 1}, "unknown stump_hieght; it takes ground_roughness, "),
    ],
)
def test_bad_tasks_are_refused_clearly(walker, bad, message):
    with pytest.raises(ValueError, match=message):
        walker.reset(options={"task": {**task_from({}), **bad}})


def test_the_one_target_may_be_named(walker):
    _, info = walker.reset(seed=0, options={"task": {**task_from({}), "target": "goalreached"}})
    assert info["task"]["target"] == "goalreached"


def walk_heuristically(env, task, seed=0):
    obs, _ = env.reset(seed=seed, options={"task": task})
    pilot = BipedalWalkerHeuristics()
    pilot.a = np.zeros(4)  # Gymnasium's pilot keeps its action in a class attribute, shared by every pilot
    while True:
        obs, _, terminated, truncated, info = env.step(pilot.step_heuristic(obs))
        if terminated or truncated:
            return terminated, truncated, info


def test_the_target_fires_when_the_walker_gets_30_units_on():
    # fresh envs: the scripted gait is chaotic enough to notice what an earlier episode
    # left in a reused Box2D world
    *_, flat = walk_heuristically(TerrainWalker(), task_from({}))
    assert flat["targets"] == {"goalreached": 1} and flat["distance"] >= 30
    *_, pits = walk_heuristically(TerrainWalker(), task_from({"pit_gap": 2}))
    assert pits["targets"] == {"goalreached": 0} and pits["distance"] < 30


def test_time_limit_is_a_truncation():
    env = TerrainWalker(task_from({}), max_episode_steps=20)
    terminated, truncated, info = walk_heuristically(env, task_from({}))
    assert truncated and not terminated and info["targets"] == {"goalreached": 0}


@pytest.mark.parametrize("curriculum", curricula_for(has_spec=True))
def test_a_short_run_with_each_curriculum(tmp_path, curriculum):
    options = {"generation_size": 4} if curriculum in ("sebn", "anti") else {}
    run_dir = run(
        "bipedalwalker",
        curriculum,
        seed=0,
        steps=600,
        runs=tmp_path,
        curriculum_options=options,
        agent_options={
            "learning_starts": 300,
            "batch_size": 32,
            "hidden_sizes": [32, 32],
            "model_hidden_sizes": [32, 32],
            "eval_every": 0,
            "eval_episodes": 1,
        },
        progress=False,
    )
    episodes = [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]
    assert episodes and all(set(e["task"]) == set(LEVELS) for e in episodes)
    if curriculum == "target":
        assert all(e["task"] == EVALUATION["combined"] for e in episodes)
    if curriculum == "sebn":
        assert (run_dir / "generations.jsonl").read_text().strip()
    final = json.loads((run_dir / "final.json").read_text())
    assert set(final) >= set(EVALUATION)


def test_a_short_run_with_the_ppo_student_is_its_own_run(tmp_path):
    run_dir = run(
        "bipedalwalker",
        "uniform",
        seed=0,
        steps=256,
        runs=tmp_path,
        agent_options={"num_envs": 2, "num_steps": 64, "num_minibatches": 2, "update_epochs": 1, "eval_episodes": 1},
        algo="ppo",
        progress=False,
    )
    assert run_dir == tmp_path / "bipedalwalker" / "uniform@ppo" / "seed0"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["algo"] == "ppo" and config["agent_args"]["gamma"] == 0.99 and config["agent_args"]["num_envs"] == 2
    assert json.loads((run_dir / "final.json").read_text())["global_step"] == 256
    (row,) = summarise([tmp_path])[0].rows
    assert row.label == "uniform@ppo"  # runs of two students never share a report row
    with pytest.raises(ExperimentError, match=r"trains with td3_fork, ppo \(default td3_fork\), not 'sac'"):
        run("bipedalwalker", "uniform", steps=256, runs=tmp_path, algo="sac", progress=False)
