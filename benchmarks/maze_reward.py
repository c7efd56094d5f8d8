"""Does SAC (the gradient paper's preset) learn PointMaze UMaze at a budget that fits here,
with the sparse and with the dense reward? Prints one line per env id.

    .venv/bin/python -m benchmarks.maze_reward --steps 20000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time

from agents import sac
from domains.pointmaze import MazeTaskEnv
from sebn.cli.arguments import non_negative_int, positive_int


def train_once(job: tuple[str, int, int]) -> str:
    env_id, steps, seed = job
    args = sac.Args(
        preset="gradient-paper",
        total_timesteps=steps,
        learning_starts=1000,
        eval_every=steps // 4,
        eval_episodes=10,
        run_dir=tempfile.mkdtemp(),
        seed=seed,
    )
    start = time.perf_counter()
    result = sac.train(args, make_env=lambda i: MazeTaskEnv(env_id, position_noise=0.25 if i < 0 else 0.0))
    return (
        f"| {env_id} | {steps:,} | {seed} | {result.last_eval['eval/success_rate']:.2f} | "
        f"{result.last_eval['eval/episodic_length']:.0f} | {(time.perf_counter() - start) / 60:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=positive_int, default=20_000)
    parser.add_argument("--seed", type=non_negative_int, default=0)
    args = parser.parse_args()
    jobs = [(env_id, args.steps, args.seed) for env_id in ("PointMaze_UMaze-v3", "PointMaze_UMazeDense-v3")]
    with mp.get_context("spawn").Pool(2) as pool:
        rows = pool.map(train_once, jobs)
    print("| env | steps | seed | eval success | eval episode length | minutes |\n|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
