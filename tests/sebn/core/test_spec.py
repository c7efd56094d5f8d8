import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sebn.cli import main
from sebn.core.spec import Rates, SpecError, load_spec, parse_spec
from tests.sebn.core.strategies import spec_texts

# The paper's Appendix A, as printed (one line each), with `open door` the only change.
PAPER_APPENDIX = {
    "doorkey": """goalreached : (distance=1| move=2)
goalreached : (wall=1 | move=1, avoid_wall=1)
goalreached : (exists_door=1 | haskey=1, move=1)
goalreached : (wall=1, exists_door=1 | dooropened=1, avoid_wall=1, move=1)
dooropened : (exists_door=1 | haskey=1, move=1, open_door=1)
haskey : (exists_door=1 |pick_up=1, move=1)
haskey : (distance=1 | move=2)""",
    "bipedalwalker": """goalreached : (ground_roughness=0 | move=1)
goalreached : (ground_roughness=1 | move=1, balance=1)
goalreached : (pit_gap=1 | jump=1, balance=1, move=1)
goalreached : (pit_gap=2 | jump=2)
goalreached : (stump_height=1 | move=1, jump=1, descend=1)
goalreached : (stump_height=2 | jump=2, descend=2)
goalreached : (stair_width=1 | climb=1, descend=1)
goalreached : (ground_roughness=4 | move=2, balance=2)
goalreached : (stair_steps=2 | climb=1, descend=1)""",
    "robosuite_door": """goalreached : (mass=0 | move_arm=1, open_door=1)
goalreached : (lock=1 | unlock=1)
goalreached : (mass=3 | open_door=2)""",
}


def rule_key(rule):
    conditions = tuple((c.var, c.op, c.value) for c in rule.conditions)
    return rule.head, rule.level, conditions, tuple((r.name, r.level) for r in rule.requirements)


@pytest.mark.parametrize("name", sorted(PAPER_APPENDIX))
def test_paper_lines_parse_unchanged_and_shipped_specs_keep_them_verbatim(name):
    paper = parse_spec(PAPER_APPENDIX[name], f"{name}-appendix")
    shipped = load_spec(f"specs/{name}.sebn")
    shipped_rules = [rule_key(r) for r in shipped.rules]
    assert [rule_key(r) for r in paper.rules] == shipped_rules[: len(paper.rules)]
    for line in PAPER_APPENDIX[name].splitlines():
        assert line in Path(f"specs/{name}.sebn").read_text()


def test_paper_name_with_a_space_is_explained():
    with pytest.raises(SpecError) as err:
        parse_spec("dooropened : (exists_door=1 | haskey=1, move=1, open door=1)\n", "dk.sebn")
    assert "write 'open_door'" in err.value.hint


def test_names_are_what_python_takes_as_identifiers_in_any_script():
    spec = parse_spec("env tässe_voll : {0, 1}\ncompetency 把握 : 0..1\ngoal : (tässe_voll=1 | 把握=1, move٣=1)\n")
    assert list(spec.env) == ["tässe_voll"] and set(spec.competencies) == {"把握", "move٣"}
    assert all(name.isidentifier() for name in [*spec.env, *spec.competencies, *spec.targets])
    for text in ("env co€st : {0, 1}\n", "g : (| 2move=1)\n", "env tässe voll : {0, 1}\n"):
        with pytest.raises(SpecError) as err:
            parse_spec(text, "x.sebn")
        suggested = re.findall(r"write '(\w+)'", err.value.hint or "")
        assert all(name.isidentifier() for name in suggested), err.value.hint  # a hint never suggests a bad name


def test_undeclared_names_take_kind_and_domain_from_use():
    spec = parse_spec("g : (wall=1, rough>=3 | move=2, key=1)\nkey : (| pick=1)\n")
    assert spec.env == {"wall": (0, 1), "rough": (0, 1, 2, 3)}
    assert spec.competencies == {"move": 2, "pick": 1}
    assert set(spec.targets) == {"g", "key"}
    assert spec.targets["g"] == Rates(0.95, 0.05)


def test_declarations_widen_domains_and_fix_rates():
    spec = parse_spec(
        "env wall : {0, 1, 3}\ncompetency move : 0..3\ndefaults (success=0.9, slip=0.1)\n"
        "target g (slip=0.2)\ng : (wall=1 | move=1)\n"
    )
    assert spec.env["wall"] == (0, 1, 3)
    assert spec.competencies["move"] == 3
    assert spec.targets["g"] == Rates(0.9, 0.2)


def test_derived_competencies_are_not_base():
    spec = parse_spec("climb=1 : (| move=1)\nclimb=2 : (| move=2, balance=1)\ng : (stairs=1 | climb=2)\n")
    assert spec.derived == ("climb",)
    assert spec.base == ("move", "balance")
    assert spec.competencies["climb"] == 2


def test_comments_blank_lines_and_crlf():
    spec = parse_spec("# header\r\n\r\ng : (| move=1)   # trailing\r\n\n")
    assert len(spec.rules) == 1


