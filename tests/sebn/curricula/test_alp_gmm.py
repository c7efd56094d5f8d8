"""ALP-GMM: learning progress by hand, sampling where progress is, listed tasks only."""

from __future__ import annotations

import numpy as np
import pytest

from sebn.core.network import SEBN
from sebn.core.spec import load_spec, parse_spec
from sebn.curricula.alp_gmm import ALPGMMCurriculum
from sebn.curricula.base import Episode, TaskSpace
from sebn.curricula.students import SimulatedStudent
from tests.sebn.curricula.nets import wall_net


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
