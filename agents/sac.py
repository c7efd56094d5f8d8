"""Soft Actor-Critic (Haarnoja et al. 2018), continuous actions, one file in the CleanRL style.

Twin critics with Polyak-averaged target critics, a tanh-squashed Gaussian actor, and an
automatic (or fixed) temperature. Time limits are truncations: the critic bootstraps
through them and only true terminations cut the return.

    python -m agents.sac --env-id Pendulum-v1 --total-timesteps 20000
    python -m agents.sac --preset gradient-paper --env-id Pendulum-v1 --total-timesteps 20000

The gradient-norm paper's student is ``--preset gradient-paper``: 3x256 hidden layers,
batch 256, gamma 0.99, fixed temperature 0.05. The command line trains on any registered
Gymnasium env with a flat Box observation; the mazes (dict observations, a task per reset)
run through their domains: ``sebn run pointmaze --curriculum gradient``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.common import (
    Checkpointer,
    ReplayBuffer,
    RunLogger,
    check_ranges,
    command_line,
    env_rng_states,
    evaluate_and_log,
    mlp,
    registered_env,
    start_run,
)
from agents.training_envs import TrainingEnvs
from sebn.runner.interface import Callbacks, TrainResult

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
GRADIENT_PAPER = {"hidden_sizes": [256, 256, 256], "batch_size": 256, "gamma": 0.99, "alpha": 0.05, "autotune": False}
"""The gradient-norm paper's SAC (its section 4.3): ``--preset gradient-paper``."""


@dataclass
class Args:
    env_id: str = "Pendulum-v1"
    """the Gymnasium environment id (ignored when ``train`` gets ``make_env``)"""
    preset: Literal["none", "gradient-paper"] = "none"
    """'gradient-paper': 3x256 layers, batch 256, gamma 0.99, fixed temperature 0.05, for the fields left at their
    defaults (a value given explicitly wins)"""
    seed: int = 1
    """seed of the experiment"""
    total_timesteps: int = 100_000
    """environment steps to train for"""
    async_envs: bool = False
    """step the training envs in worker processes (AsyncVectorEnv)"""
    num_envs: int = 1
    """parallel training environments"""
    buffer_size: int = 1_000_000
    """replay buffer capacity"""
    gamma: float = 0.99
    """discount factor"""
    tau: float = 0.005
    """target critic smoothing coefficient"""
    batch_size: int = 256
    """replay batch size"""
    learning_starts: int = 5_000
    """steps of random actions before learning"""
    policy_lr: float = 3e-4
    """actor learning rate"""
    q_lr: float = 1e-3
    """critic learning rate"""
    policy_frequency: int = 2
    """actor (and temperature) updates happen every this many critic updates, that many times"""
    target_network_frequency: int = 1
    """target critics are updated every this many critic updates"""
    hidden_sizes: list[int] = field(default_factory=lambda: [256, 256])
    """hidden layer sizes of actor and critics"""
    alpha: float = 0.2
    """entropy temperature (initial value when autotuning)"""
    autotune: bool = True
    """learn the temperature towards entropy -|A|"""
    eval_every: int = 10_000
    """evaluate the deterministic policy every this many steps (0: never)"""
    eval_episodes: int = 5
    """episodes per evaluation"""
    checkpoint_every: int = 0
    """save a checkpoint every this many steps (0: only at the end)"""
    save_buffer: bool = True
    """include the replay buffer in checkpoints (exact resume, larger files)"""
    run_dir: str = "runs/sac"
    """where TensorBoard events and checkpoints go"""
    resume: bool = False
    """continue from run_dir/checkpoints/latest.pt if it exists"""
    track: bool = False
    """mirror metrics to Weights & Biases"""
    threads: int = 1
    """torch threads (1 is fastest for small networks on CPU)"""

    def __post_init__(self):
        if self.preset == "gradient-paper":
            defaults = Args()  # preset "none"
            for name, value in GRADIENT_PAPER.items():
                if getattr(self, name) == getattr(defaults, name):
                    setattr(self, name, value)
        check_ranges(
            self,
            positive="total_timesteps num_envs buffer_size batch_size policy_frequency target_network_frequency "
            "hidden_sizes eval_episodes threads",
            non_negative="learning_starts policy_lr q_lr alpha eval_every checkpoint_every",
            fractions="gamma tau",
        )


