"""One experiment: a domain, a curriculum, an agent and a seed, into a run directory.

``runs/<domain>/<label>/seed<S>/`` (:func:`curriculum_label`: the curriculum and the
options it was given that differ from their defaults) holds (DESIGN.md section 8):

* ``config.json``: what was run (domain and its version, curriculum, seed, steps, options,
  agent arguments), the package version, the git commit (``-dirty`` when the working tree had
  uncommitted changes), start and end times;
* TensorBoard events (the agent's ``charts/``, ``losses/``, ``eval/``; the curriculum's
  ``curriculum/``: expected competency levels, task-distribution entropy, fit likelihood);
* ``episodes.jsonl``: every finished training episode, one record each, appended and
  flushed as it reaches the curriculum;
* ``generations.jsonl``: one record per SEBN generation (theta, candidates, p);
* ``evals.csv``: the agent's periodic evaluations (the domain's evaluation env);
* ``final.json``: the last evaluation on every evaluation env of the domain;
* ``checkpoints/latest.pt``: agent, optimiser, RNGs and the curriculum's state together.

A killed run resumes from its checkpoint: the records written after it are cut away
(the resumed run writes them again), so no episode is lost or counted twice.

Domains are modules ``domains.<name>`` with a function ``domain() -> Domain``; they are
imported by name, so ``sebn`` itself never imports a simulator.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib
import inspect
import json
import os
import re
import subprocess
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from sebn import __version__
from sebn.curricula import CURRICULA, Episode, SEBNCurriculum, SpaceUniformCurriculum, TargetCurriculum, TaskSpace, make_curriculum
from sebn.feeder import CurriculumFeeder
from sebn.network import SEBN
from sebn.records import JsonlWriter, read_jsonl, write_json, write_jsonl
from sebn.spec import load_spec
from sebn.teacher import GradientNormTeacher

# Domain name -> the module that describes it (``module.domain(name)``).
DOMAINS = {"doorkey": "domains.doorkey", "bipedalwalker": "domains.bipedalwalker", "robosuite_door": "domains.robosuite_door",
           "pointmaze": "domains.pointmaze", "pointmaze_medium": "domains.pointmaze", "antmaze": "domains.antmaze",
           "adroit_relocate": "domains.adroit_relocate", "student_doorkey": "domains.student",
           "student_bipedalwalker": "domains.student", "student_robosuite_door": "domains.student"}
# Curricula for domains without a requirement spec: the gradient-norm teacher, uniform
# over the task space, and the env's own start distribution.
SPACE_CURRICULA = ("gradient", "uniform", "target")


class ExperimentError(Exception):
    """A run that cannot start as asked (unknown domain, a run directory holding another run)."""


@dataclass
class Domain:
    """What ``sebn run`` needs to know about a domain.

    Attributes:
        name: the domain's name.
        make_env: ``make_env(index)`` builds training env ``index``; ``-1`` the evaluation env
            (``None`` for the simulated student, which needs none).
        final_envs: name -> builder of each env the finished agent is evaluated on.
        agent: a module of :mod:`agents`: ``"ppo"``, ``"sac"``, ``"td3_fork"`` or ``"student"``.
        agent_args: the agent's ``Args`` fields this domain sets.
        default_steps: env steps when ``--steps`` is not given.
        spec: its requirement spec (SEBN domains), or ``None``.
        tasks: the tasks a curriculum may choose (the spec's settings x targets the env accepts).
        evaluation: the evaluation task.
        target_tasks: what ``target`` (no curriculum) trains on: ``[evaluation]`` unless the
            evaluation plays more than that task's target (DoorKey's evaluation chains its
            three options, so each option trains on the hardest setting with its own target).
        task_space: for domains without a spec, the space the gradient-norm teacher and
            ``uniform`` draw from (``target`` leaves the env its own start distribution).
        version: raised whenever the env changes what a task means (layout, dynamics,
            rewards); ``config.json`` records it, and a run of another version is never
            resumed or reused.
    """

    name: str
    make_env: Callable[[int], gym.Env] | None
    final_envs: dict[str, Callable[[], gym.Env]]
    agent: str
    agent_args: dict[str, Any] = field(default_factory=dict)
    default_steps: int = 100_000
    spec: Path | None = None
    tasks: list[dict[str, Any]] | None = None
    evaluation: dict[str, Any] | None = None
    target_tasks: list[dict[str, Any]] | None = None
    task_space: gym.Space | None = None
    version: int = 1

    @property
    def curricula(self) -> tuple[str, ...]:
        return CURRICULA if self.spec is not None else SPACE_CURRICULA


def teacher_domain(name: str, make_env: Callable[[int], gym.Env], task_space: gym.Space, learning_starts: int,
                   eval_every: int, default_steps: int) -> Domain:
    """A domain without a spec, for the gradient-norm teacher: the paper's SAC student
    (``--preset gradient-paper``), evaluated on ``make_env(-1)`` (the env's own start
    distribution) during and after training."""
    return Domain(name=name, make_env=make_env, final_envs={"default": lambda: make_env(-1)}, agent="sac",
                  agent_args={"preset": "gradient-paper", "learning_starts": learning_starts, "eval_every": eval_every,
                              "eval_episodes": 10},
                  default_steps=default_steps, task_space=task_space)


def load_domain(name: str) -> Domain:
    if name not in DOMAINS:
        raise ExperimentError(f"unknown domain '{name}'; choose one of {', '.join(DOMAINS)}")
    return importlib.import_module(DOMAINS[name]).domain(name)


def build_curriculum(domain: Domain, name: str, seed: int, options: Mapping[str, Any]):
    """The curriculum ``name`` for ``domain`` (see :attr:`Domain.curricula`)."""
    if name not in domain.curricula:
        raise ExperimentError(f"domain {domain.name} takes the curricula {', '.join(domain.curricula)}, not '{name}'")
    if domain.spec is not None:
        net = SEBN(load_spec(domain.spec))
        target_tasks = domain.target_tasks or [domain.evaluation]
        return make_curriculum(name, net, target_tasks, TaskSpace(net, tasks=domain.tasks), seed=seed, **options)
    if name == "gradient":
        return GradientNormTeacher(domain.task_space, seed=seed, **options)
    if name == "uniform":
        return SpaceUniformCurriculum(domain.task_space, seed=seed)
    return TargetCurriculum([{}], seed=seed)  # an empty task: the env's own start distribution


FEEDER_OPTIONS = {"gradients": "actor", "clear_buffer": False}
"""The teacher's options that go to the feeder rather than the curriculum, with their defaults."""


