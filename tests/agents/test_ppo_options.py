import gymnasium as gym
import torch

from agents.ppo import Agent
from agents.ppo_options import option_networks


def test_options_route_each_observation_to_its_own_networks():
    agent = Agent(5, gym.spaces.Discrete(3), [8], network=option_networks(2))
    obs = torch.randn(4, 5)
    obs[:, 3:] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    chosen = obs[:, 3:].argmax(-1)
    manual = torch.stack([agent.actor.networks[int(o)](x[:3]) for x, o in zip(obs, chosen)])
    assert torch.allclose(agent.actor(obs), manual)
    # A loss on option 0's observations moves option 0's networks only.
    agent.value(obs[chosen == 0]).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in agent.critic.networks[0].parameters())
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in agent.critic.networks[1].parameters())
