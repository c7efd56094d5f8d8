"""Agents measured side by side with Stable-Baselines3; writes BENCHMARKS.md.

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python -m benchmarks.bench_agents                 # throughput, curves, overhead
    .venv/bin/python -m benchmarks.bench_agents --only overhead  # one part

Parts (each one thread per run, same env and hyperparameters on both sides):
* ``throughput``: environment steps per second of a fixed training run, ours vs SB3,
  alternated and repeated (median of 3); SAC and TD3(-FORK) on Pendulum-v1, PPO on
  CartPole-v1.
* ``curves``: evaluation return vs steps over 3 seeds (SAC and TD3-FORK on Pendulum-v1,
  PPO on CartPole-v1), plotted to benchmarks/results/agents_curves.png.
* ``bipedal`` (only with ``--only bipedal``; about an hour): TD3-FORK on BipedalWalker-v3,
  3 seeds at once on the two cores, ``--bipedal-steps`` each (default 100,000).
* ``overhead``: the cost of a gradient-norm callback (copy every actor gradient, take its
  norm) on a SAC update, timed with and without in alternating blocks.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import re
import statistics
import time
from pathlib import Path

import torch

from agents import ppo, sac, td3_fork
from benchmarks import agent_runs
from sebn.cli.arguments import positive_int
from sebn.runner.interface import Callbacks

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MARK_BEGIN, MARK_END = "<!-- bench_agents:begin -->", "<!-- bench_agents:end -->"
SEEDS = (1, 2, 3)


def bench_throughput(quick: bool, keep: str = "") -> list[str]:
    torch.set_num_threads(1)
    import stable_baselines3  # noqa: F401  (import, and torch's one-off optimiser set-up, before any timing)

    torch.optim.Adam(torch.nn.Linear(1, 1).parameters())
    off_policy_steps, ppo_steps, repeats = (2000, 8192, 1) if quick else (6000, 40960, 3)
    pairs = [
        ("SAC, Pendulum-v1, 2x256, batch 256", agent_runs.ours_sac, agent_runs.sb3_sac, off_policy_steps),
        ("TD3-FORK (ours) vs TD3 (SB3), Pendulum-v1, 2x256", agent_runs.ours_td3, agent_runs.sb3_td3, off_policy_steps),
        (
            "TD3 (ours with fork_weight 0: no models, no look-ahead) vs TD3 (SB3)",
            lambda s, d: agent_runs.ours_td3(s, d, fork_weight=0.0),
            agent_runs.sb3_td3,
            off_policy_steps,
        ),
        ("PPO, CartPole-v1, 4 envs x 128 steps, 2x64", agent_runs.ours_ppo, agent_runs.sb3_ppo, ppo_steps),
    ]
    rows = [
        "| agent, env, size | steps (1000 random first for off-policy) | sebn steps/s | SB3 steps/s | sebn / SB3 |",
        "|---|---|---|---|---|",
    ]
    for name, ours, theirs, steps in pairs:
        if keep and not name.startswith(keep):
            continue
        ours_sps, theirs_sps = [], []
        for r in range(repeats):  # alternate so drift in machine load hits both sides
            ours_sps.append(ours(steps, f"/tmp/bench_agents/ours_{r}"))
            theirs_sps.append(theirs(steps, f"/tmp/bench_agents/sb3_{r}"))
        a, b = statistics.median(ours_sps), statistics.median(theirs_sps)
        rows.append(f"| {name} | {steps:,} | {a:,.0f} | {b:,.0f} | {a / b:.2f}x |")
        print(rows[-1], flush=True)
    return rows


def _curve(job: tuple[str, int, int]) -> tuple[str, int, list[tuple[int, float]]]:
    algorithm, seed, steps = job
    torch.set_num_threads(1)
    points: list[tuple[int, float]] = []

    class Record(Callbacks):
        def on_eval(self, step, metrics):
            points.append((step, metrics["eval/episodic_return"]))

    common = {"seed": seed, "total_timesteps": steps, "run_dir": f"/tmp/bench_agents/curve_{algorithm}_{seed}"}
    tenth = {"eval_every": steps // 10, "eval_episodes": 10}
    if algorithm == "ppo":
        module, args = ppo, ppo.Args(env_id="CartPole-v1", **tenth, **common)
    elif algorithm == "bipedal":
        module = td3_fork
        args = td3_fork.Args(env_id="BipedalWalker-v3", eval_every=10_000, eval_episodes=5, save_buffer=False, **common)
    else:
        module = sac if algorithm == "sac" else td3_fork
        args = module.Args(env_id="Pendulum-v1", learning_starts=1000, save_buffer=False, **tenth, **common)
    module.train(args, callbacks=Record())
    return algorithm, seed, points


def bench_curves(quick: bool) -> list[str]:
    steps = (
        {"sac": 4_000, "td3_fork": 4_000, "ppo": 20_480}
        if quick
        else {"sac": 20_000, "td3_fork": 20_000, "ppo": 102_400}
    )
    titles = {"sac": "SAC, Pendulum-v1", "td3_fork": "TD3-FORK, Pendulum-v1", "ppo": "PPO, CartPole-v1"}
    return _curves(titles, steps, "agents_curves.png")


def bench_bipedal(quick: bool, steps: int) -> list[str]:
    # Three seeds on two cores at once: a third less wall time than two rounds of two.
    return _curves(
        {"bipedal": "TD3-FORK, BipedalWalker-v3"},
        {"bipedal": 20_000 if quick else steps},
        "bipedal_curves.png",
        workers=3,
    )


def _curves(titles: dict[str, str], steps: dict[str, int], image: str, workers: int = 2) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    jobs = [(a, s, steps[a]) for a in titles for s in SEEDS]
    with mp.get_context("spawn").Pool(workers) as pool:
        results = pool.map(_curve, jobs)
    fig, axes = plt.subplots(1, len(titles), figsize=(4.4 * len(titles), 3.6), squeeze=False)
    axes = axes[0]
    rows = [
        "| agent, env | steps | final eval return per seed | median | best eval seen (median over seeds) |",
        "|---|---|---|---|---|",
    ]
    for ax, algorithm in zip(axes, titles):
        curves = [points for a, _, points in results if a == algorithm]
        for seed, points in zip(SEEDS, curves):
            ax.plot(*zip(*points), alpha=0.8, label=f"seed {seed}")
        finals = [points[-1][1] for points in curves]
        bests = [max(v for _, v in points) for points in curves]
        rows.append(
            f"| {titles[algorithm]} | {curves[0][-1][0]:,} | {', '.join(f'{v:.0f}' for v in finals)} | "
            f"{statistics.median(finals):.0f} | {statistics.median(bests):.0f} |"
        )
        ax.set_title(titles[algorithm])
        ax.set_xlabel("environment steps")
        ax.set_ylabel("eval return (mean of eval episodes)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / image, dpi=110)
    plt.close(fig)
    rows += ["", f"![learning curves](benchmarks/results/{image})"]
    return rows


class GradientNorms(Callbacks):
    """What the gradient-norm teacher does per update: copy the actor's gradients, take the norm."""

    def __init__(self):
        self.norms: list[float] = []

    def on_update(self, modules):
        if "actor" in modules:
            grads = [p.grad.detach().clone() for p in modules["actor"].parameters()]
            self.norms.append(float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]))))


