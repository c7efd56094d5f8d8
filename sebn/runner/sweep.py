"""A grid of runs (curricula x seeds of one domain) on a local process pool or a Ray cluster.

Every run goes through :func:`sebn.runner.experiment.run`, so a complete run is skipped, an
interrupted one resumes from its checkpoint, and killing the sweep loses at most the
runs' records being written. Every run is checked before any starts
(:func:`sebn.runner.experiment.plan_run`): an option its curriculum or agent does not take, or a
run directory that holds another run, stops the sweep with nothing written. A run that
raises once started is recorded in its directory (``failed.json``: the error and its
traceback) and the others go on; the next sweep tries it again.
``runs/<domain>/sweep.json`` lists the grid and each run's outcome.

On Ray (``ray_address``), each run is a task asking for one CPU. The run directories are
written by the workers, so on a cluster of several machines ``runs`` must be a path every
node shares (NFS or similar) and every node needs this package installed. On one machine,
``ray.init()`` (or ``ray_address="local"``) starts a private cluster.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sebn.curricula.registry import parse_curriculum_label
from sebn.runner.domains import load_domain
from sebn.runner.experiment import ExperimentError, plan_run, run
from sebn.runner.rundir import RunDir, run_label, write_sweep


@dataclass(frozen=True)
class Job:
    """One run of the grid."""

    domain: str
    label: str
    curriculum: str
    seed: int
    steps: int | None
    runs: str
    curriculum_options: Mapping[str, Any]
    agent_options: Mapping[str, Any]
    algo: str | None = None
    track: bool = False

    @property
    def run_dir(self) -> Path:
        return RunDir.of(self.runs, self.domain, self.label, self.seed).path


@dataclass
class Outcome:
    """What became of one job: ``status`` is ``"done"`` or ``"failed"`` (with ``error``)."""

    label: str
    seed: int
    run_dir: str
    status: str
    error: str | None = None


def run_job(job: Job) -> Outcome:
    """Run one job; an exception becomes a failed outcome, recorded in the run's directory."""
    try:
        run(
            job.domain,
            job.curriculum,
            seed=job.seed,
            steps=job.steps,
            runs=job.runs,
            curriculum_options=dict(job.curriculum_options),
            agent_options=dict(job.agent_options),
            algo=job.algo,
            track=job.track,
            progress=False,
        )
    except Exception as error:  # noqa: BLE001 - one failed run must not stop the grid
        message = f"{type(error).__name__}: {error}"
        RunDir(job.run_dir).record_failure(message, traceback.format_exc())
        return Outcome(job.label, job.seed, str(job.run_dir), "failed", message)
    RunDir(job.run_dir).clear_failure()
    return Outcome(job.label, job.seed, str(job.run_dir), "done")


def sweep(
    domain: str,
    curricula: Sequence[str],
    seeds: Iterable[int],
    steps: int | None = None,
    runs: str | Path = "runs",
    workers: int = 2,
    ray_address: str | None = None,
    curriculum_options: Mapping[str, Any] | None = None,
    agent_options: Mapping[str, Any] | None = None,
    progress: bool = True,
    algo: str | None = None,
    track: bool = False,
) -> list[Outcome]:
    """Run every (curriculum, seed) of ``domain``; returns the outcomes seed by seed,
    curricula in the order given.

    Args:
        domain: a domain of :data:`sebn.runner.domains.DOMAINS`.
        curricula: the curricula to run (each must suit the domain), by name or label
            (``gradient-sum_norm``: the teacher with that reward).
        seeds: the seeds to run each curriculum with.
        steps: env steps per run (the domain's default when ``None``).
        runs: the root of the run directories.
        workers: processes of the local pool (ignored on Ray, which schedules by CPUs).
        ray_address: run on this Ray cluster (``"auto"``, ``"ray://host:10001"``, or
            ``"local"`` for a private one); an already initialised Ray is used as it is.
        curriculum_options: curriculum name -> its options (as for :func:`sebn.runner.experiment.run`).
        agent_options: as for :func:`sebn.runner.experiment.run`, for every run.
        progress: a progress bar over the grid.
        algo: the student of every run (as for :func:`sebn.runner.experiment.plan_run`).
        track: mirror every run's metrics to Weights & Biases.

    Raises:
        SweepError: before any run starts, when a run cannot (an option its curriculum
            or agent does not take, a run directory holding another run).
    """
    chosen = []
    for label in curricula:
        name, options = parse_curriculum_label(label)
        chosen.append((name, {**(curriculum_options or {}).get(name, {}), **options}))
    # seed by seed: a sweep stopped half way has every curriculum on its first seeds
    # a student other than the domain's own is part of each run's label, as plan_run makes it
    try:
        student = {"algo": algo} if algo is not None and algo != load_domain(domain).agent else {}
    except ExperimentError as error:
        raise SweepError(str(error)) from None
    jobs = [
        Job(
            domain,
            run_label({"curriculum": name, "curriculum_options": options, **student}),
            name,
            seed,
            steps,
            str(runs),
            options,
            dict(agent_options or {}),
            algo,
            track,
        )
        for seed in seeds
        for name, options in chosen
    ]
    problems = [p for p in dict.fromkeys(_problem(job) for job in jobs) if p]
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise SweepError("; ".join(problems[:3]) + more)
    bar = _progress_bar(len(jobs), f"sweep {domain}") if progress else None
    outcomes: dict[int, Outcome] = {}
    submit = on_ray(ray_address) if ray_address is not None else on_pool(workers)
    for index, outcome in submit(jobs):
        outcomes[index] = outcome
        if bar is not None:
            bar.set_postfix(failed=sum(o.status == "failed" for o in outcomes.values()), refresh=False)
            bar.update(1)
    if bar is not None:
        bar.close()
    ordered = [outcomes[i] for i in range(len(jobs))]
    write_sweep(
        runs,
        domain,
        {
            "domain": domain,
            "curricula": list(curricula),
            "seeds": sorted({j.seed for j in jobs}),
            "steps": steps,
            "runs": [asdict(o) for o in ordered],
        },
    )
    return ordered


