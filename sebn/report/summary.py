"""Reports of runs: for each domain and curriculum, the final evaluations and the env steps
to a threshold as interquartile means (IQM) with 95% stratified bootstrap intervals, and
the probability that a reference curriculum (SEBN) beats each other one.

These are the statistics of Agarwal et al. (2021, "Deep RL at the edge of the statistical
precipice"), computed with :mod:`scipy.stats`:

* IQM: the mean of the middle half of the runs (``trim_mean(x, 0.25)``), robust to an
  outlying seed and less noisy than the median.
* Stratified bootstrap: runs are resampled with replacement within each stratum (a
  domain; one stratum when the report covers one domain), the IQM recomputed, and the
  2.5 and 97.5 percentiles of 5,000 resamples taken (``scipy.stats.bootstrap``,
  percentile method). With every run equal the interval is that value.
* Probability of improvement ``P(X > Y)``: the chance that a run of the reference beats a
  run of the other curriculum on the main final metric, ties counting half (the
  Mann-Whitney U statistic over ``n * m``); its interval comes from the same bootstrap.
* During training: the mean of a run's training-time evaluations (``evals.csv``, the
  area under its learning curve over its length): less noisy than the last one alone.
* Steps to a threshold: the first evaluation step at which the training-time evaluation
  (``evals.csv``) reached it. A run that never did counts as its full budget, so an IQM
  over such runs is a lower bound, shown as ``>=``.

The metric is the success rate (the return where the env reports none, or when asked),
and the main final metric is the metric on the first env of ``final.json`` (DoorKey's hardest
setting, BipedalWalker's combined terrain, the teacher domains' default start distribution).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import bootstrap, trim_mean

from sebn.report.plots import plot_runs, read_evals
from sebn.runner.rundir import RunDir, RunsError, find_runs, run_label

CONFIDENCE = 0.95
RESAMPLES = 5000


def iqm(values, axis: int = -1):
    """The interquartile mean: the mean of the middle half (25% cut from each end), along
    ``axis``.

    Example:
        >>> float(iqm([0.0, 0.2, 0.3, 1.0]))
        0.25
    """
    return trim_mean(np.asarray(values, dtype=float), 0.25, axis=axis)


def probability_of_improvement(x, y, axis: int = -1):
    """``P(X > Y) + P(X = Y) / 2`` for one run of each, over all pairs: the Mann-Whitney
    U statistic over ``n * m``. ``axis`` indexes the runs (leading axes are batches).

    Example:
        >>> float(probability_of_improvement([1, 2, 3], [2, 2]))
        0.5
    """
    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)[..., :, None]
    y = np.moveaxis(np.asarray(y, dtype=float), axis, -1)[..., None, :]
    return ((x > y) + 0.5 * (x == y)).mean(axis=(-2, -1))


def stratified_interval(strata: list[np.ndarray], statistic) -> tuple[float, float]:
    """A 95% percentile-bootstrap interval of ``statistic(*strata)``, each stratum
    resampled on its own (``statistic`` takes ``axis``, over which the runs lie). A stratum
    of equal values (or of one run) resamples to itself, so it is held as it is; when all
    are, the interval is the statistic itself."""
    strata = [np.asarray(s, dtype=float) for s in strata]
    varying = [i for i, s in enumerate(strata) if np.ptp(s) > 0]
    if not varying:
        value = float(statistic(*strata))
        return value, value

    def on_resample(*resampled, axis=-1):
        parts = list(strata)
        for i, sample in zip(varying, resampled):
            parts[i] = sample
        return statistic(*parts, axis=axis)

    result = bootstrap(
        tuple(strata[i] for i in varying),
        on_resample,
        n_resamples=RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        random_state=0,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@dataclass
class RunSummary:
    """What the report reads from one run directory."""

    domain: str
    curriculum: str
    label: str
    seed: int
    final: dict[str, float]  # final env -> main metric
    steps: np.ndarray  # evaluation steps
    curve: np.ndarray  # the evaluation metric at those steps
    budget: int
    metric: str


def read_run(run_dir: Path, metric: str | None = None) -> RunSummary | None:
    """A finished run's summary; ``None`` for runs not finished (no ``final.json``).

    Args:
        run_dir: the run directory.
        metric: ``"success_rate"`` or ``"episodic_return"``; by default the success rate
            when every final env reports it, else the return.
    """
    run = RunDir(run_dir)
    final_json = run.read_final()
    if final_json is None:
        return None
    config = run.read_config()
    if missing := [key for key in ("domain", "curriculum", "seed", "steps") if key not in config]:
        raise RunsError(f"{run.config_path}: no {', '.join(missing)}")
    envs = {name: metrics for name, metrics in final_json.items() if isinstance(metrics, dict)}
    if metric is None:
        metric = "success_rate" if all("eval/success_rate" in m for m in envs.values()) else "episodic_return"
    metric = f"eval/{metric}"
    if unmeasured := [name for name, m in envs.items() if metric not in m]:
        raise RunsError(f"{run.final_path}: no {metric} for {', '.join(unmeasured)}")
    if run.evals_path.exists():
        steps, curve, _ = read_evals(run_dir, metric.removeprefix("eval/"))
    else:  # no evaluations during training
        steps, curve = np.zeros(0), np.zeros(0)
    return RunSummary(
        domain=config["domain"],
        curriculum=config["curriculum"],
        label=run_label(config),
        seed=int(config["seed"]),
        final={name: float(m[metric]) for name, m in envs.items()},
        steps=steps,
        curve=curve,
        budget=int(final_json.get("global_step", config["steps"])),
        metric=metric,
    )


def steps_to(run: RunSummary, threshold: float) -> tuple[float, bool]:
    """The first evaluation step at or above ``threshold``, and whether it was reached
    (if not: the run's budget)."""
    reached = np.flatnonzero(run.curve >= threshold)
    return (float(run.steps[reached[0]]), True) if len(reached) else (float(run.budget), False)


@dataclass
class Row:
    """One curriculum of one domain in the report."""

    label: str
    runs: int
    final: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # env -> (iqm, low, high)
    during: tuple[float, float, float] | None = None  # the training-time evaluation's mean over the run
    to_threshold: tuple[float, float, float] | None = None
    reached: int = 0
    improvement: tuple[float, float, float] | None = None  # P(reference > this)


@dataclass
class DomainReport:
    domain: str
    metric: str
    envs: list[str]
    threshold: float | None
    reference: str | None
    rows: list[Row]


def summarise(
    paths: list[Path], threshold: float | None = None, reference: str = "sebn", metric: str | None = None
) -> list[DomainReport]:
    """Per domain, one :class:`Row` per curriculum (finished runs only).

    Args:
        paths: run directories or directories holding them.
        threshold: for steps-to-threshold (default: 0.5 for success rates, none for returns).
        reference: the label whose probability of improvement over the others is
            reported; a curriculum's name stands for its one label when it has a single
            one (``sebn`` for ``sebn-generation_size=20``); else the first label.
        metric: as for :func:`read_run`.
    """
    by_domain: dict[str, dict[str, list[RunSummary]]] = defaultdict(lambda: defaultdict(list))
    for run_dir in find_runs(paths):
        summary = read_run(run_dir, metric)
        if summary is not None:
            by_domain[summary.domain][summary.label].append(summary)
    reports = []
    for domain, groups in sorted(by_domain.items()):
        first = next(iter(groups.values()))[0]
        envs = list(first.final)
        main_env = envs[0]
        limit = threshold if threshold is not None else (0.5 if first.metric == "eval/success_rate" else None)
        named = [label for label, runs in groups.items() if runs[0].curriculum == reference]
        ref = reference if reference in groups else named[0] if len(named) == 1 else next(iter(groups))
        rows = []
        for label, runs in groups.items():
            runs.sort(key=lambda r: r.seed)
            row = Row(label, len(runs))
            for env in envs:
                values = np.array([r.final.get(env, np.nan) for r in runs])
                row.final[env] = (float(iqm(values)), *stratified_interval([values], iqm))
            if all(len(r.curve) for r in runs):
                means = np.array([r.curve.mean() for r in runs])
                row.during = (float(iqm(means)), *stratified_interval([means], iqm))
            if limit is not None and all(len(r.curve) for r in runs):
                reached = [steps_to(r, limit) for r in runs]
                steps = np.array([s for s, _ in reached])
                row.to_threshold = (float(iqm(steps)), *stratified_interval([steps], iqm))
                row.reached = sum(ok for _, ok in reached)
            if label != ref:
                x = np.array([r.final[main_env] for r in groups[ref]])
                y = np.array([r.final[main_env] for r in runs])
                row.improvement = (
                    float(probability_of_improvement(x, y)),
                    *stratified_interval([x, y], probability_of_improvement),
                )
            rows.append(row)
        rows.sort(key=lambda r: (r.label != ref, r.label))
        reports.append(DomainReport(domain, first.metric, envs, limit, ref, rows))
    return reports


def _cell(value: tuple[float, float, float], digits: int) -> str:
    iq, low, high = value
    return f"{iq:,.{digits}f} [{low:,.{digits}f}, {high:,.{digits}f}]"


def one_seed_warning(labels: list[str]) -> str:
    """What a report says of curricula with a single run: their intervals are no intervals."""
    return (
        f"{', '.join(labels)}: one run each, so each interval is that run's value and says nothing of the "
        "spread over seeds (run more seeds)"
    )


def to_markdown(reports: list[DomainReport], plots: dict[str, str] | None = None) -> str:
    """The report's tables (and plots, domain -> image path) as Markdown."""
    lines = [
        "# Report",
        "",
        f"IQM over seeds with {CONFIDENCE:.0%} stratified bootstrap intervals ({RESAMPLES:,} resamples); "
        "probability of improvement P(reference > curriculum) on the first final env. See `sebn/report/summary.py`.",
        "",
    ]
    for report in reports:
        digits = 2 if report.metric == "eval/success_rate" else 1
        what = report.metric.removeprefix("eval/").replace("_", " ")
        header = [
            "curriculum",
            "runs",
            *(f"final {what}: {env}" for env in report.envs),
            f"{what} during training (mean)",
        ]
        if report.threshold is not None:
            header.append(f"env steps to {what} {report.threshold:g} (runs reaching)")
        header.append(f"P({report.reference} > curriculum)")
        lines += [f"## {report.domain}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in report.rows:
            cells = [
                row.label,
                str(row.runs),
                *(_cell(row.final[env], digits) for env in report.envs),
                "-" if row.during is None else _cell(row.during, digits),
            ]
            if report.threshold is not None:
                if row.to_threshold is None:
                    cells.append("-")
                else:
                    bound = ">= " if row.reached < row.runs else ""
                    cells.append(f"{bound}{_cell(row.to_threshold, 0)} ({row.reached}/{row.runs})")
            cells.append("reference" if row.improvement is None else _cell(row.improvement, 2))
            lines.append("| " + " | ".join(cells) + " |")
        single = [row.label for row in report.rows if row.runs == 1]
        if single:
            lines += ["", f"{one_seed_warning(single)}."]
        if plots and report.domain in plots:
            lines += ["", f"![{report.domain}]({plots[report.domain]})"]
        lines.append("")
    return "\n".join(lines)


def write_report(
    paths: list[Path],
    output: Path,
    threshold: float | None = None,
    reference: str = "sebn",
    smoothing: float = 0.6,
    metric: str | None = None,
) -> list[DomainReport]:
    """Summarise, plot each domain's runs next to ``output`` and write the Markdown."""
    reports = summarise(paths, threshold, reference, metric)
    if not reports:
        raise RunsError(f"no finished runs (with final.json) in {', '.join(map(str, paths))}")
    output.parent.mkdir(parents=True, exist_ok=True)
    plots = {}
    for report in reports:
        image = output.with_name(f"{output.stem}_{report.domain}.png")
        domain_runs = [p for p in find_runs(paths) if RunDir(p).read_config()["domain"] == report.domain]
        plot_runs(domain_runs, image, smoothing=smoothing, metrics=[report.metric.removeprefix("eval/")])
        plots[report.domain] = image.name
    output.write_text(to_markdown(reports, plots))
    return reports
