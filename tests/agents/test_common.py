"""What the agents share: the command lines' envs and errors."""

import subprocess
import sys
from types import SimpleNamespace

import gymnasium as gym
import pytest
import torch

from agents.common import check_ranges, registered_env
from sebn.runner.interface import ExperimentError


def test_a_registered_env_with_flat_observations_is_made():
    env = registered_env("Pendulum-v1")(0)
    assert isinstance(env.observation_space, gym.spaces.Box)


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        ("NoSuchEnv-v0", r"env id 'NoSuchEnv-v0': Environment `NoSuchEnv` doesn't exist"),
        ("CartPole-v99", r"env id 'CartPole-v99'"),
        ("Blackjack-v1", r"observes Tuple.*the agents take a flat Box observation.*sebn run DOMAIN"),
    ],
)
def test_an_env_the_agents_cannot_train_on_is_a_clear_error(env_id, message):
    with pytest.raises(ValueError, match=message):
        registered_env(env_id)


def test_the_command_line_says_so_in_one_line_and_exits_2():  # every agent's runs through command_line
    command = [sys.executable, "-m", "agents.sac", "--env-id", "PointMaze_UMaze-v3", "--total-timesteps", "10"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: env id 'PointMaze_UMaze-v3': Environment `PointMaze_UMaze` doesn't exist."
    ]


def test_an_unreadable_checkpoint_falls_back_to_the_one_before_it(tmp_path, capsys):
    from agents.ppo import Args, train
    from tests.agents.test_ppo import parameters

    common = dict(num_envs=1, num_steps=200, anneal_lr=False, eval_every=0, seed=5, checkpoint_every=200)
    make = lambda i: gym.make("Pendulum-v1")  # noqa: E731
    full = train(Args(total_timesteps=800, run_dir=str(tmp_path / "full"), **common), make_env=make)
    cut = tmp_path / "cut"
    train(Args(total_timesteps=600, run_dir=str(cut), **common), make_env=make)
    latest = cut / "checkpoints" / "latest.pt"
    assert (cut / "checkpoints" / "previous.pt").exists()
    latest.write_bytes(latest.read_bytes()[:100])  # a disk that lost most of the file
    resumed = train(Args(total_timesteps=800, run_dir=str(cut), resume=True, **common), make_env=make)
    err = capsys.readouterr().err
    assert "latest.pt cannot be read" in err and "resuming from the checkpoint before it" in err
    assert resumed.global_step == 800  # from 400, the checkpoint before: the same run as one never interrupted
    assert torch.equal(parameters(resumed.modules["agent"]), parameters(full.modules["agent"]))
    for name in ("latest.pt", "previous.pt"):
        (cut / "checkpoints" / name).write_bytes(b"\0" * 10)
    with pytest.raises(ExperimentError, match=r"latest.pt cannot be read .*previous.pt cannot be read .*Delete "):
        train(Args(total_timesteps=1000, run_dir=str(cut), resume=True, **common), make_env=make)


def test_check_ranges_names_every_field_out_of_its_range_and_passes_none():
    args = SimpleNamespace(n=0, rate=-1.0, sizes=[4, -2], gamma=1.0, kl=None)
    with pytest.raises(ValueError) as error:
        check_ranges(args, positive="n sizes kl", non_negative="rate", fractions="gamma")
    assert (
        str(error.value)
        == "n must be > 0, got 0; sizes must be > 0 (each item), got [4, -2]; rate must be >= 0, got -1.0"
    )
