"""Running experiments: the contract agents and domains implement, the feeder, one run, its directory, sweeps."""
