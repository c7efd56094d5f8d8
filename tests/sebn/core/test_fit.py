import json

import numpy as np
import pyro
import pytest
import torch
from pyro.infer import SVI, TraceEnum_ELBO
from torch.distributions import constraints

from sebn.core.check import identifiability, log_tails
from sebn.core.fit import FIT_FILE_VERSION, SufficientStats, draws_from_json, fit, rates_from_json, theta_from_json
from sebn.core.inference import score
from sebn.core.model import sebn_model, simulate
from sebn.core.network import SEBN
from sebn.core.records import observations
from sebn.core.spec import load_spec, parse_spec
from tests.sebn.core.strategies import random_theta


def uniform_tasks(net: SEBN, n: int, seed: int, with_target: bool = False) -> list[dict]:
    generator = torch.Generator().manual_seed(seed)
    settings = net.settings()
    rows = torch.randint(len(settings), (n,), generator=generator).tolist()
    targets = torch.randint(len(net.targets), (n,), generator=generator).tolist()
    tasks = [net.describe_setting(settings[r]) for r in rows]
    if with_target:
        tasks = [{**task, "target": net.targets[t]} for task, t in zip(tasks, targets)]
    return tasks


def identifiable_error(net, fitted, truth) -> float:
    basis, _ = identifiability(net)
    return float(np.abs(basis @ (log_tails(net, fitted) - log_tails(net, truth))[0]).max())


@pytest.mark.parametrize("name", ["bipedalwalker", "doorkey", "robosuite_door"])
def test_mle_recovers_identifiable_functionals_ever_closer(name):
    net = SEBN(load_spec(f"specs/{name}.sebn"))
    truth = random_theta(net, seed=0, concentration=5.0)
    errors = {}
    for n in (1000, 16000):
        records = simulate(net, truth, uniform_tasks(net, n, seed=0), seed=0)
        errors[n] = identifiable_error(net, fit(net, records).theta, truth)
        # c / sqrt(N): c = 60 is above the largest scaled error measured over 9 spec/seed pairs (44).
        assert errors[n] < 60 / np.sqrt(n), errors
    assert errors[16000] < errors[1000]


def test_sufficient_statistics_equal_the_per_rollout_likelihood():
    net = SEBN(load_spec("specs/doorkey.sebn"))
    truth = random_theta(net, seed=2)
    records = simulate(net, truth, uniform_tasks(net, 500, seed=1, with_target=True), seed=1, observe="task")
    stats = SufficientStats.from_records(net, records)
    assert stats.n_groups < 100 < len(records)
    settings, observed = observations(net, records)
    elbo = TraceEnum_ELBO(max_plate_nesting=1)
    per_rollout = -elbo.loss(lambda: sebn_model(net, settings, observed, truth), lambda: None)
    assert float(stats.log_likelihood(net, truth)[0]) == pytest.approx(per_rollout, abs=1e-8)


def test_per_rollout_trace_enum_svi_reaches_the_sufficient_statistics_mle():
    net = SEBN(load_spec("specs/doorkey.sebn"))
    truth = random_theta(net, seed=3, concentration=5.0)
    records = simulate(net, truth, uniform_tasks(net, 2000, seed=0, with_target=True), seed=1, observe="task")
    mle = fit(net, records)
    settings, observed = observations(net, records)
    pyro.clear_param_store()
    pyro.set_rng_seed(0)

    def model():
        theta = {
            name: pyro.param(
                f"theta_{name}", torch.full((n,), 1.0 / n, dtype=torch.float64), constraint=constraints.simplex
            )
            for name, n in zip(net.base, net.n_levels)
        }
        sebn_model(net, settings, observed, theta)

    steps = 1200
    svi = SVI(
        model,
        lambda: None,
        pyro.optim.ClippedAdam({"lr": 0.05, "lrd": 0.01 ** (1 / steps)}),
        TraceEnum_ELBO(max_plate_nesting=1),
    )
    for _ in range(steps):
        svi.step()
    theta = {name: pyro.param(f"theta_{name}").detach() for name in net.base}
    assert (score(net, theta) - score(net, mle.theta)).abs().max() < 2e-3


