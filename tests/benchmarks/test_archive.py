"""Finished runs archived in the repository come back as they were, and only finished ones go."""

import shutil

from benchmarks.archive import UNFINISHED, archive_of, restore, save
from benchmarks.gradient_teacher import finished_count
from tests.benchmarks.rundirs import episode, write_run


def bench(tmp_path):
    """A benchmark's runs directory: two finished runs (one with a checkpoint and TensorBoard
    events) and one unfinished."""
    runs = tmp_path / "runs" / "bench-x"
    records = [episode(step, {"start": [step, 0]}, step % 2 == 0) for step in range(1, 6)]
    write_run(runs, "uniform", 0, records, domain="pointmaze")
    write_run(runs, "uniform", 1, records, domain="pointmaze")
    write_run(runs, "target", 0, records, domain="pointmaze", finished=False)
    seed0 = runs / "pointmaze" / "uniform" / "seed0"
    (seed0 / "checkpoints").mkdir()
    (seed0 / "checkpoints" / "latest.pt").write_bytes(b"\x00\x01weights")
    (seed0 / "checkpoints" / "previous.pt").write_bytes(b"older")
    (seed0 / "events.out.tfevents.1.vm").write_bytes(b"events")
    return runs


def files(run):
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def test_finished_runs_are_restored_byte_for_byte_without_events_or_older_checkpoints(tmp_path):
    runs = bench(tmp_path)
    archive = tmp_path / "archive"
    before = {seed: files(runs / "pointmaze" / "uniform" / f"seed{seed}") for seed in (0, 1)}
    saved = save(runs, archive)
    assert sorted(p.relative_to(archive).as_posix() for p in saved) == [
        "bench-x/pointmaze/uniform/seed0.tar.xz",
        "bench-x/pointmaze/uniform/seed1.tar.xz",
    ]
    shutil.rmtree(runs)
    restored = restore(runs, archive)
    assert len(restored) == 2 and finished_count(runs / "pointmaze") == 2
    assert not (runs / "pointmaze" / "target").exists()
    after = files(runs / "pointmaze" / "uniform" / "seed0")
    dropped = {"checkpoints/previous.pt", "events.out.tfevents.1.vm"}
    assert after == {name: data for name, data in before[0].items() if name not in dropped}
    assert files(runs / "pointmaze" / "uniform" / "seed1") == before[1]


def test_an_archive_is_written_once_and_restoring_leaves_finished_runs_alone(tmp_path):
    runs = bench(tmp_path)
    archive = tmp_path / "archive"
    save(runs, archive)
    assert save(runs, archive) == []
    assert restore(runs, archive) == []


def test_restoring_replaces_an_unfinished_copy_of_an_archived_run(tmp_path):
    runs = bench(tmp_path)
    archive = tmp_path / "archive"
    save(runs, archive)
    run = runs / "pointmaze" / "uniform" / "seed1"
    (run / "final.json").unlink()
    (run / "stale.txt").write_text("from a half-done run")
    assert restore(runs, archive) == [run]
    assert (run / "final.json").exists() and not (run / "stale.txt").exists()


def test_the_archive_mirrors_the_runs_directory_by_name(tmp_path):
    runs = tmp_path / "runs" / "bench-teacher-ppo-1m"
    run = runs / "pointmaze" / "uniform@ppo" / "seed3"
    assert (
        archive_of(runs, run, tmp_path / "a") == tmp_path / "a/bench-teacher-ppo-1m/pointmaze/uniform@ppo/seed3.tar.xz"
    )


def test_nothing_to_archive_when_the_benchmark_has_not_started(tmp_path):
    assert save(tmp_path / "runs" / "bench-none", tmp_path / "archive") == []
    assert restore(tmp_path / "runs" / "bench-none", tmp_path / "archive") == []


def test_a_stopped_run_is_archived_with_its_checkpoints_only_when_asked_and_resumes_from_them(tmp_path):
    runs = bench(tmp_path)
    archive = tmp_path / "archive"
    stopped = runs / "pointmaze" / "target" / "seed0"
    (stopped / "checkpoints").mkdir()
    (stopped / "checkpoints" / "latest.pt").write_bytes(b"at 100k")
    (stopped / "checkpoints" / "previous.pt").write_bytes(b"at 0")
    assert len(save(runs, archive)) == 2
    assert save(runs, archive, unfinished=True) == [archive_of(runs, stopped, archive, UNFINISHED)]
    before = files(stopped)
    shutil.rmtree(runs)
    assert stopped in restore(runs, archive)
    assert files(stopped) == before


def test_an_unfinished_archive_gives_way_to_the_finished_run(tmp_path):
    runs = bench(tmp_path)
    archive = tmp_path / "archive"
    run = runs / "pointmaze" / "uniform" / "seed1"
    (run / "final.json").rename(tmp_path / "final.json")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "latest.pt").write_bytes(b"half way")
    save(runs, archive, unfinished=True)
    assert archive_of(runs, run, archive, UNFINISHED).exists()
    (tmp_path / "final.json").rename(run / "final.json")
    save(runs, archive)
    assert archive_of(runs, run, archive).exists() and not archive_of(runs, run, archive, UNFINISHED).exists()


def test_a_stopped_run_without_a_checkpoint_is_not_archived(tmp_path):
    runs = bench(tmp_path)
    archive = tmp_path / "archive"
    saved = save(runs, archive, unfinished=True)
    assert all("target" not in path.parts for path in saved)
