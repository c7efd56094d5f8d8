import pytest
import torch

from sebn.core.inference import score
from sebn.core.model import simulate
from sebn.core.network import SEBN
from sebn.core.spec import load_spec
from tests.sebn.core.strategies import random_theta


@pytest.mark.parametrize("name", ["doorkey", "bipedalwalker"])
def test_simulated_success_rates_match_exact_scores(name):
    net = SEBN(load_spec(f"specs/{name}.sebn"))
    theta = random_theta(net, seed=4)
    settings = net.settings()
    repeats = 4000 if len(settings) < 50 else 100
    tasks = [net.describe_setting(row) for row in settings] * repeats
    records = simulate(net, theta, tasks, seed=0)
    outcomes = torch.tensor([[r["targets"][t] for t in net.targets] for r in records], dtype=torch.float64)
    frequency = outcomes.reshape(repeats, len(settings), -1).mean(0)
    expected = score(net, theta)
    # Binomial standard error, 5 sigma.
    tolerance = 5 * (expected * (1 - expected) / repeats).sqrt() + 1e-9
    assert ((frequency - expected).abs() <= tolerance).all()


def test_simulate_records_and_seeding():
    net = SEBN(load_spec("specs/doorkey.sebn"))
    theta = random_theta(net, seed=0)
    tasks = [{"distance": 1, "wall": 0, "exists_door": 1, "target": "haskey"}] * 20
    first = simulate(net, theta, tasks, seed=7, observe="task")
    assert first == simulate(net, theta, tasks, seed=7, observe="task")
    assert first != simulate(net, theta, tasks, seed=8, observe="task")
    record = first[0]
    assert set(record) == {"step", "task", "targets", "return", "length"}
    assert record["task"]["target"] == "haskey" and set(record["targets"]) == {"haskey"}
    assert record["return"] == record["targets"]["haskey"]
    assert set(simulate(net, theta, tasks[:1], seed=7)[0]["targets"]) == set(net.targets)
    with pytest.raises(ValueError, match="observe"):
        simulate(net, theta, tasks, observe="some")