# (spec text, line, col, message fragment): each must exit 2 with file:line:col and a hint.
MALFORMED = [
    ("goalreached : (wall=1 | move=1 avoid_wall=1)\n", 1, 32, "expected ')' or ','"),
    ("enviroment x : 0..3\ng : (| m=1)\n", 1, 1, "unknown keyword 'enviroment'"),
    ("env x : 4..1\n", 1, 9, "empty range"),
    ("goalreached : (wall<1 | move=1)\n", 1, 20, "unexpected character '<'"),
    ("target g (success=0.95, slip=0.96)\ng : (| m=1)\n", 1, 19, "slip=0.96 >= success=0.95"),
    ("goalreached (wall=1 | move=1)\n", 1, 13, "expected ':'"),
    ("goalreached : (wall=1 move=1)\n", 1, 23, "expected ',' or '|'"),
    ("goalreached : (wall=1 | move=1\n", 1, 31, "unexpected end of line"),
    ("env x : 0..\n", 1, 12, "expected an integer"),
    ("target g (sucess=0.9)\n", 1, 11, "unknown rate 'sucess'"),
    ("goalreached : (wall=1 | move=-1)\n", 1, 30, "unexpected character '-'"),
    ("goalreached : (wall=1 | move=1.5)\n", 1, 31, "unexpected '.5'"),
    ("$$\n", 1, 1, "unexpected character '$'"),
    ("env wall : {0, 1}\ngoalreached : (wall=2 | move=1)\n", 2, 16, "outside the declared domain"),
    ("goalreached : (| g2=1)\ng2 : (| goalreached=1)\n", 1, 18, "cycle"),
    ("competency move : 0..1\ngoalreached : (| move=2)\n", 2, 18, "above the declared top level"),
    ("env wall : {0, 1}\nenv wall : {0, 1}\n", 2, 5, "declared twice"),
    ("env move : {0, 1}\ng : (| move=1)\n", 2, 8, "used as a competency here but as an env variable"),
    ("target g (success=1.5)\ng : (| m=1)\n", 1, 19, "outside (0, 1)"),
    ("target g (success=0.9, success=0.8)\n", 1, 24, "given twice"),
    ("env x : {0, 1, 1}\n", 1, 16, "listed twice"),
    ("competency m : 1..3\n", 1, 16, "levels must be 0..top"),
    ("climb=1 : (stairs=1 | move=1)\ng : (| climb=1)\n", 1, 12, "cannot have env conditions"),
    ("climb=0 : (| move=1)\n", 1, 7, "at least 1"),
    ("key : (| pick=1)\ng : (| key=2)\n", 2, 8, "must read 'key=1'"),
    ("climb=1 : (| key=1)\nkey : (| m=1)\n", 1, 14, "cannot require target"),
    ("env x : 0..2\n", 1, 1, "no target"),
    ("goal reached : (| move=1)\n", 1, 6, "unexpected 'reached'"),
    ("defaults (success=0.9)\ndefaults (slip=0.1)\ng : (| m=1)\n", 2, 1, "'defaults' given twice"),
    ("g : (| m=1)\ng : (| m=1))\n", 2, 12, "unexpected"),
    ("a=1 : (| b=1)\nb=1 : (| a=1)\ng : (| a=1)\n", 1, 10, "cycle"),
    ("target env\n", 1, 8, "is a keyword"),
]


@pytest.mark.parametrize("text,line,col,fragment", MALFORMED)
def test_malformed_specs_name_file_line_col_and_hint(tmp_path, capsys, text, line, col, fragment):
    path = tmp_path / "bad.sebn"
    path.write_text(text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert (err.value.location.line, err.value.location.col) == (line, col), err.value.render()
    assert fragment in err.value.message
    assert err.value.hint
    assert main(["check", str(path)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith(f"{path}:{line}:{col}: error: ")
    assert "\nhint: " in stderr


def test_at_least_25_malformed_cases():
    assert len(MALFORMED) >= 25


def test_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="cannot read spec"):
        load_spec(tmp_path / "nope.sebn")


ALPHABET = st.sampled_from(
    list("abcxyz_019 =>|:(),.{}#-\n\t") + ["env ", "competency ", "target ", "defaults ", "..", "success", "slip"]
)


@given(st.lists(ALPHABET, max_size=60).map("".join))
@settings(max_examples=400, deadline=None)
def test_fuzzed_text_raises_only_spec_errors(text):
    try:
        parse_spec(text, "fuzz.sebn")
    except SpecError as err:
        assert re.match(r"fuzz\.sebn:\d+:\d+", str(err))


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_arbitrary_unicode_raises_only_spec_errors(text):
    try:
        parse_spec(text, "fuzz.sebn")
    except SpecError as err:
        assert err.hint


@given(spec_texts())
@settings(max_examples=100, deadline=None)
def test_generated_specs_are_valid(text):
    spec = parse_spec(text)
    assert spec.targets
