"""The ``sebn`` command: check, show, simulate, fit and score requirement specs; run
experiments and report on them.

Exit codes: 0 success, 2 bad input (spec error, unreadable records, bad flag), 1 an
unexpected failure. Every bad-input message names the file (and for specs line:col).

Building the parser imports nothing heavy (the registries of curricula and domains are
plain tables); each subcommand imports what it needs when it runs
(:mod:`sebn.cli.spec_commands`, :mod:`sebn.cli.run_commands`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from sebn import __version__
from sebn.cli.arguments import (
    UsageError,
    add_reward_option,
    add_run_options,
    curricula_list,
    figure_file,
    non_negative_int,
    positive_float,
    positive_int,
    seeds,
)
from sebn.core import FIT_METHODS
from sebn.core.spec import SpecError
from sebn.curricula.registry import CURRICULA
from sebn.runner.domains import DOMAINS


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except SpecError as err:
        print(err.render(), file=sys.stderr)
        return 2
    except UsageError as err:
        print(f"sebn {args.command}: error: {err}", file=sys.stderr)
        return 2


def _later(module: str, command: str) -> Callable[[argparse.Namespace], int]:
    """A subcommand's handler, imported only when it runs."""

    def handle(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(f"sebn.cli.{module}"), command)(args)

    return handle


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sebn", description="Skill-Environment Bayesian Network curricula.")
    parser.add_argument("--version", action="version", version=f"sebn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate a spec and report gaps and identifiability")
    check.add_argument("spec", help="a .sebn requirement spec")
    check.set_defaults(run=_later("spec_commands", "check"))

    show = commands.add_parser("show", help="draw the network: env, competency and target layers")
    show.add_argument("spec")
    show.add_argument("-o", "--output", type=figure_file, required=True, help="image file to write (.png, .svg, .pdf)")
    show.set_defaults(run=_later("spec_commands", "show"))

    simulate = commands.add_parser("simulate", help="draw rollouts from the model under a known theta")
    simulate.add_argument("spec")
    simulate.add_argument("--theta", required=True, help='JSON file {"theta": {competency: [p0, p1, ...]}}')
    simulate.add_argument("-n", type=positive_int, default=1000, help="rollouts to draw (default 1000)")
    simulate.add_argument("-o", "--output", required=True, help="episodes.jsonl to write")
    simulate.add_argument("--seed", type=non_negative_int, default=0)
    simulate.add_argument(
        "--observe",
        choices=("all", "task"),
        default="all",
        help="record every target's outcome, or only the task's target",
    )
    simulate.set_defaults(run=_later("spec_commands", "simulate"))

    fit = commands.add_parser("fit", help="fit theta to rollouts (MLE, MAP, SVI or NUTS)")
    fit.add_argument("spec")
    fit.add_argument("episodes", help="episodes.jsonl")
    fit.add_argument("--method", choices=FIT_METHODS, default="mle")
    fit.add_argument(
        "--concentration", type=positive_float, default=1.0, help="Dirichlet prior concentration (all but mle)"
    )
    fit.add_argument("--fit-rates", action="store_true", help="also fit each target's success and slip rates")
    fit.add_argument(
        "--samples", type=positive_int, default=1000, help="posterior draws (svi, laplace; nuts per chain)"
    )
    fit.add_argument("--warmup", type=positive_int, default=500, help="NUTS warm-up steps (default 500)")
    fit.add_argument("--chains", type=positive_int, default=1, help="NUTS chains, in parallel processes (default 1)")
    fit.add_argument("--svi-steps", type=positive_int, default=3000, help="the most SVI steps (it stops when settled)")
    fit.add_argument("--seed", type=non_negative_int, default=0)
    fit.add_argument("-o", "--output", required=True, help="fit.json to write")
    fit.set_defaults(run=_later("spec_commands", "fit"))

    score = commands.add_parser("score", help="P(target=1 | setting) for every setting under a fit")
    score.add_argument("spec")
    score.add_argument("--fit", required=True, help="fit.json (or a theta file)")
    score.add_argument("--top", type=positive_int, help="only the K most likely (setting, target) pairs")
    score.add_argument("--target", help="only this target")
    score.add_argument("--json", action="store_true", help='print one JSON array of {"env", "target", "p"}')
    score.set_defaults(run=_later("spec_commands", "score"))

    run = commands.add_parser("run", help="train an agent on a domain with a curriculum (resumes a killed run)")
    run.add_argument("domain", choices=DOMAINS)
    both = "sebn, anti, alp-gmm: domains with a spec; gradient: domains without; uniform, target: both"
    run.add_argument("--curriculum", choices=CURRICULA, default="sebn", help=both)
    run.add_argument("--seed", type=non_negative_int, default=0)
    add_run_options(run)
    run.add_argument("--checkpoint-every", type=positive_int, help="env steps between checkpoints (default: a tenth)")
    add_reward_option(run)
    run.set_defaults(run=_later("run_commands", "run"))

    sweep = commands.add_parser("sweep", help="run curricula x seeds of a domain on a process pool or a Ray cluster")
    sweep.add_argument("domain", choices=DOMAINS)
    sweep.add_argument(
        "--curricula",
        type=curricula_list,
        default=["sebn", "uniform", "anti", "target"],
        help="comma-separated curricula (default sebn,uniform,anti,target; the teacher by reward: "
        "gradient-mean_norm, gradient-sum_norm); options as -key=value override the flags, e.g. "
        "sebn-generation_size=20 or gradient-mean_norm-batch_size=4",
    )
    sweep.add_argument("--seeds", type=seeds, default=[0, 1, 2, 3, 4], help="e.g. 0-4 or 0,2,7 (default 0-4)")
    sweep.add_argument("--workers", type=positive_int, default=2, help="processes of the local pool (default 2)")
    sweep.add_argument("--ray", metavar="ADDRESS", help='run on a Ray cluster ("auto", "ray://host:10001", or "local")')
    add_run_options(sweep)
    sweep.set_defaults(run=_later("run_commands", "sweep"))

    plot = commands.add_parser("plot", help="learning curves and curriculum pictures of runs")
    plot.add_argument("runs", nargs="+", help="run directories, or directories holding them")
    plot.add_argument("-o", "--output", type=figure_file, required=True, help="image file to write (.png, .svg, .pdf)")
    plot.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="exponential smoothing weight in [0, 1), debiased as in TensorBoard (0: none)",
    )
    plot.set_defaults(run=_later("run_commands", "plot"))

    report = commands.add_parser("report", help="IQM tables with bootstrap intervals and plots of finished runs")
    report.add_argument("runs", nargs="+", help="run directories, or directories holding them")
    report.add_argument("-o", "--output", required=True, help="the Markdown report to write (plots go beside it)")
    report.add_argument("--threshold", type=float, help="for env steps to threshold (default 0.5 for success rates)")
    report.add_argument(
        "--reference",
        default="sebn",
        help="run label compared with each other one, or a curriculum's name when it has one label (default sebn)",
    )
    report.add_argument(
        "--metric",
        choices=("success_rate", "episodic_return"),
        help="what to compare (default: the success rate where every final env reports it, else the return)",
    )
    report.add_argument(
        "--ema", type=float, default=0.6, help="smoothing of the plotted curves in [0, 1) (default 0.6)"
    )
    report.set_defaults(run=_later("run_commands", "report"))
    return parser


if __name__ == "__main__":
    sys.exit(main())
