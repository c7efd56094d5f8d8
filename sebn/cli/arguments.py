"""What the command line's subcommands share: argument types, the run options of ``run``
and ``sweep``, and the one exception that means bad input (exit code 2).

Example:
    >>> seeds("0-2,5"), positive_int("3")
    ([0, 1, 2, 5], 3)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sebn.core import FIT_METHODS
from sebn.curricula.registry import GRADIENT_SOURCES, REWARDS, WEIGHTINGS


class UsageError(Exception):
    """Bad input other than a spec error: printed as one line, exit code 2."""


def _at_least(kind: type, noun: str, strict: bool):
    """An argparse type accepting values of ``kind`` above zero (``strict``) or from zero."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not (value > 0 if strict else value >= 0):
            raise argparse.ArgumentTypeError(
                f"expected a {'positive' if strict else 'non-negative'} {noun}, got {text!r}"
            )
        return value

    return parse


positive_int = _at_least(int, "integer", strict=True)
non_negative_int = _at_least(int, "integer", strict=False)
positive_float = _at_least(float, "number", strict=True)
non_negative_float = _at_least(float, "number", strict=False)


def figure_file(text: str) -> str:
    """An argparse type: a file name whose suffix is an image format matplotlib writes."""
    from matplotlib.figure import Figure  # imported only when a command that draws is parsed

    formats = sorted(Figure().canvas.get_supported_filetypes())
    if Path(text).suffix.lstrip(".").lower() not in formats:
        raise argparse.ArgumentTypeError(f"expected an image file (.{', .'.join(formats)}), got {text!r}")
    return text


def curricula_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one curriculum, e.g. sebn,uniform")
    return names


def parse_seeds(text: str) -> list[int]:
    """``"0-4"``, ``"0,2,7"`` or a mix, as a sorted list of distinct seeds.

    Raises:
        ValueError: for anything else.
    """
    chosen: set[int] = set()
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            raise ValueError(f"seeds must look like 0-4 or 0,2,7, not {text!r}") from None
        if first > last or first < 0:
            raise ValueError(f"seeds must look like 0-4 or 0,2,7, not {text!r}")
        chosen.update(range(first, last + 1))
    return sorted(chosen)


def seeds(text: str) -> list[int]:
    try:
        return parse_seeds(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _assignment(text: str) -> tuple[str, object]:
    """``FIELD=VALUE`` with the value read as JSON (a bare word stays a string)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


CURRICULUM_FLAGS = {
    "generation_size": ("--generation-size", None),
    "window": ("--window", None),
    "delta": ("--delta", None),
    "method": ("--fit-method", None),
    "weighting": ("--weighting", None),
    "teacher_updates": ("--teacher-updates", 1),
    "batch_size": ("--teacher-batch", 16),
    "gradients": ("--gradients", "actor"),
    "clear_buffer": ("--clear-buffer", False),
    "reward": ("--reward", "mean_norm"),
}
"""Curriculum option -> its flag and the flag's default. A curriculum gets every flag's
value that is one of its options (:func:`sebn.curricula.registry.curriculum_options`)."""


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """What ``run`` and ``sweep`` share: the budget, where runs go, curriculum and agent options."""
    parser.add_argument("--steps", type=positive_int, help="env steps (default: the domain's)")
    parser.add_argument("--runs", default="runs", help="root of the run directories (default runs/)")
    sebn_group = parser.add_argument_group("SEBN curriculum (sebn or anti)")
    sebn_group.add_argument("--generation-size", type=positive_int, help="episodes per generation (default 100)")
    sebn_group.add_argument("--window", type=positive_int, help="generations of episodes each fit uses (default 1)")
    sebn_group.add_argument("--delta", type=non_negative_float, help="smoothing added to every weight (default 0.01)")
    sebn_group.add_argument(
        "--fit-method",
        dest="method",
        choices=FIT_METHODS,
        help="how theta is fit each generation (default mle; svi/laplace/nuts use the posterior predictive)",
    )
    sebn_group.add_argument(
        "--weighting",
        choices=WEIGHTINGS,
        help="how a task's change is measured (default point, the paper's; expected and thompson use the posteriors "
        "of both generations and need --fit-method svi, laplace or nuts)",
    )
    teacher = parser.add_argument_group("gradient-norm teacher (gradient)")
    teacher.add_argument(
        "--teacher-updates",
        type=positive_int,
        default=CURRICULUM_FLAGS["teacher_updates"][1],
        help="gradient steps per batch of decisions",
    )
    teacher.add_argument(
        "--teacher-batch",
        dest="batch_size",
        type=positive_int,
        default=CURRICULUM_FLAGS["batch_size"][1],
        help="decisions per teacher update",
    )
    teacher.add_argument(
        "--gradients",
        choices=GRADIENT_SOURCES,
        default=CURRICULUM_FLAGS["gradients"][1],
        help="whose gradients reward the teacher",
    )
    teacher.add_argument("--clear-buffer", action="store_true", help="empty the replay buffer at every new task")
    parser.add_argument(
        "--algo",
        metavar="AGENT",
        help="the student: ppo, td3_fork or sac where the domain trains with it (default: the domain's own, "
        "the paper's; another is part of the run's label, e.g. sebn@ppo)",
    )
    parser.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        type=_assignment,
        help="override one field of the agent's Args, the value in JSON (e.g. hidden_sizes=[64,64]); repeatable",
    )
    parser.add_argument(
        "--track",
        action="store_true",
        help="mirror each run's TensorBoard metrics to Weights & Biases (project sebn; WANDB_MODE=offline keeps "
        'them on disk, under the run directory\'s wandb/); needs pip install -e ".[wandb]"',
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_reward_option(parser: argparse.ArgumentParser) -> None:
    """``run``'s choice of the teacher's reward (a sweep names it in the label: ``gradient-sum_norm``)."""
    parser.add_argument(
        "--reward", choices=REWARDS, default=CURRICULUM_FLAGS["reward"][1], help="the gradient-norm teacher's reward"
    )


def options_from_flags(args: argparse.Namespace, curricula: list[str]) -> dict[str, dict]:
    """Curriculum name -> the options the flags give it.

    Raises:
        UsageError: a flag given explicitly that none of ``curricula`` takes.
    """
    from sebn.curricula.registry import CURRICULA, curriculum_options

    values = {dest: getattr(args, dest) for dest in CURRICULUM_FLAGS if getattr(args, dest, None) is not None}
    options = {name: {k: v for k, v in values.items() if k in curriculum_options(name)} for name in curricula}
    unused = [
        dest
        for dest, value in values.items()
        if value != CURRICULUM_FLAGS[dest][1] and not any(dest in taken for taken in options.values())
    ]
    if unused:
        flags = ", ".join(CURRICULUM_FLAGS[dest][0] for dest in unused)
        takers = [name for name in CURRICULA if unused[0] in curriculum_options(name)]
        raise UsageError(f"{flags} applies to the {' and '.join(takers)} curricula, not {', '.join(curricula)}")
    return options


def read_json(path: str | Path) -> dict:
    """A JSON file, or a :class:`UsageError` naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: not valid JSON: {err}") from None
