"""The subcommands that run and read experiments: ``run``, ``sweep``, ``plot``, ``report``."""

from __future__ import annotations

import sys
from pathlib import Path

from sebn.cli.arguments import UsageError, options_from_flags


def run(args) -> int:
    from sebn.runner.experiment import ExperimentError
    from sebn.runner.experiment import run as run_experiment
    from sebn.runner.rundir import RunDir

    options = options_from_flags(args, [args.curriculum])[args.curriculum]
    try:
        run_dir = run_experiment(
            args.domain,
            args.curriculum,
            args.seed,
            args.steps,
            args.runs,
            curriculum_options=options,
            agent_options=dict(args.agent),
            checkpoint_every=args.checkpoint_every,
            progress=not args.no_progress,
            algo=args.algo,
            track=args.track,
        )
    except (ExperimentError, ImportError) as err:
        raise UsageError(str(err)) from None
    final = RunDir(run_dir).read_final()
    print(f"results: {run_dir}  (episodes.jsonl, generations.jsonl, evals.csv, final.json, TensorBoard events)")
    for name, metrics in final.items():
        if isinstance(metrics, dict):
            shown = ", ".join(f"{k.removeprefix('eval/')} {v:.3g}" for k, v in metrics.items())
            print(f"final evaluation, {name}: {shown}")
    return 0


def sweep(args) -> int:
    from sebn.curricula.registry import parse_curriculum_label
    from sebn.runner.domains import load_domain
    from sebn.runner.sweep import SweepError
    from sebn.runner.sweep import sweep as run_sweep

    allowed = load_domain(args.domain).curricula
    try:
        wrong = [c for c in args.curricula if parse_curriculum_label(c)[0] not in allowed]
    except ValueError as err:
        raise UsageError(str(err)) from None
    if wrong:
        raise UsageError(f"domain {args.domain} takes the curricula {', '.join(allowed)}, not {', '.join(wrong)}")
    try:
        outcomes = run_sweep(
            args.domain,
            args.curricula,
            args.seeds,
            steps=args.steps,
            runs=args.runs,
            workers=args.workers,
            ray_address=args.ray,
            curriculum_options=options_from_flags(args, [parse_curriculum_label(c)[0] for c in args.curricula]),
            agent_options=dict(args.agent),
            progress=not args.no_progress,
            algo=args.algo,
            track=args.track,
        )
    except SweepError as err:
        raise UsageError(str(err)) from None
    failed = [o for o in outcomes if o.status == "failed"]
    print(
        f"{len(outcomes) - len(failed)} of {len(outcomes)} runs complete in {Path(args.runs) / args.domain}"
        f" (sweep.json lists them)"
    )
    for outcome in failed:
        print(f"failed: {outcome.run_dir}: {outcome.error} (details in failed.json)")
    return 1 if failed else 0


def plot(args) -> int:
    from sebn.core.records import RecordError
    from sebn.report.plots import plot_runs
    from sebn.runner.rundir import RunsError

    if not 0 <= args.ema < 1:
        raise UsageError(f"--ema must be in [0, 1), got {args.ema}")
    try:
        plot_runs([Path(r) for r in args.runs], Path(args.output), smoothing=args.ema)
    except (RunsError, RecordError) as err:  # a bad record names its file and line
        raise UsageError(str(err)) from None
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from None
    print(f"plot: {args.output}")
    return 0


def report(args) -> int:
    from sebn.core.records import RecordError
    from sebn.report.summary import one_seed_warning, write_report
    from sebn.runner.rundir import RunsError

    if not 0 <= args.ema < 1:
        raise UsageError(f"--ema must be in [0, 1), got {args.ema}")
    try:
        reports = write_report(
            [Path(r) for r in args.runs], Path(args.output), args.threshold, args.reference, args.ema, args.metric
        )
    except (RunsError, RecordError) as err:  # a bad record names its file and line
        raise UsageError(str(err)) from None
    except OSError as err:
        raise UsageError(f"cannot write {args.output} or the plots beside it: {err.strerror or err}") from None
    for one_report in reports:
        single = [row.label for row in one_report.rows if row.runs == 1]
        if single:
            print(f"warning: {one_report.domain}: {one_seed_warning(single)}", file=sys.stderr)
    print(
        f"report: {args.output} ({', '.join(f'{r.domain}: {sum(row.runs for row in r.rows)} runs' for r in reports)})"
    )
    return 0
