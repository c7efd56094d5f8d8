"""What the agents share: the command lines' envs and errors."""

import subprocess
import sys

import gymnasium as gym
import pytest

from agents.common import registered_env


def test_a_registered_env_with_flat_observations_is_made():
    env = registered_env("Pendulum-v1")(0)
    assert isinstance(env.observation_space, gym.spaces.Box)


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        ("PointMaze_UMaze-v3", r"env id 'PointMaze_UMaze-v3': Environment `PointMaze_UMaze` doesn't exist"),
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
