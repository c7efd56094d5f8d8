"""The registry of curricula: every curriculum by name, and the labels that name runs.

Adding a curriculum touches this one table: an :class:`Entry` says where its class lives
(imported only when the curriculum is built, so that the command line can list names
without loading torch), what it needs (a spec's task space or a gym space), the options
its name fixes, and which options belong to the feeder rather than the curriculum. A
curriculum's own options are read from its constructor; its ``build`` classmethod takes a
:class:`~sebn.curricula.base.Setting` and an option dict.

A run's identity is structured data (name and options, kept in ``config.json``); a
*label* is its display and command-line form, made by :func:`curriculum_label` and read
back by :func:`parse_curriculum_label` alone.

Example:
    >>> curriculum_label("gradient", {"reward": "sum_norm", "batch_size": 16}), curriculum_label("sebn", {"window": 3})
    ('gradient-sum_norm', 'sebn-window=3')
    >>> parse_curriculum_label("gradient-sum_norm-batch_size=4"), parse_curriculum_label("alp-gmm")
    (('gradient', {'reward': 'sum_norm', 'batch_size': 4}), ('alp-gmm', {}))
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

REWARDS = ("mean_norm", "sum_norm")
"""The gradient-norm teacher's rewards (the gradient-norm paper's two)."""
GRADIENT_SOURCES = ("actor", "critic", "both")
"""Whose gradients a feeder collects for the gradient-norm teacher."""
WEIGHTINGS = ("point", "expected", "thompson")
"""How the SEBN curriculum measures a task's change in predicted success
(:func:`sebn.curricula.sebn.predicted_change`)."""

Needs = Literal["spec", "space", "any"]


@dataclass(frozen=True)
class Entry:
    """One curriculum of the registry.

    Attributes:
        name: the name the command line and ``config.json`` use.
        cls: ``"module:Class"`` of its class, imported when first needed.
        needs: ``"spec"`` (a requirement spec's tasks), ``"space"`` (a gym task space) or
            ``"any"``.
        fixed: constructor options the name itself sets (``anti``: ``anti=True``).
        named_by: an option whose value joins the name in labels (``gradient-sum_norm``).
        feeder: options the feeder takes instead of the curriculum, with their defaults.
        adaptive: whether it learns from the episodes it is shown (baselines do not).
    """

    name: str
    cls: str
    needs: Needs
    fixed: Mapping[str, Any] = field(default_factory=dict)
    named_by: str | None = None
    feeder: Mapping[str, Any] = field(default_factory=dict)
    adaptive: bool = True

    def load(self) -> type:
        module, _, name = self.cls.partition(":")
        return getattr(importlib.import_module(module), name)

    def suits(self, has_spec: bool) -> bool:
        """Whether a domain with (or without) a requirement spec can use it."""
        return self.needs == "any" or (self.needs == "spec") == has_spec


ENTRIES = (
    Entry("sebn", "sebn.curricula.sebn:SEBNCurriculum", "spec", fixed={"anti": False}),
    Entry("anti", "sebn.curricula.sebn:SEBNCurriculum", "spec", fixed={"anti": True}),
    Entry(
        "gradient",
        "sebn.curricula.teacher:GradientNormTeacher",
        "space",
        named_by="reward",
        feeder={"gradients": "actor", "clear_buffer": False},
    ),
    Entry("uniform", "sebn.curricula.baselines:UniformCurriculum", "any", adaptive=False),
    Entry("target", "sebn.curricula.baselines:TargetCurriculum", "any", adaptive=False),
    Entry("alp-gmm", "sebn.curricula.alp_gmm:ALPGMMCurriculum", "spec"),
)
CURRICULA: dict[str, Entry] = {entry.name: entry for entry in ENTRIES}

_SET_BY_THE_RUN = {"self", "seed", "space"}  # what ``build`` passes from the setting


def curricula_for(has_spec: bool) -> tuple[str, ...]:
    """The curricula a domain with (or without) a requirement spec takes, in registry order."""
    return tuple(name for name, chosen in CURRICULA.items() if chosen.suits(has_spec))


def entry(name: str) -> Entry:
    """The registry's entry for ``name``.

    Raises:
        ValueError: an unknown name, with the known ones.
    """
    if name not in CURRICULA:
        raise ValueError(f"unknown curriculum {name!r}; choose one of {', '.join(CURRICULA)}")
    return CURRICULA[name]


@cache
def curriculum_options(name: str) -> dict[str, Any]:
    """The options a curriculum takes, with their defaults: its constructor's (read from
    the signature) less what its setting and name fix, and its feeder's options."""
    chosen = entry(name)
    parameters = inspect.signature(chosen.load().__init__).parameters.values()
    own = {
        p.name: p.default
        for p in parameters
        if p.default is not inspect.Parameter.empty and p.name not in _SET_BY_THE_RUN | set(chosen.fixed)
    }
    return {**own, **chosen.feeder}


