"""sebn: curriculum learning for RL with Skill-Environment Bayesian Networks."""

__version__ = "0.1.0"
