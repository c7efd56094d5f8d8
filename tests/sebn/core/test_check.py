import torch

from sebn.core.check import check_spec, data_identifiability, identifiability
from sebn.core.network import SEBN
from sebn.core.spec import load_spec, parse_spec


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
