"""Proximal Policy Optimization (Schulman et al. 2017), one file in the CleanRL style.

Discrete (categorical) and continuous (diagonal Gaussian) actions, GAE, the clipped
surrogate, optional value clipping, observation and reward normalisation, and
configurable hidden layers (the SEBN paper uses 4 for DoorKey, 2 for robosuite). When an
episode is cut by a time limit, the value of its final observation is bootstrapped into
the last reward, so truncation is not mistaken for failure.

    python -m agents.ppo --env-id CartPole-v1 --total-timesteps 100000
    python -m agents.ppo --env-id Pendulum-v1 --hidden-sizes 64 64 --normalize-obs --normalize-reward
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agents.common import (
    Checkpointer,
    RunLogger,
    RunningMeanStd,
    check_ranges,
    command_line,
    env_rng_states,
    evaluate_and_log,
    registered_env,
    start_run,
)
from agents.training_envs import TrainingEnvs
from sebn.runner.interface import Callbacks, TrainResult


@dataclass
class Args:
    env_id: str = "CartPole-v1"
    """the Gymnasium environment id (ignored when ``train`` gets ``make_env``)"""
    seed: int = 1
    """seed of the experiment"""
    total_timesteps: int = 500_000
    """environment steps to train for, rounded up to whole rollouts (num_envs x num_steps)"""
    async_envs: bool = False
    """step the training envs in worker processes (AsyncVectorEnv)"""
    num_envs: int = 4
    """parallel training environments"""
    num_steps: int = 128
    """steps per env per rollout"""
    learning_rate: float = 2.5e-4
    """Adam learning rate"""
    anneal_lr: bool = True
    """decay the learning rate linearly to 0"""
    gamma: float = 0.99
    """discount factor"""
    gae_lambda: float = 0.95
    """lambda of generalised advantage estimation"""
    num_minibatches: int = 4
    """minibatches per epoch"""
    update_epochs: int = 4
    """passes over each rollout"""
    norm_adv: bool = True
    """normalise advantages per minibatch"""
    clip_coef: float = 0.2
    """surrogate clipping coefficient"""
    clip_vloss: bool = True
    """clip the value loss as in the PPO paper's implementation"""
    ent_coef: float = 0.01
    """entropy bonus coefficient"""
    vf_coef: float = 0.5
    """value loss coefficient"""
    max_grad_norm: float = 0.5
    """global gradient norm clip"""
    target_kl: float | None = None
    """stop an update's epochs early above this approximate KL"""
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """hidden layer sizes of actor and critic (tanh)"""
    normalize_obs: bool = False
    """scale observations by a running mean and std"""
    normalize_reward: bool = False
    """scale rewards by the running std of the discounted return"""
    eval_every: int = 10_000
    """evaluate the deterministic policy every this many steps (0: never)"""
    eval_episodes: int = 5
    """episodes per evaluation"""
    eval_greedy: bool = True
    """evaluate the most likely action; False samples from the policy (with its own RNG), which partially observed
    gridworlds need: a deterministic policy loops where the observations repeat"""
    checkpoint_every: int = 0
    """save a checkpoint every this many steps (0: only at the end)"""
    run_dir: str = "runs/ppo"
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
            positive="total_timesteps num_envs num_steps num_minibatches update_epochs clip_coef max_grad_norm "
            "target_kl hidden_sizes eval_episodes threads",
            non_negative="learning_rate ent_coef vf_coef eval_every checkpoint_every",
            fractions="gamma gae_lambda",
        )
        if self.num_minibatches > self.batch_size:
            raise ValueError(
                f"num_minibatches must be at most a rollout's {self.batch_size} steps (num_envs x num_steps), "
                f"got {self.num_minibatches}"
            )

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches


def layer_init(layer: nn.Linear, std: float = np.sqrt(2), bias: float = 0.0) -> nn.Linear:
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias)
    return layer


