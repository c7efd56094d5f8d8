"""MiniGrid's own DoorKey with Stable-Baselines3's PPO, fed through sebn's wrapper: the SEBN
curriculum over the room's size (``specs/minigrid_doorkey.sebn``) vs uniform over the four
sizes vs no curriculum (16x16 alone), success on MiniGrid-DoorKey-16x16-v0 vs env steps;
writes its section of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.minigrid_sb3 --steps 400000 --seeds 5
    .venv/bin/python -m benchmarks.minigrid_sb3 --quick        # 1 seed x 20k steps, print only

Nothing here is ours but the curricula and the wrapper: MiniGrid's registered env (the
room's size set through ``apply_task``, as README "Use sebn with your own agent" does),
and RL Baselines3 Zoo's PPO for MiniGrid (``rl_zoo3/hyperparams/ppo.yml``,
``minigrid-defaults``, as used for MiniGrid-DoorKey-5x5-v0): ``FlatObsWrapper``,
``VecNormalize``, 8 envs x 128 steps, minibatches of 64, 10 epochs, gamma 0.99, GAE 0.95,
no entropy bonus, learning rate 2.5e-4, clip 0.2. Each run is one process (two at a
time); evaluation every ``--eval-every`` steps: ``--eval-episodes`` episodes on 16x16
with sampled actions (as the Zoo evaluates MiniGrid), observations normalised by the
run's statistics. A finished run (``final.json``) is skipped when the benchmark is run
again; an interrupted one starts over.
"""

from __future__ import annotations

import argparse
import csv
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.markdown import ROOT, publish
from sebn.report.summary import iqm, probability_of_improvement, stratified_interval

CURRICULA = ("sebn", "uniform", "target")
RUNS = ROOT / "runs" / "bench-minigrid-sb3"
SPEC = ROOT / "specs" / "minigrid_doorkey.sebn"
HARD = 16
NUM_ENVS = 8
ZOO_PPO = {
    "n_steps": 128,
    "batch_size": 64,
    "gae_lambda": 0.95,
    "gamma": 0.99,
    "n_epochs": 10,
    "ent_coef": 0.0,
    "learning_rate": 2.5e-4,
    "clip_range": 0.2,
}


def set_size(env, task) -> None:
    room = env.unwrapped
    room.width = room.height = int(task["size"])
    room.max_steps = 10 * int(task["size"]) ** 2


def goal_reached(info, episode_return) -> dict[str, int]:
    return {"goalreached": int(episode_return > 0)}


def make_env(index: int):
    import gymnasium as gym
    from minigrid.wrappers import FlatObsWrapper

    from sebn.runner.task_wrapper import CurriculumWrapper

    env = FlatObsWrapper(gym.make(f"MiniGrid-DoorKey-{HARD}x{HARD}-v0"))
    return CurriculumWrapper(env, index=index, apply_task=set_size, outcomes=goal_reached)


def make_curriculum(name: str, seed: int):
    from sebn.core.network import SEBN
    from sebn.core.spec import load_spec
    from sebn.curricula.base import TaskSpace
    from sebn.curricula.baselines import TargetCurriculum, UniformCurriculum
    from sebn.curricula.sebn import SEBNCurriculum

    net = SEBN(load_spec(SPEC))
    if name == "sebn":
        return SEBNCurriculum(net, generation_size=50, seed=seed)
    if name == "uniform":
        return UniformCurriculum(TaskSpace(net), seed=seed)
    return TargetCurriculum([{"size": HARD}], seed=seed)


def evaluate(model, normalizer, episodes: int, seed: int) -> float:
    """Success rate on MiniGrid-DoorKey-16x16 with sampled actions."""
    import gymnasium as gym
    from minigrid.wrappers import FlatObsWrapper

    env = FlatObsWrapper(gym.make(f"MiniGrid-DoorKey-{HARD}x{HARD}-v0"))
    successes = 0
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        done, episode_return = False, 0.0
        while not done:
            action, _ = model.predict(normalizer.normalize_obs(obs[None]), deterministic=False)
            obs, reward, terminated, truncated, _ = env.step(int(action[0]))
            episode_return += float(reward)
            done = terminated or truncated
        successes += episode_return > 0
    env.close()
    return successes / episodes


