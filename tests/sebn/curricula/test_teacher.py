"""The gradient-norm teacher: the REINFORCE update moving the teacher where gradients are
large, credit by ticket, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from gymnasium import spaces
from scipy import stats

from sebn.curricula.base import Episode
from sebn.curricula.teacher import INITIAL_STD, GradientNormTeacher


def play(teacher, reward_of, rounds, batch=16, reward="mean_norm"):
    for _ in range(rounds):
        first = teacher.issued
        tasks = teacher.sample(batch)
        episodes = [
            Episode(t, {}, 0.0, 10, 0, ticket=first + i, gradients={reward: reward_of(t)}) for i, t in enumerate(tasks)
        ]
        teacher.observe(episodes[::-1])  # finishing order must not matter: tickets credit


@pytest.mark.parametrize("reward", ["mean_norm", "sum_norm"])
def test_teacher_moves_to_the_region_with_larger_gradients(reward):
    teacher = GradientNormTeacher(spaces.Box(-1.0, 1.0, shape=(1,)), batch_size=16, lr=3e-3, reward=reward, seed=0)
    before = np.mean([t["task"][0] > 0.5 for t in teacher.sample(400)])
    play(teacher, lambda t: 1.0 + 5.0 * (t["task"][0] > 0.5), 60, reward=reward)
    after = np.mean([t["task"][0] > 0.5 for t in teacher.sample(400)])
    assert before < 0.4 and after > 0.9


def test_discrete_teacher_and_dict_spaces():
    space = spaces.Dict({"cell": spaces.Discrete(4), "offset": spaces.Box(0.0, 2.0, shape=(2,))})
    teacher = GradientNormTeacher(space, batch_size=16, lr=3e-3, seed=1)
    play(teacher, lambda t: float(t["cell"] == 2) + t["offset"][0], 80)
    drawn = teacher.sample(300)
    assert np.mean([t["cell"] == 2 for t in drawn]) > 0.8
    assert np.mean([t["offset"][0] for t in drawn]) > 1.5
    assert all(0.0 < t["offset"][1] < 2.0 for t in drawn)


def test_rewards_are_credited_by_ticket():
    teacher = GradientNormTeacher(spaces.Discrete(3), batch_size=100, seed=0)
    tasks = teacher.sample(3)
    teacher.observe(
        [
            Episode(tasks[2], {}, 0.0, 1, 0, ticket=2, gradients={"mean_norm": 7.0}),
            Episode(tasks[0], {}, 0.0, 1, 0, ticket=0, gradients={"mean_norm": 1.0}),
        ]
    )
    assert [(d["task"], d["reward"]) for d in teacher.batch] == [(tasks[2], 7.0), (tasks[0], 1.0)]
    with pytest.raises(ValueError, match="ticket 0 matches no pending decision"):
        teacher.observe([Episode(tasks[0], {}, 0.0, 1, 0, ticket=0)])


def test_teacher_resumes_exactly():
    space = spaces.Box(-1.0, 1.0, shape=(2,))
    first = GradientNormTeacher(space, batch_size=8, seed=0)
    play(first, lambda t: t["task"][0], 3, batch=8)
    first.sample(3)  # pending decisions survive too
    second = GradientNormTeacher(space, batch_size=8, seed=5)
    second.load_state(json.loads(json.dumps(first.state())))
    assert second.sample(5) == first.sample(5)
    play(first, lambda t: t["task"][1], 2, batch=8)
    play(second, lambda t: t["task"][1], 2, batch=8)
    assert second.sample(5) == first.sample(5)


def test_an_untrained_teacher_draws_uniformly_over_its_box():
    space = spaces.Box(np.array([0.0, -3.0], np.float32), np.array([1.0, 5.0], np.float32))
    drawn = np.array([t["task"] for t in GradientNormTeacher(space, seed=0).sample(20_000)])
    for dimension, (low, high) in enumerate(zip(space.low, space.high)):
        # 20,000 uniform draws stay within 0.0096 of the uniform CDF 95% of the time; the
        # start of before 2026-12 (std 1.05) was 0.055 away.
        assert stats.kstest(drawn[:, dimension], "uniform", args=(low, high - low)).statistic < 0.025


def test_a_run_begun_with_another_initial_std_is_not_resumed():
    teacher = GradientNormTeacher(spaces.Box(-1.0, 1.0, shape=(2,)), seed=0)
    state = json.loads(json.dumps(teacher.state()))
    del state["initial_std"]  # a checkpoint from before the start was kept: std 1.05
    with pytest.raises(ValueError, match=f"started with standard deviation 1.05 .* starts with {INITIAL_STD} now"):
        GradientNormTeacher(spaces.Box(-1.0, 1.0, shape=(2,)), seed=0).load_state(state)


def test_unsupported_spaces_are_refused():
    with pytest.raises(TypeError, match="Box and Discrete"):
        GradientNormTeacher(spaces.MultiBinary(3))
    with pytest.raises(ValueError, match="mean_norm, sum_norm"):
        GradientNormTeacher(spaces.Discrete(2), reward="loss")
    with pytest.raises(ValueError, match="min_std must be at least 0 and below 0.85"):
        GradientNormTeacher(spaces.Discrete(2), min_std=0.9)


def test_reinforce_loss_by_hand():
    teacher = GradientNormTeacher(spaces.Discrete(3), batch_size=2, teacher_updates=1, lr=0.0, seed=0)
    tasks = teacher.sample(2)
    states = torch.tensor([d["state"] for d in teacher.pending.values()], dtype=torch.float64)
    with torch.no_grad():
        log_prob = teacher.log_prob(states, {"task": torch.tensor([t["task"] for t in tasks])})
        baseline = teacher.policy.baseline(states).squeeze(-1)
    rewards = torch.tensor([1.0, 3.0], dtype=torch.float64)
    advantage = rewards - baseline
    advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
    expected = -(advantage * log_prob).mean() + ((baseline - rewards) ** 2).mean()
    teacher.observe(
        [
            Episode(t, {}, 0.0, 1, 0, ticket=i, gradients={"mean_norm": float(r)})
            for i, (t, r) in enumerate(zip(tasks, rewards))
        ]
    )
    assert teacher.last_loss == pytest.approx(float(expected))
    # Categorical log-probabilities come from the trace: the policy's softmax.
    with torch.no_grad():
        logits = teacher.policy(states)["task"]
    assert log_prob.tolist() == pytest.approx(
        torch.log_softmax(logits, -1)[[0, 1], [t["task"] for t in tasks]].tolist()
    )
