"""Sample-search: valid candidates, and recall of the true top 20 on a spec small enough
to score exhaustively."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sebn.core.network import SEBN
from sebn.core.search import predictions, sample_search
from sebn.core.spec import parse_spec
from tests.sebn.core.strategies import random_theta, synthetic_spec


def true_top(net, before, after, k=20):
    p_before, p_after = predictions(net, [before, after], net.settings())
    return torch.sort((p_after - p_before)[:, 0].abs(), descending=True).values[:k]


@pytest.mark.parametrize("seed", range(3))
def test_search_finds_the_true_top_20(seed):
    net = synthetic_spec(9)  # 19,683 settings
    before, after = random_theta(net, 100 + seed, 5.0), random_theta(net, 200 + seed, 5.0)
    best = true_top(net, before, after)
    result = sample_search(net, before, after, net.targets, lambda d: d, rng=np.random.default_rng(seed))
    settings, targets = result.settings, result.target_index
    assert settings.shape == (20, 9) and (targets == 0).all()
    found_before, found_after = predictions(net, [before, after], settings)
    found = (found_after - found_before)[:, 0].abs()
    # Ties are common: a found setting counts when it is as good as the true 20th.
    assert (found >= best[-1] - 1e-12).float().mean() >= 0.8
    assert found.max() == pytest.approx(float(best[0]))
    assert len({tuple(r) for r in settings.tolist()}) == 20


def test_anti_fitness_finds_the_least_changed():
    net = synthetic_spec(6)
    before, after = random_theta(net, 1, 5.0), random_theta(net, 2, 5.0)
    settings = sample_search(net, before, after, net.targets, lambda d: 1 - d, rng=np.random.default_rng(0)).settings
    p_before, p_after = predictions(net, [before, after], settings)
    everything = predictions(net, [before, after], net.settings())
    least = (everything[1] - everything[0])[:, 0].abs().min()
    assert (p_after - p_before)[:, 0].abs().min() == pytest.approx(float(least))


def test_several_targets_are_searched_too():
    net = SEBN(parse_spec("env a : 0..3\nenv b : 0..3\nx : (a=3 | m=1)\ny : (b=3 | m=2)\ny : (| x=1)\n"))
    before = {"m": torch.tensor([0.8, 0.1, 0.1], dtype=torch.float64)}
    after = {"m": torch.tensor([0.1, 0.1, 0.8], dtype=torch.float64)}
    result = sample_search(net, before, after, ["x", "y"], lambda d: d, keep=5, rng=np.random.default_rng(0))
    settings, targets = result.settings, result.target_index
    p_before, p_after = predictions(net, [before, after], settings)
    rows = torch.arange(len(settings))
    found = (p_after - p_before)[rows, targets].abs()
    exhaustive = (lambda b, a: (a - b).abs().max())(*predictions(net, [before, after], net.settings()))
    assert found[0] == pytest.approx(float(exhaustive))


def test_bad_arguments():
    net = synthetic_spec(4)
    theta = random_theta(net, 0)
    with pytest.raises(ValueError, match="heuristic"):
        sample_search(net, theta, theta, net.targets, lambda d: d, heuristic="kl")
    with pytest.raises(ValueError, match="every env variable"):
        sample_search(net, theta, theta, net.targets, lambda d: d, order=["e0"])


def test_mean_fitness_estimates_the_whole_space():
    net = synthetic_spec(8)
    before, after = random_theta(net, 3, 5.0), random_theta(net, 4, 5.0)
    p_before, p_after = predictions(net, [before, after], net.settings())
    exact = float((p_after - p_before)[:, 0].abs().mean())
    result = sample_search(net, before, after, net.targets, lambda d: d, samples=64, rng=np.random.default_rng(0))
    assert result.mean_fitness == pytest.approx(exact, rel=0.1)
