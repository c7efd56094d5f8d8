"""PPO with call-and-return options, the SEBN paper's DoorKey agent: :mod:`agents.ppo`
with one actor and one critic per option.

The last ``options`` entries of every observation are a one-hot option index (the env
says which option is running); each option's networks read the rest of the observation,
so an option learns only from its own steps. Everything else is plain PPO.

    python -m agents.ppo_options --options 3 ...   (DoorKey: ``sebn run doorkey``)

Example:
    >>> import gymnasium as gym, torch
    >>> from agents.ppo import Agent
    >>> agent = Agent(5, gym.spaces.Discrete(3), [8], network=option_networks(2))
    >>> agent.actor(torch.zeros(4, 5)).shape, len(agent.actor.networks)
    (torch.Size([4, 3]), 2)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import torch
from torch import nn

from agents import ppo
from agents.common import check_ranges, command_line
from sebn.runner.interface import Callbacks, TrainResult


@dataclass
class Args(ppo.Args):
    options: int = 3
    """call-and-return options: the last `options` observation entries are a one-hot option index, and each option has
    its own actor and critic"""

    def __post_init__(self):
        super().__post_init__()
        check_ranges(self, positive="options")


class Options(nn.Module):
    """One network per option; the last ``len(networks)`` inputs are a one-hot option
    index choosing which network reads the rest of each observation."""

    def __init__(self, networks: list[nn.Module]):
        super().__init__()
        self.networks = nn.ModuleList(networks)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        features, chosen = obs[..., : -len(self.networks)], obs[..., -len(self.networks) :].argmax(-1)
        out = torch.stack([network(features) for network in self.networks], dim=-2)
        return out.gather(-2, chosen[..., None, None].expand(*chosen.shape, 1, out.shape[-1])).squeeze(-2)


def option_networks(options: int) -> Callable[[list[int], float], nn.Module]:
    """PPO's ``network`` argument for ``options`` options: the inputs lose the one-hot index."""

    def build(sizes: list[int], last_std: float) -> Options:
        return Options([ppo.tanh_mlp([sizes[0] - options, *sizes[1:]], last_std) for _ in range(options)])

    return build


def train(
    args: Args, make_env: Callable[[int], gym.Env] | None = None, callbacks: Callbacks | None = None
) -> TrainResult:
    """Train PPO with ``args.options`` options (see :func:`agents.ppo.train`)."""
    if args.options < 1:
        raise ValueError(f"options must be at least 1, got {args.options}")
    return ppo.train(args, make_env, callbacks, network=option_networks(args.options))


if __name__ == "__main__":
    command_line(train, Args)
