"""What every curriculum shares: task spaces, and resume from state()."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sebn.core.network import SEBN
from sebn.core.spec import load_spec
from sebn.curricula.alp_gmm import ALPGMMCurriculum
from sebn.curricula.base import Episode, TaskSpace
from sebn.curricula.baselines import TargetCurriculum, UniformCurriculum
from sebn.curricula.sebn import SEBNCurriculum
from sebn.curricula.students import SimulatedStudent


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
        "sebn-thompson": lambda: SEBNCurriculum(
            doorkey, generation_size=30, method="laplace", weighting="thompson", fit_options={"num_samples": 64}, seed=3
        ),
        "sebn-expected-search": lambda: SEBNCurriculum(
            doorkey,
            generation_size=30,
            method="laplace",
            weighting="expected",
            exhaustive_limit=0,
            fit_options={"num_samples": 64},
            seed=3,
        ),
        "uniform": lambda: UniformCurriculum(TaskSpace(doorkey), seed=3),
        "target": lambda: TargetCurriculum(evaluation, seed=3),
        "alp-gmm": lambda: ALPGMMCurriculum(TaskSpace(doorkey), fit_rate=40, seed=3),
    }, doorkey


@pytest.mark.parametrize(
    "name", ["sebn", "anti", "sebn-search", "sebn-thompson", "sebn-expected-search", "uniform", "target", "alp-gmm"]
)
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
