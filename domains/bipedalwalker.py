"""BipedalWalkerHardcore with its terrain built from a task: the SEBN paper's
continuous-control domain.

A task is ``specs/bipedalwalker.sebn``'s five env variables (a ``target`` key, if given,
must be ``goalreached``, the spec's one target, and is echoed back). Each level stands for a
range of one of ACCEL's terrain parameters
(Parker-Holder et al. 2022, whose editor draws roughness in 0-10, pit gap in 0-10 and stump
and stair heights in 0-5 terrain steps, stair steps in 1-9); a value is drawn from the
range for every obstacle at every reset. Level 0 leaves the obstacle out; level 1 is about
Gymnasium's own hardcore obstacle; level 2 goes beyond it. Lengths are in terrain steps
(14/30 units):

=================  ============================  =====  =========  ======  =====  =====
variable           parameter                     0      1          2       3      4
=================  ============================  =====  =========  ======  =====  =====
ground_roughness   scale of the ground's random  0      0.5-1.5    1.5-3   3-5    5-8
                   slope changes (Gymnasium: 1)  (flat)
pit_gap            pit width                     none   2-4        5-7
stump_height       stump height (width 1-2)      none   0.5-2      2-3.5
stair_width        width of each stair           none*  4-5        2-3
stair_steps        stairs per flight             none*  2-4        5-9
=================  ============================  =====  =========  ======  =====  =====

\\* A flight of stairs appears when either stair variable is above 0; the other one, at 0,
takes its level-1 range. Stairs rise or fall one terrain step each (Gymnasium's; a flight
falls only where the ground stays above the bottom of the world). Narrow stairs are the
harder ones, so ``stair_width`` grows harder with its level like every other variable.

After a flat start pad the level alternates stretches of ground (5-9 steps) with obstacles
drawn uniformly from those present, as Gymnasium's hardcore generator does. Pits and stairs
are part of the ground's outline (vertical faces are vertical edges); stumps are boxes on
it. ``self.obstacles`` lists what was built (kind, position and sizes) and
``self.roughness`` the drawn roughness.

Physics, observations and rewards are Gymnasium's ``BipedalWalker`` unchanged. The target
``goalreached`` is 1 when the hull got at least 30 units (a third of the level) past its
start; the last ``info`` of an episode reports it in ``targets`` and ``is_success``. An
episode is cut (truncated) after 2,000 steps, Gymnasium's limit for the hardcore walker.

Example:
    >>> env = TerrainWalker()
    >>> _, info = env.reset(seed=0, options={"task": {"ground_roughness": 0, "pit_gap": 2, "stump_height": 0,
    ...                                                "stair_width": 0, "stair_steps": 0}})
    >>> sorted({o["kind"] for o in env.obstacles}), all(5 <= o["width"] <= 7 for o in env.obstacles)
    (['pit'], True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from domains.common import check_levels
from sebn.core.spec import shipped_spec
from sebn.runner.interface import Domain, run_as_command

try:
    from gymnasium.envs.box2d.bipedal_walker import (
        SCALE,
        TERRAIN_GRASS,
        TERRAIN_HEIGHT,
        TERRAIN_LENGTH,
        TERRAIN_STARTPAD,
        TERRAIN_STEP,
        BipedalWalker,
    )
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError('the BipedalWalker domain needs Box2D: pip install -e ".[box2d]"') from None

ENV_VARIABLES = ("ground_roughness", "pit_gap", "stump_height", "stair_width", "stair_steps")
LEVELS = {"ground_roughness": 5, "pit_gap": 3, "stump_height": 3, "stair_width": 3, "stair_steps": 3}
ROUGHNESS = ((0.0, 0.0), (0.5, 1.5), (1.5, 3.0), (3.0, 5.0), (5.0, 8.0))
PIT_WIDTH = (None, (2, 4), (5, 7))  # whole terrain steps, both ends included
STUMP_HEIGHT = (None, (0.5, 2.0), (2.0, 3.5))
STUMP_WIDTH = (1, 2)
STAIR_WIDTH = (None, (4, 5), (2, 3))
STAIR_STEPS = (None, (2, 4), (5, 9))
PIT_DEPTH = 4  # terrain steps, Gymnasium's
GOAL_DISTANCE = 30.0
MAX_EPISODE_STEPS = 2000
START_X = TERRAIN_STEP * TERRAIN_STARTPAD / 2  # where Gymnasium puts the hull

# The paper's evaluation terrains: each challenge alone at its hardest level, and all of
# them together at about Gymnasium's hardcore level (the `target` curriculum trains there).
CHALLENGES = {
    "stairs": {"stair_width": 2, "stair_steps": 2},
    "pit_gap": {"pit_gap": 2},
    "stump": {"stump_height": 2},
    "roughness": {"ground_roughness": 4},
}
COMBINED = {"ground_roughness": 1, "pit_gap": 1, "stump_height": 1, "stair_width": 1, "stair_steps": 1}


def task_from(levels: Mapping[str, int]) -> dict[str, int]:
    """A full task: the given levels, 0 for the rest."""
    return {**{name: 0 for name in ENV_VARIABLES}, **levels}


EVALUATION = {"combined": task_from(COMBINED), **{name: task_from(levels) for name, levels in CHALLENGES.items()}}


def valid_tasks() -> list[dict[str, Any]]:
    """All 405 settings of the spec."""
    grids = np.meshgrid(*(range(LEVELS[name]) for name in ENV_VARIABLES), indexing="ij")
    return [
        task_from(dict(zip(ENV_VARIABLES, map(int, row))))
        for row in np.stack(grids, -1).reshape(-1, len(ENV_VARIABLES))
    ]


def check_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """The task as a plain dict; a clear ``ValueError`` for anything else."""
    return check_levels(task, {name: LEVELS[name] - 1 for name in ENV_VARIABLES}, "BipedalWalker")


class TerrainWalker(BipedalWalker):
    """Gymnasium's ``BipedalWalker`` whose terrain follows a task (see the module).

    Args:
        task: the task used when a reset gives none (default: the combined evaluation).
        max_episode_steps: steps after which an episode is truncated.
        render_mode: as Gymnasium's.
    """

    def __init__(
        self,
        task: Mapping[str, Any] | None = None,
        max_episode_steps: int = MAX_EPISODE_STEPS,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode, hardcore=True)
        self.task = check_task(task if task is not None else EVALUATION["combined"])
        self.max_episode_steps = max_episode_steps
        self.obstacles: list[dict[str, Any]] = []
        self.roughness = 0.0
        self.elapsed = 0
        self.furthest = 0.0

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        if options and "task" in options:
            self.task = check_task(options["task"])
        obs, _ = super().reset(seed=seed)  # its first, zero-action step goes through self.step
        self.elapsed, self.furthest = 0, 0.0
        return obs, {"task": dict(self.task)}

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self.elapsed += 1
        self.furthest = max(self.furthest, self.hull.position[0] - START_X)
        truncated = truncated or (not terminated and self.elapsed >= self.max_episode_steps)
        if terminated or truncated:
            success = self.furthest >= GOAL_DISTANCE
            info = {
                **info,
                "targets": {"goalreached": int(success)},
                "is_success": success,
                "distance": float(self.furthest),
            }
        return obs, reward, terminated, truncated, info

    # Terrain --------------------------------------------------------------------------

    def _generate_terrain(self, hardcore: bool) -> None:
        """The ground's outline (``terrain_x``, ``terrain_y``) and the obstacles of
        ``self.task``; replaces Gymnasium's generator, which knows no task."""
        rng, task = self.np_random, self.task
        self.roughness = float(rng.uniform(*ROUGHNESS[task["ground_roughness"]]))
        kinds = [
            kind
            for kind, present in (
                ("pit", task["pit_gap"]),
                ("stump", task["stump_height"]),
                ("stairs", task["stair_width"] or task["stair_steps"]),
            )
            if present
        ]
        self.terrain, self.obstacles = [], []
        self.terrain_x, self.terrain_y = [0.0], [TERRAIN_HEIGHT]
        self._column, self._velocity = 0, 0.0
        self._ground(TERRAIN_STARTPAD)
        finish = TERRAIN_LENGTH - TERRAIN_GRASS
        while kinds:
            obstacle = self._draw_obstacle(str(rng.choice(kinds)))
            if self._column + obstacle["length"] + TERRAIN_GRASS > finish:
                break
            self._build(obstacle)
            self._ground(int(rng.integers(TERRAIN_GRASS // 2, TERRAIN_GRASS)))
        self._ground(TERRAIN_LENGTH - 1 - self._column)
        self._outline_to_bodies()

    def _draw_obstacle(self, kind: str) -> dict[str, Any]:
        rng, task = self.np_random, self.task
        x = self._column * TERRAIN_STEP
        if kind == "pit":
            width = int(rng.integers(PIT_WIDTH[task["pit_gap"]][0], PIT_WIDTH[task["pit_gap"]][1] + 1))
            return {"kind": "pit", "x": x, "width": width, "length": width}
        if kind == "stump":
            width = int(rng.integers(STUMP_WIDTH[0], STUMP_WIDTH[1] + 1))
            height = float(rng.uniform(*STUMP_HEIGHT[task["stump_height"]]))
            return {"kind": "stump", "x": x, "width": width, "height": height, "length": width}
        width_range = STAIR_WIDTH[task["stair_width"] or 1]
        steps_range = STAIR_STEPS[task["stair_steps"] or 1]
        width = int(rng.integers(width_range[0], width_range[1] + 1))
        steps = int(rng.integers(steps_range[0], steps_range[1] + 1))
        falls = rng.random() <= 0.5 and self.terrain_y[-1] - (steps + PIT_DEPTH) * TERRAIN_STEP > 0
        return {
            "kind": "stairs",
            "x": x,
            "width": width,
            "steps": steps,
            "direction": -1 if falls else 1,
            "length": width * steps,
        }

    def _build(self, obstacle: dict[str, Any]) -> None:
        y = self.terrain_y[-1]
        if obstacle["kind"] == "pit":
            self._point(self.terrain_x[-1], y - PIT_DEPTH * TERRAIN_STEP)
            self._flat(obstacle["width"])
            self._point(self.terrain_x[-1], y)
        elif obstacle["kind"] == "stump":
            x0, x1 = obstacle["x"], obstacle["x"] + obstacle["width"] * TERRAIN_STEP
            self._box(
                [
                    (x0, y),
                    (x1, y),
                    (x1, y + obstacle["height"] * TERRAIN_STEP),
                    (x0, y + obstacle["height"] * TERRAIN_STEP),
                ]
            )
            self._flat(obstacle["width"])
        else:
            for _ in range(obstacle["steps"]):
                self._point(self.terrain_x[-1], self.terrain_y[-1] + obstacle["direction"] * TERRAIN_STEP)
                self._flat(obstacle["width"])
        self._velocity = 0.0
        self.obstacles.append({k: v for k, v in obstacle.items() if k != "length"})

    def _ground(self, steps: int) -> None:
        """Gymnasium's rolling ground: the slope drifts back to the base height and takes
        a random kick, scaled by the roughness, at every step past the start pad."""
        y = self.terrain_y[-1]
        for _ in range(steps):
            self._column += 1
            self._velocity = 0.8 * self._velocity + 0.01 * np.sign(TERRAIN_HEIGHT - y)
            if self._column > TERRAIN_STARTPAD:
                self._velocity += self.np_random.uniform(-1, 1) * self.roughness / SCALE
            y += self._velocity
            self._point(self._column * TERRAIN_STEP, y)

    def _flat(self, steps: int) -> None:
        for _ in range(steps):
            self._column += 1
            self._point(self._column * TERRAIN_STEP, self.terrain_y[-1])

    def _point(self, x: float, y: float) -> None:
        self.terrain_x.append(x)
        self.terrain_y.append(y)

    def _box(self, vertices: list[tuple[float, float]]) -> None:
        self.fd_polygon.shape.vertices = vertices
        body = self.world.CreateStaticBody(fixtures=self.fd_polygon)
        body.color1, body.color2 = (255, 255, 255), (153, 153, 153)
        self.terrain.append(body)

    def _outline_to_bodies(self) -> None:
        self.terrain_poly = []
        for i in range(len(self.terrain_x) - 1):
            edge = [(self.terrain_x[i], self.terrain_y[i]), (self.terrain_x[i + 1], self.terrain_y[i + 1])]
            self.fd_edge.shape.vertices = edge
            body = self.world.CreateStaticBody(fixtures=self.fd_edge)
            body.color1 = body.color2 = (76, 255 if i % 2 == 0 else 204, 76)
            self.terrain.append(body)
            self.terrain_poly.append((edge + [(edge[1][0], 0), (edge[0][0], 0)], (102, 153, 76)))
        self.terrain.reverse()


def make_env(index: int, task: Mapping[str, Any] | None = None) -> TerrainWalker:
    """Training env ``index`` (tasks come through reset options); ``-1``: the evaluation
    env on ``task`` (default: the combined terrain)."""
    return TerrainWalker(task if index < 0 else None)


# RL Baselines3 Zoo's tuned PPO for BipedalWalkerHardcore-v3 (DLR-RM/rl-baselines3-zoo,
# hyperparams/ppo.yml at commit 00128b5): 16 envs x 2048 steps, minibatches of 64 (512 an epoch),
# 10 epochs, gamma 0.99, GAE lambda 0.95, entropy 0.001, learning rate 2.5e-4 annealed linearly,
# clip 0.2, observations and rewards normalised, Stable-Baselines3's default 2x64 tanh networks,
# value coefficient 0.5 and gradient clip 0.5. One difference: the Zoo also anneals the clip
# range to 0; ours stays at 0.2.
PPO_ARGS = {
    "num_envs": 16,
    "num_steps": 2048,
    "num_minibatches": 512,
    "update_epochs": 10,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "ent_coef": 0.001,
    "learning_rate": 2.5e-4,
    "anneal_lr": True,
    "clip_coef": 0.2,
    "normalize_obs": True,
    "normalize_reward": True,
    "hidden_sizes": [64, 64],
    "eval_every": 25_000,
    "eval_episodes": 5,
}


def domain(name: str = "bipedalwalker"):
    """The BipedalWalker domain for the runner: TD3-FORK (the paper's student; PPO with
    ``--algo ppo``), evaluated on the combined terrain during training and on every
    challenge at the end."""
    return Domain(
        name=name,
        spec=shipped_spec("bipedalwalker"),
        tasks=valid_tasks(),
        evaluation=dict(EVALUATION["combined"]),
        make_env=make_env,
        final_envs={name: (lambda task=task: make_env(-1, task)) for name, task in EVALUATION.items()},
        agent="td3_fork",
        agent_args={"learning_starts": 10_000, "eval_every": 25_000, "eval_episodes": 5},
        students={"ppo": PPO_ARGS},
        default_steps=500_000,
    )


if __name__ == "__main__":
    run_as_command("bipedalwalker")