def one_run(curriculum: str, seed: int, steps: int, eval_every: int, eval_episodes: int, runs: Path) -> str:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from sebn.runner.task_wrapper import TaskSupply

    torch.set_num_threads(1)
    run_dir = runs / curriculum / f"seed{seed}"
    if (run_dir / "final.json").exists():
        return f"{run_dir}: already complete"
    run_dir.mkdir(parents=True, exist_ok=True)
    supply = TaskSupply(make_curriculum(curriculum, seed), NUM_ENVS)
    sizes: list[int] = []
    supply.on_finished = lambda episode: sizes.append(int(episode.task["size"]))
    envs = VecNormalize(DummyVecEnv([lambda i=i: make_env(i) for i in range(NUM_ENVS)]))
    supply.attach(envs)
    model = PPO("MlpPolicy", envs, seed=seed, device="cpu", **ZOO_PPO)
    rows: list[tuple[int, float]] = []

    class Evaluate(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps >= eval_every * (len(rows) + 1):
                rows.append((self.num_timesteps, evaluate(model, envs, eval_episodes, 10_000 * (seed + 1))))
            return True

    model.learn(steps, callback=CallbackList([supply.sb3_callback(), Evaluate()]))
    if not rows or rows[-1][0] != model.num_timesteps:
        rows.append((model.num_timesteps, evaluate(model, envs, eval_episodes, 10_000 * (seed + 1))))
    with (run_dir / "evals.csv").open("w", newline="") as f:
        csv.writer(f).writerows([("step", "success_rate"), *rows])
    share = {size: sizes.count(size) / max(len(sizes), 1) for size in (5, 6, 8, 16)}
    (run_dir / "final.json").write_text(
        json.dumps(
            {"global_step": model.num_timesteps, "success_rate": rows[-1][1], "episodes": len(sizes), "sizes": share}
        )
    )
    envs.close()
    return f"{run_dir}: success {rows[-1][1]:.2f}"


def read(runs: Path, curriculum: str, seeds: int) -> list[dict]:
    out = []
    for seed in range(seeds):
        run_dir = runs / curriculum / f"seed{seed}"
        with (run_dir / "evals.csv").open() as f:
            rows = [(int(r["step"]), float(r["success_rate"])) for r in csv.DictReader(f)]
        out.append({"final": json.loads((run_dir / "final.json").read_text()), "curve": rows})
    return out


def cell(values, digits: int = 2) -> str:
    values = np.asarray(values, dtype=float)
    low, high = stratified_interval([values], iqm)
    return f"{iqm(values):.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eval-every", type=int, default=50_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1 seed x 20k steps into a scratch directory; print only")
    args = parser.parse_args()
    runs = RUNS
    if args.quick:
        args.steps, args.seeds, args.eval_every, args.eval_episodes = 20_000, 1, 10_000, 3
        runs = Path(f"{RUNS}-quick")
    jobs = [(c, s, args.steps, args.eval_every, args.eval_episodes, runs) for s in range(args.seeds) for c in CURRICULA]
    with ProcessPoolExecutor(args.workers) as pool:
        for message in pool.map(one_run, *zip(*jobs)):
            print(message, flush=True)
    results = {c: read(runs, c, args.seeds) for c in CURRICULA}
    shown = [args.eval_every * k for k in (1, 2, 4) if args.eval_every * k < args.steps]

    def at(run, step):
        return max((v for s, v in run["curve"] if s <= step), default=0.0)

    lines = [
        "## MiniGrid DoorKey with Stable-Baselines3 PPO through sebn's wrapper (`benchmarks/minigrid_sb3.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.minigrid_sb3 --steps {args.steps} --seeds {args.seeds}`; "
        f"{args.seeds} seeds per curriculum, {args.steps:,} env steps each, {args.workers} runs at a time. "
        "Stable-Baselines3 PPO with RL Baselines3 Zoo's MiniGrid hyperparameters on MiniGrid's registered "
        "`MiniGrid-DoorKey-16x16-v0`, the room's size (5, 6, 8 or 16) set per episode by the curriculum through "
        "`CurriculumWrapper`; `target` trains on 16x16 alone. Success on 16x16 with sampled actions, "
        f"{args.eval_episodes} episodes per evaluation; IQM over seeds, 95% stratified bootstrap intervals:",
        "",
        "| curriculum | final success on 16x16 | "
        + " | ".join(f"success at {s // 1000}k steps" for s in shown)
        + " | P(sebn > curriculum) | training episodes by size (5 / 6 / 8 / 16) |",
        "|" + "---|" * (4 + len(shown)),
    ]
    reference = np.array([r["final"]["success_rate"] for r in results["sebn"]])
    for curriculum, runs_ in results.items():
        finals = np.array([r["final"]["success_rate"] for r in runs_])
        early = [cell([at(r, s) for r in runs_]) for s in shown]
        improvement = (
            "reference" if curriculum == "sebn" else f"{float(probability_of_improvement(reference, finals)):.2f}"
        )
        shares = " / ".join(f"{np.mean([r['final']['sizes'][str(size)] for r in runs_]):.2f}" for size in (5, 6, 8, 16))
        lines.append(f"| {curriculum} | {cell(finals)} | " + " | ".join(early) + f" | {improvement} | {shares} |")
    publish("minigrid_sb3", lines, write=not args.quick)


if __name__ == "__main__":
    main()
