import json

import pytest

from sebn.core.network import SEBN
from sebn.core.records import JsonlWriter, RecordError, observations, read_jsonl, write_jsonl
from sebn.core.spec import load_spec


def test_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "episodes.jsonl"
    with JsonlWriter(path) as out:
        out.write({"step": 1})
        out.write({"step": 2})
    with open(path, "a") as f:
        f.write('{"step": 3, "ta')  # a writer killed mid-record
    assert [r["step"] for r in read_jsonl(path)] == [1, 2]
    with JsonlWriter(path) as out:  # resuming drops the torn line and appends cleanly
        out.write({"step": 3})
    assert [r["step"] for r in read_jsonl(path)] == [1, 2, 3]


def test_bad_middle_line_names_file_and_line(tmp_path):
    path = tmp_path / "episodes.jsonl"
    path.write_text('{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(RecordError, match=r"episodes.jsonl:2: not a JSON object"):
        read_jsonl(path)


def test_observations_validate_records():
    net = SEBN(load_spec("specs/doorkey.sebn"))
    task = {"distance": 0, "wall": 1, "exists_door": 0}
    settings, observed = observations(net, [{"task": task, "targets": {"goalreached": 1, "haskey": 0}}])
    assert settings.tolist() == [[0, 1, 0]]
    assert observed.tolist() == [[0, -1, 1]]
    with pytest.raises(RecordError, match="unknown target 'fly'"):
        observations(net, [{"task": task, "targets": {"fly": 1}}])
    with pytest.raises(RecordError, match="must be 0 or 1"):
        observations(net, [{"task": task, "targets": {"goalreached": 2}}])
    with pytest.raises(RecordError, match="outside its domain"):
        observations(net, [{"task": {**task, "wall": 5}, "targets": {}}])


def test_write_then_read(tmp_path):
    records = [{"step": i, "task": {}, "targets": {}} for i in range(3)]
    write_jsonl(tmp_path / "a.jsonl", records)
    assert read_jsonl(tmp_path / "a.jsonl") == records
    assert all(json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines())
