"""The ``sebn`` command: check, show, simulate, fit and score requirement specs; run
experiments and plot them.

Exit codes: 0 success, 2 bad input (spec error, unreadable records, bad flag), 1 an
unexpected failure. Every bad-input message names the file (and for specs line:col).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sebn import __version__
from sebn.spec import SpecError, load_spec


class UsageError(Exception):
    """Bad input other than a spec error: printed as one line, exit code 2."""


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sebn", description="Skill-Environment Bayesian Network curricula.")
    parser.add_argument("--version", action="version", version=f"sebn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate a spec and report gaps and identifiability")
    check.add_argument("spec", help="a .sebn requirement spec")
    check.set_defaults(run=_check)

    show = commands.add_parser("show", help="draw the network: env, competency and target layers")
    show.add_argument("spec")
    show.add_argument("-o", "--output", required=True, help="image file to write (.png, .svg, .pdf)")
    show.set_defaults(run=_show)

    simulate = commands.add_parser("simulate", help="draw rollouts from the model under a known theta")
    simulate.add_argument("spec")
    simulate.add_argument("--theta", required=True, help='JSON file {"theta": {competency: [p0, p1, ...]}}')
    simulate.add_argument("-n", type=_positive_int, default=1000, help="rollouts to draw (default 1000)")
    simulate.add_argument("-o", "--output", required=True, help="episodes.jsonl to write")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument(
        "--observe", choices=("all", "task"), default="all", help="record every target's outcome, or only the task's target"
    )
    simulate.set_defaults(run=_simulate)

    fit = commands.add_parser("fit", help="fit theta to rollouts (MLE, MAP, SVI or NUTS)")
    fit.add_argument("spec")
    fit.add_argument("episodes", help="episodes.jsonl")
    fit.add_argument("--method", choices=("mle", "map", "svi", "nuts"), default="mle")
    fit.add_argument("--concentration", type=_positive_float, default=1.0, help="Dirichlet prior concentration (map, svi, nuts)")
    fit.add_argument("--fit-rates", action="store_true", help="also fit each target's success and slip rates")
    fit.add_argument("--samples", type=_positive_int, default=1000, help="posterior draws to keep (svi, nuts)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("-o", "--output", required=True, help="fit.json to write")
    fit.set_defaults(run=_fit)

    score = commands.add_parser("score", help="P(target=1 | setting) for every setting under a fit")
    score.add_argument("spec")
    score.add_argument("--fit", required=True, help="fit.json (or a theta file)")
    score.add_argument("--top", type=_positive_int, help="only the K most likely (setting, target) pairs")
    score.add_argument("--target", help="only this target")
    score.add_argument("--json", action="store_true", help='print one JSON array of {"env", "target", "p"}')
    score.set_defaults(run=_score)

    from sebn.curricula import CURRICULA
    from sebn.experiment import DOMAINS, SPACE_CURRICULA
    from sebn.teacher import REWARDS

    run = commands.add_parser("run", help="train an agent on a domain with a curriculum (resumes a killed run)")
    run.add_argument("domain", choices=DOMAINS)
    run.add_argument("--curriculum", choices=sorted(set(CURRICULA) | set(SPACE_CURRICULA), key=[*CURRICULA, "gradient"].index),
                     default="sebn", help="sebn, anti, alp-gmm: domains with a spec; gradient: domains without")
    run.add_argument("--seed", type=int, default=0)
    _add_run_options(run)
    run.add_argument("--checkpoint-every", type=_positive_int, help="env steps between checkpoints (default: a tenth)")
    run.add_argument("--reward", choices=REWARDS, default="mean_norm", help="the gradient-norm teacher's reward")
    run.set_defaults(run=_run)

    sweep = commands.add_parser("sweep", help="run curricula x seeds of a domain on a process pool or a Ray cluster")
    sweep.add_argument("domain", choices=DOMAINS)
    sweep.add_argument("--curricula", type=_curricula, default=["sebn", "uniform", "anti", "target"],
                       help="comma-separated curricula (default sebn,uniform,anti,target; the teacher by reward: "
                            "gradient-mean_norm, gradient-sum_norm); options as -key=value override the flags, e.g. "
                            "sebn-generation_size=20 or gradient-mean_norm-batch_size=4")
    sweep.add_argument("--seeds", type=_seeds, default=[0, 1, 2, 3, 4], help="e.g. 0-4 or 0,2,7 (default 0-4)")
    sweep.add_argument("--workers", type=_positive_int, default=2, help="processes of the local pool (default 2)")
    sweep.add_argument("--ray", metavar="ADDRESS", help='run on a Ray cluster ("auto", "ray://host:10001", or "local")')
    _add_run_options(sweep)
    sweep.set_defaults(run=_sweep)

    plot = commands.add_parser("plot", help="learning curves and curriculum pictures of runs")
    plot.add_argument("runs", nargs="+", help="run directories, or directories holding them")
    plot.add_argument("-o", "--output", required=True, help="image file to write")
    plot.add_argument("--ema", type=float, default=0.0, help="exponential smoothing weight in [0, 1), debiased as in TensorBoard (0: none)")
    plot.set_defaults(run=_plot)

    report = commands.add_parser("report", help="IQM tables with bootstrap intervals and plots of finished runs")
    report.add_argument("runs", nargs="+", help="run directories, or directories holding them")
    report.add_argument("-o", "--output", required=True, help="the Markdown report to write (plots go beside it)")
    report.add_argument("--threshold", type=float, help="for env steps to threshold (default 0.5 for success rates)")
    report.add_argument("--reference", default="sebn",
                        help="run label compared with each other one, or a curriculum's name when it has one label (default sebn)")
    report.add_argument("--metric", choices=("success_rate", "episodic_return"),
                        help="what to compare (default: the success rate where every final env reports it, else the return)")
    report.add_argument("--ema", type=float, default=0.6, help="smoothing of the plotted curves in [0, 1) (default 0.6)")
    report.set_defaults(run=_report)
    return parser


def _at_least(kind: type, noun: str, strict: bool):
    """An argparse type accepting values of ``kind`` above zero (``strict``) or from zero."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not (value > 0 if strict else value >= 0):
            raise argparse.ArgumentTypeError(f"expected a {'positive' if strict else 'non-negative'} {noun}, got {text!r}")
        return value

    return parse


