"""The SEBN curriculum: weighting formulas against hand-computed values, guards, search mode."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sebn.core.network import SEBN
from sebn.core.spec import load_spec
from sebn.curricula.base import Episode
from sebn.curricula.registry import WEIGHTINGS
from sebn.curricula.sebn import SEBNCurriculum, mean_absolute_difference, predicted_change
from sebn.curricula.students import SimulatedStudent
from tests.sebn.curricula.nets import generation, wall_net


# With P(wall=0) = slip + gain P(move>=1) and P(wall=1) = slip + gain P(move>=2), the MLE
# reproduces the observed frequencies (when they are ordered and inside [slip, success]).
# The prior mean theta (1/3 per level) predicts 0.05 + 0.9 * 2/3 = 0.65 and 0.05 + 0.9 / 3 = 0.35.
def test_weights_match_hand_computed_values():
    curriculum = SEBNCurriculum(wall_net(), generation_size=20, delta=0.01)
    assert curriculum.p == pytest.approx([0.5, 0.5])
    curriculum.observe(generation({0: 9, 1: 3}))
    # |0.9 - 0.65| + 0.01 = 0.26 and |0.3 - 0.35| + 0.01 = 0.06
    assert curriculum.predicted == pytest.approx([0.9, 0.3], abs=1e-4)
    assert curriculum.p == pytest.approx([0.26 / 0.32, 0.06 / 0.32], abs=1e-4)


def test_anti_curriculum_weights():
    curriculum = SEBNCurriculum(wall_net(), generation_size=20, delta=0.01, anti=True)
    curriculum.observe(generation({0: 9, 1: 3}))
    # 1 - 0.25 + 0.01 = 0.76 and 1 - 0.05 + 0.01 = 0.96
    assert curriculum.p == pytest.approx([0.76 / 1.72, 0.96 / 1.72], abs=1e-4)
    assert curriculum.state()["kind"] == "anti"


def test_delta_smooths_towards_uniform():
    spread = []
    for delta in (0.0, 0.1, 10.0):
        curriculum = SEBNCurriculum(wall_net(), generation_size=20, delta=delta)
        curriculum.observe(generation({0: 9, 1: 3}))
        expected = np.array([0.25 + delta, 0.05 + delta])
        assert curriculum.p == pytest.approx(expected / expected.sum(), abs=1e-4)
        spread.append(abs(curriculum.p[0] - curriculum.p[1]))
    assert spread[0] > spread[1] > spread[2]


def test_zero_weights_fall_back_to_uniform():
    curriculum = SEBNCurriculum(wall_net(), generation_size=20, delta=0.0)
    curriculum.observe(generation({0: 9, 1: 3}))
    curriculum.observe(generation({0: 9, 1: 3}, start=20))  # the same fit: nothing changed
    assert np.isfinite(curriculum.p).all()
    assert curriculum.p == pytest.approx([0.5, 0.5])


def test_easy_initial_distribution_follows_prior_prediction():
    curriculum = SEBNCurriculum(wall_net(), initial="easy")
    assert curriculum.p == pytest.approx([0.65, 0.35])


def test_generation_log_records_theta_tasks_and_p():
    curriculum = SEBNCurriculum(wall_net(), generation_size=20)
    curriculum.observe(generation({0: 9, 1: 3}))
    (record,) = curriculum.pop_log()
    assert record["generation"] == 1 and record["tasks"] == [{"wall": 0}, {"wall": 1}]
    assert record["p"] == pytest.approx(curriculum.p.tolist())
    assert sum(record["theta"]["move"]) == pytest.approx(1.0)
    assert curriculum.pop_log() == []


def test_posterior_draws_give_a_distribution():
    curriculum = SEBNCurriculum(
        wall_net(), generation_size=20, method="svi", fit_options={"svi_steps": 200, "num_samples": 50}
    )
    curriculum.observe(generation({0: 9, 1: 3}))
    assert curriculum.draws["move"].shape == (50, 3)
    assert curriculum.p.sum() == pytest.approx(1.0) and curriculum.p[0] > curriculum.p[1]


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="initial"):
        SEBNCurriculum(wall_net(), initial="hard")
    with pytest.raises(ValueError, match="delta"):
        SEBNCurriculum(wall_net(), delta=-1)
    with pytest.raises(ValueError, match="method"):
        SEBNCurriculum(wall_net(), method="em")
    with pytest.raises(ValueError, match="weighting must be one of point, expected, thompson"):
        SEBNCurriculum(wall_net(), weighting="mean")
    with pytest.raises(ValueError, match="compares posteriors.*choose method svi, laplace"):
        SEBNCurriculum(wall_net(), weighting="expected")


def test_sampling_follows_p():
    curriculum = SEBNCurriculum(wall_net(), generation_size=20, delta=0.01, seed=0)
    curriculum.observe(generation({0: 9, 1: 3}))
    drawn = np.array([t["wall"] for t in curriculum.sample(4000)])
    assert np.mean(drawn == 0) == pytest.approx(curriculum.p[0], abs=0.03)
    assert curriculum.issued == 4000


def test_search_mode_keeps_the_weight_of_the_tasks_not_enumerated():
    net = SEBN(load_spec("specs/bipedalwalker.sebn"))
    curriculum = SEBNCurriculum(net, generation_size=50, exhaustive_limit=0, keep=20, seed=0)
    student = SimulatedStudent(net, seed=0)
    for _ in range(3):
        first = curriculum.issued
        curriculum.observe(
            [Episode(**{**vars(student.play(t)), "ticket": first + i}) for i, t in enumerate(curriculum.sample(50))]
        )
    assert len(curriculum.p) == 20
    assert curriculum.p.sum() + curriculum.p_rest == pytest.approx(1.0)
    assert 0 < curriculum.p_rest < 1
    candidates = {
        json.dumps(t, sort_keys=True) for t in curriculum.space.tasks(curriculum.settings, curriculum.target_index)
    }
    drawn = [json.dumps(t, sort_keys=True) in candidates for t in curriculum.sample(4000)]
    # A uniform draw lands on a candidate 20 times in 405; the rest of the mass goes to the candidates.
    expected = 1 - curriculum.p_rest + curriculum.p_rest * 20 / 405
    assert np.mean(drawn) == pytest.approx(expected, abs=0.03)


def test_search_mode_rest_weight_by_hand():
    net = SEBN(load_spec("specs/bipedalwalker.sebn"))
    curriculum = SEBNCurriculum(net, generation_size=50, exhaustive_limit=0, keep=20, delta=0.01, seed=1)
    student = SimulatedStudent(net, seed=1)
    curriculum.observe([Episode(**{**vars(student.play(t)), "ticket": i}) for i, t in enumerate(curriculum.sample(50))])
    (record,) = curriculum.pop_log()
    weights = np.array(record["change"]) + 0.01
    rest = (405 - 20) * (record["mean_fitness"] + 0.01)
    assert record["p"] == pytest.approx((weights / (weights.sum() + rest)).tolist())
    assert record["p_rest"] == pytest.approx(rest / (weights.sum() + rest))


# --- posterior-aware weightings ------------------------------------------------------------


def test_the_weightings_by_hand():
    before = np.array([[0.2, 0.6, 0.5], [0.4, 0.4, 0.5]])  # two draws (rows) of three tasks
    after = np.array([[0.5, 0.5, 0.9], [0.5, 0.5, 0.7]])
    assert predicted_change(before, after, "point", None) == pytest.approx([0.2, 0.0, 0.3])
    # every pair: (0.2 or 0.4, 0.5): 0.3, 0.1; (0.6 or 0.4, 0.5): 0.1, 0.1; (0.5, 0.9 or 0.7): 0.4, 0.2
    assert predicted_change(before, after, "expected", None) == pytest.approx([0.2, 0.1, 0.3])
    picks = iter([1, 0])  # after's draw 1 against before's draw 0, for every task

    class Picker:
        def integers(self, n):
            return next(picks)

    assert predicted_change(before, after, "thompson", Picker()) == pytest.approx([0.3, 0.1, 0.2])


def test_an_unmoved_posterior_weighs_only_its_own_spread():
    draws = np.array([[0.3, 0.8], [0.5, 0.6]])
    assert predicted_change(draws, draws, "point", None) == pytest.approx([0.0, 0.0])
    # E|X - X'| over the four pairs: (0 + 0.2 + 0.2 + 0) / 4
    assert predicted_change(draws, draws, "expected", None) == pytest.approx([0.1, 0.1])
    for seed in range(10):  # a draw against itself, or against the other one
        change = predicted_change(draws, draws, "thompson", np.random.default_rng(seed))
        assert change.tolist() in ([0.0, 0.0], pytest.approx([0.2, 0.2]))


def test_mean_absolute_difference_is_every_pairs_mean():
    rng = np.random.default_rng(0)
    for n, m in ((1, 1), (3, 7), (50, 20)):
        x, y = rng.random(n), rng.random(m)
        assert mean_absolute_difference(x, y) == pytest.approx(np.abs(x[:, None] - y[None, :]).mean())
    assert mean_absolute_difference(np.array([0.5, 0.5]), np.array([0.5])) == 0.0  # ties


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_no_spread_or_a_single_draw_is_the_point_change(weighting):
    before, after = np.array([[0.2, 0.7, 0.7]]), np.array([[0.6, 0.4, 0.4]])
    for copies in (1, 5):  # a single draw; five identical draws: no spread
        change = predicted_change(
            before.repeat(copies, 0), after.repeat(copies, 0), weighting, np.random.default_rng(0)
        )
        assert change == pytest.approx([0.4, 0.3, 0.3])
        assert change[1] == change[2]  # ties stay ties


def test_expected_change_is_never_below_the_point_change():
    rng = np.random.default_rng(0)
    for _ in range(50):
        before, after = rng.random((20, 6)), rng.random((20, 6))
        expected = predicted_change(before, after, "expected", None)
        assert np.all(expected >= predicted_change(before, after, "point", None) - 1e-12)  # Jensen


def test_a_posterior_weighting_uses_the_prior_draws_then_logs_its_spread():
    curriculum = SEBNCurriculum(
        wall_net(),
        generation_size=20,
        method="laplace",
        weighting="expected",
        fit_options={"num_samples": 400},
        seed=0,
    )
    assert curriculum.draws["move"].shape == (400, 3)  # generation 0: the Dirichlet prior's draws
    before = curriculum.predictions
    assert before.shape == (400, 2) and before.std(0).min() > 0.05
    curriculum.observe(generation({0: 9, 1: 3}))
    (record,) = curriculum.pop_log()
    after = curriculum.predictions
    assert record["change"] == pytest.approx(np.abs(after[:, None] - before[None]).mean((0, 1)))
    assert record["point_change"] == pytest.approx(np.abs(after.mean(0) - before.mean(0)))
    assert record["spread"] == pytest.approx(after.std(0)) and min(record["spread"]) > 0
    weights = np.array(record["change"]) + curriculum.delta
    assert curriculum.p == pytest.approx(weights / weights.sum())
    scalars = dict(curriculum.pop_scalars())
    assert scalars["curriculum/predicted_sd"] == pytest.approx(after.std(0).mean())
