"""Pictures: the network drawn in layers (env, competencies, targets); learning curves
of runs with bootstrap intervals over seeds; the curriculum over its generations.

Example:
    >>> import tempfile, pathlib
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=1)\\n"))
    >>> draw_network(net, pathlib.Path(tempfile.mkdtemp()) / "net.png")
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np

from sebn.curricula.registry import CURRICULA
from sebn.runner.rundir import RunDir, RunsError, find_runs, run_label

LABELLED_TASKS = 40  # more tasks than this: a heat map row each, no names
COLOURS = {"env": "#9ecae1", "base": "#fdd0a2", "derived": "#fdae6b", "target": "#a1d99b"}
LABELS = {"env": "env variables", "base": "base competencies", "derived": "derived competencies", "target": "targets"}


def _layout(net) -> dict[str, tuple[float, float]]:
    """Rows top to bottom: env, base, derived (by depth), targets (by depth); each centred."""
    depth: dict[str, int] = {}
    for name in net.derived + net.targets:
        parents = [p for p in net.graph.predecessors(name) if p in depth]
        depth[name] = 1 + max((depth[p] for p in parents), default=0)
    rows: dict[float, list[str]] = {3.0: list(net.env), 2.0: list(net.base)}
    for name in net.derived:
        rows.setdefault(2.0 - 0.6 * depth[name], []).append(name)
    target_top = min(rows) - 1.0
    for name in net.targets:
        rows.setdefault(target_top - 0.7 * (depth[name] - 1), []).append(name)
    positions = {}
    for y, names in rows.items():
        for i, name in enumerate(names):
            positions[name] = (i - (len(names) - 1) / 2, y)
    return positions


def _group(net, name: str) -> str:
    if name in net.env:
        return "env"
    if name in net.targets:
        return "target"
    return "derived" if name in net.derived else "base"


def draw_network(net, path: str | Path) -> None:
    """Draw the DAG with env variables on top, competencies in the middle, targets below."""
    graph = net.graph
    positions = _layout(net)
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * (max(xs) - min(xs) + 2)), max(4.5, 1.3 * (max(ys) - min(ys) + 2))))
    for group, colour in COLOURS.items():
        nodes = [n for n in graph if _group(net, n) == group]
        if nodes:
            nx.draw_networkx_nodes(
                graph, positions, nodelist=nodes, node_color=colour, node_size=2400, ax=ax, label=LABELS[group]
            )
    # Curved edges keep long env->target arrows from running through the competency row.
    for curve, edges in (
        (0.0, [e for e in graph.edges if e[0] not in net.env]),
        (0.25, [e for e in graph.edges if e[0] in net.env]),
    ):
        nx.draw_networkx_edges(
            graph,
            positions,
            edgelist=edges,
            ax=ax,
            arrowsize=12,
            node_size=2400,
            edge_color="#666666",
            connectionstyle=f"arc3,rad={curve}",
            arrows=True,
        )
    nx.draw_networkx_labels(graph, positions, ax=ax, font_size=8)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, markerscale=0.4)
    ax.set_title(Path(net.spec.source).name)
    ax.margins(0.12)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """The papers' exponential smoothing with ``weight``, debiased as TensorBoard's is:
    ``y_i = sum_j weight^(i-j) x_j / sum_j weight^(i-j)`` over ``j <= i``.

    Without the debiasing (``y_0 = x_0``) a heavy weight over few points draws a slow drift
    away from the first value: 50 Adroit episodes at weight 0.99 made a flat curriculum
    look like one that rises.

    Example:
        >>> [round(y, 3) for y in ema(np.array([0.0, 1.0, 1.0]), 0.5)]
        [0.0, 0.667, 0.857]
    """
    out = np.empty(len(values))
    total = norm = 0.0
    for i, x in enumerate(values):
        total, norm = weight * total + x, weight * norm + 1
        out[i] = total / norm
    return out


EVAL_METRICS = ("success_rate", "episodic_return")
"""The evaluation metrics a run records (``evals.csv``: ``eval/<metric>``)."""


def read_evals(run_dir: Path, metric: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Steps and the evaluation ``metric`` (``success_rate`` or ``episodic_return``; by
    default the success rate when reported, else the return)."""
    rows = RunDir(run_dir).evals()
    if metric is None:
        metric = "success_rate" if rows and "eval/success_rate" in rows[0] else "episodic_return"
    metric = f"eval/{metric}"
    if rows and metric not in rows[0]:
        raise RunsError(f"{RunDir(run_dir).evals_path}: no column {metric} (it has {', '.join(rows[0])})")
    return np.array([float(r["step"]) for r in rows]), np.array([float(r[metric]) for r in rows]), metric