def _problem(job: Job) -> str | None:
    """Why ``job`` cannot run as asked, or ``None``."""
    try:
        plan_run(
            job.domain,
            job.curriculum,
            job.seed,
            job.steps,
            job.runs,
            job.curriculum_options,
            job.agent_options,
            algo=job.algo,
            track=job.track,
        )
    except ExperimentError as error:
        return str(error)
    return None


def on_pool(
    workers: int, task: Callable[[Job], Outcome] = run_job
) -> Callable[[list[Job]], Iterable[tuple[int, Outcome]]]:
    """Jobs on a pool of ``workers`` processes. A worker that dies (a simulator's segfault,
    the OOM killer) breaks the pool for every job in flight; those are tried again, each
    alone, and a job that kills its worker again is a failed run."""

    def submit(jobs: list[Job]) -> Iterable[tuple[int, Outcome]]:
        crashed = []
        with _pool(workers) as pool:
            futures = {pool.submit(task, job): index for index, job in enumerate(jobs)}
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except BrokenProcessPool:
                    crashed.append(futures[future])
        for index in sorted(crashed):
            with _pool(1) as alone:
                try:
                    yield index, alone.submit(task, jobs[index]).result()
                except BrokenProcessPool:
                    job = jobs[index]
                    yield (
                        index,
                        Outcome(job.label, job.seed, str(job.run_dir), "failed", "the worker process died (twice)"),
                    )

    return submit


def _pool(workers: int) -> ProcessPoolExecutor:
    # spawn: each run starts from a clean interpreter (torch threads, simulators' globals)
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_stop_with_parent, initargs=(os.getpid(),)
    )


def _stop_with_parent(parent: int) -> None:
    """Pool initializer: a worker whose sweep was killed stops within a second rather than
    finishing its run unseen (a restarted sweep would then run it twice, into the same
    directory); its run resumes from its last checkpoint."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def on_ray(address: str) -> Callable[[list[Job]], Iterable[tuple[int, Outcome]]]:
    try:
        import ray
    except ImportError:
        raise SweepError('--ray needs Ray: pip install -e ".[ray]"') from None

    def submit(jobs: list[Job]) -> Iterable[tuple[int, Outcome]]:
        if not ray.is_initialized():
            try:
                ray.init(address=None if address == "local" else address, include_dashboard=False)
            except (ConnectionError, ValueError, RuntimeError) as error:
                raise SweepError(
                    f'--ray {address}: no Ray cluster there ({error}); give "auto" (a cluster started on this '
                    'machine), "ray://host:10001" or "local"'
                ) from None
        remote = ray.remote(num_cpus=1)(run_job)
        pending = {remote.remote(job): index for index, job in enumerate(jobs)}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                yield pending.pop(ref), ray.get(ref)

    return submit


class SweepError(Exception):
    """A sweep that cannot start as asked."""


def _progress_bar(total: int, description: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="run", desc=description, dynamic_ncols=True)
