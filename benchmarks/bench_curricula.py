"""Curricula compared on the simulated student, and the sample-search's recall; writes
its section of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.bench_curricula            # 10 seeds, both specs, search recall
    .venv/bin/python -m benchmarks.bench_curricula --quick    # 2 seeds, print only
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.bench_inference import theta_for  # noqa: E402
from benchmarks.markdown import ROOT, spread, write_section  # noqa: E402
from sebn.cli.arguments import positive_int
from sebn.core.network import SEBN  # noqa: E402
from sebn.core.search import predictions, sample_search  # noqa: E402
from sebn.core.spec import load_spec  # noqa: E402
from sebn.curricula.registry import curricula_for, make_curriculum  # noqa: E402
from sebn.curricula.students import SimulatedStudent, episodes_to, train_student  # noqa: E402
from tests.sebn.core.strategies import synthetic_spec  # noqa: E402

SETUPS = {
    "doorkey": {
        "evaluation": [{"distance": 0, "wall": 1, "exists_door": 1, "target": "goalreached"}],
        "episodes": 2000,
    },
    "bipedalwalker": {
        "evaluation": [{"ground_roughness": 4, "pit_gap": 2, "stump_height": 2, "stair_width": 1, "stair_steps": 2}],
        "episodes": 6000,
    },
}
THRESHOLD = 0.75
# "sebn-search": the SEBN curriculum with the sample-search forced (exhaustive_limit 0).
VARIANTS = (*curricula_for(has_spec=True), "sebn-search")
GENERATION = 50


def run_one(job: tuple[str, str, int, int]) -> dict:
    spec, curriculum_name, seed, episodes = job
    torch.set_num_threads(1)
    net = SEBN(load_spec(ROOT / f"specs/{spec}.sebn"))
    evaluation = SETUPS[spec]["evaluation"]
    options = {"generation_size": GENERATION} if curriculum_name in ("sebn", "anti", "sebn-search") else {}
    if curriculum_name == "sebn-search":
        options["exhaustive_limit"] = 0
    curriculum = make_curriculum(curriculum_name.removesuffix("-search"), net, evaluation, seed=seed, **options)
    start = time.perf_counter()
    curve = train_student(curriculum, SimulatedStudent(net, seed=seed), episodes, evaluation)
    return {
        "spec": spec,
        "curriculum": curriculum_name,
        "seed": seed,
        "episodes": curve["episodes"],
        "success": curve["success"],
        "to_threshold": episodes_to(curve, THRESHOLD),
        "final": float(curve["success"][-1]),
        "seconds": time.perf_counter() - start,
    }


def student_table(results: list[dict], spec: str) -> list[str]:
    rows = [
        f"| curriculum | episodes to {THRESHOLD:.0%} success: median [min, max] | vs SEBN | seeds reaching | "
        "success at "
        f"{SETUPS[spec]['episodes'] // 4:,} episodes (median) | final success (median) | seconds per run |",
        "|---|---|---|---|---|---|---|",
    ]
    sebn = np.median([r["to_threshold"] for r in results if r["spec"] == spec and r["curriculum"] == "sebn"])
    quarter = SETUPS[spec]["episodes"] // 4
    for name in VARIANTS:
        runs = [r for r in results if r["spec"] == spec and r["curriculum"] == name]
        reach = np.array([r["to_threshold"] for r in runs])
        early = np.median([r["success"][np.searchsorted(r["episodes"], quarter)] for r in runs])
        median = np.median(reach)
        ratio = "" if name == "sebn" else (f"{median / sebn:.2f}x" if np.isfinite(median) else "never (median)")
        rows.append(
            f"| {name} | {spread(reach, 0)} | {ratio} | {np.isfinite(reach).sum()}/{len(runs)} | {early:.2f} | "
            f"{np.median([r['final'] for r in runs]):.2f} | {np.median([r['seconds'] for r in runs]):.1f} |"
        )
    return rows


def plot(results: list[dict], path) -> None:
    fig, axes = plt.subplots(1, len(SETUPS), figsize=(11, 3.8))
    for ax, spec in zip(axes, SETUPS):
        for name in VARIANTS:
            runs = [r for r in results if r["spec"] == spec and r["curriculum"] == name]
            curves = np.stack([r["success"] for r in runs])
            x = runs[0]["episodes"]
            ax.plot(x, np.median(curves, 0), label=name)
            ax.fill_between(x, np.percentile(curves, 25, 0), np.percentile(curves, 75, 0), alpha=0.2)
        ax.axhline(THRESHOLD, color="grey", lw=0.8, ls="--")
        ax.set(title=f"{spec}.sebn, simulated student", xlabel="episodes", ylabel="P(success) on the evaluation task")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def search_recall(seeds: int, n_env: int, heuristic: str, sharpness: float) -> list[str]:
    """How much of the true top 20 (by |P_g - P_{g-1}|) the sample-search finds. Many
    settings share a requirement signature and so tie, so a found task counts when its
    change is at least the true 20th largest (it belongs to some true top-20 set)."""
    net = synthetic_spec(n_env)
    recalls, shares, times = [], [], []
    for seed in range(seeds):
        before, after = theta_for(net, 100 + seed), theta_for(net, 200 + seed)
        p_before, p_after = predictions(net, [before, after], net.settings())
        true_top = torch.sort((p_after - p_before)[:, 0].abs(), descending=True).values[:20]
        start = time.perf_counter()
        settings = sample_search(
            net,
            before,
            after,
            net.targets,
            lambda d: d,
            keep=20,
            heuristic=heuristic,
            sharpness=sharpness,
            rng=np.random.default_rng(seed),
        ).settings
        times.append(time.perf_counter() - start)
        found_before, found_after = predictions(net, [before, after], settings)
        found = (found_after - found_before)[:, 0].abs()
        recalls.append(float((found >= true_top[-1] - 1e-12).sum()) / 20)
        shares.append(float(found.sum() / true_top.sum()))
    return [
        f"| {net.n_settings:,} ({n_env} env variables x 3 values) | {heuristic} | {sharpness:g} | {seeds} | "
        f"{np.mean(recalls):.2f} | "
        f"{np.min(recalls):.2f} | {np.mean(shares):.2f} | {np.median(times):.2f} s |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, short budgets; print only")
    parser.add_argument("--seeds", type=positive_int, default=10)
    parser.add_argument("--workers", type=positive_int, default=2)
    args = parser.parse_args()
    seeds = 2 if args.quick else args.seeds
    jobs = [
        (spec, name, seed, setup["episodes"] // (4 if args.quick else 1))
        for spec, setup in SETUPS.items()
        for name in VARIANTS
        for seed in range(seeds)
    ]
    with mp.get_context("spawn").Pool(args.workers) as pool:
        results = pool.map(run_one, jobs)
    recall_rows = [
        "| task space | heuristic | sharpness | seed pairs | share of the 20 found in a true top 20 (mean) | worst | "
        "sum of changes found / true top-20 sum (mean) | median time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n_env in (10, 12):
        for heuristic, sharpness in (("marginal", 1), ("mean", 16), ("max", 1), ("max", 16)):
            recall_rows += search_recall(3 if args.quick else 10, n_env, heuristic, sharpness)
    figure = ROOT / "benchmarks/results/curricula_student.png"
    lines = [
        "## Curricula on the simulated student (`benchmarks/bench_curricula.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.bench_curricula`; {seeds} seeds per curriculum, 2 worker processes. "
        "The student (`sebn/curricula/students.py`) draws outcomes from the spec and learns in a zone of "
        "proximal development "
        "(rate 0.02, decay 1.5). Success is the exact probability that the evaluation task's target succeeds under the "
        f"student's current competencies, measured every 50 episodes. SEBN and anti use generations of {GENERATION} "
        "episodes, MLE fits on the latest generation, delta 0.01 (`sebn-search`: the same with the "
        "sample-search forced, 20 candidates per generation); ALP-GMM uses fit rate 250, up to 10 "
        "components, 20% random tasks.",
        "",
    ]
    for spec, setup in SETUPS.items():
        task = ", ".join(f"{k}={v}" for k, v in setup["evaluation"][0].items())
        lines += [
            f"### `{spec}.sebn`: evaluation task {task}; {setup['episodes'] // (4 if args.quick else 1):,} episodes",
            "",
            *student_table(results, spec),
            "",
        ]
    lines += [
        f"![success curves](benchmarks/results/{figure.name})",
        "",
        "### Sample-search recall",
        "",
        "On a synthetic spec small enough to score exhaustively, two random thetas (Dirichlet(5) per competency) "
        "stand for generations g-1 and g; the true top 20 are the settings with the largest |P_g - P_{g-1}|. "
        "Search defaults: 64 walks, 32 completions per partial setting. Ties are common (settings sharing a "
        "requirement signature), so a found task counts when its change is at least the true 20th largest.",
        "",
        *recall_rows,
    ]
    print("\n".join(lines))
    if args.quick:
        return
    plot(results, figure)
    write_section("bench_curricula", lines)


if __name__ == "__main__":
    main()