_positive_int = _at_least(int, "integer", strict=True)
_positive_float = _at_least(float, "number", strict=True)
_non_negative_float = _at_least(float, "number", strict=False)


def _curricula(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one curriculum, e.g. sebn,uniform")
    return names


def _seeds(text: str) -> list[int]:
    from sebn.sweep import parse_seeds

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


def _network(path: str):
    from sebn.network import SEBN

    return SEBN(load_spec(path))


def _read_json(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: not valid JSON: {err}") from None


def _theta(net, path: str):
    from sebn.fit import theta_from_json

    try:
        return theta_from_json(net, _read_json(path), path)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _check(args) -> int:
    from sebn.check import check_spec

    net = _network(args.spec)
    print(f"{args.spec}: ok: {len(net.env)} env variables ({net.n_settings} settings), "
          f"{len(net.base)} base and {len(net.derived)} derived competencies, {len(net.targets)} targets, {len(net.rules)} target lines")
    print(check_spec(net).render())
    return 0


def _show(args) -> int:
    from sebn.plots import draw_network

    net = _network(args.spec)
    try:
        draw_network(net, args.output)
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot write {args.output}: {err}") from None
    print(f"wrote {args.output}")
    return 0


def _simulate(args) -> int:
    import torch

    from sebn.model import simulate
    from sebn.records import write_jsonl

    net = _network(args.spec)
    theta = _theta(net, args.theta)
    generator = torch.Generator().manual_seed(args.seed)
    settings = net.settings()
    picks = torch.randint(len(settings), (args.n,), generator=generator)
    chosen_targets = torch.randint(len(net.targets), (args.n,), generator=generator)
    tasks = []
    for row, target in zip(picks.tolist(), chosen_targets.tolist()):
        task = net.describe_setting(settings[row])
        if len(net.targets) > 1:
            task["target"] = net.targets[target]
        tasks.append(task)
    records = simulate(net, theta, tasks, seed=args.seed, observe=args.observe)
    try:
        write_jsonl(args.output, records)
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from None
    successes = sum(r["return"] for r in records)
    print(f"wrote {len(records)} rollouts to {args.output} ({successes:.0f} task successes)")
    return 0


def _fit(args) -> int:
    from sebn.fit import fit
    from sebn.records import RecordError, read_jsonl

    net = _network(args.spec)
    try:
        records = read_jsonl(args.episodes)
        result = fit(net, records, method=args.method, concentration=args.concentration, fit_rates=args.fit_rates,
                     num_samples=args.samples, seed=args.seed)
    except RecordError as err:
        raise UsageError(str(err)) from None
    if result.n_records == 0:
        raise UsageError(f"{args.episodes} holds no episodes")
    data = result.to_json()
    data["spec"] = args.spec
    try:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from None
    print(f"{args.method} fit on {result.n_records} rollouts ({result.n_groups} distinct groups), log-likelihood {result.log_likelihood:.2f}")
    print(_theta_table(net, result))
    print(f"wrote {args.output}")
    return 0


def _theta_table(net, result) -> str:
    width = max(len(c) for c in net.base)
    top = max(net.n_levels)
    lines = [f"{'competency':<{max(width, 10)}}  " + "  ".join(f"P(={k})".rjust(7) for k in range(top))]
    for name in net.base:
        probs = result.theta[name].tolist()
        cells = [f"{p:7.3f}" for p in probs]
        if result.draws is not None:
            sd = result.draws[name].std(0).tolist()
            cells = [f"{p:.3f}±{s:.3f}".rjust(13) for p, s in zip(probs, sd)]
        lines.append(f"{name:<{max(width, 10)}}  " + "  ".join(cells))
    return "\n".join(lines)


def _score(args) -> int:
    from sebn.fit import rates_from_json
    from sebn.inference import score

    net = _network(args.spec)
    data = _read_json(args.fit)
    theta = _theta(net, args.fit)
    if args.target is not None and args.target not in net.targets:
        raise UsageError(f"unknown target '{args.target}' (the spec has: {', '.join(net.targets)})")
    try:
        rates = rates_from_json(net, data, args.fit)
    except ValueError as err:
        raise UsageError(str(err)) from None
    settings = net.settings()
    probs = score(net, theta, settings, rates)
    rows = [
        {"env": net.describe_setting(settings[i]), "target": name, "p": float(probs[i, t])}
        for i in range(len(settings))
        for t, name in enumerate(net.targets)
        if args.target in (None, name)
    ]
    if args.top:
        rows = sorted(rows, key=lambda r: -r["p"])[: args.top]
    if args.json:
        print(json.dumps(rows))
        return 0
    header = list(net.env) + ["target", "p"]
    table = [[str(r["env"][v]) for v in net.env] + [r["target"], f"{r['p']:.4f}"] for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for row in table:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    return 0


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """What ``run`` and ``sweep`` share: the budget, where runs go, curriculum and agent options."""
    from sebn.teacher import PARAMETERS

    parser.add_argument("--steps", type=_positive_int, help="env steps (default: the domain's)")
    parser.add_argument("--runs", default="runs", help="root of the run directories (default runs/)")
    sebn_group = parser.add_argument_group("SEBN curriculum (sebn or anti)")
    sebn_group.add_argument("--generation-size", type=_positive_int, help="episodes per generation (default 100)")
    sebn_group.add_argument("--window", type=_positive_int, help="generations of episodes each fit uses (default 1)")
    sebn_group.add_argument("--delta", type=_non_negative_float, help="smoothing added to every weight (default 0.01)")
    sebn_group.add_argument("--fit-method", choices=("mle", "map", "svi", "nuts"),
                            help="how theta is fit each generation (default mle; svi/nuts use the posterior predictive)")
    teacher = parser.add_argument_group("gradient-norm teacher (gradient)")
    teacher.add_argument("--teacher-updates", type=_positive_int, default=1, help="gradient steps per batch of decisions")
    teacher.add_argument("--teacher-batch", type=_positive_int, default=16, help="decisions per teacher update")
    teacher.add_argument("--gradients", choices=PARAMETERS, default="actor", help="whose gradients reward the teacher")
    teacher.add_argument("--clear-buffer", action="store_true", help="empty the replay buffer at every new task")
    parser.add_argument("--agent", action="append", default=[], metavar="FIELD=VALUE", type=_assignment,
                        help="override one field of the agent's Args, the value in JSON (e.g. hidden_sizes=[64,64]); repeatable")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _curriculum_options(args, curricula: list[str]) -> dict[str, dict]:
    """Curriculum name -> the options the flags give it; SEBN flags need sebn or anti among ``curricula``."""
    given = {"generation_size": args.generation_size, "window": args.window, "delta": args.delta, "method": args.fit_method}
    sebn_options = {k: v for k, v in given.items() if v is not None}
    if sebn_options and not {"sebn", "anti"} & set(curricula):
        flags = ", ".join("--" + k.replace("_", "-").replace("method", "fit-method") for k in sebn_options)
        raise UsageError(f"{flags} applies to the sebn and anti curricula, not {', '.join(curricula)}")
    teacher = {"teacher_updates": args.teacher_updates, "batch_size": args.teacher_batch, "gradients": args.gradients,
               "clear_buffer": args.clear_buffer}
    return {"sebn": sebn_options, "anti": sebn_options, "gradient": teacher}


def _run(args) -> int:
    from sebn.experiment import ExperimentError, run

    options = _curriculum_options(args, [args.curriculum]).get(args.curriculum, {})
    if args.curriculum == "gradient":
        options = {**options, "reward": args.reward}
    try:
        run_dir = run(args.domain, args.curriculum, args.seed, args.steps, args.runs, curriculum_options=options,
                      agent_options=dict(args.agent), checkpoint_every=args.checkpoint_every, progress=not args.no_progress)
    except (ExperimentError, ImportError) as err:
        raise UsageError(str(err)) from None
    final = _read_json(str(run_dir / "final.json"))
    print(f"results: {run_dir}  (episodes.jsonl, generations.jsonl, evals.csv, final.json, TensorBoard events)")
    for name, metrics in final.items():
        if isinstance(metrics, dict):
            shown = ", ".join(f"{k.removeprefix('eval/')} {v:.3g}" for k, v in metrics.items())
            print(f"final evaluation, {name}: {shown}")
    return 0


def _sweep(args) -> int:
    from sebn.experiment import load_domain, parse_curriculum_label
    from sebn.sweep import SweepError, sweep

    allowed = load_domain(args.domain).curricula
    try:
        wrong = [c for c in args.curricula if parse_curriculum_label(c)[0] not in allowed]
    except ValueError as err:
        raise UsageError(str(err)) from None
    if wrong:
        raise UsageError(f"domain {args.domain} takes the curricula {', '.join(allowed)}, not {', '.join(wrong)}")
    try:
        outcomes = sweep(args.domain, args.curricula, args.seeds, steps=args.steps, runs=args.runs, workers=args.workers,
                         ray_address=args.ray, curriculum_options=_curriculum_options(args, [parse_curriculum_label(c)[0] for c in args.curricula]),
                         agent_options=dict(args.agent), progress=not args.no_progress)
    except SweepError as err:
        raise UsageError(str(err)) from None
    failed = [o for o in outcomes if o.status == "failed"]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} runs complete in {Path(args.runs) / args.domain}"
          f" (sweep.json lists them)")
    for outcome in failed:
        print(f"failed: {outcome.run_dir}: {outcome.error} (details in failed.json)")
    return 1 if failed else 0


def _plot(args) -> int:
    from sebn.plots import RunsError, plot_runs

    if not 0 <= args.ema < 1:
        raise UsageError(f"--ema must be in [0, 1), got {args.ema}")
    try:
        plot_runs([Path(r) for r in args.runs], Path(args.output), smoothing=args.ema)
    except RunsError as err:
        raise UsageError(str(err)) from None
    print(f"plot: {args.output}")
    return 0


def _report(args) -> int:
    from sebn.plots import RunsError
    from sebn.report import write_report

    if not 0 <= args.ema < 1:
        raise UsageError(f"--ema must be in [0, 1), got {args.ema}")
    try:
        reports = write_report([Path(r) for r in args.runs], Path(args.output), args.threshold, args.reference, args.ema,
                               args.metric)
    except RunsError as err:
        raise UsageError(str(err)) from None
    print(f"report: {args.output} ({', '.join(f'{r.domain}: {sum(row.runs for row in r.rows)} runs' for r in reports)})")
    return 0


def run_domain(name: str) -> None:
    """``python -m domains.<module> ARGS``: the same as ``sebn run <name> ARGS``."""
    raise SystemExit(main(["run", name, *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