def build_curriculum(name: str, setting: Any, seed: int = 0, options: Mapping[str, Any] | None = None):
    """Curriculum ``name`` for ``setting`` (a :class:`~sebn.curricula.base.Setting`),
    with its options (feeder options are not the curriculum's: leave them out)."""
    chosen = entry(name)
    return chosen.load().build(setting, seed=seed, **chosen.fixed, **dict(options or {}))


def make_curriculum(
    name: str, net: Any, evaluation: Sequence[Mapping[str, Any]], space: Any = None, seed: int = 0, **options: Any
):
    """A curriculum over a requirement spec's tasks by name, outside a run (scripts, notebooks).

    Args:
        name: a curriculum for specs (:func:`curricula_for`).
        net: the network (:class:`sebn.core.network.SEBN`).
        evaluation: the evaluation task(s), which ``target`` trains on.
        space: the task space (every setting x target by default).
        seed: the curriculum's seed.
        **options: the curriculum's options.
    """
    if name not in curricula_for(has_spec=True):
        raise ValueError(f"unknown curriculum {name!r}; choose one of {', '.join(curricula_for(has_spec=True))}")
    from sebn.curricula.base import Setting, TaskSpace

    return build_curriculum(name, Setting(space or TaskSpace(net), [dict(task) for task in evaluation]), seed, options)


def curriculum_label(name: str, options: Mapping[str, Any]) -> str:
    """A run's display name: the curriculum, the value of the option that names it (if
    any), then every option that differs from its default as ``-key=value``, sorted, so
    runs of one curriculum with other options land side by side and reports tell them
    apart."""
    defaults = curriculum_options(name)
    named_by = entry(name).named_by
    label = f"{name}-{options.get(named_by, defaults[named_by])}" if named_by else name
    changed = sorted(k for k, v in options.items() if k != named_by and (k not in defaults or v != defaults[k]))
    return "".join([label, *(f"-{k}={_label_value(options[k])}" for k in changed)])


def _label_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


_LABEL_OPTION = re.compile(r"-([A-Za-z_]\w*)=(.*?)(?=-[A-Za-z_]\w*=|$)")


def parse_curriculum_label(label: str) -> tuple[str, dict[str, Any]]:
    """The curriculum and options a label names (:func:`curriculum_label`'s inverse):
    ``-key=value`` parts are options (values read as JSON where they parse, else as
    text); a curriculum named by an option takes its value after the name.

    Raises:
        ValueError: an unknown curriculum, or an option it does not take.
    """
    start = _LABEL_OPTION.search(label)
    head, tail = (label[: start.start()], label[start.start() :]) if start else (label, "")
    name, options = head, {}
    prefix, _, value = head.partition("-")
    if head not in CURRICULA and prefix in CURRICULA and CURRICULA[prefix].named_by and value:
        name, options = prefix, {CURRICULA[prefix].named_by: value}
    allowed = curriculum_options(name) if name in CURRICULA else {}  # the caller names what is allowed
    for key, text in _LABEL_OPTION.findall(tail):
        if key not in allowed:
            takes = f"its options: {', '.join(sorted(allowed))}" if allowed else "it takes none"
            raise ValueError(f"curriculum label {label!r}: {name} has no option '{key}' ({takes})")
        try:
            options[key] = json.loads(text)
        except json.JSONDecodeError:
            options[key] = text
    return name, options
