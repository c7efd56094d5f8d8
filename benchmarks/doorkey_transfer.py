"""Why DoorKey agents trained in 8x8 rooms fail in larger ones: finished agents replayed on
the transfer rooms, failed episodes sorted by the stage they stopped at, and the goal
stage's success by how far the goal lies from the opened door; writes its section of
BENCHMARKS.md.

    .venv/bin/python -m benchmarks.doorkey_transfer                     # every finished run of the current version
    .venv/bin/python -m benchmarks.doorkey_transfer --domain doorkey_sizes   # agents that also trained in 16x16
    .venv/bin/python -m benchmarks.doorkey_transfer --episodes 20 --quick  # print only

The agent is each run's final checkpoint, the evaluation's chain of options with sampled
actions (as ``sebn run`` evaluates it), on the hardest setting; episode ``i`` uses layout
seed ``30_000 + i``, the same layouts for every run.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from agents.ppo import Agent
from agents.ppo_options import option_networks
from benchmarks.doorkey_curricula import RUNS, VERSION
from benchmarks.markdown import ROOT, publish
from domains.doorkey import TRANSFER_SIZES, make_env
from sebn.cli.arguments import positive_int
from sebn.runner.rundir import RunDir, find_runs

STAGES = ("success", "key", "door", "goal")
DISTANCES = ((0, 10), (10, 20), (20, 60))  # Manhattan squares from the opened door to the goal
TRAINED = {
    "doorkey": (
        f"DoorKey (version {VERSION})",
        "In the 8x8 training rooms the goal is at most 9 squares from where the door is opened.",
    ),
    "doorkey_sizes": (
        f"DoorKey (version {VERSION}) with room sizes",
        "In the training rooms the goal is at most 9 squares (8x8) or 25 "
        "squares (16x16) from where the door is opened.",
    ),
}
"""Domain -> its title and how far the goal lay in training."""


def replay(run_dir: Path, size: int, episodes: int) -> list[tuple[str, int | None]]:
    """Per episode: the stage it ended in (``success`` or the subgoal it failed at) and the
    Manhattan distance from the agent to the goal when the door opened (``None`` if it never did)."""
    torch.set_num_threads(1)
    run = RunDir(run_dir)
    arguments = run.read_config()["agent_args"]
    env = make_env(-1, size=size)
    agent = Agent(
        env.observation_space.shape[0],
        env.action_space,
        arguments["hidden_sizes"],
        network=option_networks(arguments["options"]),
    )
    agent.load_state_dict(torch.load(run.checkpoint, weights_only=True)["agent"])
    generator = torch.Generator().manual_seed(0)
    outcomes = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=30_000 + episode)
        grid, done, door_to_goal, terminated = env.unwrapped, False, None, False
        while not done:
            with torch.no_grad():
                action = agent.sample(torch.as_tensor(obs[None]), generator).numpy()[0]
            obs, _, terminated, truncated, _ = env.step(action)
            if grid.door_open and door_to_goal is None:
                door_to_goal = sum(abs(g - a) for g, a in zip(grid.goal_pos, grid.agent_pos))
            done = terminated or truncated
        stage = "success" if terminated else "key" if not grid.carrying else "door" if not grid.door_open else "goal"
        outcomes.append((stage, door_to_goal))
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domain", choices=tuple(TRAINED), default="doorkey", help="whose finished runs")
    parser.add_argument("--runs", help="relative to the repository (default: the domain's benchmark runs)")
    parser.add_argument("--episodes", type=positive_int, default=100, help="episodes per run and room size")
    parser.add_argument("--quick", action="store_true", help="print only")
    args = parser.parse_args()
    default_runs = f"runs/{RUNS[args.domain]}/{args.domain}"
    args.runs = args.runs or default_runs
    title, trained = TRAINED[args.domain]
    runs = [r for r in find_runs([ROOT / args.runs]) if RunDir(r).read_final() is not None]
    stage_rows = [
        "| room | episodes | success | failed at the key | at the door | at the goal |",
        "|---|---|---|---|---|---|",
    ]
    header = " | ".join(f"{low}-{high - 1} squares" for low, high in DISTANCES)
    distance_rows = [f"| room | {header} |", "|---|" + "---|" * len(DISTANCES)]
    for size in TRANSFER_SIZES:
        outcomes = [o for run in runs for o in replay(run, size, args.episodes)]
        stages = Counter(stage for stage, _ in outcomes)
        shares = " | ".join(f"{stages[s] / len(outcomes):.2f}" for s in STAGES)
        stage_rows.append(f"| {size}x{size} | {len(outcomes):,} | {shares} |")
        cells = []
        for low, high in DISTANCES:
            reached = [stage == "success" for stage, d in outcomes if d is not None and low <= d < high]
            cells.append(f"{np.mean(reached):.2f} ({len(reached):,})" if reached else "-")
        distance_rows.append(f"| {size}x{size} | {' | '.join(cells)} |")
    lines = [
        f"## {title}: what stops transfer to larger rooms (`benchmarks/doorkey_transfer.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.doorkey_transfer --episodes {args.episodes}"
        + (f" --domain {args.domain}" if args.domain != "doorkey" else "")
        + (f" --runs {args.runs}" if args.runs != default_runs else "")
        + "`; the final agents of "
        f"the {len(runs)} finished runs in `{args.runs}` (every curriculum and seed, pooled), "
        f"{args.episodes} episodes each on every transfer room, the same layouts for every agent. Where the chained "
        "options stop (an episode ends when it reaches the goal, or after 50 steps without progress):",
        "",
        *stage_rows,
        "",
        "Episodes that opened the door, by the Manhattan distance from there to the goal: the share that then reached "
        f"the goal (episodes). {trained}",
        "",
        *distance_rows,
    ]
    section = f"doorkey_v{VERSION}_transfer" if args.domain == "doorkey" else f"{args.domain}_v{VERSION}_transfer"
    publish(section, lines, write=not args.quick)


if __name__ == "__main__":
    main()
