"""MiniGrid's own DoorKey with Stable-Baselines3's PPO, fed through sebn's wrapper: the SEBN
curriculum over the room's size (``specs/minigrid_doorkey.sebn``) vs uniform over the four
sizes vs no curriculum (16x16 alone), success on MiniGrid-DoorKey-16x16-v0 vs env steps, and
at the end in every room size (what was learnt where); writes its section of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.minigrid_sb3 --steps 1000000 --seeds 5
    .venv/bin/python -m benchmarks.minigrid_sb3 --quick            # 1 seed x 20k steps, print only
    .venv/bin/python -m benchmarks.minigrid_sb3 --settings-check   # the Zoo's settings vs ours, one room each

Nothing here is ours but the curricula and the wrapper: MiniGrid's registered env (the
room's size set through ``apply_task``, as README "Use sebn with your own agent" does; the
agent's 7x7 view, ``ImgObsWrapper``, flattened for SB3's ``MlpPolicy``) and PPO with the
hyperparameters of rl-starter-files (Willems, ``scripts/train.py`` defaults, the source RL
Baselines3 Zoo cites for MiniGrid): 16 envs x 128 steps, minibatches of 256, 4 epochs,
learning rate 1e-3, entropy bonus 0.01, gamma 0.99, GAE 0.95, clip 0.2, gradient norm
0.5. The Zoo's own MiniGrid entry (``FlatObsWrapper``, ``VecNormalize``, 8 envs, 10 epochs,
no entropy bonus, learning rate 2.5e-4) did not solve DoorKey-5x5 in its 100k steps here,
where these settings solve it in about half of them (``--settings-check``, BENCHMARKS.md).
Each run is one process (two at a time); evaluation every ``--eval-every`` steps:
``--eval-episodes`` episodes on 16x16 with sampled actions, and at the end in every room
size. A finished run (``final.json``) is skipped when the benchmark is run again; an
interrupted one starts over.
"""

from __future__ import annotations

import argparse
import csv
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import gymnasium as gym
import numpy as np
from minigrid.wrappers import ImgObsWrapper

from benchmarks.markdown import ROOT, publish
from sebn.cli.arguments import positive_int
from sebn.report.summary import iqm, probability_of_improvement, stratified_interval

CURRICULA = ("sebn", "uniform", "target")
RUNS = ROOT / "runs" / "bench-minigrid-sb3"
SPEC = ROOT / "specs" / "minigrid_doorkey.sebn"
HARD = 16
SIZES = (5, 6, 8, 16)
LATE = 0.75  # "late in training": the last quarter of each run's steps
NUM_ENVS = 16
STARTER_PPO = {
    "n_steps": 128,
    "batch_size": 256,
    "n_epochs": 4,
    "learning_rate": 1e-3,
    "ent_coef": 0.01,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "max_grad_norm": 0.5,
    "vf_coef": 0.5,
}


def set_size(env, task) -> None:
    room = env.unwrapped
    room.width = room.height = int(task["size"])
    room.max_steps = 10 * int(task["size"]) ** 2


def goal_reached(info, episode_return) -> dict[str, int]:
    return {"goalreached": int(episode_return > 0)}


def flat_view(env):
    """The agent's 7x7 view of a MiniGrid env, flattened for ``MlpPolicy``."""
    return gym.wrappers.FlattenObservation(ImgObsWrapper(env))


def room(size: int):
    """MiniGrid's registered DoorKey room, seen through :func:`flat_view`."""
    return flat_view(gym.make(f"MiniGrid-DoorKey-{size}x{size}-v0"))


def make_env(index: int):
    from sebn.runner.task_wrapper import CurriculumWrapper

    return CurriculumWrapper(room(HARD), index=index, apply_task=set_size, outcomes=goal_reached)


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


