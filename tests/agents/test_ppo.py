import gymnasium as gym
import pytest
import torch

from agents.ppo import Args, train
from sebn.runner.interface import Callbacks
from tests.agents.envs import ConstantRewardEnv, IdentityBoxEnv


def args_for(tmp_path, **overrides) -> Args:
    base = dict(total_timesteps=2048, num_envs=2, num_steps=128, eval_every=0, run_dir=str(tmp_path / "run"), seed=5)
    return Args(**{**base, **overrides})


def parameters(module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_learns_cartpole(tmp_path):
    result = train(args_for(tmp_path, total_timesteps=40_000, num_envs=4, eval_every=40_000, eval_episodes=5))
    assert result.last_eval["eval/episodic_return"] >= 195, result.last_eval


def test_learns_continuous_identity(tmp_path):
    # A random policy scores about -20 * 2/3 (uniform actions) or worse; optimal is 0.
    result = train(
        args_for(
            tmp_path,
            total_timesteps=30_000,
            num_envs=4,
            learning_rate=3e-3,
            ent_coef=0.0,
            eval_every=30_000,
            eval_episodes=5,
            normalize_reward=True,
        ),
        make_env=lambda i: IdentityBoxEnv(),
    )
    assert result.last_eval["eval/episodic_return"] > -1.0, result.last_eval


def test_truncation_is_bootstrapped(tmp_path):
    result = train(
        args_for(tmp_path, total_timesteps=8192, gamma=0.9, learning_rate=3e-3, anneal_lr=False),
        make_env=lambda i: ConstantRewardEnv(),
    )
    value = result.modules["agent"].value(torch.zeros(1, 1)).item()
    assert abs(value - 10.0) < 1.0, value  # 1 / (1 - 0.9); without bootstrapping about 6.5


def test_same_seed_same_run(tmp_path):
    a = train(args_for(tmp_path / "a"))
    b = train(args_for(tmp_path / "b"))
    assert torch.equal(parameters(a.modules["agent"]), parameters(b.modules["agent"]))


def test_resume_equals_uninterrupted(tmp_path):
    # Pendulum episodes last 200 steps = one rollout, so checkpoints fall on episode ends.
    # The learning rate stays fixed: the shorter first run would otherwise anneal faster.
    common = dict(num_envs=1, num_steps=200, normalize_obs=True, normalize_reward=True, anneal_lr=False)
    make = lambda i: gym.make("Pendulum-v1")  # noqa: E731
    full = train(args_for(tmp_path / "full", total_timesteps=800, **common), make_env=make)
    train(args_for(tmp_path / "cut", total_timesteps=400, **common), make_env=make)
    resumed = train(args_for(tmp_path / "cut", total_timesteps=800, resume=True, **common), make_env=make)
    assert resumed.global_step == 800
    assert torch.equal(parameters(resumed.modules["agent"]), parameters(full.modules["agent"]))


@pytest.mark.parametrize(("asked", "trained"), [(100, 256), (500, 512), (1000, 1024), (1024, 1024), (1100, 1280)])
def test_steps_asked_are_trained_in_whole_rollouts(tmp_path, asked, trained):
    make = lambda i: ConstantRewardEnv()  # noqa: E731
    result = train(args_for(tmp_path, total_timesteps=asked, update_epochs=1), make_env=make)
    assert result.global_step == trained  # 2 envs x 128 steps a rollout: the asked steps, rounded up


class Recorder(Callbacks):
    def __init__(self):
        self.updates, self.episodes = 0, []

    def on_update(self, modules):
        assert set(modules) == {"actor", "critic"}
        for module in modules.values():
            assert all(p.grad is not None for p in module.parameters())
        self.updates += 1

    def on_episode(self, info):
        self.episodes.append(info)


def test_callbacks_and_hidden_layers(tmp_path):
    recorder = Recorder()
    result = train(args_for(tmp_path, hidden_sizes=[16, 16, 16, 16]), callbacks=recorder)
    assert recorder.updates == 8 * 4 * 4  # iterations x epochs x minibatches
    assert sum(isinstance(m, torch.nn.Linear) for m in result.modules["agent"].actor) == 5
    assert recorder.episodes and all(e["length"] > 0 for e in recorder.episodes)


def test_refuses_other_action_spaces(tmp_path):
    class MultiBinary(ConstantRewardEnv):
        def __init__(self):
            super().__init__()
            self.action_space = gym.spaces.MultiBinary(2)

    with pytest.raises(ValueError, match="Discrete or Box"):
        train(args_for(tmp_path), make_env=lambda i: MultiBinary())


def test_sampled_evaluation_has_its_own_rng(tmp_path):
    runs = [
        train(
            Args(
                env_id="CartPole-v1",
                total_timesteps=1024,
                num_envs=2,
                num_steps=128,
                eval_every=512,
                eval_greedy=False,
                run_dir=str(tmp_path / f"run{i}"),
            )
        ).last_eval
        for i in range(2)
    ]
    assert runs[0] == runs[1]
