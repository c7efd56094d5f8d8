"""The wrapper and task supply: every reset plays the curriculum's task, every episode
reaches ``observe`` exactly once, no task is lost or given twice, on a single env,
Gymnasium's vector envs and Stable-Baselines3's, and across a resume of the supply."""

from __future__ import annotations

import re
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest

from sebn.runner.task_wrapper import CurriculumWrapper, TaskSupply, default_outcomes
from tests.sebn.runner.envs import LengthCurriculum, TaskLengthEnv


def check_exactly_once(curriculum: LengthCurriculum, supply: TaskSupply) -> None:
    tickets = [e.ticket for e in curriculum.observed]
    assert len(tickets) == len(set(tickets)), "an episode reached observe twice"
    out = [t for held in supply.out.values() for t, _ in held]
    assert sorted(tickets + out) == list(range(curriculum.issued)), "a task was lost"
    for episode in curriculum.observed:
        assert episode.task == curriculum.handed[episode.ticket] and episode.length == episode.task["length"]


def wrapped(index: int) -> gym.Env:
    return CurriculumWrapper(TaskLengthEnv(), index=index)


def test_a_single_env_plays_the_curriculums_tasks_in_order():
    curriculum = LengthCurriculum()
    supply = TaskSupply(curriculum, num_envs=1)
    env = wrapped(0)
    supply.attach(env)
    env.reset(seed=0)
    for _ in range(40):
        _, _, terminated, truncated, info = env.step(np.ones(1, dtype=np.float32))
        supply.after_step(env, info)
        if terminated or truncated:
            env.reset()
    check_exactly_once(curriculum, supply)
    assert env.unwrapped.received == curriculum.handed[: len(env.unwrapped.received)]
    assert all(e.targets == {"done": 1} for e in curriculum.observed)


@pytest.mark.parametrize("vector", [gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv])
def test_vector_envs_get_every_task_and_give_back_every_episode_once(vector):
    curriculum = LengthCurriculum(seed=1)
    supply = TaskSupply(curriculum, num_envs=3)
    envs = vector([lambda i=i: wrapped(i) for i in range(3)])
    supply.attach(envs)
    envs.reset(seed=0)
    for _ in range(60):
        _, _, _, _, infos = envs.step(np.ones((3, 1), dtype=np.float32))
        supply.after_step(envs, infos)
    check_exactly_once(curriculum, supply)
    assert len(curriculum.observed) > 20
    # each env played, in order, the tasks of the tickets the supply gave it
    received = envs.get_attr("received")
    delivered = Counter(e.ticket for e in curriculum.observed)
    assert sum(len(r) for r in received) >= len(delivered)
    for tasks in received:
        assert all(task in curriculum.handed for task in tasks)
    envs.close()


def test_a_reset_in_mid_episode_replays_its_task():
    curriculum = LengthCurriculum()
    supply = TaskSupply(curriculum, num_envs=1)
    env = CurriculumWrapper(TaskLengthEnv(), index=0)
    supply.attach(env)
    env.reset(seed=0)
    first = env.unwrapped.task
    env.reset()  # nothing finished yet
    assert env.unwrapped.received == [first, first]
    while True:
        _, _, terminated, truncated, info = env.step(np.ones(1, dtype=np.float32))
        if supply.after_step(env, info):
            break
    check_exactly_once(curriculum, supply)


def test_a_resumed_supply_hands_out_the_tasks_that_were_out_first():
    curriculum = LengthCurriculum(seed=2)
    supply = TaskSupply(curriculum, num_envs=2)
    envs = gym.vector.SyncVectorEnv([lambda i=i: wrapped(i) for i in range(2)])
    supply.attach(envs)
    envs.reset(seed=0)
    for _ in range(7):
        supply.after_step(envs, envs.step(np.ones((2, 1), dtype=np.float32))[-1])
    saved, observed_before = supply.state(), list(curriculum.observed)
    out_before = sorted(t for held in supply.out.values() for t, _ in held)

    resumed_curriculum = LengthCurriculum(seed=2)
    resumed_curriculum.handed = list(curriculum.handed)  # the test's own record of what was handed out
    resumed_curriculum.observed = list(observed_before)
    resumed = TaskSupply(resumed_curriculum, num_envs=2)
    resumed.load_state(saved)
    fresh = gym.vector.SyncVectorEnv([lambda i=i: wrapped(i) for i in range(2)])  # the envs start afresh
    resumed.attach(fresh)
    assert sorted(t for held in resumed.out.values() for t, _ in held) == out_before
    fresh.reset(seed=1)
    for _ in range(30):
        resumed.after_step(fresh, fresh.step(np.ones((2, 1), dtype=np.float32))[-1])
    check_exactly_once(resumed_curriculum, resumed)