class SoftQNetwork(nn.Module):
    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: list[int]):
        super().__init__()
        self.net = mlp([obs_dim + action_dim, *hidden_sizes, 1])

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, action], dim=1)).squeeze(-1)


class Actor(nn.Module):
    def __init__(self, obs_dim: int, action_space: gym.spaces.Box, hidden_sizes: list[int]):
        super().__init__()
        action_dim = int(np.prod(action_space.shape))
        self.trunk = mlp([obs_dim, *hidden_sizes], output_activation=nn.ReLU)
        self.mean = nn.Linear(hidden_sizes[-1], action_dim)
        self.log_std = nn.Linear(hidden_sizes[-1], action_dim)
        high, low = (
            torch.as_tensor(action_space.high, dtype=torch.float32),
            torch.as_tensor(action_space.low, dtype=torch.float32),
        )
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(obs)
        log_std = torch.tanh(self.log_std(h))
        return self.mean(h), LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        """The deterministic action (the squashed mean), for evaluation."""
        return torch.tanh(self(obs)[0]) * self.action_scale + self.action_bias

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action and its log-probability."""
        mean, log_std = self(obs)
        normal = torch.distributions.Normal(mean, log_std.exp(), validate_args=False)
        raw = normal.rsample()
        squashed = torch.tanh(raw)
        action = squashed * self.action_scale + self.action_bias
        # Change of variables for the tanh squashing and the affine rescaling.
        log_prob = normal.log_prob(raw) - torch.log(self.action_scale * (1 - squashed.pow(2)) + 1e-6)
        return action, log_prob.sum(-1)


def train(
    args: Args, make_env: Callable[[int], gym.Env] | None = None, callbacks: Callbacks | None = None
) -> TrainResult:
    """Train SAC; returns the actor, the last evaluation and the step count.

    Args:
        args: hyperparameters.
        make_env: ``make_env(index)`` builds training env ``index`` (``-1``: the evaluation
            env); ``gym.make(args.env_id)`` when omitted.
        callbacks: see :class:`sebn.runner.interface.Callbacks`.
    """
    make_env = make_env or registered_env(args.env_id)
    callbacks = callbacks or Callbacks()
    rng, run_dir = start_run(args)

    training = TrainingEnvs(make_env, args.num_envs, callbacks, args.async_envs)
    envs = training.envs
    eval_env = make_env(-1)
    if not isinstance(envs.single_action_space, gym.spaces.Box):
        raise ValueError(f"SAC needs a continuous (Box) action space, got {envs.single_action_space}")
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    action_dim = int(np.prod(envs.single_action_space.shape))

    actor = Actor(obs_dim, envs.single_action_space, args.hidden_sizes)
    qf1, qf2 = (
        SoftQNetwork(obs_dim, action_dim, args.hidden_sizes),
        SoftQNetwork(obs_dim, action_dim, args.hidden_sizes),
    )
    qf1_target, qf2_target = (
        SoftQNetwork(obs_dim, action_dim, args.hidden_sizes),
        SoftQNetwork(obs_dim, action_dim, args.hidden_sizes),
    )
    qf1_target.load_state_dict(qf1.state_dict())
    qf2_target.load_state_dict(qf2.state_dict())
    critics, critic_targets = nn.ModuleList([qf1, qf2]), nn.ModuleList([qf1_target, qf2_target])
    q_optimizer = torch.optim.Adam(critics.parameters(), lr=args.q_lr, foreach=True)
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=args.policy_lr, foreach=True)
    target_entropy = -float(action_dim)
    log_alpha = torch.tensor(float(np.log(args.alpha)), requires_grad=True)
    alpha_optimizer = torch.optim.Adam([log_alpha], lr=args.q_lr, foreach=True)
    buffer = ReplayBuffer(envs.single_observation_space.shape, envs.single_action_space.shape, args.buffer_size)

    checkpoints = Checkpointer(
        run_dir / "checkpoints" / "latest.pt",
        {
            "actor": actor,
            "qf1": qf1,
            "qf2": qf2,
            "qf1_target": qf1_target,
            "qf2_target": qf2_target,
            "log_alpha": log_alpha,
            "optimiser_q": q_optimizer,
            "optimiser_actor": actor_optimizer,
            "optimiser_alpha": alpha_optimizer,
            "buffer": buffer,
            "callbacks": callbacks,
        },
        rng,
        envs,
        optional=("buffer",),
    )
    counters = checkpoints.restore() if args.resume else None
    resuming = counters is not None
    global_step, update, last_eval = (
        (counters["global_step"], counters["update"], counters["last_eval"]) if resuming else (0, 0, {})
    )

    def save_checkpoint(env_rng) -> None:
        checkpoints.save(env_rng, args.save_buffer, global_step=global_step, update=update, last_eval=last_eval)

    logger = RunLogger(run_dir, dataclasses.asdict(args), args.track)
    callbacks.on_start({"envs": envs, "replay_buffer": buffer, "log": logger.scalar})
    training.start(seed=None if resuming else args.seed)
    actor_loss = torch.zeros(())
    start_time, start_step = time.time(), global_step

    def policy(o: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return actor.greedy(torch.as_tensor(o, dtype=torch.float32)).numpy()

    obs = training.obs
    while global_step < args.total_timesteps:
        if global_step < args.learning_starts:
            actions = rng.uniform(
                envs.single_action_space.low, envs.single_action_space.high, size=(args.num_envs, action_dim)
            ).astype(np.float32)
        else:
            with torch.no_grad():
                actions = actor.sample(torch.as_tensor(obs, dtype=torch.float32))[0].numpy()
        global_step += args.num_envs
        checkpoint_due = args.checkpoint_every and global_step % args.checkpoint_every < args.num_envs
        result = training.step(
            actions, global_step, logger, checkpoint_due or global_step >= args.total_timesteps, buffer
        )
        obs, env_rng = training.obs, result.env_rng

        if global_step > args.learning_starts and len(buffer):  # empty right after a clear-buffer reset
            update += 1
            batch = buffer.sample(args.batch_size, rng)
            alpha = log_alpha.exp().detach()
            with torch.no_grad():
                next_actions, next_log_prob = actor.sample(batch["next_obs"])
                next_q = torch.min(
                    qf1_target(batch["next_obs"], next_actions), qf2_target(batch["next_obs"], next_actions)
                )
                target = batch["rewards"] + (1 - batch["terminated"]) * args.gamma * (next_q - alpha * next_log_prob)
            q1, q2 = qf1(batch["obs"], batch["actions"]), qf2(batch["obs"], batch["actions"])
            q_loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
            q_optimizer.zero_grad()
            q_loss.backward()
            callbacks.on_update({"critic": critics})
            q_optimizer.step()

            if update % args.policy_frequency == 0:
                for _ in range(args.policy_frequency):
                    actions_pi, log_prob = actor.sample(batch["obs"])
                    q_pi = torch.min(qf1(batch["obs"], actions_pi), qf2(batch["obs"], actions_pi))
                    actor_loss = (alpha * log_prob - q_pi).mean()
                    actor_optimizer.zero_grad()
                    actor_loss.backward(inputs=list(actor.parameters()))  # the critics' gradients are not needed here
                    callbacks.on_update({"actor": actor})
                    actor_optimizer.step()
                    if args.autotune:  # on this update's policy sample, as SB3 does
                        alpha_loss = -(log_alpha.exp() * (log_prob.detach() + target_entropy)).mean()
                        alpha_optimizer.zero_grad()
                        alpha_loss.backward()
                        alpha_optimizer.step()
                        alpha = log_alpha.exp().detach()
            if update % args.target_network_frequency == 0:
                with torch.no_grad():
                    torch._foreach_lerp_(list(critic_targets.parameters()), list(critics.parameters()), args.tau)
            if update % 100 == 0:
                logger.scalar("losses/qf_loss", q_loss.item() / 2, global_step)
                logger.scalar("losses/qf1_values", q1.mean().item(), global_step)
                logger.scalar("losses/actor_loss", actor_loss.item(), global_step)
                logger.scalar("losses/alpha", float(alpha), global_step)
                logger.scalar("charts/SPS", (global_step - start_step) / (time.time() - start_time), global_step)

        if args.eval_every and global_step % args.eval_every < args.num_envs:
            last_eval = evaluate_and_log(policy, eval_env, args, global_step, logger, callbacks)
        if checkpoint_due:
            save_checkpoint(env_rng)

    if args.eval_every and last_eval.get("global_step") != global_step:
        last_eval = evaluate_and_log(policy, eval_env, args, global_step, logger, callbacks)
    save_checkpoint(env_rng if global_step > start_step else env_rng_states(envs))
    logger.close()
    envs.close()
    eval_env.close()
    return TrainResult(global_step, policy, last_eval, modules={"actor": actor, "critics": critics})


if __name__ == "__main__":
    command_line(train, Args)
