"""The subcommands that work on a spec: ``check``, ``show``, ``simulate``, ``fit``, ``score``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sebn.cli.arguments import UsageError, read_json
from sebn.core.spec import load_spec


def _network(path: str):
    from sebn.core.network import SEBN

    return SEBN(load_spec(path))


def _fit_file(net, path: str):
    """A theta/fit file read once and validated as every command reads it: theta, rates
    (``None`` when it has none), and the posterior draws of theta and of the rates
    (``None`` for a point fit)."""
    from sebn.core.fit import draws_from_json, rates_from_json, theta_from_json

    data = read_json(path)
    try:
        return (theta_from_json(net, data, path), rates_from_json(net, data, path), *draws_from_json(net, data, path))
    except ValueError as err:
        raise UsageError(str(err)) from None


def check(args) -> int:
    from sebn.core.check import check_spec, readable_count

    net = _network(args.spec)
    print(
        f"{args.spec}: ok: {len(net.env)} env variables ({readable_count(net.n_settings)} settings), "
        f"{len(net.base)} base and {len(net.derived)} derived competencies, {len(net.targets)} targets, "
        f"{len(net.rules)} target lines"
    )
    print(check_spec(net).render())
    return 0


def show(args) -> int:
    from sebn.report.plots import draw_network

    net = _network(args.spec)
    try:
        draw_network(net, args.output)
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot write {args.output}: {err}") from None
    print(f"wrote {args.output}")
    return 0


def simulate(args) -> int:
    import numpy as np

    from sebn.core.model import simulate
    from sebn.core.records import write_jsonl
    from sebn.curricula.base import TaskSpace

    net = _network(args.spec)
    theta, rates, _, _ = _fit_file(net, args.theta)
    tasks = TaskSpace(net).uniform(args.n, np.random.default_rng(args.seed))  # never lists the settings
    records = simulate(net, theta, tasks, seed=args.seed, observe=args.observe, rates=rates)
    try:
        write_jsonl(args.output, records)
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from None
    successes = sum(r["return"] for r in records)
    print(f"wrote {len(records)} rollouts to {args.output} ({successes:.0f} task successes)")
    return 0


def fit(args) -> int:
    from sebn.core.fit import SufficientStats, fit
    from sebn.core.records import RecordError, observations, read_jsonl

    net = _network(args.spec)
    try:
        records = read_jsonl(args.episodes)
        if not records:
            raise UsageError(f"{args.episodes} holds no episodes")
        settings, observed = observations(net, records, args.episodes)
        result = fit(
            net,
            SufficientStats.from_observations(net, settings, observed, args.episodes),
            method=args.method,
            concentration=args.concentration,
            fit_rates=args.fit_rates,
            num_samples=args.samples,
            warmup_steps=args.warmup,
            svi_steps=args.svi_steps,
            chains=args.chains,
            seed=args.seed,
            progress=_progress(args.method),
        )
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
    print(
        f"{args.method} fit on {result.n_records} rollouts ({result.n_groups} distinct groups), "
        f"log-likelihood {result.log_likelihood:.2f}"
    )
    print(_theta_table(net, result))
    print(_data_identifiability(net, settings, observed))
    print(f"wrote {args.output}")
    return 0


def _data_identifiability(net, settings, observed) -> str:
    """Which functionals of theta these rollouts cannot separate (``sebn check`` asks the
    same of the spec, as if every setting and target were observed)."""
    from sebn.core.check import data_identifiability

    report = data_identifiability(net, settings, observed)
    if report.rank is None:
        return "\n".join(f"note: {n}" for n in report.notes)
    lines = [f"theta: {len(report.parameters)} free parameters, {report.rank} identifiable from these rollouts"]
    if report.unidentified:
        lines += [f"warning: these rollouts cannot identify {u}" for u in report.unidentified]
        lines.append(
            "  (the data are flat along these directions: a point fit picked one value of each; a posterior "
            "(--method svi, laplace or nuts) shows their spread; rollouts in more settings or of more targets "
            "can separate them; sebn check tells whether any data can)"
        )
    return "\n".join(lines)


def _progress(method: str):
    """What a posterior fit shows while it runs: SVI's ELBO every window, NUTS's bar."""
    if method == "nuts":
        return True
    if method == "svi":
        return lambda step, elbo: print(f"svi step {step}: ELBO {elbo:,.2f}", file=sys.stderr, flush=True)
    return None


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


INTERVAL = (0.05, 0.95)
"""The posterior interval ``sebn score`` prints for a fit with draws: 90%, equal-tailed."""


def score(args) -> int:
    import numpy as np
    import torch

    from sebn.core.check import readable_count
    from sebn.core.inference import score
    from sebn.core.search import EXHAUSTIVE_LIMIT, likeliest

    net = _network(args.spec)
    theta, rates, draws, rate_draws = _fit_file(net, args.fit)
    if args.target is not None and args.target not in net.targets:
        raise UsageError(f"unknown target '{args.target}' (the spec has: {', '.join(net.targets)})")
    targets = [args.target] if args.target else list(net.targets)
    if draws is not None and rate_draws is not None:
        rates = rate_draws
    if net.n_settings <= EXHAUSTIVE_LIMIT:
        settings = net.settings()
        pairs = [(i, net.targets.index(t)) for i in range(len(settings)) for t in targets]
    elif args.top:
        settings, target_index = likeliest(
            net, theta if draws is None else draws, targets, args.top, rates, rng=np.random.default_rng(0)
        )
        pairs = list(enumerate(target_index.tolist()))
        print(
            f"{args.spec}: {readable_count(net.n_settings)} settings are too many to score each; these are the "
            f"likeliest of those a sample-search scored, not guaranteed the likeliest of all",
            file=sys.stderr,
        )
    else:
        raise UsageError(
            f"{args.spec} has {readable_count(net.n_settings)} settings, too many to list (the limit is "
            f"{EXHAUSTIVE_LIMIT:,}); --top K lists the K likeliest (setting, target) pairs, found by sample-search"
        )
    if draws is None:
        probs, intervals = score(net, theta, settings, rates), None
    else:  # the posterior predictive mean and an equal-tailed interval over the draws
        sampled = score(net, draws, settings, rates)
        probs, intervals = sampled.mean(0), torch.quantile(sampled, torch.tensor(INTERVAL, dtype=sampled.dtype), dim=0)
    rows = []
    for i, t in pairs:
        row = {"env": net.describe_setting(settings[i]), "target": net.targets[t], "p": float(probs[i, t])}
        if intervals is not None:
            row["p_low"], row["p_high"] = float(intervals[0, i, t]), float(intervals[1, i, t])
        rows.append(row)
    if args.top:
        rows = sorted(rows, key=lambda r: -r["p"])[: args.top]
    if args.json:
        print(json.dumps(rows))
        return 0
    header = list(net.env) + ["target", "p"] + (["90% interval"] if intervals is not None else [])
    table = [
        [str(r["env"][v]) for v in net.env]
        + [r["target"], f"{r['p']:.4f}"]
        + ([f"[{r['p_low']:.4f}, {r['p_high']:.4f}]"] if intervals is not None else [])
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for row in table:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    return 0