def test_a_report_of_a_task_the_env_does_not_hold_is_refused():
    supply = TaskSupply(LengthCurriculum(), num_envs=1)
    env = wrapped(0)
    supply.attach(env)
    env.reset(seed=0)
    while True:
        _, _, terminated, truncated, info = env.step(np.ones(1, dtype=np.float32))
        if terminated or truncated:
            break
    supply.finished(info["curriculum"], 0)
    with pytest.raises(ValueError, match="env 0 reported ticket 0, but holds"):
        supply.finished(info["curriculum"], 0)


def test_an_env_reset_without_tasks_says_what_to_do():
    with pytest.raises(RuntimeError, match="was reset without a task: give it tasks first"):
        wrapped(0).reset(seed=0)


@pytest.mark.parametrize(
    "envs, message",
    [
        (lambda: gym.vector.SyncVectorEnv([lambda i=i: wrapped(i) for i in range(3)]), "got 3 env"),
        (lambda: gym.vector.SyncVectorEnv([lambda: wrapped(0), lambda: wrapped(0)]), "with the indices [0, 0]"),
        (lambda: gym.vector.SyncVectorEnv([lambda: wrapped(0), TaskLengthEnv]), "not all of them wrapped"),
    ],
)
def test_attaching_envs_the_supply_was_not_made_for_says_what_it_needs(envs, message):
    supply = TaskSupply(LengthCurriculum(), num_envs=2)
    with pytest.raises(ValueError, match=re.escape(message)):
        supply.attach(envs())
    assert supply.curriculum.issued == 0  # nothing handed out


def test_a_supply_and_a_wrapper_refuse_what_they_cannot_feed():
    with pytest.raises(TypeError, match="curriculum must be one of sebn.curricula's curricula, got list"):
        TaskSupply([{"length": 3}], num_envs=1)
    with pytest.raises(ValueError, match="num_envs must be at least 1, got 0"):
        TaskSupply(LengthCurriculum(), num_envs=0)
    with pytest.raises(ValueError, match="index is the env's place in its vector env"):
        wrapped(-1)


def test_outcomes_from_targets_is_success_or_the_return():
    assert default_outcomes({"targets": {"goal": 1}}, 0.0) == {"goal": 1}
    assert default_outcomes({"is_success": 1.0}, 0.0) == {"success": 1}
    assert default_outcomes({}, 0.3) == {"success": 1} and default_outcomes({}, 0.0) == {"success": 0}


def test_an_env_that_takes_tasks_another_way():
    class Settable(TaskLengthEnv):
        def set_length(self, length):
            self.task = {"length": length}

    curriculum = LengthCurriculum()
    supply = TaskSupply(curriculum, num_envs=1)
    env = CurriculumWrapper(Settable(), apply_task=lambda e, task: e.unwrapped.set_length(task["length"]))
    supply.attach(env)
    env.reset(seed=0)
    assert env.unwrapped.task == curriculum.handed[0] and env.unwrapped.received == []


@pytest.mark.parametrize("subprocess", [False, True])
def test_stable_baselines3_ppo_learns_through_the_wrapper(tmp_path, subprocess):
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    curriculum = LengthCurriculum(seed=3)
    supply = TaskSupply(curriculum, num_envs=2)
    factories = [lambda i=i: wrapped(i) for i in range(2)]
    envs = SubprocVecEnv(factories) if subprocess else DummyVecEnv(factories)
    supply.attach(envs)
    model = PPO("MlpPolicy", envs, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=256, callback=supply.sb3_callback())
    check_exactly_once(curriculum, supply)
    assert len(curriculum.observed) > 40
    envs.close()
