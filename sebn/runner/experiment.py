"""One experiment: a domain, a curriculum, an agent and a seed, into a run directory.

:func:`plan_run` checks a run before anything is written (the domain takes the curriculum,
the curriculum and the agent take their options, the run directory is empty or holds this
very run); :func:`run` runs it, resumes it from its checkpoint, or skips it when complete.
What a run directory holds is :mod:`sebn.runner.rundir`'s to say; a killed run resumes
from its checkpoint, its records cut back to what the checkpoint had seen.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import os
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sebn.core.network import SEBN
from sebn.core.spec import load_spec
from sebn.curricula import registry
from sebn.curricula.base import GymTaskSpace, Setting, TaskSpace
from sebn.curricula.registry import build_curriculum as build_named
from sebn.curricula.registry import entry
from sebn.runner.domains import load_domain
from sebn.runner.interface import Domain, ExperimentError, evaluate
from sebn.runner.recording import RecordingFeeder
from sebn.runner.rundir import RunDir, now, provenance, run_label

NOT_IDENTITY = ("run_dir", "track")
"""Agent arguments a resumed run may change: where the run sits, and whether it is tracked."""


def setting_of(domain: Domain) -> Setting:
    """What a curriculum of ``domain`` is built for: its spec's tasks (or its gym task
    space) and what ``target`` trains on."""
    if domain.spec is None:
        return Setting(GymTaskSpace(domain.task_space), [{}])  # target: the env's own start distribution
    net = SEBN(load_spec(domain.spec))
    return Setting(TaskSpace(net, tasks=domain.tasks), domain.target_tasks or [domain.evaluation])


def build_curriculum(domain: Domain, name: str, seed: int, options: Mapping[str, Any]):
    """The curriculum ``name`` for ``domain`` (see :attr:`Domain.curricula`)."""
    if name not in domain.curricula:
        raise ExperimentError(f"domain {domain.name} takes the curricula {', '.join(domain.curricula)}, not '{name}'")
    return build_named(name, setting_of(domain), seed, options)


@dataclass
class RunPlan:
    """One run, checked before anything is written (:func:`plan_run`).

    Attributes:
        domain: the domain.
        agent: the agent's module (``agents.<name>``).
        run_dir: where the run lives.
        what: the run's identity as ``config.json`` records it.
        arguments: the agent's ``Args`` fields.
        curriculum: the curriculum, built (untouched until the run starts or resumes).
        feeding: the feeder's options.
        resume: whether a checkpoint is there to resume from.
        config: the run directory's ``config.json`` when it already holds this run.
    """

    domain: Domain
    agent: Any
    run_dir: Path
    what: dict[str, Any]
    arguments: dict[str, Any]
    curriculum: Any
    feeding: dict[str, Any]
    resume: bool
    config: dict[str, Any] | None

    @property
    def recorded(self) -> dict[str, Any]:
        """The agent arguments ``config.json`` keeps (all but whether it resumed)."""
        return {k: v for k, v in self.arguments.items() if k != "resume"}

    @property
    def finished(self) -> bool:
        return bool(self.config and self.config.get("finished"))


def check_agent_options(agent_name: str, options: Mapping[str, Any]) -> None:
    """Every option must be a field of the agent's ``Args`` and hold a value of its type.

    Raises:
        ExperimentError: naming the field, what it takes and what it got.

    Example:
        >>> check_agent_options("ppo", {"learning_rate": "fast"})
        Traceback (most recent call last):
        ...
        sebn.runner.interface.ExperimentError: ppo's learning_rate takes float, got 'fast' (str is neither float or int)
    """
    types = typing.get_type_hints(importlib.import_module(f"agents.{agent_name}").Args)
    unknown = sorted(set(options) - set(types))
    if unknown:
        raise ExperimentError(
            f"{agent_name} has no argument {', '.join(unknown)}; its arguments: {', '.join(sorted(types))}"
        )
    _check_types(agent_name, types, options)


def _check_types(owner: str, types: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Each value of a name in ``types`` is of its type (lists item by item)."""
    from typeguard import CollectionCheckStrategy, TypeCheckError, check_type

    for name, value in values.items():
        if name not in types:
            continue
        try:
            check_type(value, types[name], collection_check_strategy=CollectionCheckStrategy.ALL_ITEMS)
        except TypeCheckError as error:
            shown = inspect.formatannotation(types[name])
            raise ExperimentError(f"{owner}'s {name} takes {shown}, got {value!r} ({error})") from None


