"""TD3 with a forward-looking actor (TD3-FORK, Wei & Ying 2021), one file in the CleanRL style.

TD3 (Fujimoto et al. 2018): twin critics, target policy smoothing, delayed actor updates,
target networks for actor and critics. FORK adds a *system network* ``F(s, a) -> s'`` and
a *reward network* ``R(s, a) -> r``, both fitted to the replay buffer, and lets the actor
look two steps ahead through them::

    s1 = F(s, pi(s)),  s2 = F(s1, pi(s1))
    actor loss = -Q1(s, pi(s)) - w * [R(s, pi(s)) + gamma R(s1, pi(s1)) + gamma^2 Q1(s2, pi(s2))]

The weight is adaptive, ``w = fork_weight * clip(1 - L_sys / sys_threshold, 0, 1)``, where
``L_sys`` is the system network's normalised error (mean squared error over the batch
variance of the next states, i.e. 1 - R^2, smoothed): the actor trusts its look-ahead
only once the model predicts well. (Our reading of the paper's adaptive weight, whose
exact schedule it leaves to code; the normalisation makes one threshold fit any env.)

    python -m agents.td3_fork --env-id BipedalWalker-v3 --total-timesteps 300000
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass
class Args:
    env_id: str = "BipedalWalker-v3"
    """the Gymnasium environment id (ignored when ``train`` gets ``make_env``)"""
    seed: int = 1
    """seed of the experiment"""
    total_timesteps: int = 1_000_000
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
    """target network smoothing coefficient"""
    batch_size: int = 256
    """replay batch size"""
    learning_starts: int = 10_000
    """steps of random actions before learning"""
    learning_rate: float = 3e-4
    """Adam learning rate of actor, critics, system and reward networks"""
    exploration_noise: float = 0.1
    """std of the Gaussian exploration noise, as a fraction of the action range"""
    policy_noise: float = 0.2
    """std of the target policy smoothing noise (fraction of the action range)"""
    noise_clip: float = 0.5
    """clip of the target policy smoothing noise (fraction of the action range)"""
    policy_frequency: int = 2
    """actor and target updates every this many critic updates"""
    hidden_sizes: list[int] = field(default_factory=lambda: [256, 256])
    """hidden layer sizes of actor and critics"""
    model_hidden_sizes: list[int] = field(default_factory=lambda: [256, 256])
    """hidden layer sizes of the system and reward networks"""
    fork_weight: float = 0.5
    """largest weight of the forward-looking term (0 gives plain TD3)"""
    sys_threshold: float = 0.02
    """normalised system-network error (1 - R^2) at and above which the weight is 0"""
    eval_every: int = 10_000
    """evaluate the deterministic policy every this many steps (0: never)"""
    eval_episodes: int = 5
    """episodes per evaluation"""
    checkpoint_every: int = 0
    """save a checkpoint every this many steps (0: only at the end)"""
    save_buffer: bool = True
    """include the replay buffer in checkpoints (exact resume, larger files)"""
    run_dir: str = "runs/td3_fork"
    """where TensorBoard events and checkpoints go"""
    resume: bool = False
    """continue from run_dir/checkpoints/latest.pt if it exists"""
    track: bool = False
    """mirror metrics to Weights & Biases"""
    threads: int = 1
    """torch threads (1 is fastest for small networks on CPU)"""

    def __post_init__(self):
        check_ranges(
            self,
            positive="total_timesteps num_envs buffer_size batch_size policy_frequency hidden_sizes "
            "model_hidden_sizes sys_threshold eval_episodes threads",
            non_negative="learning_starts learning_rate exploration_noise policy_noise noise_clip fork_weight "
            "eval_every checkpoint_every",
            fractions="gamma tau",
        )


class QNetwork(nn.Module):
    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: list[int]):
        super().__init__()
        self.net = mlp([obs_dim + action_dim, *hidden_sizes, 1])

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, action], dim=1)).squeeze(-1)


class Actor(nn.Module):
    def __init__(self, obs_dim: int, action_space: gym.spaces.Box, hidden_sizes: list[int]):
        super().__init__()
        self.net = mlp([obs_dim, *hidden_sizes, int(np.prod(action_space.shape))], output_activation=nn.Tanh)
        high, low = (
            torch.as_tensor(action_space.high, dtype=torch.float32),
            torch.as_tensor(action_space.low, dtype=torch.float32),
        )
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs) * self.action_scale + self.action_bias


class SystemNetwork(nn.Module):
    """Predicts the next observation as the current one plus a learned change."""

    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: list[int]):
        super().__init__()
        self.net = mlp([obs_dim + action_dim, *hidden_sizes, obs_dim])

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return obs + self.net(torch.cat([obs, action], dim=1))


def train(
    args: Args, make_env: Callable[[int], gym.Env] | None = None, callbacks: Callbacks | None = None
) -> TrainResult:
    """Train TD3-FORK; returns the actor, the last evaluation and the step count.

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
    action_space = envs.single_action_space
    if not isinstance(action_space, gym.spaces.Box):
        raise ValueError(f"TD3-FORK needs a continuous (Box) action space, got {action_space}")
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    action_dim = int(np.prod(action_space.shape))
    action_scale = (action_space.high - action_space.low) / 2

    actor = Actor(obs_dim, action_space, args.hidden_sizes)
    qf1, qf2 = QNetwork(obs_dim, action_dim, args.hidden_sizes), QNetwork(obs_dim, action_dim, args.hidden_sizes)
    actor_target, qf1_target, qf2_target = copy.deepcopy(actor), copy.deepcopy(qf1), copy.deepcopy(qf2)
    with torch.random.fork_rng():  # the models' own RNG stream: FORK leaves TD3's draws untouched
        torch.manual_seed(args.seed + 1)
        system = SystemNetwork(obs_dim, action_dim, args.model_hidden_sizes)
        reward_model = QNetwork(obs_dim, action_dim, args.model_hidden_sizes)  # same shape: (s, a) -> scalar
    critics = nn.ModuleList([qf1, qf2])
    sources = [*actor.parameters(), *critics.parameters()]
    targets = [*actor_target.parameters(), *qf1_target.parameters(), *qf2_target.parameters()]
    q_optimizer = torch.optim.Adam(critics.parameters(), lr=args.learning_rate, foreach=True)
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=args.learning_rate, foreach=True)
    model_optimizer = torch.optim.Adam(
        [*system.parameters(), *reward_model.parameters()], lr=args.learning_rate, foreach=True
    )
    buffer = ReplayBuffer(envs.single_observation_space.shape, action_space.shape, args.buffer_size)
    scale_t, bias_t = actor.action_scale, actor.action_bias
    low_t, high_t = bias_t - scale_t, bias_t + scale_t

    checkpoints = Checkpointer(
        run_dir / "checkpoints" / "latest.pt",
        {
            "actor": actor,
            "qf1": qf1,
            "qf2": qf2,
            "actor_target": actor_target,
            "qf1_target": qf1_target,
            "qf2_target": qf2_target,
            "system": system,
            "reward_model": reward_model,
            "optimiser_q": q_optimizer,
            "optimiser_actor": actor_optimizer,
            "optimiser_model": model_optimizer,
            "buffer": buffer,
            "callbacks": callbacks,
        },
        rng,
        envs,
        optional=("buffer",),
    )
    counters = checkpoints.restore() if args.resume else None
    resuming = counters is not None
    global_step, update, last_eval, sys_error = (
        (counters["global_step"], counters["update"], counters["last_eval"], counters["sys_error"])
        if resuming
        else (0, 0, {}, 1.0)
    )

    def save_checkpoint(env_rng) -> None:
        checkpoints.save(
            env_rng, args.save_buffer, global_step=global_step, update=update, last_eval=last_eval, sys_error=sys_error
        )

    def policy(o: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return actor(torch.as_tensor(o, dtype=torch.float32)).numpy()

    logger = RunLogger(run_dir, dataclasses.asdict(args), args.track)
    callbacks.on_start({"envs": envs, "replay_buffer": buffer, "log": logger.scalar})
    training.start(seed=None if resuming else args.seed)
    actor_loss, fork_term, weight = torch.zeros(()), torch.zeros(()), 0.0
    start_time, start_step = time.time(), global_step

    obs = training.obs
    while global_step < args.total_timesteps:
        if global_step < args.learning_starts:
            actions = rng.uniform(action_space.low, action_space.high, size=(args.num_envs, action_dim)).astype(
                np.float32
            )
        else:
            noise = rng.normal(0.0, args.exploration_noise, size=(args.num_envs, action_dim)) * action_scale
            actions = np.clip(policy(obs) + noise, action_space.low, action_space.high).astype(np.float32)
        global_step += args.num_envs
        checkpoint_due = args.checkpoint_every and global_step % args.checkpoint_every < args.num_envs
        result = training.step(
            actions, global_step, logger, checkpoint_due or global_step >= args.total_timesteps, buffer
        )
        obs, env_rng = training.obs, result.env_rng

        if global_step > args.learning_starts and len(buffer):  # empty right after a clear-buffer reset
            update += 1
            batch = buffer.sample(args.batch_size, rng)
            s, a, r, s_next = batch["obs"], batch["actions"], batch["rewards"], batch["next_obs"]
            with torch.no_grad():
                smoothing = (torch.randn_like(a) * args.policy_noise).clamp(-args.noise_clip, args.noise_clip) * scale_t
                next_actions = torch.max(torch.min(actor_target(s_next) + smoothing, high_t), low_t)
                next_q = torch.min(qf1_target(s_next, next_actions), qf2_target(s_next, next_actions))
                target = r + (1 - batch["terminated"]) * args.gamma * next_q
            q1, q2 = qf1(s, a), qf2(s, a)
            q_loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
            q_optimizer.zero_grad()
            q_loss.backward()
            callbacks.on_update({"critic": critics})
            q_optimizer.step()

            if args.fork_weight > 0:  # with no weight the models could never matter: plain TD3
                sys_loss = F.mse_loss(system(s, a), s_next)
                reward_loss = F.mse_loss(reward_model(s, a), r)
                model_optimizer.zero_grad()
                (sys_loss + reward_loss).backward()
                model_optimizer.step()
                with torch.no_grad():
                    normalised = sys_loss / s_next.var(dim=0).mean().clamp_min(1e-8)
                    sys_error = 0.99 * sys_error + 0.01 * float(normalised)
                weight = args.fork_weight * float(np.clip(1.0 - sys_error / args.sys_threshold, 0.0, 1.0))

            if update % args.policy_frequency == 0:
                pi = actor(s)
                actor_loss = -qf1(s, pi).mean()
                if weight > 0:
                    s1 = system(s, pi)
                    pi1 = actor(s1)
                    s2 = system(s1, pi1)
                    fork_term = (
                        reward_model(s, pi) + args.gamma * reward_model(s1, pi1) + args.gamma**2 * qf1(s2, actor(s2))
                    ).mean()
                    actor_loss = actor_loss - weight * fork_term
                actor_optimizer.zero_grad()
                actor_loss.backward(inputs=list(actor.parameters()))  # critics and models keep their own gradients out
                callbacks.on_update({"actor": actor})
                actor_optimizer.step()
                with torch.no_grad():
                    torch._foreach_lerp_(targets, sources, args.tau)
            if update % 100 == 0:
                logger.scalar("losses/qf_loss", q_loss.item() / 2, global_step)
                logger.scalar("losses/qf1_values", q1.mean().item(), global_step)
                logger.scalar("losses/actor_loss", actor_loss.item(), global_step)
                logger.scalar("losses/system_error_normalised", sys_error, global_step)
                logger.scalar("losses/fork_weight", weight, global_step)
                logger.scalar("losses/fork_term", fork_term.item(), global_step)
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
    return TrainResult(
        global_step,
        policy,
        last_eval,
        extra={"fork_weight": weight},
        modules={"actor": actor, "critics": critics, "system": system, "reward_model": reward_model},
    )


if __name__ == "__main__":
    command_line(train, Args)
