import numpy as np
import pytest
from hypothesis import given, settings

from sebn.core.network import SEBN, SpaceTooLarge, distinct_requirements
from sebn.core.spec import SpecError, dependency_graph, load_spec, parse_spec, topological_order
from tests.sebn.core.strategies import spec_texts


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
    assert np.array_equal(parents[:, goal, key], door)
    assert np.array_equal(parents[:, opened, key], door)
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


@given(text=spec_texts(max_env=3))
@settings(max_examples=40, deadline=None)
def test_every_setting_requires_what_its_class_representative_requires(text):
    net = SEBN(parse_spec(text))
    settings = net.settings()
    classes = net.setting_classes()
    assert int(classes.sizes.sum()) == net.n_settings == len(settings)
    levels, parents = net.requirements(settings)
    class_levels, class_parents = net.requirements(classes.settings)
    # a setting's class: the one representative it agrees with on every condition the lines test
    tests = sorted(
        {c for rule in net.rules for c in zip(rule.condition_vars, rule.condition_ops, rule.condition_values)}
    )

    def truths(rows):
        return np.array([[(r[v] == x) if op == "=" else (r[v] >= x) for v, op, x in tests] for r in rows.tolist()])

    members = (
        (truths(settings)[:, None, :] == truths(classes.settings)[None, :, :])
        .reshape(len(settings), len(classes.settings), len(tests))
        .all(-1)
    )
    assert (members.sum(1) == 1).all()
    owner = members.argmax(1)
    assert np.array_equal(levels, class_levels[owner]) and np.array_equal(parents, class_parents[owner])
    assert np.array_equal(np.bincount(owner, minlength=len(classes.sizes)), classes.sizes.astype(int))


@given(text=spec_texts(max_env=3))
@settings(max_examples=30, deadline=None)
def test_distinct_requirements_give_back_every_settings_requirements(text):
    net = SEBN(parse_spec(text))
    settings = net.settings()
    levels, parents = net.requirements(settings)
    distinct_levels, distinct_parents, inverse = distinct_requirements(levels, parents)
    assert np.array_equal(distinct_levels[inverse], levels) and np.array_equal(distinct_parents[inverse], parents)
    assert len(np.unique(inverse)) == len(distinct_levels)


def test_a_space_too_large_to_list_says_so():
    net = SEBN(parse_spec("".join(f"env v{i} : 0..9\n" for i in range(30)) + "g : (v0>=5 | a=1)\n"))
    assert net.n_settings == 10**30
    with pytest.raises(SpaceTooLarge, match="1e\\+30 env settings are too many to list"):
        net.settings()
    classes = net.setting_classes()  # v0 splits at 5; the other 29 variables are one class each
    assert classes.settings.tolist() == [[0] * 30, [5] + [0] * 29]
    assert classes.sizes.tolist() == [5 * 10**29, 5 * 10**29]


@given(text=spec_texts(max_env=2, max_base=3, max_targets=3))
@settings(max_examples=40, deadline=None)
def test_the_order_is_networkxs_lexicographical_topological_sort(text):
    import networkx as nx

    spec = parse_spec(text)
    dependencies = dependency_graph(spec)
    graph = nx.DiGraph()
    graph.add_nodes_from(dependencies)
    graph.add_edges_from((parent, child) for parent, children in dependencies.items() for child in children)
    names = [*spec.env, *spec.competencies, *spec.targets]
    assert topological_order(dependencies, names.index) == list(
        nx.lexicographical_topological_sort(graph, key=names.index)
    )
