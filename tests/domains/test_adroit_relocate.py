"""AdroitHandRelocate with tasks: the object, target and hand pose are what the task says
(read back from MuJoCo), out-of-range teacher outputs are clipped, success is reported."""

from __future__ import annotations

import re

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from domains.adroit_relocate import HAND_JOINTS, OBJECT_HEIGHT, RelocateTaskEnv


@pytest.fixture(scope="module")
def env():
    return RelocateTaskEnv()


def test_the_task_reaches_the_simulator(env):
    """The original code's options never reached Adroit; two tasks must give two states."""
    inner = env.relocate_env
    for obj, target, hand in [([0.1, -0.1], [0.15, 0.0, 0.3], 0.5), ([-0.12, 0.25], [-0.1, 0.1, 0.2], -1.0)]:
        task = {"object": obj, "target": target, "hand": [hand] * HAND_JOINTS}
        _, info = env.reset(seed=0, options={"task": task})
        np.testing.assert_allclose(inner.data.xpos[inner.obj_body_id], [*obj, OBJECT_HEIGHT], atol=1e-9)
        np.testing.assert_allclose(inner.data.site_xpos[inner.target_obj_site_id], target, atol=1e-9)
        expected = np.clip(
            inner.init_qpos[:HAND_JOINTS] + hand * 0.1 * (env.hand_high - env.hand_low) / 2, env.hand_low, env.hand_high
        )
        np.testing.assert_allclose(inner.data.qpos[:HAND_JOINTS], expected)
        assert info["task"] == task
        assert info["state"]["distance"] == pytest.approx(np.linalg.norm(np.array([*obj, OBJECT_HEIGHT]) - target))


def test_out_of_range_outputs_are_clipped_not_refused(env):
    _, info = env.reset(
        options={"task": {"object": [5.0, float("nan")], "target": [-9.0, 9.0, 0.0], "hand": [7.0] * 30}}
    )
    assert info["state"]["obj_pos"] == pytest.approx([0.15, 0.0, OBJECT_HEIGHT])  # NaN reads as 0
    assert info["state"]["target_pos"] == pytest.approx([-0.2, 0.2, 0.15])
    assert (env.relocate_env.data.qpos[:HAND_JOINTS] <= env.hand_high + 1e-12).all()


@pytest.mark.parametrize(
    "task, message",
    [
        ({"object": [0.1], "target": [0.0, 0.1, 0.2]}, "a relocate task's object is 2 numbers, got [0.1]"),
        ({"object": "x", "target": [0.0, 0.1, 0.2]}, "a relocate task's object is 2 numbers, got 'x'"),
        ({"object": [0.1, 0.0], "target": [0.0, 0.1, 0.2], "hand": [0.0] * 3}, "hand is 30 numbers"),
        ({"object": [0.1, 0.0]}, "a relocate task has object and target, and may have hand"),
        ({"object": [0.1, 0.0], "target": [0.0, 0.1, 0.2], "ball": 1}, "and may have hand; got"),
    ],
)
def test_a_task_the_env_cannot_apply_is_refused_not_ignored(env, task, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        env.reset(seed=0, options={"task": task})


def test_episode_end_reports_the_target(env):
    env.reset(seed=0, options={"task": {"object": [0.0, 0.0], "target": [0.0, 0.0, 0.2]}})
    for _ in range(200):
        _, _, terminated, truncated, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        if terminated or truncated:
            break
    assert truncated and info["targets"] == {"goalreached": int(info["success"])}


def test_without_a_task_the_env_draws_its_own(env):
    a = env.reset(seed=1)[1]["state"]
    b = env.reset(seed=1)[1]["state"]
    assert a == b and env.reset(seed=2)[1]["state"] != a


@pytest.mark.filterwarnings("ignore:.*infinity")
def test_passes_the_env_checker():
    check_env(RelocateTaskEnv(), skip_render_check=True)
