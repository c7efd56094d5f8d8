"""The gradient statistics of an episode: reward metrics against hand values, copies not aliases."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sebn.runner.gradients import GradientStats


def test_rewards_on_a_known_gradient_sequence():
    layer = nn.Linear(2, 1, bias=False)
    stats = GradientStats("actor")
    for grad in ([3.0, 4.0], [0.0, -4.0], [1.0, 0.0]):
        layer.weight.grad = torch.tensor([grad])
        stats.add({"actor": layer, "critic": nn.Linear(1, 1)})
    # norms 5, 4, 1 -> 10; the sum is (4, 0) -> 4; over an episode of 4 steps
    assert stats.rewards(length=4) == {"mean_norm": 2.5, "sum_norm": 1.0, "updates": 3}


def test_gradients_are_copied_not_aliased():
    """An optimiser zeroes and refills the same .grad tensor in place every update."""
    layer = nn.Linear(2, 1, bias=False)
    layer.weight.grad = torch.zeros(1, 2)
    grad = layer.weight.grad
    stats = GradientStats("actor")
    for values in ([3.0, 4.0], [0.0, -4.0]):
        grad.zero_()  # what zero_grad(set_to_none=False) does
        grad += torch.tensor([values])
        stats.add({"actor": layer})
    grad.zero_()
    assert stats.rewards(length=2) == {"mean_norm": 4.5, "sum_norm": 1.5, "updates": 2}


def test_both_and_last_layer():
    actor, critic = nn.Sequential(nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)), nn.Linear(1, 1, bias=False)
    actor[0].weight.grad, actor[1].weight.grad, critic.weight.grad = (
        torch.tensor([[3.0]]),
        torch.tensor([[4.0]]),
        torch.tensor([[12.0]]),
    )
    both = GradientStats("both")
    both.add({"critic": critic})
    both.add({"actor": actor})
    # two updates: norms 12 and 5; the summed gradient (12 | 3, 4) has norm 13
    assert both.rewards(length=1) == {"mean_norm": 17.0, "sum_norm": 13.0, "updates": 2}
    last = GradientStats("actor", last_layer=True)
    last.add({"actor": actor})
    assert last.rewards(length=1)["mean_norm"] == 4.0
    with pytest.raises(ValueError, match="actor, critic, both"):
        GradientStats("policy")
