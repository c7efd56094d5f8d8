"""DoorKey: SEBN vs uniform vs anti vs target-only vs ALP-GMM, PPO options, the same
env-step budget for each; writes its section of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.doorkey_curricula --steps 300000 --seeds 5
    .venv/bin/python -m benchmarks.doorkey_curricula --quick       # 2 seeds x 20k steps, print only

Runs go to ``runs/bench-doorkey`` through ``sebn run``'s machinery, so an interrupted
benchmark resumes where it stopped and completed runs are not redone.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
from pathlib import Path

import numpy as np

from benchmarks.markdown import ROOT, spread, write_section
from benchmarks.runs import evals, seconds, timed_run
from sebn.curricula import CURRICULA
from sebn.plots import plot_runs

THRESHOLDS = (0.5, 0.9)


def run_one(job: tuple[str, int, int, str, int]) -> str:
    curriculum, seed, steps, runs, eval_episodes = job
    return str(timed_run(domain="doorkey", curriculum=curriculum, seed=seed, steps=steps, runs=runs,
                         agent_options=agent_options(steps, eval_episodes)))


def agent_options(steps: int, eval_episodes: int = 30) -> dict:
    """Evaluation every twentieth of the run; ``benchmarks.doorkey_sebn_variants`` runs with
    the same, so the two share their runs."""
    return {"eval_every": max(steps // 20, 1), "eval_episodes": eval_episodes}


def summarise(run_dir: Path) -> dict:
    columns = evals(run_dir)
    steps, success = columns["step"], columns["eval/success_rate"]
    final = json.loads((run_dir / "final.json").read_text())
    reached = {t: np.flatnonzero(success >= t) for t in THRESHOLDS}
    return {"to": {t: float(steps[r[0]]) if len(r) else float("inf") for t, r in reached.items()},
            "final": final["hardest"]["eval/success_rate"], "transfer": final["transfer_32x32"]["eval/success_rate"],
            "seconds": seconds(run_dir)}


def table(results: dict[str, list[dict]], steps: int) -> list[str]:
    rows = ["| curriculum | " + " | ".join(f"env steps to {t:.0%} on the hardest setting: median [min, max] (seeds reaching)"
                                           for t in THRESHOLDS)
            + " | final success, hardest (median [min, max]) | success on the unseen 32x32 grid (median [min, max]) | minutes per run |",
            "|---|" + "---|" * (len(THRESHOLDS) + 3)]
    for name in CURRICULA:
        runs = results[name]
        reach_cells = []
        for t in THRESHOLDS:
            reach = np.array([r["to"][t] for r in runs])
            reach_cells.append(f"{spread(reach, 0)} ({np.isfinite(reach).sum()}/{len(runs)})")
        rows.append(f"| {name} | {' | '.join(reach_cells)} | {spread([r['final'] for r in runs])} | "
                    f"{spread([r['transfer'] for r in runs])} | {np.median([r['seconds'] for r in runs]) / 60:.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300_000, help="env steps per run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--eval-episodes", type=int, default=agent_options(1)["eval_episodes"])
    parser.add_argument("--runs", default=str(ROOT / "runs" / "bench-doorkey"))
    parser.add_argument("--quick", action="store_true", help="2 seeds x 20k steps into a scratch directory; print only")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.seeds, args.runs = 20_000, 2, str(ROOT / "runs" / "bench-doorkey-quick")
    jobs = [(name, seed, args.steps, args.runs, args.eval_episodes) for seed in range(args.seeds) for name in CURRICULA]
    with mp.get_context("spawn").Pool(args.workers) as pool:
        done = pool.map(run_one, jobs, chunksize=1)
    results = {name: [summarise(Path(d)) for (n, *_), d in zip(jobs, done) if n == name] for name in CURRICULA}
    figure = ROOT / "benchmarks" / "results" / "doorkey_curricula.png"
    lines = [
        "## DoorKey curricula (`benchmarks/doorkey_curricula.py`)", "",
        f"Command: `.venv/bin/python -m benchmarks.doorkey_curricula --steps {args.steps} --seeds {args.seeds}`; "
        f"{args.seeds} seeds per curriculum, {args.steps:,} env steps each, {args.workers} at a time on the 2 cores. PPO options "
        "(one actor and critic per target, 4x64 tanh layers, 8 envs x 128 steps); SEBN and anti: generations of 100 "
        f"episodes, MLE. Evaluation: the options chained on the hardest setting (distance 0, wall 1, door), "
        f"{args.eval_episodes} episodes with sampled actions every {agent_options(args.steps)['eval_every']:,} steps; the finished agent "
        "also on the 32x32 grid.", "",
        *table(results, args.steps), "",
        f"![DoorKey curricula](benchmarks/results/{figure.name})",
    ]
    print("\n".join(lines))
    if args.quick:
        return
    plot_runs([Path(args.runs) / "doorkey"], figure, smoothing=0.6)
    write_section("doorkey_curricula", lines)


if __name__ == "__main__":
    main()
