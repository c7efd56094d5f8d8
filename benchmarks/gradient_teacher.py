"""The gradient-norm teacher (mean_norm, sum_norm) vs uniform vs no teacher (the env's
own start distribution), SAC with the paper's preset; writes its section of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.gradient_teacher --steps 20000 --seeds 5
    .venv/bin/python -m benchmarks.gradient_teacher --quick      # 2 seeds x 3k steps, PointMaze UMaze only, print only

Runs go to ``runs/bench-teacher`` through ``sebn run``'s machinery: an interrupted
benchmark resumes, and completed runs are not redone. AdroitHandRelocate and AntMaze run
with ``--others-steps`` and ``--others-seeds`` (smaller: they are slower per step).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
from pathlib import Path

import numpy as np

from benchmarks.markdown import ROOT, spread, write_section
from benchmarks.runs import evals, seconds, timed_run
from sebn.experiment import curriculum_label
from sebn.plots import plot_runs

CURRICULA = (("gradient", {"reward": "mean_norm"}), ("gradient", {"reward": "sum_norm"}), ("uniform", {}), ("target", {}))


def run_one(job: tuple[str, str, dict, int, int, str]) -> str:
    domain, curriculum, options, seed, steps, runs = job
    return str(timed_run(domain=domain, curriculum=curriculum, seed=seed, steps=steps, runs=runs,
                         curriculum_options=options, agent_options={"eval_every": max(steps // 10, 1)}))


def summarise(run_dir: Path) -> dict:
    columns = evals(run_dir)
    success, returns = columns["eval/success_rate"], columns["eval/episodic_return"]
    return {"final_success": success[-1], "mean_success": success.mean(), "final_return": returns[-1],
            "seconds": seconds(run_dir)}


def table(results: dict[str, list[dict]]) -> list[str]:
    rows = ["| curriculum | final eval success (median [min, max]) | mean eval success over training (median) | "
            "final eval return (median) | minutes per run |", "|---|---|---|---|---|"]
    for label, runs in results.items():
        rows.append(f"| {label} | {spread([r['final_success'] for r in runs])} | "
                    f"{np.median([r['mean_success'] for r in runs]):.2f} | {np.median([r['final_return'] for r in runs]):.1f} | "
                    f"{np.median([r['seconds'] for r in runs]) / 60:.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per PointMaze run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--others-steps", type=int, default=10_000, help="env steps per AdroitHandRelocate / AntMaze run")
    parser.add_argument("--others-seeds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", default=str(ROOT / "runs" / "bench-teacher"))
    parser.add_argument("--quick", action="store_true", help="2 seeds x 3k steps on PointMaze UMaze into a scratch directory; print only")
    args = parser.parse_args()
    plan = {"pointmaze": (args.steps, args.seeds), "pointmaze_medium": (args.steps, args.seeds),
            "adroit_relocate": (args.others_steps, args.others_seeds), "antmaze": (args.others_steps, args.others_seeds)}
    if args.quick:
        plan, args.runs = {"pointmaze": (3000, 2)}, str(ROOT / "runs" / "bench-teacher-quick")
    jobs = [(domain, name, options, seed, steps, args.runs)
            for domain, (steps, seeds) in plan.items() for seed in range(seeds) for name, options in CURRICULA]
    with mp.get_context("spawn").Pool(args.workers) as pool:
        done = pool.map(run_one, jobs, chunksize=1)
    lines = ["## Gradient-norm teacher (`benchmarks/gradient_teacher.py`)", "",
             f"Command: `.venv/bin/python -m benchmarks.gradient_teacher --steps {args.steps} --seeds {args.seeds} "
             f"--others-steps {args.others_steps} --others-seeds {args.others_seeds}`; 2 runs at a time on the 2 cores. "
             "SAC with the gradient paper's preset (3x256, batch 256, gamma 0.99, temperature 0.05), 1 env; the teacher: "
             "batches of 16 decisions, 1 update each, rewards from the actor's gradients. Evaluation: 10 episodes on the "
             "env's own start distribution (position noise included), 10 times per run.", ""]
    for domain, (steps, seeds) in plan.items():
        results = {}
        for (d, name, options, *_), run_dir in zip(jobs, done):
            if d == domain:
                results.setdefault(curriculum_label(name, options), []).append(summarise(Path(run_dir)))
        figure = ROOT / "benchmarks" / "results" / f"teacher_{domain}.png"
        lines += [f"### {domain}: {seeds} seeds x {steps:,} env steps" + ("" if domain.startswith("pointmaze") else
                  " (a budget far below the paper's 1M steps: what fits here)"), "", *table(results), "",
                  f"![{domain}](benchmarks/results/{figure.name})", ""]
        if not args.quick:
            plot_runs([Path(args.runs) / domain], figure, smoothing=0.6)
    print("\n".join(lines))
    if not args.quick:
        write_section("gradient_teacher", lines)


if __name__ == "__main__":
    main()
