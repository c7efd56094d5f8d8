import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sebn.core.inference import competency_posterior, observation_prob, score
from sebn.core.network import SEBN
from sebn.core.spec import load_spec, parse_spec
from tests.sebn.core.oracles import brute_force, pgmpy_score, pyro_enumeration_score
from tests.sebn.core.strategies import random_theta, spec_texts

PAPER_SPECS = ["doorkey", "bipedalwalker", "robosuite_door"]


def paper_net(name: str) -> SEBN:
    return SEBN(load_spec(f"specs/{name}.sebn"))


@pytest.mark.parametrize("name", PAPER_SPECS)
def test_paper_specs_match_pyro_enumeration_and_pgmpy(name):
    net = paper_net(name)
    theta = random_theta(net, seed=1)
    settings_ = net.settings()
    fast = score(net, theta, settings_)
    assert torch.allclose(fast, pyro_enumeration_score(net, theta, settings_), atol=1e-9, rtol=0)
    assert torch.allclose(fast, pgmpy_score(net, theta, settings_), atol=1e-9, rtol=0)


@given(text=spec_texts(), seed=st.integers(0, 2**16))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_specs_match_pyro_enumeration_and_pgmpy(text, seed):
    net = SEBN(parse_spec(text))
    theta = random_theta(net, seed)
    settings_ = net.settings()
    fast = score(net, theta, settings_)
    assert torch.allclose(fast, pyro_enumeration_score(net, theta, settings_), atol=1e-9, rtol=0)
    assert torch.allclose(fast, pgmpy_score(net, theta, settings_), atol=1e-9, rtol=0)


@given(text=spec_texts(max_env=2, max_base=2), seed=st.integers(0, 2**16), data=st.data())
@settings(max_examples=30, deadline=None)
def test_observation_prob_and_competency_posterior_match_brute_force(text, seed, data):
    net = SEBN(parse_spec(text))
    theta = random_theta(net, seed)
    settings_ = net.settings()
    observed = torch.tensor(
        data.draw(
            st.lists(
                st.lists(st.sampled_from([-1, 0, 1]), min_size=len(net.targets), max_size=len(net.targets)),
                min_size=len(settings_),
                max_size=len(settings_),
            )
        )
    )
    probs = observation_prob(net, theta, settings_, observed)[0]
    posterior = competency_posterior(net, theta, settings_, observed)
    for i, row in enumerate(settings_):
        seen = {t: int(v) for t, v in zip(net.targets, observed[i]) if v >= 0}
        expected_p, expected_post = brute_force(net, theta, net.describe_setting(row), seen)
        assert probs[i].item() == pytest.approx(expected_p, abs=1e-12)
        for name in net.base:
            assert posterior[name][i].numpy() == pytest.approx(expected_post[name], abs=1e-9)


def test_batched_theta_equals_per_draw_scores():
    net = paper_net("doorkey")
    draws = [random_theta(net, seed) for seed in range(4)]
    stacked = {name: torch.stack([d[name] for d in draws]) for name in net.base}
    batched = score(net, stacked)
    assert batched.shape == (4, net.n_settings, len(net.targets))
    for s, theta in enumerate(draws):
        assert torch.allclose(batched[s], score(net, theta), atol=1e-14, rtol=0)


def test_batched_rates_broadcast_against_point_theta():
    net = paper_net("robosuite_door")
    theta = random_theta(net, 0)
    success = torch.tensor([[0.9], [0.99]], dtype=torch.float64)
    slip = torch.tensor([[0.1], [0.01]], dtype=torch.float64)
    probs = score(net, theta, rates=(success, slip))
    assert probs.shape == (2, net.n_settings, 1)
    assert torch.allclose(probs[1], score(net, theta, rates=(success[1], slip[1])), atol=1e-14, rtol=0)


def test_hand_computed_target_on_target():
    # goal needs key (which needs pick>=1) and move>=1; P(goal) expands over the key's outcome.
    net = SEBN(
        parse_spec(
            "target key (success=0.9, slip=0.1)\ntarget goal (success=0.8, slip=0.2)\n"
            "key : (| pick=1)\ngoal : (| key=1, move=1)\n"
        )
    )
    theta = {
        "pick": torch.tensor([0.4, 0.6], dtype=torch.float64),
        "move": torch.tensor([0.3, 0.7], dtype=torch.float64),
    }
    p_key = 0.1 + 0.8 * 0.6
    p_goal = 0.2 + 0.6 * 0.7 * p_key
    assert score(net, theta)[0].tolist() == pytest.approx([p_key, p_goal], abs=1e-12)


def test_theta_must_match_the_spec():
    net = paper_net("robosuite_door")
    theta = random_theta(net, 0)
    with pytest.raises(ValueError, match="levels"):
        score(net, {**theta, "open_door": torch.tensor([0.5, 0.5])})
    with pytest.raises(ValueError, match="no entry"):
        score(net, {k: v for k, v in theta.items() if k != "unlock"})
    with pytest.raises(ValueError, match="summing to 1"):
        score(net, {**theta, "unlock": torch.tensor([0.5, 0.6])})
    with pytest.raises(ValueError, match="'unlock'.*summing to 1"):
        score(net, {**theta, "unlock": torch.tensor([1.2, -0.2])})
    with pytest.raises(ValueError, match="'unlock'.*summing to 1"):
        score(net, {**theta, "unlock": torch.tensor([float("nan"), 1.0])})
    with pytest.raises(ValueError, match="all \\[L\\] or all \\[S, L\\]"):
        score(net, {**theta, "unlock": theta["unlock"].expand(3, -1)})


def test_theta_rounding_is_renormalised_and_lists_are_taken():
    net = paper_net("robosuite_door")
    theta = random_theta(net, 1)
    off_by_rounding = {name: (probs * (1 + 5e-7)).tolist() for name, probs in theta.items()}
    assert torch.allclose(score(net, off_by_rounding), score(net, theta), atol=1e-15, rtol=0)


def test_spec_rate_fast_path_equals_the_general_rate_path():
    for name in PAPER_SPECS:
        net = paper_net(name)
        theta = random_theta(net, 5)
        assert torch.allclose(score(net, theta), score(net, theta, rates=net.rates()), atol=1e-14, rtol=0)
