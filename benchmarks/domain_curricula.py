"""A spec domain's curricula compared, through ``sebn sweep`` and ``sebn report``; writes
the domain's section of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.domain_curricula bipedalwalker --curricula sebn,uniform,anti,target \
        --seeds 3 --steps 100000
    .venv/bin/python -m benchmarks.domain_curricula robosuite_door --curricula sebn,uniform,target \
        --seeds 3 --steps 100000 --generation-size 20   # 500-step episodes: 100 a generation is half the run
    .venv/bin/python -m benchmarks.domain_curricula bipedalwalker --quick   # 2 seeds x 3k steps, scratch, print

Runs go to ``runs/bench-<domain>``: an interrupted benchmark resumes and completed runs
are not redone. Both metrics are reported: the success rate and the episode return, on
every final evaluation env of the domain (BipedalWalker: the combined terrain and each
challenge; Door: each mass with the latch, and the unseen 12 kg door).
"""

from __future__ import annotations

import argparse

from benchmarks.markdown import ROOT, report_table, write_section
from benchmarks.runs import finished_sweep
from sebn.report.plots import plot_runs
from sebn.report.summary import summarise
from sebn.runner.domains import load_domain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("domain", choices=("bipedalwalker", "robosuite_door", "doorkey"))
    parser.add_argument("--curricula", default="sebn,uniform,anti,target")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100_000, help="env steps per run")
    parser.add_argument(
        "--generation-size", type=int, help="episodes per SEBN generation (default: the curriculum's 100)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="2 seeds x 3k steps into a scratch directory; print only")
    args = parser.parse_args()
    runs = ROOT / "runs" / f"bench-{args.domain}"
    curricula = args.curricula.split(",")
    agent_options = {"eval_every": max(args.steps // 10, 1)}
    if args.quick:
        args.seeds, args.steps, runs = 2, 3000, ROOT / "runs" / f"bench-{args.domain}-quick"
        agent_options = (
            {"eval_every": 1000, "eval_episodes": 1, "learning_starts": 1000}
            if args.domain == "bipedalwalker"
            else {"eval_every": 1000, "eval_episodes": 1, "num_steps": 256}
        )
    generations = {"generation_size": args.generation_size} if args.generation_size else {}
    finished_sweep(
        args.domain,
        curricula,
        range(args.seeds),
        steps=args.steps,
        runs=runs,
        workers=args.workers,
        agent_options=agent_options,
        curriculum_options={"sebn": generations, "anti": generations},
    )
    domain = load_domain(args.domain)
    agent_args = {**domain.agent_args, **agent_options}
    figure = ROOT / "benchmarks" / "results" / f"{args.domain}_curricula.png"
    lines = [
        f"## {args.domain} curricula (`benchmarks/domain_curricula.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.domain_curricula {args.domain} --curricula {args.curricula} "
        f"--seeds {args.seeds} --steps {args.steps}"
        + (f" --generation-size {args.generation_size}" if args.generation_size else "")
        + (f" --workers {args.workers}" if args.workers != 2 else "")
        + f"`; {args.seeds} seeds per curriculum, {args.steps:,} env steps each "
        f"(what fits on this machine), {args.workers} at a time on the 2 cores. Agent: {domain.agent} with "
        f"{agent_args}. Evaluation during training on `{domain.evaluation}`; at the end "
        f"{agent_args.get('eval_episodes', 10)} episodes on each final env. Tables from `sebn report` "
        "(IQM over seeds, 95% stratified bootstrap intervals).",
        "",
    ]
    for metric in ("success_rate", "episodic_return"):
        (report,) = summarise([runs / args.domain], metric=metric)
        lines += [f"### {metric.replace('_', ' ')}", "", report_table(report), ""]
    lines.append(f"![{args.domain} curricula](benchmarks/results/{figure.name})")
    print("\n".join(lines))
    if args.quick:
        return
    plot_runs([runs / args.domain], figure, smoothing=0.6, metric="episodic_return")
    write_section(f"{args.domain}_curricula", lines)


if __name__ == "__main__":
    main()
