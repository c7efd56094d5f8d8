import numpy as np
import torch
from hypothesis import given, settings

from sebn.core.check import (
    _joint_success_terms,
    _needed_coordinates,
    _random_log_tails,
    check_spec,
    data_identifiability,
    identifiability,
)
from sebn.core.expansion import spec_coefficients
from sebn.core.network import SEBN
from sebn.core.spec import load_spec, parse_spec
from tests.sebn.core.strategies import spec_texts


def report_for(text: str):
    return check_spec(SEBN(parse_spec(text)))


def test_bipedalwalker_report_names_the_unidentifiable_functionals():
    report = check_spec(SEBN(load_spec("specs/bipedalwalker.sebn")))
    assert report.rank == 8 and len(report.parameters) == 10
    assert set(report.unidentified) == {"log P(move>=2) - log P(balance>=2)", "log P(climb>=2)"}
    assert any("'climb': level(s) 2 required by no line" in w for w in report.warnings)


def test_fully_identified_spec():
    report = check_spec(SEBN(load_spec("specs/doorkey.sebn")))
    assert report.unidentified == [] and report.rank == len(report.parameters) == 5


def test_settings_without_requirement_are_warned():
    report = report_for("env wall : {0, 1}\nenv rough : 0..2\ng : (wall=1 | move=1)\n")
    assert any("no requirement in 3 of 6 settings" in w and "wall=0, rough=0" in w for w in report.warnings)


def test_unused_competency_and_derived_gap():
    report = report_for("competency drop : 0..1\ncompetency climb : 0..2\nclimb=2 : (| move=1)\ng : (| climb=2)\n")
    assert any("'drop' is required by no line" in w for w in report.warnings)
    assert any("'climb' has no line for level(s) 1" in w for w in report.warnings)


def test_joint_targets_identify_what_single_targets_cannot():
    # Alone, g only identifies P(a>=1) P(b>=1); a second target needing a alone splits them.
    alone, _ = identifiability(SEBN(parse_spec("g : (| a=1, b=1)\n")))
    joint, _ = identifiability(SEBN(parse_spec("g : (| a=1, b=1)\nh : (| a=1)\n")))
    assert len(alone) == 1 and len(joint) == 2


def test_data_from_few_settings_or_targets_identify_less_than_the_spec():
    net = SEBN(load_spec("specs/doorkey.sebn"))
    everything = net.settings()
    observed = torch.ones(len(everything), len(net.targets), dtype=torch.long)
    assert data_identifiability(net, everything, observed).unidentified == []  # the spec's own answer
    # goalreached alone, without walls: nothing asks avoid_wall or open_door
    no_wall = everything[everything[:, net.env.index("wall")] == 0]
    only_goal = torch.full((len(no_wall), len(net.targets)), -1, dtype=torch.long)
    only_goal[:, net.targets.index("goalreached")] = 1
    report = data_identifiability(net, no_wall, only_goal)
    assert report.rank == 3
    assert set(report.unidentified) == {"log P(avoid_wall>=1)", "log P(open_door>=1)"}


def test_data_with_no_outcome_identify_nothing():
    net = SEBN(parse_spec("g : (| a=1)\n"))
    report = data_identifiability(net, net.settings(), torch.full((1, 1), -1, dtype=torch.long))
    assert report.rank == 0 and report.unidentified == ["every parameter: no target outcome observed"]


@given(text=spec_texts(max_env=3, max_targets=3))
@settings(max_examples=30, deadline=None)
def test_one_setting_per_class_identifies_what_every_setting_does(text):
    net = SEBN(parse_spec(text))
    on_classes = identifiability(net)
    on_every_setting = identifiability(net, settings=net.settings())
    for a, b in zip(on_classes, on_every_setting):
        assert np.allclose(a, b, atol=1e-6)


def test_the_jacobian_in_closed_form_is_the_derivative():
    net = SEBN(load_spec("specs/bipedalwalker.sebn"))
    terms = _joint_success_terms(net, net.settings())
    coef, needed = spec_coefficients(net, terms), _needed_coordinates(net, terms)
    point = _random_log_tails(net, np.random.default_rng(0))

    def probs(x):
        return np.bincount(terms.row, weights=coef * np.exp(needed @ x), minlength=terms.n_rows)

    value = coef * np.exp(needed @ point)
    closed = np.stack([np.bincount(terms.row, weights=value * c, minlength=terms.n_rows) for c in needed.T], 1)
    step = 1e-6
    numeric = np.stack(
        [(probs(point + step * e) - probs(point - step * e)) / (2 * step) for e in np.eye(len(point))], 1
    )
    assert np.allclose(closed, numeric, atol=1e-7)


def test_a_spec_of_a_million_settings_is_checked_on_its_classes():
    text = "".join(f"env v{i} : 0..9\n" for i in range(6)) + "".join(
        f"g : (v{i}={j} | a{i}=1)\n" for i in range(6) for j in (0, 3, 6, 9)
    )
    report = report_for(text)
    assert report.rank == len(report.parameters) == 6
    assert any("no requirement in 46,656 of 1,000,000 settings" in w for w in report.warnings)


def test_a_spec_of_too_many_classes_gets_a_note_not_an_answer():
    text = "".join(f"env v{i} : 0..9\ng : (v{i}=5 | a{i}=1)\n" for i in range(30))  # 2^30 classes
    report = report_for(text)
    assert report.rank is None and "classes of env settings are too many" in report.notes[0]
    assert "not analysed" in report.render() and "theta:" not in report.render()
