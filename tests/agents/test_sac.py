import re

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.sac import Args, train
from sebn.runner.interface import Callbacks


def small_args(tmp_path, **overrides) -> Args:
    base = dict(
        total_timesteps=1200,
        learning_starts=400,
        batch_size=64,
        hidden_sizes=[32, 32],
        eval_every=0,
        run_dir=str(tmp_path / "run"),
        seed=3,
    )
    return Args(**{**base, **overrides})


def parameters(module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_learns_pendulum(tmp_path):
    # Random actions score about -1200 on Pendulum-v1; SB3-style threshold at a short budget.
    result = train(
        small_args(
            tmp_path,
            total_timesteps=7000,
            learning_starts=1000,
            batch_size=128,
            hidden_sizes=[64, 64],
            eval_every=7000,
            eval_episodes=5,
        )
    )
    assert result.last_eval["eval/episodic_return"] > -400, result.last_eval


def test_same_seed_same_run(tmp_path):
    a = train(small_args(tmp_path / "a"))
    b = train(small_args(tmp_path / "b"))
    assert torch.equal(parameters(a.modules["actor"]), parameters(b.modules["actor"]))
    assert torch.equal(parameters(a.modules["critics"]), parameters(b.modules["critics"]))


def test_resume_equals_uninterrupted(tmp_path):
    # Pendulum episodes last 200 steps: a checkpoint at 600 falls on an episode end.
    full = train(small_args(tmp_path / "full"))
    train(small_args(tmp_path / "cut", total_timesteps=600))
    resumed = train(small_args(tmp_path / "cut", resume=True))
    assert resumed.global_step == full.global_step == 1200
    assert torch.equal(parameters(resumed.modules["actor"]), parameters(full.modules["actor"]))
    assert torch.equal(parameters(resumed.modules["critics"]), parameters(full.modules["critics"]))


class Recorder(Callbacks):
    def __init__(self):
        self.grads, self.episodes, self.handles = {"actor": [], "critic": []}, [], None

    def on_start(self, handles):
        self.handles = handles

    def on_update(self, modules):
        for name, module in modules.items():
            grads = [p.grad for p in module.parameters()]
            assert all(g is not None for g in grads), name
            self.grads[name].append(torch.cat([g.flatten() for g in grads]).clone())

    def on_episode(self, info):
        self.episodes.append(info)


def test_callbacks_see_gradients_and_episodes(tmp_path):
    recorder = Recorder()
    train(small_args(tmp_path, total_timesteps=800), callbacks=recorder)
    assert len(recorder.grads["critic"]) == 400 and len(recorder.grads["actor"]) == 400
    # Gradients change from update to update (copied, not aliased to the live .grad).
    assert not torch.equal(recorder.grads["actor"][0], recorder.grads["actor"][-1])
    assert [e["length"] for e in recorder.episodes] == [200] * 4
    assert recorder.episodes[-1]["global_step"] == 800
    assert len(recorder.handles["replay_buffer"]) == 800


class ClearOnEpisode(Callbacks):
    def on_start(self, handles):
        self.buffer = handles["replay_buffer"]

    def on_episode(self, info):
        self.buffer.clear()


def test_clear_buffer_hook(tmp_path):
    callbacks = ClearOnEpisode()
    train(small_args(tmp_path, total_timesteps=500, learning_starts=450), callbacks=callbacks)
    assert len(callbacks.buffer) == 100  # cleared at steps 200 and 400


class TruncatedAt5(gym.Wrapper):
    """Pendulum cut to 5 steps by a time limit (a truncation, never a termination)."""

    def __init__(self):
        super().__init__(gym.wrappers.TimeLimit(gym.make("Pendulum-v1").unwrapped, max_episode_steps=5))


class BufferSpy(Callbacks):
    def on_start(self, handles):
        self.buffer = handles["replay_buffer"]


def test_time_limits_are_truncations_not_terminations(tmp_path):
    spy = BufferSpy()
    train(
        small_args(tmp_path, total_timesteps=50, learning_starts=100), make_env=lambda i: TruncatedAt5(), callbacks=spy
    )
    assert len(spy.buffer) == 50
    assert not spy.buffer.terminated[:50].any()
    # The stored next observation at a truncation is the true final one, not a reset.
    assert np.allclose(spy.buffer.next_obs[3], spy.buffer.obs[4])
    assert not np.allclose(spy.buffer.next_obs[4], spy.buffer.obs[5])


def test_gradient_paper_preset():
    args = Args(preset="gradient-paper")
    assert (args.hidden_sizes, args.batch_size, args.gamma, args.alpha, args.autotune) == (
        [256, 256, 256],
        256,
        0.99,
        0.05,
        False,
    )


def test_an_explicit_value_wins_over_the_preset():
    args = Args(preset="gradient-paper", batch_size=64, hidden_sizes=[32])
    assert (args.hidden_sizes, args.batch_size, args.alpha) == ([32], 64, 0.05)


@pytest.mark.parametrize(
    "field, value, message",
    [("tau", 1.5, "tau must be in [0, 1], got 1.5"), ("batch_size", 0, "batch_size must be > 0, got 0")],
)
def test_values_out_of_range_are_refused(field, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Args(**{field: value})


def test_refuses_discrete_actions(tmp_path):
    with pytest.raises(ValueError, match="continuous"):
        train(small_args(tmp_path), make_env=lambda i: gym.make("CartPole-v1"))


def test_targets_come_from_the_target_critics(tmp_path):
    """The original gradient-norm code never used its target critics. Here the Polyak rate
    changes only the target critics, so if they were unused every run would be the same."""
    slow = train(small_args(tmp_path / "slow", tau=0.005))
    fast = train(small_args(tmp_path / "fast", tau=0.5))
    assert not torch.equal(parameters(slow.modules["critics"]), parameters(fast.modules["critics"]))
