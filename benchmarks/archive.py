"""Benchmark runs kept in the repository, so that a benchmark longer than one sitting
survives a machine that does not keep ``runs/`` (an ignored directory: a new work tree
starts without it).

    .venv/bin/python -m benchmarks.archive save runs/bench-teacher-ppo-1m      # finished runs
    .venv/bin/python -m benchmarks.archive save --unfinished runs/bench-teacher-ppo-1m   # at a stop
    .venv/bin/python -m benchmarks.archive restore runs/bench-teacher-ppo-1m   # on a new work tree

A finished run (one with ``final.json``) of ``runs/<name>/<domain>/<label>/seed<S>/`` is
packed once into ``benchmarks/archive/<name>/<domain>/<label>/seed<S>.tar.xz``: its records
(config, arguments, episodes, generations, evaluations, final evaluations) and its last
checkpoint (the teacher's update count is read from it), without TensorBoard's events,
which repeat the records. ``--unfinished`` also packs each stopped run that has a
checkpoint, with its checkpoints, into ``seed<S>.unfinished.tar.xz`` (replaced at each
save, removed once the run is archived finished): stop the benchmark first, so that no
record is half written. Restoring unpacks every archived run that ``runs/`` lacks (a
finished one also over an unfinished copy), so a benchmark run after it skips the finished
runs, resumes the others from their checkpoints, and reports on them as on its own.
"""

from __future__ import annotations

import argparse
import shutil
import tarfile
from pathlib import Path

from benchmarks.markdown import ROOT
from sebn.runner.rundir import RunDir

ARCHIVE = ROOT / "benchmarks" / "archive"
FINISHED, UNFINISHED = ".tar.xz", ".unfinished.tar.xz"


def archive_of(runs: Path, run: Path, archive: Path = ARCHIVE, suffix: str = FINISHED) -> Path:
    """Where the run directory ``run`` under ``runs`` is archived (finished, or with
    ``suffix=UNFINISHED`` not yet)."""
    return archive / runs.name / run.relative_to(runs).with_name(run.name + suffix)


def save(runs: Path, archive: Path = ARCHIVE, unfinished: bool = False) -> list[Path]:
    """Archive each finished run under ``runs`` not archived yet, and with ``unfinished``
    each unfinished one that has a checkpoint; returns the archives written."""
    saved = []
    for run_dir in sorted(path.parent for path in runs.glob("**/config.json")):
        run = RunDir(run_dir)
        finished = archive_of(runs, run_dir, archive)
        partial = archive_of(runs, run_dir, archive, UNFINISHED)
        records = [run.config_path, run_dir / "args.json", run.episodes_path, run.generations_path]
        records += [run.evals_path, run.final_path]
        if run.read_final() is not None:
            if not finished.exists():
                _pack(run_dir, finished, [*records, run.checkpoint])
                saved.append(finished)
            partial.unlink(missing_ok=True)
        elif unfinished and run.has_checkpoint():
            _pack(run_dir, partial, [*records, run.checkpoint.parent])
            saved.append(partial)
    return saved


def _pack(run: Path, target: Path, paths: list[Path]) -> None:
    """The files and folders ``paths`` of ``run`` (those it has) into ``target``, which is replaced whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    writing = target.with_name(target.name + ".writing")
    with tarfile.open(writing, "w:xz") as tar:
        for path in paths:
            if path.exists():
                tar.add(path, arcname=path.relative_to(run).as_posix())
    writing.replace(target)


def restore(runs: Path, archive: Path = ARCHIVE) -> list[Path]:
    """Unpack each archived run of ``runs`` that is missing there, and each archived finished
    run over an unfinished copy; returns the run directories restored."""
    restored = []
    root = archive / runs.name
    for suffix in (FINISHED, UNFINISHED):  # finished first: they win over any unfinished copy
        for packed in sorted(root.glob(f"**/*{suffix}")):
            if suffix == FINISHED and packed.name.endswith(UNFINISHED):
                continue
            run = runs / packed.relative_to(root).with_name(packed.name.removesuffix(suffix))
            if run.exists():
                if suffix == UNFINISHED or RunDir(run).read_final() is not None:
                    continue
                shutil.rmtree(run)
            run.mkdir(parents=True)
            with tarfile.open(packed) as tar:
                tar.extractall(run, filter="data")
            restored.append(run)
    return restored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("save", "restore"))
    parser.add_argument(
        "--unfinished", action="store_true", help="save: also stopped runs with a checkpoint (stop the benchmark first)"
    )
    parser.add_argument("runs", type=Path, help="a benchmark's runs directory, e.g. runs/bench-teacher-ppo-1m")
    args = parser.parse_args()
    if args.action == "save":
        done = save(args.runs, unfinished=args.unfinished)
        print(f"archived {len(done)} run(s) of {args.runs} into {ARCHIVE / args.runs.name}")
    else:
        done = restore(args.runs)
        print(f"restored {len(done)} run(s) into {args.runs} from {ARCHIVE / args.runs.name}")
    for path in done:
        print(f"  {path}")


if __name__ == "__main__":
    main()
