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

# The main job: a short DoorKey run with the SEBN curriculum (PPO options, a few minutes
# on 2 cores), then its plot. A killed run resumes where its checkpoint left it.
RUNS := runs
STEPS := 60000

run: $(STAMP)
	$(BIN)/sebn run doorkey --curriculum sebn --seed 0 --steps $(STEPS) --runs $(RUNS)
	$(BIN)/sebn plot $(RUNS)/doorkey -o $(RUNS)/doorkey/plot.png
	@echo "results: $(RUNS)/doorkey/sebn/seed0/  plot: $(RUNS)/doorkey/plot.png"

# Lint and format first (ruff, configured in pyproject.toml): a style error fails the suite too.
# Two test processes, one per core: 4m40s instead of 10m31s for the same suite here (BENCHMARKS.md).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n 2

clean-venv:
	rm -rf $(VENV)
