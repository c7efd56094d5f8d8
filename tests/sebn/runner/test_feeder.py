"""The vector-env helper: tasks reach every reset, every episode reaches the curriculum
once, gradients are credited to the episode whose steps fed them."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from gymnasium import spaces

from agents import sac
from agents.common import RunLogger
from agents.training_envs import TrainingEnvs
from sebn.curricula.base import BaseCurriculum
from sebn.curricula.teacher import GradientNormTeacher
from sebn.runner.feeder import CurriculumFeeder, TaskNotAppliedError
from tests.sebn.runner.envs import LengthCurriculum, TaskLengthEnv


@pytest.mark.parametrize("asynchronous", [False, True])
def test_every_reset_gets_the_curriculum_task_and_every_episode_is_observed_once(asynchronous, tmp_path):
    curriculum = LengthCurriculum()
    feeder = CurriculumFeeder(curriculum)
    training = TrainingEnvs(lambda i: TaskLengthEnv(), 3, feeder, asynchronous=asynchronous)
    logger = RunLogger(tmp_path, {})
    training.start(seed=0)
    rng = np.random.default_rng(0)
    for step in range(1, 200):
        training.step(rng.uniform(-1, 1, size=(3, 1)).astype(np.float32), step, logger)
    feeder.close()
    received = [task for envs in training.envs.get_attr("received") for task in envs]
    logger.close()
    training.envs.close()
    # Every task handed out reached a reset (the last one per env is still running).
    assert Counter(map(str, received)) == Counter(map(str, curriculum.handed))
    tickets = [e.ticket for e in curriculum.observed]
    assert len(tickets) == len(set(tickets)) == len(curriculum.handed) - 3
    for episode in curriculum.observed:
        assert episode.task == curriculum.handed[episode.ticket]
        assert episode.length == episode.task["length"]
        assert set(episode.targets) == {"done"}


def test_an_env_that_ignores_its_task_is_caught(tmp_path):
    feeder = CurriculumFeeder(LengthCurriculum(seed=1))
    training = TrainingEnvs(lambda i: TaskLengthEnv(ignore_task=True), 1, feeder)
    logger = RunLogger(tmp_path, {})
    training.start(seed=0)
    with pytest.raises(TaskNotAppliedError, match="must apply reset"):
        for step in range(1, 20):
            training.step(np.zeros((1, 1), dtype=np.float32), step, logger)
    logger.close()


class FixedLengths(BaseCurriculum):
    kind = "fixed"

    def __init__(self, lengths):
        super().__init__(0)
        self.lengths, self.observed = lengths, []

    def _sample(self, n, rng):
        return [{"length": self.lengths[(self.issued + i) % len(self.lengths)]} for i in range(n)]

    def observe(self, episodes):
        self.observed += list(episodes)


def test_updates_are_credited_to_the_episode_whose_steps_fed_them(tmp_path):
    """One update after every step, as SAC does: an episode of k steps gets exactly k
    updates, including the one after its last step and none of the next episode's."""
    import torch
    from torch import nn

    layer = nn.Linear(1, 1, bias=False)
    curriculum = FixedLengths([2, 5, 3])
    feeder = CurriculumFeeder(curriculum, gradients="actor")
    training = TrainingEnvs(lambda i: TaskLengthEnv(), 1, feeder)
    logger = RunLogger(tmp_path, {})
    training.start(seed=0)
    for step in range(1, 11):  # 2 + 5 + 3 steps
        training.step(np.zeros((1, 1), dtype=np.float32), step, logger)
        layer.weight.grad = torch.tensor([[float(step)]])  # the update after step t has gradient t
        feeder.on_update({"actor": layer})
    feeder.close()
    logger.close()
    got = [(e.length, e.gradients["updates"], e.gradients["mean_norm"] * e.length) for e in curriculum.observed]
    assert got == [(2, 2, 1 + 2), (5, 5, 3 + 4 + 5 + 6 + 7), (3, 3, 8 + 9 + 10)]


