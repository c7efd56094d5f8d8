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

# Until the DoorKey domain lands, the main job is a real SEBN round trip on a shipped
# spec: simulate rollouts from a known theta, fit it back, score every setting.
DEMO := runs/demo
DEMO_SPEC := specs/bipedalwalker.sebn
DEMO_THETA := specs/examples/bipedalwalker.theta.json

run: $(STAMP)
	@mkdir -p $(DEMO)
	$(BIN)/sebn check $(DEMO_SPEC)
	$(BIN)/sebn simulate $(DEMO_SPEC) --theta $(DEMO_THETA) -n 5000 --seed 0 -o $(DEMO)/episodes.jsonl
	$(BIN)/sebn fit $(DEMO_SPEC) $(DEMO)/episodes.jsonl --method mle -o $(DEMO)/fit.json
	@echo "true theta: $(DEMO_THETA)"
	$(BIN)/sebn score $(DEMO_SPEC) --fit $(DEMO)/fit.json --top 10
	$(BIN)/sebn show $(DEMO_SPEC) -o $(DEMO)/network.png
	@echo "results: $(DEMO)/episodes.jsonl, $(DEMO)/fit.json; plot: $(DEMO)/network.png"

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean-venv:
	rm -rf $(VENV)
