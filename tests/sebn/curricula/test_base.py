"""Curricula: weighting formulas against hand-computed values, guards, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sebn.core.network import SEBN
from sebn.core.spec import load_spec, parse_spec
from sebn.curricula.alp_gmm import ALPGMMCurriculum
from sebn.curricula.base import Episode, TaskSpace
from sebn.curricula.baselines import TargetCurriculum, UniformCurriculum
from sebn.curricula.registry import make_curriculum
from sebn.curricula.sebn import SEBNCurriculum
from sebn.curricula.students import SimulatedStudent

WALL = "goalreached : (wall=1 | move=2)\ngoalreached : (| move=1)\n"


def wall_net() -> SEBN:
    return SEBN(parse_spec(WALL))


def generation(successes: dict[int, int], trials: int = 10, start: int = 0) -> list[Episode]:
    """``trials`` episodes per wall value, the first ``successes[wall]`` of them successful."""
    episodes = []
    for wall, wins in successes.items():
        for i in range(trials):
            episodes.append(
                Episode({"wall": wall}, {"goalreached": int(i < wins)}, float(i < wins), 1, start + len(episodes))
            )
    return episodes


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


def test_task_space_with_several_targets():
    net = SEBN(load_spec("specs/doorkey.sebn"))
    space = TaskSpace(net)
    assert len(space) == 8 * 3
    settings, targets = space.all()
    tasks = space.tasks(settings, targets)
    assert len({json.dumps(t, sort_keys=True) for t in tasks}) == 24
    assert {t["target"] for t in tasks} == set(net.targets)
    drawn = space.uniform(300, np.random.default_rng(0))
    assert {t["target"] for t in drawn} == set(net.targets)
    with pytest.raises(ValueError, match="names no target"):
        space.target_index({"distance": 0, "wall": 0, "exists_door": 0})


def curricula_to_resume():
    doorkey = SEBN(load_spec("specs/doorkey.sebn"))
    evaluation = [{"distance": 0, "wall": 1, "exists_door": 1, "target": "goalreached"}]
    return {
        "sebn": lambda: SEBNCurriculum(doorkey, generation_size=30, seed=3),
        "anti": lambda: SEBNCurriculum(doorkey, generation_size=30, anti=True, seed=3),
        "sebn-search": lambda: SEBNCurriculum(doorkey, generation_size=30, exhaustive_limit=0, seed=3),
        "uniform": lambda: UniformCurriculum(TaskSpace(doorkey), seed=3),
        "target": lambda: TargetCurriculum(evaluation, seed=3),
        "alp-gmm": lambda: ALPGMMCurriculum(TaskSpace(doorkey), fit_rate=40, seed=3),
    }, doorkey


@pytest.mark.parametrize("name", ["sebn", "anti", "sebn-search", "uniform", "target", "alp-gmm"])
def test_resume_from_state_gives_the_same_next_samples(name):
    factories, net = curricula_to_resume()
    first = factories[name]()
    student = SimulatedStudent(net, rate=0.05, seed=1)
    for _ in range(5):  # 50 episodes: at least one generation or mixture fit
        ticket = first.issued
        first.observe(
            [Episode(**{**vars(student.play(t)), "ticket": ticket + i}) for i, t in enumerate(first.sample(10))]
        )
    snapshot = json.loads(json.dumps(first.state()))
    second = factories[name]()
    second.load_state(snapshot)
    assert second.sample(25) == first.sample(25)
    more = [student.play(t) for t in first.sample(20)]
    second.sample(20)
    first.observe(more)
    second.observe(more)
    assert second.sample(25) == first.sample(25)
    assert json.dumps(second.state(), sort_keys=True) == json.dumps(first.state(), sort_keys=True)


def test_load_state_of_another_kind_is_refused():
    factories, _ = curricula_to_resume()
    with pytest.raises(ValueError, match="'uniform' curriculum, not 'sebn'"):
        factories["sebn"]().load_state(factories["uniform"]().state())


def test_alp_is_the_change_from_the_nearest_earlier_task():
    net = wall_net()
    curriculum = ALPGMMCurriculum(TaskSpace(net), fit_rate=100)
    outcomes = [({"wall": 0}, 1), ({"wall": 1}, 0), ({"wall": 0}, 0), ({"wall": 1}, 1), ({"wall": 1}, 1)]
    curriculum.observe([Episode(t, {"goalreached": o}, float(o), 1, i) for i, (t, o) in enumerate(outcomes)])
    # Nearest earlier: none; the wall=0 one (1 vs 0); wall=0 (1 vs 0); wall=1 (0 vs 1);
    # the latest wall=1 (1 vs 1).
    assert curriculum.alp == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_alp_gmm_samples_where_progress_is():
    net = SEBN(parse_spec("env a : 0..4\ngoalreached : (a>=1 | move=1)\n"))
    curriculum = ALPGMMCurriculum(TaskSpace(net), fit_rate=200, random_ratio=0.0, seed=0)
    rng = np.random.default_rng(0)
    episodes = []
    for i in range(200):
        a = int(rng.integers(0, 5))
        # Tasks a=3 flip between success and failure (learning); the others never change.
        outcome = int(i % 2) if a == 3 else 1
        episodes.append(Episode({"a": a}, {"goalreached": outcome}, float(outcome), 1, i))
    curriculum.observe(episodes)
    assert curriculum.mixture is not None
    drawn = [t["a"] for t in curriculum.sample(300)]
    assert np.mean(np.array(drawn) == 3) > 0.5


def test_make_curriculum_names_the_choices():
    with pytest.raises(ValueError, match="sebn, anti, uniform, target, alp-gmm"):
        make_curriculum("easy-first", wall_net(), [{"wall": 1}])


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


def test_alp_gmm_picks_components_in_proportion_to_their_progress():
    net = SEBN(parse_spec("env a : 0..4\ngoalreached : (a>=1 | move=1)\n"))
    curriculum = ALPGMMCurriculum(TaskSpace(net), random_ratio=0.0, seed=0)
    tiny = (np.eye(2) * 1e-8).tolist()
    curriculum.mixture = {"means": [[0.0, 0.1], [1.0, 0.3]], "covariances": [tiny, tiny], "weights": [0.5, 0.5]}
    drawn = np.array([t["a"] for t in curriculum.sample(4000)])
    assert set(drawn) == {0, 4}
    assert np.mean(drawn == 4) == pytest.approx(0.75, abs=0.03)  # 0.3 / (0.1 + 0.3)


def test_alp_gmm_only_samples_listed_tasks():
    from domains.doorkey import valid_tasks

    net = SEBN(load_spec("specs/doorkey.sebn"))
    listed = valid_tasks()
    curriculum = ALPGMMCurriculum(TaskSpace(net, tasks=listed), fit_rate=50, random_ratio=0.0, seed=0)
    student = SimulatedStudent(net, seed=0)
    for _ in range(3):
        first = curriculum.issued
        curriculum.observe(
            [Episode(**{**vars(student.play(t)), "ticket": first + i}) for i, t in enumerate(curriculum.sample(50))]
        )
    assert curriculum.mixture is not None
    assert all(task in listed for task in curriculum.sample(500))
