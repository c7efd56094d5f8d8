"""Every bad theta, fit or episodes file gets exit code 2 and one line naming the file (and
the record), never a traceback; the readers fuzzed with hypothesis."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sebn.cli import main

SPEC = "specs/doorkey.sebn"
TARGETS = ("haskey", "dooropened", "goalreached")
THETA = {"move": [0.2, 0.3, 0.5], "pick_up": [0.1, 0.9], "avoid_wall": [0.5, 0.5], "open_door": [0.3, 0.7]}
DRAWS = {name: [probs, probs] for name, probs in THETA.items()}
TASK = {"distance": 0, "wall": 1, "exists_door": 1, "target": "haskey"}


def rates(success, slip) -> dict:
    return {t: {"success": success, "slip": slip} for t in TARGETS}


FIT_FILES = [
    ([1, 2], 'expected {"theta"'),
    ({"theta": [0.5, 0.5]}, 'expected {"theta"'),
    ({"theta": None}, 'expected {"theta"'),
    ({}, 'expected {"theta"'),
    ({"theta": {**THETA, "fly": [0.5, 0.5]}}, "fly not base competencies of the spec"),
    ({"theta": {k: v for k, v in THETA.items() if k != "move"}}, "no theta for competency 'move'"),
    ({"theta": {**THETA, "move": "0.2,0.3,0.5"}}, "theta['move'] must be a list of 3 numbers"),
    ({"theta": {**THETA, "move": {"0": 1}}}, "theta['move'] must be a list of 3 numbers"),
    ({"theta": {**THETA, "move": [[0.2, 0.3, 0.5]]}}, "theta['move'] must be 3 probabilities summing to 1"),
    ({"theta": {**THETA, "move": [0.5, 0.5]}}, "theta['move'] must be 3 probabilities summing to 1"),
    ({"theta": {**THETA, "move": [0.5, 0.6, -0.1]}}, "theta['move'] must be 3 probabilities summing to 1"),
    ({"theta": {**THETA, "move": [0.2, 0.3, 0.6]}}, "theta['move'] must be 3 probabilities summing to 1"),
    ({"theta": {**THETA, "move": [math.nan, 0.5, 0.5]}}, "theta['move'] must be 3 probabilities summing to 1"),
    ({"theta": {**THETA, "move": [math.inf, 0, 0]}}, "theta['move'] must be 3 probabilities summing to 1"),
    ({"theta": {**THETA, "move": [None, 0.5, 0.5]}}, "theta['move'] must be a list of 3 numbers"),
    ({"theta": {**THETA, "move": [True, False, False]}}, "theta['move'] must be a list of 3 numbers"),
    ({"theta": {**THETA, "move": ["0.2", 0.3, 0.5]}}, "theta['move'] must be a list of 3 numbers"),
    ({"theta": THETA, "rates": [0.9, 0.1]}, "'rates' must give success and slip for every target"),
    ({"theta": THETA, "rates": "high"}, "'rates' must give success and slip for every target"),
    ({"theta": THETA, "rates": {"haskey": {"success": 0.9, "slip": 0.1}}}, "'rates' must give success and slip"),
    ({"theta": THETA, "rates": {t: [0.9, 0.1] for t in TARGETS}}, "'rates' must give success and slip"),
    ({"theta": THETA, "rates": rates("0.9", 0.1)}, "'rates' must give success and slip"),
    ({"theta": THETA, "rates": rates(True, 0.1)}, "'rates' must give success and slip"),
    ({"theta": THETA, "rates": rates(2, -1)}, "must have 0 < slip < success < 1"),
    ({"theta": THETA, "rates": rates(0.1, 0.9)}, "must have 0 < slip < success < 1"),
    ({"theta": THETA, "rates": rates(math.nan, 0.1)}, "must have 0 < slip < success < 1"),
    ({"theta": THETA, "rates": rates(0.9, 0)}, "must have 0 < slip < success < 1"),
    ({"theta": THETA, "version": 3}, "format version 3; this sebn reads up to 2"),
    ({"theta": THETA, "version": "2"}, "'version' must be a whole number from 1 to 2, got '2'"),
    ({"theta": THETA, "version": 0}, "'version' must be a whole number from 1 to 2, got 0"),
    ({"theta": THETA, "version": 2.0}, "'version' must be a whole number from 1 to 2, got 2.0"),
    ({"theta": THETA, "draws": [1, 2]}, "draws['move'] must be a list of draws of 3 numbers"),
    ({"theta": THETA, "draws": {}}, "draws['move'] must be a list of draws of 3 numbers"),
    ({"theta": THETA, "draws": THETA}, "draws['move'] must be a list of draws of 3 numbers"),
    ({"theta": THETA, "draws": {**DRAWS, "move": []}}, "draws['move'] must be a list of draws of 3 numbers"),
    ({"theta": THETA, "draws": {**DRAWS, "move": [[0.2, 0.8], [0.2, 0.3, 0.5]]}}, "draws['move'] must be a list"),
    ({"theta": THETA, "draws": {**DRAWS, "move": [[1.2, -0.2, 0]] * 2}}, "every draw of 'move' must be 3 prob"),
    ({"theta": THETA, "draws": {**DRAWS, "move": [[1, False, 0]] * 2}}, "draws['move'] must be a list of draws"),
    ({"theta": THETA, "draws": {**DRAWS, "move": [[0.2, 0.3, 0.5]] * 3}}, "the draws disagree on their number"),
    ({"theta": THETA, "draws": DRAWS, "rate_draws": [1]}, "'rate_draws' must give lists of success and slip"),
    ({"theta": THETA, "draws": DRAWS, "rate_draws": rates(0.9, 0.1)}, "'rate_draws' must give lists of success"),
    ({"theta": THETA, "draws": DRAWS, "rate_draws": rates([0.9, 0.9], [0.95, 0.1])}, "every rate draw must have"),
    ({"theta": THETA, "draws": DRAWS, "rate_draws": rates([0.9] * 3, [0.1] * 3)}, "the draws disagree"),
]


@pytest.mark.parametrize("data, message", FIT_FILES)
@pytest.mark.parametrize("command", ["score", "simulate"])
def test_a_bad_fit_file_is_named_with_what_is_wrong(tmp_path, capsys, command, data, message):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(data))
    flag = ["--fit", str(path)] if command == "score" else ["--theta", str(path), "-o", str(tmp_path / "o.jsonl")]
    assert main([command, SPEC, *flag]) == 2
    err = capsys.readouterr().err
    assert f"sebn {command}: error: {path}: " in err and message in err and "Traceback" not in err


def record(task=TASK, targets=None) -> str:
    return json.dumps({"task": task, "targets": {"haskey": 1} if targets is None else targets})


EPISODES = [
    (["[1, 2]"], ":1: expected a JSON object, got list"),
    (["3"], ":1: expected a JSON object, got int"),
    ([record(), "{not json", record()], ":2: not a JSON object"),
    ([json.dumps({"targets": {"haskey": 1}})], ": record 1 needs a 'task' object and a 'targets' object"),
    ([record(), json.dumps({"task": [0, 1], "targets": {}})], ": record 2 needs a 'task' object"),
    ([json.dumps({"task": TASK, "targets": [1]})], ": record 1 needs a 'task' object and a 'targets' object"),
    ([record({**TASK, "wall": "1"})], ": record 1: task {"),
    ([record({**TASK, "wall": 1.5})], "wall=1.5 is outside its domain [0, 1]"),
    ([record(), record({**TASK, "wall": [1]})], ": record 2: task {"),
    ([record({**TASK, "wall": 10**30})], "is outside its domain [0, 1]"),
    ([record({"distance": 0})], ": record 1: task {'distance': 0} has no value for env variable 'wall'"),
    ([record(targets={"haskey": 2})], ": record 1: target 'haskey' must be 0 or 1, got 2"),
    ([record(targets={"haskey": "1"})], ": record 1: target 'haskey' must be 0 or 1, got '1'"),
    ([record(targets={"fly": 1})], ": record 1: unknown target 'fly'"),
    ([record(targets={})] * 3, ": no record observes a target"),
    ([record(targets={"haskey": None})], ": no record observes a target"),
    (["", "  ", ""], " holds no episodes"),
]


@pytest.mark.parametrize("lines, message", EPISODES)
def test_a_bad_episodes_file_is_named_with_its_record(tmp_path, capsys, lines, message):
    path = tmp_path / "episodes.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert main(["fit", SPEC, str(path), "-o", str(tmp_path / "fit.json")]) == 2
    err = capsys.readouterr().err
    assert f"sebn fit: error: {path}" in err and message in err and "Traceback" not in err


def test_an_episodes_file_that_is_not_text_is_named(tmp_path, capsys):
    path = tmp_path / "episodes.jsonl"
    path.write_bytes(b"\xff\xfe{}\n")
    assert main(["fit", SPEC, str(path), "-o", str(tmp_path / "fit.json")]) == 2
    assert f"{path}: cannot read" in capsys.readouterr().err


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
near_theta = st.fixed_dictionaries(
    {},
    optional={
        "theta": st.dictionaries(st.sampled_from([*THETA, "fly"]), json_values | st.sampled_from(list(THETA.values()))),
        "rates": json_values | st.just(rates(0.9, 0.1)),
        "draws": json_values | st.just(DRAWS),
        "rate_draws": json_values | st.just(rates([0.9, 0.9], [0.1, 0.1])),
        "version": json_values,
    },
)


def run_on_file(argv: list[str], text: str, suffix: str, capsys) -> tuple[int, str, Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_text(text)
        argv = [a.replace("{input}", str(path)).replace("{folder}", folder) for a in argv]
        code = main(argv)
        return code, capsys.readouterr().err, path


@given(data=near_theta | json_values)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_fit_files_get_a_result_or_a_clean_error(capsys, data):
    code, err, path = run_on_file(["score", SPEC, "--fit", "{input}"], json.dumps(data), ".json", capsys)
    assert code in (0, 2)
    if code == 2:
        assert err.startswith(f"sebn score: error: {path}") and err.count("\n") == 1


task_values = st.integers(-1, 2) | json_values
near_record = st.fixed_dictionaries(
    {},
    optional={
        "task": st.dictionaries(st.sampled_from([*TASK, "room"]), task_values) | json_values,
        "targets": st.dictionaries(st.sampled_from([*TARGETS, "fly"]), st.sampled_from([0, 1, None]) | json_values)
        | json_values,
    },
)


@given(lines=st.lists(near_record.map(json.dumps) | json_values.map(json.dumps) | st.text(max_size=8), max_size=5))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_episodes_files_get_a_fit_or_a_clean_error(capsys, lines):
    text = "\n".join(lines) + "\n"
    code, err, path = run_on_file(["fit", SPEC, "{input}", "-o", "{folder}/fit.json"], text, ".jsonl", capsys)
    assert code in (0, 2)
    if code == 2:
        assert err.startswith(f"sebn fit: error: {path}") and err.count("\n") == 1