def test_map_pulls_towards_the_prior_and_equals_mle_at_concentration_one():
    net = SEBN(parse_spec("goalreached : (| move=1)\n"))
    records = [{"task": {}, "targets": {"goalreached": 1}}] * 3 + [{"task": {}, "targets": {"goalreached": 0}}]
    mle = fit(net, records, method="mle")
    assert torch.allclose(
        fit(net, records, method="map", concentration=1.0).theta["move"], mle.theta["move"], atol=1e-6
    )
    strong = fit(net, records, method="map", concentration=50.0)
    assert abs(strong.theta["move"][1] - 0.5) < abs(mle.theta["move"][1] - 0.5)


def test_fit_rates_recovers_success_and_slip():
    # Two targets observed together on one competency make the rates identifiable:
    # their joint success reveals the second moment of the shared "requirement met".
    net = SEBN(parse_spec("target a\ntarget b\na : (wall=1 | move=1)\nb : (wall=1 | move=1)\n"))
    truth = {"move": torch.tensor([0.4, 0.6], dtype=torch.float64)}
    rates = (torch.tensor([0.8, 0.9], dtype=torch.float64), torch.tensor([0.1, 0.2], dtype=torch.float64))
    records = simulate(net, truth, [{"wall": 1}] * 40000 + [{"wall": 0}] * 10000, seed=0, rates=rates)
    result = fit(net, records, fit_rates=True)
    assert [result.rates[t]["success"] for t in ("a", "b")] == pytest.approx([0.8, 0.9], abs=0.02)
    assert [result.rates[t]["slip"] for t in ("a", "b")] == pytest.approx([0.1, 0.2], abs=0.03)
    assert result.theta["move"][1].item() == pytest.approx(0.6, abs=0.03)


def test_fit_json_round_trip_and_validation():
    net = SEBN(load_spec("specs/robosuite_door.sebn"))
    records = simulate(net, random_theta(net, 0), uniform_tasks(net, 200, seed=0), seed=0)
    data = fit(net, records, method="svi", num_samples=50, svi_steps=200).to_json()
    assert set(data) >= {"theta", "method", "draws", "data"}
    theta = theta_from_json(net, data)
    assert torch.allclose(
        score(net, theta),
        score(net, {k: torch.tensor(v, dtype=torch.float64) for k, v in data["theta"].items()}),
        atol=1e-15,
        rtol=0,
    )
    assert rates_from_json(net, data) is None
    with pytest.raises(ValueError, match="summing to 1"):
        theta_from_json(net, {"theta": {**data["theta"], "unlock": [0.9, 0.9]}})
    with pytest.raises(ValueError, match="not base competencies"):
        theta_from_json(net, {"theta": {**data["theta"], "fly": [1.0]}})
    with pytest.raises(ValueError, match="summing to 1"):
        theta_from_json(net, {"theta": {**data["theta"], "unlock": [float("nan"), 1.0]}})
    with pytest.raises(ValueError, match="rates of goalreached must have 0 < slip < success < 1"):
        rates_from_json(net, {"rates": {"goalreached": {"success": 2, "slip": -1}}})


def test_posterior_fit_files_carry_theta_and_rate_draws():
    net = SEBN(load_spec("specs/robosuite_door.sebn"))
    records = simulate(net, random_theta(net, 0), uniform_tasks(net, 300, seed=0), seed=0)
    data = json.loads(json.dumps(fit(net, records, method="laplace", fit_rates=True, num_samples=40).to_json()))
    assert data["version"] == FIT_FILE_VERSION == 2
    draws, (success, slip) = draws_from_json(net, data)
    assert draws["open_door"].shape == (40, 3) and success.shape == slip.shape == (40, len(net.targets))
    assert bool((slip < success).all())
    point = json.loads(json.dumps(fit(net, records, method="mle").to_json()))
    assert draws_from_json(net, point) == (None, None)
    with pytest.raises(ValueError, match="format version 3; this sebn reads up to 2"):
        draws_from_json(net, {**data, "version": 3})
    with pytest.raises(ValueError, match="every draw of 'unlock' must be 2 probabilities"):
        draws_from_json(net, {**data, "draws": {**data["draws"], "unlock": [[0.5, 0.6]] * 40}})
    with pytest.raises(ValueError, match="disagree on their number"):
        draws_from_json(net, {**data, "draws": {**data["draws"], "unlock": [[0.5, 0.5]] * 39}})


def test_unknown_method_is_refused():
    net = SEBN(parse_spec("g : (| move=1)\n"))
    with pytest.raises(ValueError, match="mle, map, svi, laplace, nuts"):
        fit(net, [], method="em")