_CONSTRUCTORS = {"sebn": SEBNCurriculum, "anti": SEBNCurriculum, "gradient": GradientNormTeacher}
"""The curricula that take options, by name."""


def curriculum_options(name: str) -> dict[str, Any]:
    """The options a curriculum takes (``curriculum_options`` of :func:`run`), with their
    defaults, read from its constructor; empty for curricula without options."""
    constructor = _CONSTRUCTORS.get(name)
    if constructor is None:
        return {}
    parameters = inspect.signature(constructor).parameters.values()
    set_by_run = {"seed", "space", "anti"}
    defaults = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty and p.name not in set_by_run}
    return {**defaults, **FEEDER_OPTIONS} if name == "gradient" else defaults


def curriculum_label(name: str, options: Mapping[str, Any]) -> str:
    """The run directory's curriculum part: the name, the teacher's reward, then every
    option that differs from its default as ``-key=value`` (sorted), so runs of one
    curriculum with other options land side by side and reports tell them apart.

    Example:
        >>> curriculum_label("gradient", {"reward": "sum_norm", "batch_size": 16}), curriculum_label("sebn", {"generation_size": 20})
        ('gradient-sum_norm', 'sebn-generation_size=20')
    """
    defaults = curriculum_options(name)
    label = f"gradient-{options.get('reward', defaults['reward'])}" if name == "gradient" else name
    changed = sorted(k for k, v in options.items() if k != "reward" and (k not in defaults or v != defaults[k]))
    return "".join([label, *(f"-{k}={_label_value(options[k])}" for k in changed)])


def _label_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


_LABEL_OPTION = re.compile(r"-([A-Za-z_]\w*)=(.*?)(?=-[A-Za-z_]\w*=|$)")