def test_sac_student_feeds_the_teacher(tmp_path):
    teacher = GradientNormTeacher(spaces.Dict({"length": spaces.Discrete(6)}), batch_size=4, seed=0)

    # The env wants lengths from 1; the teacher's Discrete(6) gives 0..5.
    class Shifted(TaskLengthEnv):
        def reset(self, *, seed=None, options=None):
            if options and "task" in options:
                self.shift = options["task"]
                options = {"task": {"length": options["task"]["length"] + 1}}
            obs, info = super().reset(seed=seed, options=options)
            return obs, {"task": getattr(self, "shift", {"length": 0})}

    feeder = CurriculumFeeder(teacher, gradients="actor", clear_buffer=False)
    tiny = {"learning_starts": 50, "batch_size": 32, "hidden_sizes": [16, 16], "policy_frequency": 1, "num_envs": 1}
    args = sac.Args(total_timesteps=300, eval_every=0, run_dir=str(tmp_path / "sac"), **tiny)
    sac.train(args, make_env=lambda i: Shifted(), callbacks=feeder)
    feeder.close()
    assert teacher.updates >= 2
    assert feeder.delivered > 50
    assert teacher.last_loss is not None and np.isfinite(teacher.last_loss)


def test_clear_buffer_empties_the_replay_buffer_at_each_new_task():
    class Buffer:
        cleared = 0

        def clear(self):
            self.cleared += 1

    buffer = Buffer()
    feeder = CurriculumFeeder(LengthCurriculum(), clear_buffer=True)
    feeder.on_start({"replay_buffer": buffer})
    feeder.reset_options(0)
    feeder.reset_options(1)
    assert buffer.cleared == 2
    with pytest.raises(ValueError, match="off-policy"):
        CurriculumFeeder(LengthCurriculum(), clear_buffer=True).on_start({"envs": None})


def test_rollout_updates_are_credited_to_the_episodes_of_their_rollout(tmp_path):
    """PPO's rule: rollouts of 4 steps, then 2 minibatch updates. An episode gets every
    update after each rollout it has a transition in, and waits for them when it ends
    mid-rollout; one begun by a reset in a rollout's last step gets none of that rollout's."""
    import torch
    from torch import nn

    layer = nn.Linear(1, 1, bias=False)
    curriculum = FixedLengths([2, 5, 1, 4])  # steps 1-2 | 3-7 | 8 | 9-12
    feeder = CurriculumFeeder(curriculum, gradients="actor")
    feeder.on_start({"envs": None, "credit": "rollout"})
    training = TrainingEnvs(lambda i: TaskLengthEnv(), 1, feeder)
    logger = RunLogger(tmp_path, {})
    training.start(seed=0)
    step, seen_after_rollout = 0, []
    for rollout in range(3):
        for _ in range(4):
            step += 1
            training.step(np.zeros((1, 1), dtype=np.float32), step, logger)
        seen_after_rollout.append(len(curriculum.observed))
        for minibatch in range(2):
            layer.weight.grad = torch.tensor([[10.0 * (rollout + 1) + minibatch]])
            feeder.on_update({"actor": layer})
    feeder.close()
    logger.close()
    got = [
        (e.length, e.gradients["updates"], e.gradients["mean_norm"] * e.gradients["updates"])
        for e in curriculum.observed
    ]
    rollout_norms = [10 + 11, 20 + 21, 30 + 31]  # mean_norm averages over the updates, not the steps
    assert got == [
        (2, 2, rollout_norms[0]),  # steps 1-2: rollout 1
        (5, 4, rollout_norms[0] + rollout_norms[1]),  # steps 3-7: rollouts 1 and 2
        (1, 2, rollout_norms[1]),  # step 8: rollout 2
        (4, 2, rollout_norms[2]),  # steps 9-12: rollout 3
    ]
    # an episode that ended in a rollout waited for that rollout's updates
    assert seen_after_rollout == [0, 1, 3]


def test_a_feeder_refuses_an_unknown_credit_rule():
    with pytest.raises(ValueError, match="credit must be one of step, rollout"):
        CurriculumFeeder(LengthCurriculum()).on_start({"envs": None, "credit": "episode"})