def plan_run(
    domain: str,
    curriculum: str = "sebn",
    seed: int = 0,
    steps: int | None = None,
    runs: str | Path = "runs",
    curriculum_options: Mapping[str, Any] | None = None,
    agent_options: Mapping[str, Any] | None = None,
    checkpoint_every: int | None = None,
    algo: str | None = None,
    track: bool = False,
) -> RunPlan:
    """Check a run before it starts: the domain takes the curriculum, the curriculum and
    the agent take their options (the curriculum is built, so its own checks of values run
    too), and the run directory is empty or holds this very run (to resume or skip).

    Args:
        domain: a name in :data:`sebn.runner.domains.DOMAINS`.
        curriculum: one of the domain's curricula (:attr:`Domain.curricula`).
        seed: seeds the agent, the envs and the curriculum.
        steps: env steps (the domain's default when ``None``).
        runs: the root of run directories.
        curriculum_options: passed to the curriculum (e.g. ``generation_size``; for the
            teacher ``reward``, ``teacher_updates``, ``batch_size``, and ``gradients`` and
            ``clear_buffer``, which go to the feeder).
        agent_options: the agent's ``Args`` fields to override.
        checkpoint_every: env steps between checkpoints (default: a tenth of the run).
        algo: the student, one of the domain's agents (:meth:`Domain.student`; default:
            the domain's own); a choice other than the default is part of the run's label
            (``sebn@ppo``) and ``config.json``.
        track: mirror the agent's metrics to Weights & Biases (not part of the run's
            identity: a run tracked once may resume untracked).

    Raises:
        ExperimentError: what is wrong, and what to do about it.
    """
    spec = load_domain(domain)
    if curriculum not in spec.curricula:
        raise ExperimentError(f"domain {domain} takes the curricula {', '.join(spec.curricula)}, not '{curriculum}'")
    agent_name, agent_args = spec.student(algo)
    check_agent_options(agent_name, agent_options or {})
    if steps is not None and steps < 1:
        raise ExperimentError(f"steps must be at least 1 (or None: the domain's {spec.default_steps:,}), got {steps}")
    steps = steps or spec.default_steps
    options = dict(curriculum_options or {})
    feeder_defaults = entry(curriculum).feeder
    feeding = {
        "gradients": options.pop("gradients", feeder_defaults.get("gradients")),
        "clear_buffer": bool(options.pop("clear_buffer", feeder_defaults.get("clear_buffer", False))),
    }
    chosen_student = {"algo": agent_name} if agent_name != spec.agent else {}
    label = run_label({"curriculum": curriculum, "curriculum_options": curriculum_options or {}, **chosen_student})
    _check_types(curriculum, typing.get_type_hints(entry(curriculum).load().__init__), options)
    try:
        chosen = build_curriculum(spec, curriculum, seed, options)
    except (TypeError, ValueError) as error:
        raise ExperimentError(f"curriculum {label}: {error}") from None
    agent = importlib.import_module(f"agents.{agent_name}")
    fields = {f.name for f in dataclasses.fields(agent.Args)}
    if feeding["clear_buffer"] and "buffer_size" not in fields:
        raise ExperimentError(
            f"--clear-buffer empties a replay buffer, and {agent_name} keeps none (it learns from each rollout "
            "once); use an off-policy student (--algo sac or td3_fork) or drop --clear-buffer"
        )
    if track and "track" not in fields:
        raise ExperimentError(f"--track mirrors an agent's metrics to Weights & Biases, and {agent_name} logs none")
    if track and importlib.util.find_spec("wandb") is None:
        raise ExperimentError('--track needs Weights & Biases: pip install -e ".[wandb]"')
    blocked = next((p for p in (Path(runs), *Path(runs).parents) if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise ExperimentError(f"runs directory {runs}: {blocked} is a file, not a directory")
    try:
        Path(runs).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExperimentError(f"runs directory {runs}: cannot create it ({error.strerror})") from None
    if not os.access(runs, os.W_OK | os.X_OK):
        raise ExperimentError(f"runs directory {runs}: not writable")
    directory = RunDir.of(runs, domain, label, seed)
    run_dir = directory.path
    what = {
        "domain": domain,
        "curriculum": curriculum,
        "seed": seed,
        "steps": steps,
        "curriculum_options": dict(curriculum_options or {}),
        "agent_options": dict(agent_options or {}),
        **chosen_student,
    }
    resume = directory.has_checkpoint()
    standard = {
        "seed": seed,
        "total_timesteps": steps,
        "run_dir": str(run_dir),
        "resume": resume,
        "checkpoint_every": checkpoint_every or max(steps // 10, 1),
        "track": track,
    }
    # a run shorter than the domain's evaluation interval still gets five training-time evaluations
    if agent_args.get("eval_every", 0) > steps // 5 and "eval_every" not in (agent_options or {}):
        agent_args["eval_every"] = max(steps // 5, 1)
    # an agent without checkpoints (the simulated student) takes no resume or checkpoint_every
    arguments = {**agent_args, **dict(agent_options or {}), **{k: v for k, v in standard.items() if k in fields}}
    try:
        agent.Args(**arguments)  # the agent's own range checks, before a run directory is written
    except ValueError as error:
        raise ExperimentError(f"{agent_name}: {error}") from None
    plan = RunPlan(spec, agent, run_dir, what, arguments, chosen, feeding, resume, None)
    config = directory.read_config()
    if config is not None:
        # an option spelt out at its default (the command line's flags) is the option left out (a sweep's)
        defaults = registry.curriculum_options(curriculum)
        there = {**config, "curriculum_options": {**defaults, **config.get("curriculum_options", {})}}
        here = {**what, "curriculum_options": {**defaults, **what["curriculum_options"]}}
        differ = [f"{k} {config.get(k)!r} there, {what[k]!r} asked" for k in what if there.get(k) != here[k]]
        if differ:
            raise ExperimentError(
                f"{run_dir} holds a different run ({'; '.join(differ)}); choose another --runs directory"
            )
        # the domain's own agent arguments may have changed since (a run_dir moved with its runs is the same run)
        previous = {k: v for k, v in config.get("agent_args", plan.recorded).items() if k not in NOT_IDENTITY}
        current = {k: v for k, v in plan.recorded.items() if k not in NOT_IDENTITY}
        changed = sorted(k for k in previous.keys() | current.keys() if previous.get(k) != current.get(k))
        if changed:
            raise ExperimentError(
                f"{run_dir} holds a run with other agent arguments ({', '.join(changed)}; the domain "
                "changed since?); choose another --runs directory"
            )
        recorded_version = config.get("domain_version", 1)  # runs from before domains had versions: 1
        if recorded_version != spec.version:
            raise ExperimentError(
                f"{run_dir} holds a run of {domain} version {recorded_version}, and the domain "
                f"is at version {spec.version} now; choose another --runs directory"
            )
        plan.config = config
    return plan


def run(*request: Any, progress: bool = True, **named: Any) -> Path:
    """Run (or resume, or skip when complete) one experiment; returns its run directory.

    Args:
        *request, **named: the run, as :func:`plan_run` takes it.
        progress: show a progress bar.

    Raises:
        ExperimentError: from :func:`plan_run`, before anything is written.
    """
    plan = plan_run(*request, **named)
    if plan.finished:
        print(f"{plan.run_dir} is already complete: nothing to run", file=sys.stderr, flush=True)
        return plan.run_dir
    run_dir, arguments, spec, agent = RunDir(plan.run_dir), plan.arguments, plan.domain, plan.agent
    config = {
        **(plan.config or {**plan.what, "domain_version": spec.version, **provenance()}),
        "agent_args": plan.recorded,
    }
    run_dir.write_config(config)

    if not plan.resume:
        run_dir.clear_records()
    callbacks = RecordingFeeder(plan.curriculum, run_dir, plan.what["steps"], progress, **plan.feeding)
    try:
        result = agent.train(agent.Args(**arguments), make_env=spec.make_env, callbacks=callbacks)
    finally:
        callbacks.close()

    final = dict(result.final)
    episodes = arguments.get("eval_episodes", 10)
    for name, build in spec.final_envs.items():
        env = build()
        final[name] = evaluate(result.policy, env, episodes, seed=20_000 + plan.what["seed"])
        env.close()
    run_dir.write_final({"global_step": result.global_step, **final})
    config["finished"] = now()
    run_dir.write_config(config)
    return plan.run_dir