def tanh_mlp(sizes: list[int], last_std: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        last = i == len(sizes) - 2
        layers.append(layer_init(nn.Linear(sizes[i], sizes[i + 1]), std=last_std if last else np.sqrt(2)))
        if not last:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class Agent(nn.Module):
    """Actor and critic of PPO; ``network(sizes, last_std)`` builds each (a tanh MLP by
    default; :mod:`agents.ppo_options` gives one network per option)."""

    def __init__(
        self,
        obs_dim: int,
        action_space: gym.Space,
        hidden_sizes: list[int],
        network: Callable[[list[int], float], nn.Module] = tanh_mlp,
    ):
        super().__init__()
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        out = int(action_space.n) if self.discrete else int(np.prod(action_space.shape))
        self.critic = network([obs_dim, *hidden_sizes, 1], 1.0)
        self.actor = network([obs_dim, *hidden_sizes, out], 0.01)
        if not self.discrete:
            self.actor.log_std = nn.Parameter(torch.zeros(out))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Distribution:
        # Argument validation costs more than the tiny networks; our inputs are well formed.
        logits = self.actor(obs)
        if self.discrete:
            return torch.distributions.Categorical(logits=logits, validate_args=False)
        normal = torch.distributions.Normal(logits, self.actor.log_std.exp(), validate_args=False)
        return torch.distributions.Independent(normal, 1, validate_args=False)

    def act(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A sampled action, its log-probability and the state value (for rollouts)."""
        dist = self.distribution(obs)
        action = dist.sample()
        return action, dist.log_prob(action), self.value(obs)

    def evaluate(self, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probability and entropy of given actions, and the state value (for updates)."""
        dist = self.distribution(obs)
        return dist.log_prob(action), dist.entropy(), self.value(obs)

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        logits = self.actor(obs)
        return logits.argmax(-1) if self.discrete else logits

    def sample(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """An action drawn from the policy with ``generator`` (evaluation, apart from the
        training RNG)."""
        logits = self.actor(obs)
        if self.discrete:
            return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(-1)
        return logits + self.actor.log_std.exp() * torch.randn(logits.shape, generator=generator)


def train(
    args: Args,
    make_env: Callable[[int], gym.Env] | None = None,
    callbacks: Callbacks | None = None,
    network: Callable[[list[int], float], nn.Module] = tanh_mlp,
) -> TrainResult:
    """Train PPO; returns the agent, the last evaluation and the step count.

    Args:
        args: hyperparameters.
        make_env: ``make_env(index)`` builds training env ``index`` (``-1``: the evaluation
            env); ``gym.make(args.env_id)`` when omitted.
        callbacks: see :class:`sebn.runner.interface.Callbacks`.
        network: builds the actor and the critic from layer sizes and the last layer's
            initial scale (:func:`tanh_mlp`; :mod:`agents.ppo_options` passes its own).
    """
    make_env = make_env or registered_env(args.env_id)
    callbacks = callbacks or Callbacks()
    rng, run_dir = start_run(args)

    training = TrainingEnvs(make_env, args.num_envs, callbacks, args.async_envs)
    envs = training.envs
    eval_env = make_env(-1)
    obs_shape = envs.single_observation_space.shape
    action_space = envs.single_action_space
    if not isinstance(action_space, (gym.spaces.Discrete, gym.spaces.Box)):
        raise ValueError(f"PPO here takes Discrete or Box actions, got {action_space}")
    agent = Agent(int(np.prod(obs_shape)), action_space, args.hidden_sizes, network)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5, foreach=True)
    obs_rms, return_rms = RunningMeanStd(obs_shape), RunningMeanStd()
    discounted_return = np.zeros(args.num_envs)

    num_iterations = -(-args.total_timesteps // args.batch_size)  # at least the steps asked, in whole rollouts
    checkpoints = Checkpointer(
        run_dir / "checkpoints" / "latest.pt",
        {"agent": agent, "optimizer": optimizer, "obs_rms": obs_rms, "return_rms": return_rms, "callbacks": callbacks},
        rng,
        envs,
    )
    counters = checkpoints.restore() if args.resume else None
    resuming = counters is not None
    global_step, iteration, last_eval = (
        (counters["global_step"], counters["iteration"], counters["last_eval"]) if resuming else (0, 0, {})
    )

    def save_checkpoint(env_rng) -> None:
        checkpoints.save(env_rng, global_step=global_step, iteration=iteration, last_eval=last_eval)

    def observe(raw: np.ndarray, update: bool) -> np.ndarray:
        if not args.normalize_obs:
            return raw.astype(np.float32)
        if update:
            obs_rms.update(raw)
        return obs_rms.normalize(raw)

    eval_generator = torch.Generator().manual_seed(args.seed + 10_000)

    def policy(raw: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            obs = torch.as_tensor(observe(raw, update=False))
            return (agent.greedy(obs) if args.eval_greedy else agent.sample(obs, eval_generator)).numpy()

    logger = RunLogger(run_dir, dataclasses.asdict(args), args.track)
    # every update learns from the rollout before it
    callbacks.on_start({"envs": envs, "credit": "rollout", "log": logger.scalar})
    training.start(seed=None if resuming else args.seed)
    # A checkpoint's statistics already count the observations of the resets it redraws.
    next_obs = torch.as_tensor(observe(training.obs, update=not resuming))

    obs = torch.zeros((args.num_steps, args.num_envs, *obs_shape))
    actions = torch.zeros(
        (args.num_steps, args.num_envs, *action_space.shape), dtype=torch.long if agent.discrete else torch.float32
    )
    logprobs, rewards, dones, values = (torch.zeros((args.num_steps, args.num_envs)) for _ in range(4))
    next_done = torch.zeros(args.num_envs)
    start_time, start_step = time.time(), global_step
    env_rng = None

    while iteration < num_iterations:
        iteration += 1
        if args.anneal_lr:
            optimizer.param_groups[0]["lr"] = (1.0 - (iteration - 1.0) / num_iterations) * args.learning_rate
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step], dones[step] = next_obs, next_done
            with torch.no_grad():
                action, logprob, value = agent.act(next_obs)
            values[step], actions[step], logprobs[step] = value, action, logprob
            sent = action.numpy()
            if not agent.discrete:
                sent = np.clip(sent, action_space.low, action_space.high)
            # Env RNGs before the last step's resets: a resumed run redraws the same episodes.
            result = training.step(sent, global_step, logger, keep_rng=step == args.num_steps - 1)
            reward, finished = result.rewards, result.finished
            env_rng = result.env_rng or env_rng
            cut = result.truncations & ~result.terminations
            if cut.any():  # a time limit is not a failure: bootstrap from the final observation
                with torch.no_grad():
                    final_value = agent.value(torch.as_tensor(observe(result.next_obs, update=False))).numpy()
            if args.normalize_reward:
                discounted_return = discounted_return * args.gamma + reward
                return_rms.update(discounted_return)
                discounted_return[finished] = 0.0
                reward = reward / np.sqrt(return_rms.var + 1e-8)
            if cut.any():
                reward = reward + args.gamma * final_value * cut
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32)
            next_obs = torch.as_tensor(observe(training.obs, update=True))
            next_done = torch.as_tensor(finished, dtype=torch.float32)

        with torch.no_grad():
            next_value = agent.value(next_obs)
            advantages = torch.zeros_like(rewards)
            last_gae = torch.zeros(args.num_envs)
            for t in reversed(range(args.num_steps)):
                not_done = 1.0 - (next_done if t == args.num_steps - 1 else dones[t + 1])
                following = next_value if t == args.num_steps - 1 else values[t + 1]
                delta = rewards[t] + args.gamma * following * not_done - values[t]
                last_gae = delta + args.gamma * args.gae_lambda * not_done * last_gae
                advantages[t] = last_gae
            returns = advantages + values

        b_obs = obs.reshape((-1, *obs_shape))
        b_actions = actions.reshape((-1, *action_space.shape))
        b_logprobs, b_advantages, b_returns, b_values = (x.reshape(-1) for x in (logprobs, advantages, returns, values))
        clip_fractions = []
        for _ in range(args.update_epochs):
            order = torch.as_tensor(rng.permutation(args.batch_size))
            for start in range(0, args.batch_size, args.minibatch_size):
                mb = order[start : start + args.minibatch_size]
                new_logprob, entropy, new_value = agent.evaluate(b_obs[mb], b_actions[mb])
                log_ratio = new_logprob - b_logprobs[mb]
                ratio = log_ratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - log_ratio).mean()
                    clip_fractions.append(((ratio - 1.0).abs() > args.clip_coef).float().mean().item())
                mb_adv = b_advantages[mb]
                if args.norm_adv:
                    mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                pg_loss = torch.max(
                    -mb_adv * ratio, -mb_adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)
                ).mean()
                if args.clip_vloss:
                    clipped = b_values[mb] + (new_value - b_values[mb]).clamp(-args.clip_coef, args.clip_coef)
                    v_loss = 0.5 * torch.max((new_value - b_returns[mb]) ** 2, (clipped - b_returns[mb]) ** 2).mean()
                else:
                    v_loss = 0.5 * ((new_value - b_returns[mb]) ** 2).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef
                optimizer.zero_grad()
                loss.backward()
                callbacks.on_update({"actor": agent.actor, "critic": agent.critic})
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()
            if args.target_kl is not None and approx_kl > args.target_kl:
                break

        variance = b_returns.var()
        explained_var = float("nan") if variance == 0 else float(1 - (b_returns - b_values).var() / variance)
        logger.scalar("charts/learning_rate", optimizer.param_groups[0]["lr"], global_step)
        logger.scalar("losses/value_loss", v_loss.item(), global_step)
        logger.scalar("losses/policy_loss", pg_loss.item(), global_step)
        logger.scalar("losses/entropy", entropy_loss.item(), global_step)
        logger.scalar("losses/approx_kl", approx_kl.item(), global_step)
        logger.scalar("losses/clipfrac", float(np.mean(clip_fractions)), global_step)
        logger.scalar("losses/explained_variance", explained_var, global_step)
        logger.scalar("charts/SPS", (global_step - start_step) / (time.time() - start_time), global_step)

        if args.eval_every and global_step // args.eval_every > (global_step - args.batch_size) // args.eval_every:
            last_eval = evaluate_and_log(policy, eval_env, args, global_step, logger, callbacks)
        if (
            args.checkpoint_every
            and global_step // args.checkpoint_every > (global_step - args.batch_size) // args.checkpoint_every
        ):
            save_checkpoint(env_rng)

    if args.eval_every and last_eval.get("global_step") != global_step:
        last_eval = evaluate_and_log(policy, eval_env, args, global_step, logger, callbacks)
    save_checkpoint(env_rng if env_rng is not None else env_rng_states(envs))
    logger.close()
    envs.close()
    eval_env.close()
    return TrainResult(global_step, policy, last_eval, modules={"agent": agent})


if __name__ == "__main__":
    command_line(train, Args)
