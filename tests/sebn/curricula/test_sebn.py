"""The SEBN curriculum: weighting formulas against hand-computed values, guards, search mode."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sebn.core.network import SEBN
from sebn.core.spec import load_spec
from sebn.curricula.base import Episode
from sebn.curricula.sebn import SEBNCurriculum
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