def bench_overhead(quick: bool) -> list[str]:
    torch.set_num_threads(1)
    steps, blocks = (1500, 2) if quick else (3000, 5)
    plain, with_callback = [], []
    for block in range(blocks):
        for bucket, callbacks in ((plain, None), (with_callback, GradientNorms())):
            args = sac.Args(
                env_id="Pendulum-v1",
                total_timesteps=steps,
                learning_starts=500,
                hidden_sizes=[256, 256, 256],
                batch_size=256,
                eval_every=0,
                run_dir=f"/tmp/bench_agents/overhead_{block}",
                save_buffer=False,
            )
            start = time.perf_counter()
            sac.train(args, callbacks=callbacks)
            bucket.append((time.perf_counter() - start) / (steps - 500))
    a, b = statistics.median(plain), statistics.median(with_callback)
    return [
        "| SAC update (gradient-paper size: 3x256, batch 256) | median time per env step + update |",
        "|---|---|",
        f"| without callback | {a * 1e3:.2f} ms |",
        f"| with the gradient-norm callback (copy + norm of actor gradients) | {b * 1e3:.2f} ms |",
        f"| overhead | {100 * (b / a - 1):+.1f}% (goal: under 5%) |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("throughput", "curves", "bipedal", "overhead"), help="run one part")
    parser.add_argument("--quick", action="store_true", help="small budgets; print only")
    parser.add_argument("--bipedal-steps", type=positive_int, default=100_000, help="steps per seed for --only bipedal")
    parser.add_argument(
        "--pairs", default="", help="throughput: only the rows whose name starts with this (print only)"
    )
    args = parser.parse_args()
    parts = {
        "throughput": lambda quick: bench_throughput(quick, args.pairs),
        "curves": bench_curves,
        "bipedal": lambda quick: bench_bipedal(quick, args.bipedal_steps),
        "overhead": bench_overhead,
    }
    sections = {}
    for name, fn in parts.items():
        if args.only == name or (args.only is None and name != "bipedal"):
            sections[name] = fn(args.quick)
            print("\n".join(sections[name]), flush=True)
    if args.quick or args.pairs:
        return
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text()
    old = re.search(re.escape(MARK_BEGIN) + "(.*?)" + re.escape(MARK_END), text, flags=re.S)
    previous = _split_parts(old.group(1)) if old else {}
    previous.update({k: "\n".join(v) for k, v in sections.items()})
    titles = {
        "throughput": "Throughput vs Stable-Baselines3",
        "curves": "Learning curves, 3 seeds",
        "bipedal": "TD3-FORK on BipedalWalker-v3, 3 seeds",
        "overhead": "Gradient-norm callback overhead",
    }
    body = [
        MARK_BEGIN,
        "## Agents (`benchmarks/bench_agents.py`)",
        "",
        'Command: `.venv/bin/python -m benchmarks.bench_agents` (after `pip install -e ".[bench]"`); one torch thread '
        "per run; SB3 " + agent_runs.sb3_version() + ".",
        "",
    ]
    for key in parts:
        if key in previous:
            body += [f"### {titles[key]}", f"<!-- part:{key} -->", previous[key], ""]
    body.append(MARK_END)
    section = "\n".join(body)
    text = text.replace(old.group(0), section) if old else text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)
    print(f"wrote {path}")


def _split_parts(text: str) -> dict[str, str]:
    parts = {}
    for match in re.finditer(r"<!-- part:(\w+) -->\n(.*?)(?=\n### |\Z)", text, flags=re.S):
        parts[match.group(1)] = match.group(2).strip()
    return parts


if __name__ == "__main__":
    main()