def evaluate(model, episodes: int, seed: int, size: int = HARD) -> float:
    """Success rate on MiniGrid's registered DoorKey room of this size, with sampled actions."""
    env = room(size)
    successes = 0
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        done, episode_return = False, 0.0
        while not done:
            action, _ = model.predict(obs[None], deterministic=False)
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
    from stable_baselines3.common.vec_env import DummyVecEnv

    from sebn.runner.task_wrapper import TaskSupply

    torch.set_num_threads(1)
    run_dir = runs / curriculum / f"seed{seed}"
    if (run_dir / "final.json").exists():
        return f"{run_dir}: already complete"
    run_dir.mkdir(parents=True, exist_ok=True)
    supply = TaskSupply(make_curriculum(curriculum, seed), NUM_ENVS)
    episodes: list[tuple[int, int, int]] = []  # (step, size, goal reached) of every training episode
    supply.on_finished = lambda e: episodes.append((e.step, int(e.task["size"]), e.targets["goalreached"]))
    envs = DummyVecEnv([lambda i=i: make_env(i) for i in range(NUM_ENVS)])
    supply.attach(envs)
    model = PPO("MlpPolicy", envs, seed=seed, device="cpu", **STARTER_PPO)
    rows: list[tuple[int, float]] = []

    class Evaluate(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps >= eval_every * (len(rows) + 1):
                rows.append((self.num_timesteps, evaluate(model, eval_episodes, 10_000 * (seed + 1))))
            return True

    model.learn(steps, callback=CallbackList([supply.sb3_callback(), Evaluate()]))
    if not rows or rows[-1][0] != model.num_timesteps:
        rows.append((model.num_timesteps, evaluate(model, eval_episodes, 10_000 * (seed + 1))))
    with (run_dir / "evals.csv").open("w", newline="") as f:
        csv.writer(f).writerows([("step", "success_rate"), *rows])
    late = [(size, reached) for step, size, reached in episodes if step >= LATE * steps]
    final = {
        "global_step": model.num_timesteps,
        "success_rate": rows[-1][1],
        "episodes": len(episodes),
        "sizes": {size: sum(e[1] == size for e in episodes) / max(len(episodes), 1) for size in SIZES},
        "final_by_size": {
            size: rows[-1][1] if size == HARD else evaluate(model, eval_episodes, 10_000 * (seed + 1), size)
            for size in SIZES
        },
        "late_training_by_size": {
            size: float(np.mean([r for z, r in late if z == size])) if any(z == size for z, _ in late) else None
            for size in SIZES
        },
    }
    (run_dir / "final.json").write_text(json.dumps(final))
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


ZOO_PPO = {
    "n_steps": 128,
    "batch_size": 64,
    "n_epochs": 10,
    "learning_rate": 2.5e-4,
    "ent_coef": 0.0,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
}
"""RL Baselines3 Zoo's ``minigrid-defaults`` (``rl_zoo3/hyperparams/ppo.yml``), with 8 envs,
``FlatObsWrapper`` and ``VecNormalize``."""
CHECKS = (("zoo", 5, 100_000), ("starter", 5, 100_000), ("starter", 8, 400_000), ("starter", 16, 400_000))
"""(settings, room size, env steps) of ``--settings-check``: no curriculum, one room."""


def settings_check(settings: str, size: int, steps: int, seed: int = 0) -> list[str]:
    """SB3's PPO alone in one registered room: the success of the last 100 training episodes
    at each quarter of ``steps``."""
    import torch
    from minigrid.wrappers import FlatObsWrapper
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    env_id = f"MiniGrid-DoorKey-{size}x{size}-v0"
    if settings == "zoo":
        envs = VecNormalize(make_vec_env(env_id, n_envs=8, wrapper_class=FlatObsWrapper, seed=seed))
        model = PPO("MlpPolicy", envs, seed=seed, device="cpu", **ZOO_PPO)
    else:
        envs = make_vec_env(env_id, n_envs=NUM_ENVS, wrapper_class=flat_view, seed=seed)
        model = PPO("MlpPolicy", envs, seed=seed, device="cpu", **STARTER_PPO)
    cells = []
    for _ in range(4):
        model.learn(steps // 4, reset_num_timesteps=False)
        cells.append(f"{np.mean([e['r'] > 0 for e in model.ep_info_buffer]):.2f} at {model.num_timesteps // 1000}k")
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=positive_int, default=1_000_000)
    parser.add_argument("--seeds", type=positive_int, default=5)
    parser.add_argument("--eval-every", type=positive_int, default=100_000)
    parser.add_argument("--eval-episodes", type=positive_int, default=10)
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--quick", action="store_true", help="1 seed x 20k steps into a scratch directory; print only")
    parser.add_argument(
        "--settings-check", action="store_true", help="the Zoo's PPO settings and ours alone in single rooms"
    )
    args = parser.parse_args()
    if args.settings_check:
        lines = [
            "## MiniGrid DoorKey: choosing Stable-Baselines3's PPO settings (`benchmarks/minigrid_sb3.py`)",
            "",
            "PPO settings without a curriculum, one registered room, seed 0 (`.venv/bin/python -m "
            "benchmarks.minigrid_sb3 --settings-check`): the success of the last 100 training episodes at each "
            "quarter of the run.",
            "",
            "| settings | room | success of the last 100 training episodes |",
            "|---|---|---|",
        ]
        for settings, size, steps in CHECKS:
            name = "RL Zoo `minigrid-defaults`" if settings == "zoo" else "rl-starter-files (ours)"
            lines.append(f"| {name} | {size}x{size} | {', '.join(settings_check(settings, size, steps))} |")
        publish("minigrid_sb3_settings", lines, write=True)
        return
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
        "Stable-Baselines3 PPO (`MlpPolicy` on the agent's flattened 7x7 view) with rl-starter-files' "
        "hyperparameters (16 envs x 128 steps, 4 epochs, minibatches of 256, lr 1e-3, entropy 0.01) on "
        "MiniGrid's registered "
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
        shares = " / ".join(f"{np.mean([r['final']['sizes'][str(size)] for r in runs_]):.2f}" for size in SIZES)
        lines.append(f"| {curriculum} | {cell(finals)} | " + " | ".join(early) + f" | {improvement} | {shares} |")
    lines += [
        "",
        "What each curriculum's agent learnt, room by room: final success in each registered room "
        f"({args.eval_episodes} episodes, sampled actions; IQM over seeds) and, in brackets, the training episodes' "
        "success in that room over the last quarter of the run (pooled over seeds; - where it had none):",
        "",
        "| curriculum | " + " | ".join(f"{size}x{size}" for size in SIZES) + " |",
        "|" + "---|" * (1 + len(SIZES)),
    ]
    for curriculum, runs_ in results.items():
        cells = []
        for size in SIZES:
            final = cell([r["final"]["final_by_size"][str(size)] for r in runs_])
            late = [r["final"]["late_training_by_size"][str(size)] for r in runs_]
            late = [v for v in late if v is not None]
            cells.append(f"{final} ({np.mean(late):.2f})" if late else f"{final} (-)")
        lines.append(f"| {curriculum} | " + " | ".join(cells) + " |")
    publish("minigrid_sb3", lines, write=not args.quick)


if __name__ == "__main__":
    main()