def curve_band(curves: list[np.ndarray], seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over seeds and a 95% bootstrap interval of the mean, per step (the interval
    collapses to the mean with one seed)."""
    from scipy.stats import bootstrap

    stacked = np.stack(curves)
    mean = stacked.mean(0)
    if len(curves) < 2:
        return mean, mean, mean
    low, high = np.empty_like(mean), np.empty_like(mean)
    for i in range(stacked.shape[1]):
        column = stacked[:, i]
        if np.ptp(column) == 0:
            low[i] = high[i] = column[0]
            continue
        interval = bootstrap(
            (column,), np.mean, n_resamples=2000, method="percentile", random_state=seed
        ).confidence_interval
        low[i], high[i] = interval.low, interval.high
    return mean, low, high


def plot_runs(
    paths: list[Path], output: Path, smoothing: float = 0.0, metrics: Sequence[str | None] = (None,)
) -> plt.Figure:
    """Learning curves per curriculum, a panel per metric of ``metrics`` (each as for
    :func:`read_evals`; mean and bootstrap interval over seeds, after EMA ``smoothing`` per
    seed), and the curriculum: for the first run with SEBN generations, its task
    distribution and estimated competencies; without generations, what the envs set up
    (:func:`_plot_applied`). Writes ``output`` and returns the (closed) figure."""
    runs = find_runs(paths)
    curricula, names, legends = {}, {}, {}
    for run_dir in runs:
        config = RunDir(run_dir).read_config()
        names[run_dir] = config["curriculum"]
        curricula[run_dir] = run_label(config)
        legends[run_dir] = f"{config['domain']}: {curricula[run_dir]}"
    # The curriculum pictures show one run: the first SEBN run, else the first with generations.
    pictured = sorted(runs, key=lambda r: names[r] != "sebn")
    generations, pictured_run = next(
        ((g, r) for g, r in ((RunDir(r).generations(), r) for r in pictured) if g), (None, None)
    )
    # Domains without a spec: what the envs set up (a maze's cells, Adroit's distance), an adaptive curriculum's first.
    applied = {r: applied_records(r) for r in runs} if not generations else {}
    adaptive_first = sorted(runs, key=lambda r: not CURRICULA[names[r]].adaptive)
    taught = next((r for r in adaptive_first if applied.get(r)), None)
    pictures = 2 if generations else _applied_panels(applied[taught][0][1]) if taught else 0
    panels = len(metrics) + pictures
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.0), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        groups: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        shown = f"eval/{metric or 'success_rate'}"
        for run_dir in runs:
            steps, values, shown = read_evals(run_dir, metric)
            groups[legends[run_dir]].append((steps, values))
        for label, seeds in sorted(groups.items()):
            length = min(len(s) for s, _ in seeds)
            steps = seeds[0][0][:length]
            curves = [ema(v[:length], smoothing) if smoothing > 0 else v[:length] for _, v in seeds]
            mean, low, high = curve_band(curves)
            # a run with one evaluation is one point, which a line alone would not show
            ax.plot(steps, mean, marker="o" if len(steps) == 1 else None, label=f"{label} ({len(seeds)} seeds)")
            ax.fill_between(steps, low, high, alpha=0.2)
        ax.set(xlabel="env steps", ylabel=shown.removeprefix("eval/").replace("_", " "), title="evaluation")
        ax.legend(fontsize=7)
    if generations:
        _plot_generations(*axes[0, len(metrics) :], generations, f"{curricula[pictured_run]} {pictured_run.name}")
    elif taught:
        _plot_applied(axes[0, len(metrics) :], applied, curricula, taught)
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return fig


def _plot_generations(ax_tasks, ax_theta, generations: list[dict], label: str) -> None:
    tasks = generations[-1]["tasks"]
    labels = [",".join(str(v)[:4] for v in t.values()) for t in tasks]
    probs = np.array([g["p"] for g in generations if len(g["p"]) == len(tasks)])
    image = ax_tasks.imshow(
        probs.T,
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        extent=(0.5, len(probs) + 0.5, len(tasks) - 0.5, -0.5),
    )
    ax_tasks.set(xlabel="generation", title=f"task probabilities ({label})")
    if len(tasks) <= LABELLED_TASKS:
        ax_tasks.set_yticks(range(len(labels)), labels, fontsize=5)
    else:
        ax_tasks.set(ylabel=f"task (of {len(tasks)}, in the spec's order)", yticks=[])
    plt.colorbar(image, ax=ax_tasks, fraction=0.04)
    for name in generations[0]["theta"]:
        levels = np.array([g["theta"][name] for g in generations])
        ax_theta.plot(range(1, len(generations) + 1), levels @ np.arange(levels.shape[1]), label=name)
    ax_theta.set(xlabel="generation", ylabel="expected level", title=f"estimated competencies ({label})")
    ax_theta.legend(fontsize=7)


def applied_records(run_dir: Path) -> list[tuple[int, dict]]:
    """A run's training episodes' ``(env step, applied record)``: what the env set up for each task."""
    return [(e["step"], e["applied"]) for e in RunDir(run_dir).episodes() if "applied" in e]


DIFFICULTIES = {
    "distance": "ball-to-target distance",  # Adroit: the gradient paper's Figure 7
    "path": "start-to-goal path, cells",  # the mazes: moves along the shortest free path
}
"""What a domain's ``applied`` records say of a task's difficulty, plotted over training."""


def _applied_panels(sample: dict) -> int:
    """Panels the curriculum picture of records like ``sample`` takes: the difficulty over
    training, and start and goal heat maps."""
    return any(key in sample for key in DIFFICULTIES) + 2 * ("start" in sample)


def _plot_applied(axes, applied: dict[Path, list[tuple[int, dict]]], curricula: dict[Path, str], taught: Path) -> None:
    """What the curricula chose: the task's difficulty over training for every curriculum
    (Adroit's ball-to-target distance, a maze's start-to-goal path) and, in a maze, the
    start and goal cells the ``taught`` run was given (heat maps)."""
    sample = applied[taught][0][1]
    panels = iter(axes)
    difficulty = next((key for key in DIFFICULTIES if key in sample), None)
    if difficulty:
        ax = next(panels)
        by_curriculum: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for run_dir, records in applied.items():
            by_curriculum[curricula[run_dir]] += [(step, a[difficulty]) for step, a in records if difficulty in a]
        for name, points in sorted(by_curriculum.items()):
            if not points:  # runs recorded before their domain kept this measure
                continue
            steps, values = np.array(points).T
            order = np.argsort(steps)
            ax.plot(steps[order], ema(values[order], 0.99), label=name)
        ax.set(xlabel="env steps", ylabel=f"{DIFFICULTIES[difficulty]} (EMA 0.99)", title="the curriculum: difficulty")
        ax.legend(fontsize=7)
    if "start" not in sample:
        return
    records = [a for _, a in applied[taught]]
    size = np.max([[*a["start"], *a["goal"]] for a in records]) + 2
    for ax, key in zip(panels, ("start", "goal")):
        counts = np.zeros((size, size))
        for a in records:
            counts[a[key][0], a[key][1]] += 1
        image = ax.imshow(counts, cmap="magma")
        ax.set(title=f"{key} cells chosen ({curricula[taught]} {taught.name})", xlabel="column", ylabel="row")
        plt.colorbar(image, ax=ax, fraction=0.04)
