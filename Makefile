# The two commands a new user runs: `make run` and `make test`.
# Both create .venv/ on first use; torch is pinned first so that no
# dependency can pull a CUDA build.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test venv clean-venv

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# The main job: the SEBN curriculum and no curriculum side by side on DoorKey (PPO options,
# 60,000 env steps each, one per core: a few minutes), then `sebn report`'s table and plot.
# Run it again and the finished runs are skipped; kill it and the runs resume.
RUNS := runs
STEPS := 60000

run: $(STAMP)
	$(BIN)/sebn sweep doorkey --curricula sebn,target --seeds 0 --steps $(STEPS) --runs $(RUNS) --no-progress
	$(BIN)/sebn report $(RUNS)/doorkey/sebn $(RUNS)/doorkey/target -o $(RUNS)/doorkey/report.md
	@grep '^| ' $(RUNS)/doorkey/report.md
	@echo "results: $(RUNS)/doorkey/report.md and its plot $(RUNS)/doorkey/report_doorkey.png;"
	@echo "open next: the run folders $(RUNS)/doorkey/sebn/seed0/ and $(RUNS)/doorkey/target/seed0/ (TensorBoard:"
	@echo "  tensorboard --logdir $(RUNS)/doorkey), and notebooks/2_competency_posteriors.ipynb, which reads the SEBN run"

# Lint and format first (ruff, configured in pyproject.toml): a style error fails the suite too.
# Two test processes, one per core, one torch thread each (conftest.py); timings in BENCHMARKS.md.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n 2 --dist worksteal

clean-venv:
	rm -rf $(VENV)
