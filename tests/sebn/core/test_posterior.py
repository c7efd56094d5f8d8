"""Posteriors against NUTS, the reference: SVI's and Laplace's spreads on the functionals the
data identify, their means, and fits whose MAP lies on the edge of a simplex."""

import numpy as np
import pytest
import torch

from sebn.core.check import identifiability, log_tails
from sebn.core.fit import SufficientStats, fit
from sebn.core.inference import score
from sebn.core.model import simulate
from sebn.core.network import SEBN
from sebn.core.spec import load_spec, parse_spec
from tests.sebn.core.strategies import random_theta
from tests.sebn.core.test_fit import uniform_tasks


@pytest.fixture(scope="module")
def doorkey_data():
    net = SEBN(load_spec("specs/doorkey.sebn"))
    truth = random_theta(net, seed=3, concentration=5.0)
    records = simulate(net, truth, uniform_tasks(net, 300, seed=0, with_target=True), seed=1, observe="task")
    stats = SufficientStats.from_records(net, records)
    nuts = fit(net, stats, method="nuts", num_samples=800, warmup_steps=400)
    return net, stats, nuts


# Laplace's Gaussian sits at the mode of the unconstrained density: on 300 rollouts its mean
# predictions lie a little further from NUTS's than SVI's do.
@pytest.mark.parametrize(("method", "mean_tolerance"), [("svi", 0.02), ("laplace", 0.03)])
def test_posterior_spread_within_30_percent_of_nuts(doorkey_data, method, mean_tolerance):
    net, stats, nuts = doorkey_data
    basis, _ = identifiability(net)
    approximate = fit(net, stats, method=method, num_samples=2000)
    sd = (log_tails(net, approximate.draws) @ basis.T).std(0)
    sd_nuts = (log_tails(net, nuts.draws) @ basis.T).std(0)
    assert np.all(np.abs(sd / sd_nuts - 1) < 0.3), (sd, sd_nuts)
    assert (score(net, approximate.theta) - score(net, nuts.theta)).abs().max() < mean_tolerance


@pytest.mark.parametrize("method", ["svi", "laplace"])
def test_a_map_on_the_edge_of_the_simplex_still_gives_a_posterior(method):
    net = SEBN(parse_spec("goalreached : (| move=1)\n"))
    records = [{"task": {}, "targets": {"goalreached": 1}}] * 50  # the MLE puts all of move's mass on level 1
    result = fit(net, records, method=method, num_samples=500)
    draws = result.draws["move"]
    assert torch.isfinite(draws).all() and torch.allclose(draws.sum(-1), torch.ones(500, dtype=draws.dtype))
    assert draws[:, 1].std() > 0 and result.theta["move"][1] > 0.8


def test_svi_stops_when_the_elbo_settles(doorkey_data):
    net, stats, _ = doorkey_data
    seen = []
    fit(net, stats, method="svi", num_samples=10, svi_steps=3000, progress=lambda step, elbo: seen.append(step))
    assert seen and seen[-1] < 3000
