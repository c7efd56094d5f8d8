"""robosuite Door with tasks: mass and latch read back from MuJoCo after resets, the latch
holds the door against a scripted push and its absence does not, a short SEBN run."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from domains import robosuite_door
from domains.robosuite_door import HARDEST, HEAVY, MASS_LEVELS, DoorTaskEnv, mass_kg, valid_tasks
from sebn.core.network import SEBN
from sebn.core.spec import load_spec
from sebn.curricula.base import TaskSpace
from sebn.runner.experiment import run


@pytest.fixture(scope="module")
def door():
    env = DoorTaskEnv()
    yield env
    env.close()


def test_env_checker_passes(door):
    check_env(door, skip_render_check=True)


@pytest.mark.parametrize("task", [{"mass": 0, "lock": 0}, {"mass": 3, "lock": 1}, {"mass": HEAVY, "lock": 1}])
def test_mass_and_latch_read_back_after_resets(door, task):
    model = door.suite.sim.model
    for options in ({"task": task}, None, None):  # a reset without a task keeps the last one
        _, info = door.reset(seed=1, options=options)
        assert info["task"] == task
        assert model.body_mass[door.door_body] == mass_kg(task["mass"])
        np.testing.assert_allclose(
            model.body_inertia[door.door_body], door.default_inertia * mass_kg(task["mass"]) / door.default_mass
        )
        assert list(model.geom_contype[door.latch_geoms]) == [task["lock"]] * 2
        assert list(model.geom_conaffinity[door.latch_geoms]) == [task["lock"]] * 2


def push(env, task, torque, steps):
    """Hinge angles while a torque about the hinge's (vertical) axis pushes the door open
    and the arm holds still."""
    env.reset(seed=0, options={"task": task})
    data, angles = env.suite.sim.data, []
    for _ in range(steps):
        data.xfrc_applied[env.door_body, 3:] = [0.0, 0.0, torque]
        *_, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        angles.append(data.qpos[env.suite.hinge_qpos_addr])
    data.xfrc_applied[:] = 0.0
    return np.array(angles)


def test_the_latch_holds_the_door_and_no_latch_does_not(door):
    free = push(door, {"mass": 5, "lock": 0}, torque=10.0, steps=30)
    assert free[-1] > 0.3 and door.suite._check_success()
    latched = push(door, {"mass": 5, "lock": 1}, torque=10.0, steps=30)
    assert latched.max() < 0.05 and not door.suite._check_success()


def test_a_heavier_door_swings_slower(door):
    light = push(door, {"mass": 0, "lock": 0}, torque=3.0, steps=3)
    heavy = push(door, {"mass": HEAVY, "lock": 0}, torque=3.0, steps=3)
    assert light[-1] > 2 * heavy[-1] > 0


def test_success_is_robosuites_check_and_the_horizon_truncates():
    env = DoorTaskEnv({"mass": 0, "lock": 0}, horizon=25)
    try:
        angles = push(env, {"mass": 0, "lock": 0}, torque=10.0, steps=25)
        assert angles[-1] > 0.3
        env.reset(seed=0)
        for step in range(25):
            *_, terminated, truncated, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
            assert not terminated and truncated == (step == 24)
        assert info["targets"] == {"goalreached": 0} and info["is_success"] is False
    finally:
        env.close()


def test_a_diverging_simulation_truncates_the_episode(door):
    still = np.zeros(door.action_space.shape, dtype=np.float32)
    door.reset(seed=0, options={"task": HARDEST})
    *_, truncated, _ = door.step(still)
    assert not truncated
    door.suite.sim.data.qfrc_applied[0] = 1e20  # MuJoCo warns and resets its whole state
    *_, terminated, truncated, info = door.step(still)
    assert truncated and not terminated and info["unstable"] and info["targets"] == {"goalreached": 0}
    door.reset(seed=0)
    *_, truncated, _ = door.step(still)
    assert not truncated


def test_seed_reproduces_the_start(door):
    first, _ = door.reset(seed=7)
    other, _ = door.reset(seed=8)
    again, _ = door.reset(seed=7)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


REFUSED = {
    "mass": (12, "mass must be an integer in 0..11"),
    "lock": (2, "lock must be"),
    "target": ("unlock", "one target"),
}
"""A task variable -> a value it cannot take, and what the error says."""


@pytest.mark.parametrize("variable", REFUSED)
def test_bad_tasks_are_refused_clearly(door, variable):
    value, message = REFUSED[variable]
    with pytest.raises(ValueError, match=message):
        door.reset(options={"task": {**HARDEST, variable: value}})


def test_tasks_are_the_specs_settings():
    assert len(TaskSpace(SEBN(load_spec("specs/robosuite_door.sebn")), tasks=valid_tasks())) == 12


def test_a_short_sebn_run(tmp_path, monkeypatch):
    # 50-step episodes: the run's final evaluation (one episode on each of seven doors) is
    # most of its time at the full horizon
    monkeypatch.setattr(robosuite_door, "make_env", partial(robosuite_door.make_env, horizon=50))
    run_dir = run(
        "robosuite_door",
        "sebn",
        seed=0,
        steps=256,
        runs=tmp_path,
        curriculum_options={"generation_size": 2},
        agent_options={"num_envs": 1, "num_steps": 128, "eval_every": 0, "eval_episodes": 1},
        progress=False,
    )
    episodes = [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]
    # An episode runs its horizon unless its simulation diverges first (truncated there, see
    # the module): on one fresh install seed 0's first episode diverged at step 424 of 500.
    assert len(episodes) >= 5 and all(e["length"] <= 50 and set(e["task"]) == {"mass", "lock"} for e in episodes)
    assert len((run_dir / "generations.jsonl").read_text().splitlines()) >= 2
    final = json.loads((run_dir / "final.json").read_text())
    assert set(final) >= {f"mass{mass}" for mass in range(MASS_LEVELS)} | {"heavy"}
    assert (run_dir / "config.json").exists()
