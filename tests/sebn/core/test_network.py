import pytest
import torch

from sebn.core.network import SEBN
from sebn.core.spec import SpecError, load_spec, parse_spec


def test_requirement_tensors_take_the_union_of_applying_lines():
    net = SEBN(
        parse_spec(
            "env wall : {0, 1}\nenv rough : 0..2\n"
            "g : (wall=1 | move=1, avoid=1)\ng : (rough>=1 | move=2)\ng : (| move=1)\n"
        )
    )
    settings = net.settings()
    levels, parents = net.requirements(settings)
    got = {tuple(s.tolist()): levels[i, 0].tolist() for i, s in enumerate(settings)}
    assert net.base == ("move", "avoid")
    assert got == {(0, 0): [1, 0], (0, 1): [2, 0], (0, 2): [2, 0], (1, 0): [1, 1], (1, 1): [2, 1], (1, 2): [2, 1]}
    assert not parents.any()


def test_derived_competencies_compile_to_base_levels():
    net = SEBN(
        parse_spec(
            "competency climb : 0..2\nclimb=1 : (| move=1)\nclimb=2 : (| move=2, balance=1)\n"
            "competency agile : 0..1\nagile=1 : (| climb=2, jump=1)\n"
            "g : (stairs=1 | agile=1)\n"
        )
    )
    assert net.derived == ("climb", "agile")
    assert net.base == ("move", "balance", "jump")
    assert net.derived_base_levels("climb", 1) == (1, 0, 0)
    assert net.derived_base_levels("climb", 2) == (2, 1, 0)
    assert net.derived_base_levels("agile", 1) == (2, 1, 1)
    levels, _ = net.requirements(net.settings())
    assert levels[:, 0].tolist() == [[0, 0, 0], [2, 1, 1]]


def test_target_parents_and_topological_order():
    net = SEBN(load_spec("specs/doorkey.sebn"))
    assert net.targets == ("haskey", "dooropened", "goalreached")
    assert net.target_parents["goalreached"] == {"haskey", "dooropened"}
    settings = net.settings()
    _, parents = net.requirements(settings)
    door = settings[:, net.env.index("exists_door")] == 1
    goal, key, opened = (net.targets.index(t) for t in ("goalreached", "haskey", "dooropened"))
    assert torch.equal(parents[:, goal, key], door)
    assert torch.equal(parents[:, opened, key], door)
    assert net.target_ancestors(["goalreached"]) == [0, 1, 2]
    assert net.target_ancestors(["haskey"]) == [0]


def test_graph_layers():
    net = SEBN(load_spec("specs/bipedalwalker.sebn"))
    kinds = {n: d["kind"] for n, d in net.graph.nodes(data=True)}
    assert sum(k == "env" for k in kinds.values()) == 5
    assert sum(k == "competency" for k in kinds.values()) == 5
    assert net.n_settings == 405 == len(net.settings())


def test_unconstrained_settings_are_found():
    net = SEBN(parse_spec("env wall : {0, 1}\ng : (wall=1 | move=1)\n"))
    assert net.unconstrained(net.settings())[:, 0].tolist() == [True, False]


def test_cycles_are_rejected():
    with pytest.raises(SpecError, match="cycle"):
        parse_spec("a : (| b=1)\nb : (| c=1)\nc : (| a=1)\n")


def test_settings_from_tasks_validates():
    net = SEBN(load_spec("specs/robosuite_door.sebn"))
    assert net.settings_from_tasks([{"mass": 3, "lock": 1, "target": "goalreached"}]).tolist() == [[3, 1]]
    with pytest.raises(ValueError, match="outside its domain"):
        net.settings_from_tasks([{"mass": 12, "lock": 0}])
    with pytest.raises(ValueError, match="no value for env variable 'lock'"):
        net.settings_from_tasks([{"mass": 1}])