def parse_curriculum_label(label: str) -> tuple[str, dict[str, Any]]:
    """The curriculum and options a label names (:func:`curriculum_label`'s inverse):
    ``gradient-sum_norm`` is the teacher rewarded by ``sum_norm``, ``-key=value`` parts
    are options (values read as JSON where they parse, else as text).

    Raises:
        ValueError: an option the curriculum does not take.

    Example:
        >>> parse_curriculum_label("gradient-sum_norm-batch_size=4"), parse_curriculum_label("alp-gmm")
        (('gradient', {'reward': 'sum_norm', 'batch_size': 4}), ('alp-gmm', {}))
    """
    start = _LABEL_OPTION.search(label)
    head, tail = (label[: start.start()], label[start.start():]) if start else (label, "")
    name, _, reward = head.partition("-")
    options = {"reward": reward} if name == "gradient" and reward else {}
    if not options:
        name = head
    allowed = curriculum_options(name)
    for key, text in _LABEL_OPTION.findall(tail):
        if key not in allowed:
            takes = f"its options: {', '.join(sorted(allowed))}" if allowed else "it takes none"
            raise ValueError(f"curriculum label {label!r}: {name} has no option '{key}' ({takes})")
        try:
            options[key] = json.loads(text)
        except json.JSONDecodeError:
            options[key] = text
    return name, options


def run_dir_for(runs: str | Path, domain: str, curriculum: str, seed: int) -> Path:
    return Path(runs) / domain / curriculum / f"seed{seed}"


class ExperimentCallbacks(CurriculumFeeder):
    """The feeder, plus the run's records and a progress bar."""

    def __init__(self, curriculum, run_dir: Path, total_steps: int, progress: bool, gradients: str | None = None,
                 clear_buffer: bool = False):
        self.run_dir = run_dir
        self.episodes = JsonlWriter(run_dir / "episodes.jsonl", fsync=False)
        self.generations = JsonlWriter(run_dir / "generations.jsonl", fsync=False)
        self.written_generations = len(read_jsonl(run_dir / "generations.jsonl"))
        self.evals_path = run_dir / "evals.csv"
        self.written_evals = _csv_rows(self.evals_path)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(run_dir), filename_suffix=".curriculum")
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, unit="step", desc=f"{run_dir}", dynamic_ncols=True)
        self.teacher_updates = getattr(curriculum, "updates", 0)
        super().__init__(curriculum, gradients=gradients, clear_buffer=clear_buffer, on_finished=self._record)

    def _record(self, episode: Episode) -> None:
        self.episodes.write(episode.to_record())
        if episode.gradients is not None:
            for key in ("mean_norm", "sum_norm"):
                self.writer.add_scalar(f"curriculum/student_grad_{key}", episode.gradients[key], episode.step)
        if getattr(self.curriculum, "updates", 0) != self.teacher_updates:
            self.teacher_updates = self.curriculum.updates
            self.writer.add_scalar("curriculum/teacher_loss", self.curriculum.last_loss, episode.step)
            self.writer.add_scalar("curriculum/teacher_reward", self.curriculum.last_reward, episode.step)
        for generation in getattr(self.curriculum, "pop_log", list)():
            self.generations.write(generation)
            self.written_generations += 1
            self._log_generation(generation, episode.step)

    def _log_generation(self, generation: Mapping[str, Any], step: int) -> None:
        """TensorBoard ``curriculum/``: each competency's expected level, the entropy of
        the task distribution (over the candidates) and the log-likelihood of the fit."""
        for name, probs in generation["theta"].items():
            self.writer.add_scalar(f"curriculum/expected_level/{name}", sum(k * p for k, p in enumerate(probs)), step)
        p = np.asarray(generation["p"], dtype=float)
        p = p[p > 0] / p.sum()
        self.writer.add_scalar("curriculum/task_entropy", float(-(p * np.log(p)).sum()), step)
        self.writer.add_scalar("curriculum/log_likelihood", generation["log_likelihood"], step)
        self.writer.add_scalar("curriculum/generation", generation["generation"], step)

    def on_step(self, global_step: int) -> None:
        super().on_step(global_step)
        if self.bar is not None:
            self.bar.update(global_step - self.bar.n)

    def on_eval(self, step: int, metrics: Mapping[str, float]) -> None:
        new = not self.evals_path.exists()
        with self.evals_path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["step", *sorted(metrics)])
            writer.writerow([step, *(metrics[k] for k in sorted(metrics))])
            f.flush()
        self.written_evals += 1
        if self.bar is not None and "eval/success_rate" in metrics:
            self.bar.set_postfix(success=f"{metrics['eval/success_rate']:.2f}")

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        return {**state, "generations": self.written_generations, "evals": self.written_evals}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Back to the checkpoint: its curriculum, and the records written up to it."""
        super().load_state_dict(state)
        self.teacher_updates = getattr(self.curriculum, "updates", 0)  # logged up to the checkpoint
        self.episodes.close()
        self.generations.close()
        _keep_first(self.run_dir / "episodes.jsonl", self.delivered)
        _keep_first(self.run_dir / "generations.jsonl", state["generations"])
        _keep_first_rows(self.evals_path, state["evals"])
        self.written_generations, self.written_evals = state["generations"], state["evals"]
        self.episodes = JsonlWriter(self.run_dir / "episodes.jsonl", fsync=False)
        self.generations = JsonlWriter(self.run_dir / "generations.jsonl", fsync=False)
        if hasattr(self.curriculum, "pop_log"):
            self.curriculum.pop_log()

    def close(self) -> None:
        super().close()
        self.writer.close()
        self.episodes.close()
        self.generations.close()
        if self.bar is not None:
            self.bar.close()


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
        sebn.experiment.ExperimentError: ppo's learning_rate takes float, got 'fast' (str is neither float or int)
    """
    types = typing.get_type_hints(importlib.import_module(f"agents.{agent_name}").Args)
    unknown = sorted(set(options) - set(types))
    if unknown:
        raise ExperimentError(f"{agent_name} has no argument {', '.join(unknown)}; its arguments: {', '.join(sorted(types))}")
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


def plan_run(domain: str, curriculum: str = "sebn", seed: int = 0, steps: int | None = None, runs: str | Path = "runs",
             curriculum_options: Mapping[str, Any] | None = None, agent_options: Mapping[str, Any] | None = None,
             checkpoint_every: int | None = None) -> RunPlan:
    """Check a run before it starts (arguments as for :func:`run`): the domain takes the
    curriculum, the curriculum and the agent take their options (the curriculum is built,
    so its own checks of values run too), and the run directory is empty or holds this
    very run (to resume or skip).

    Raises:
        ExperimentError: what is wrong, and what to do about it.
    """
    spec = load_domain(domain)
    if curriculum not in spec.curricula:
        raise ExperimentError(f"domain {domain} takes the curricula {', '.join(spec.curricula)}, not '{curriculum}'")
    check_agent_options(spec.agent, agent_options or {})
    steps = steps or spec.default_steps
    options = dict(curriculum_options or {})
    feeding = {"gradients": options.pop("gradients", FEEDER_OPTIONS["gradients"]) if curriculum == "gradient" else None,
               "clear_buffer": bool(options.pop("clear_buffer", FEEDER_OPTIONS["clear_buffer"]))}
    label = curriculum_label(curriculum, curriculum_options or {})
    constructor = _CONSTRUCTORS.get(curriculum)
    if constructor is not None:
        _check_types(curriculum, typing.get_type_hints(constructor.__init__), options)
    try:
        chosen = build_curriculum(spec, curriculum, seed, options)
    except (TypeError, ValueError) as error:
        raise ExperimentError(f"curriculum {label}: {error}") from None
    agent = importlib.import_module(f"agents.{spec.agent}")
    fields = {f.name for f in dataclasses.fields(agent.Args)}
    run_dir = run_dir_for(runs, domain, label, seed)
    what = {"domain": domain, "curriculum": curriculum, "seed": seed, "steps": steps,
            "curriculum_options": dict(curriculum_options or {}), "agent_options": dict(agent_options or {})}
    resume = (run_dir / "checkpoints" / "latest.pt").exists()
    standard = {"seed": seed, "total_timesteps": steps, "run_dir": str(run_dir), "resume": resume,
                "checkpoint_every": checkpoint_every or max(steps // 10, 1)}
    # an agent without checkpoints (the simulated student) takes no resume or checkpoint_every
    arguments = {**spec.agent_args, **dict(agent_options or {}), **{k: v for k, v in standard.items() if k in fields}}
    plan = RunPlan(spec, agent, run_dir, what, arguments, chosen, feeding, resume, None)
    config_path = run_dir / "config.json"
    if config_path.exists():
        config = json.loads(config_path.read_text())
        differ = [f"{k} {config.get(k)!r} there, {v!r} asked" for k, v in what.items() if config.get(k) != v]
        if differ:
            raise ExperimentError(f"{run_dir} holds a different run ({'; '.join(differ)}); choose another --runs directory")
        # the domain's own agent arguments may have changed since (a run_dir moved with its runs is the same run)
        previous = {k: v for k, v in config.get("agent_args", plan.recorded).items() if k != "run_dir"}
        current = {k: v for k, v in plan.recorded.items() if k != "run_dir"}
        changed = sorted(k for k in previous.keys() | current.keys() if previous.get(k) != current.get(k))
        if changed:
            raise ExperimentError(f"{run_dir} holds a run with other agent arguments ({', '.join(changed)}; the domain "
                                  "changed since?); choose another --runs directory")
        recorded_version = config.get("domain_version", 1)  # runs from before domains had versions: 1
        if recorded_version != spec.version:
            raise ExperimentError(f"{run_dir} holds a run of {domain} version {recorded_version}, and the domain "
                                  f"is at version {spec.version} now; choose another --runs directory")
        plan.config = config
    return plan


def run(domain: str, curriculum: str = "sebn", seed: int = 0, steps: int | None = None, runs: str | Path = "runs",
        curriculum_options: Mapping[str, Any] | None = None, agent_options: Mapping[str, Any] | None = None,
        checkpoint_every: int | None = None, progress: bool = True) -> Path:
    """Run (or resume, or skip when complete) one experiment; returns its run directory.

    Args:
        domain: a name in :data:`DOMAINS`.
        curriculum: one of the domain's curricula (:attr:`Domain.curricula`).
        seed: seeds the agent, the envs and the curriculum.
        steps: env steps (the domain's default when ``None``).
        runs: the root of run directories.
        curriculum_options: passed to the curriculum (e.g. ``generation_size``; for the
            teacher ``reward``, ``teacher_updates``, ``batch_size``, and ``gradients`` and
            ``clear_buffer``, which go to the feeder).
        agent_options: the agent's ``Args`` fields to override.
        checkpoint_every: env steps between checkpoints (default: a tenth of the run).
        progress: show a progress bar.

    Raises:
        ExperimentError: from :func:`plan_run`, before anything is written.
    """
    plan = plan_run(domain, curriculum, seed, steps, runs, curriculum_options, agent_options, checkpoint_every)
    if plan.finished:
        return plan.run_dir
    run_dir, arguments, spec, agent = plan.run_dir, plan.arguments, plan.domain, plan.agent
    config_path = run_dir / "config.json"
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {**(plan.config or {**plan.what, "domain_version": spec.version, "version": __version__, "commit": _git_commit(),
                                 "started": _now()}),
              "agent_args": plan.recorded}
    write_json(config_path, config)

    if not plan.resume:
        _clear_records(run_dir)
    callbacks = ExperimentCallbacks(plan.curriculum, run_dir, plan.what["steps"], progress, **plan.feeding)
    try:
        result = agent.train(agent.Args(**arguments), make_env=spec.make_env, callbacks=callbacks)
    finally:
        callbacks.close()

    from agents.common import evaluate

    final = dict(result.get("final", {}))
    episodes = arguments.get("eval_episodes", 10)
    for name, build in spec.final_envs.items():
        env = build()
        final[name] = evaluate(result["policy"], env, episodes, seed=20_000 + seed)
        env.close()
    write_json(run_dir / "final.json", {"global_step": result["global_step"], **final})
    config["finished"] = _now()
    write_json(config_path, config)
    return run_dir


def _clear_records(run_dir: Path) -> None:
    """A run starting without a checkpoint starts its records afresh (an attempt killed
    before its first checkpoint may have left some)."""
    for path in (run_dir / "episodes.jsonl", run_dir / "generations.jsonl", run_dir / "evals.csv", *run_dir.glob("events.out.tfevents.*")):
        path.unlink(missing_ok=True)


def _keep_first(path: Path, n: int) -> None:
    records = read_jsonl(path)
    if len(records) != n:
        tmp = path.with_suffix(".tmp")
        write_jsonl(tmp, records[:n])
        os.replace(tmp, path)


def _csv_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(newline="") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)


def _keep_first_rows(path: Path, n: int) -> None:
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not n:
        path.unlink()
    elif len(rows) - 1 != n:
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", newline="") as f:
            csv.writer(f).writerows(rows[: n + 1])
        os.replace(tmp, path)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _git_commit() -> str | None:
    try:
        # the full hash, never a tag's name; "-dirty" when the working tree has uncommitted changes
        out = subprocess.run(["git", "describe", "--always", "--abbrev=40", "--dirty", "--exclude=*"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
