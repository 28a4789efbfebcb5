# SegArena: `make demo` and `make test` each do all set-up first (idempotent).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.segarena-installed
export HF_HUB_OFFLINE ?= 1

.PHONY: setup demo test test-fast lint typecheck clean

setup: $(STAMP)

# Reinstalled only when pyproject.toml changes. torch/torchvision are pinned to the
# builds on this machine class's disk (see ../shared/notes/stack.md).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,convert]'
	touch $(STAMP)

demo: setup
	$(BIN)/segarena run benchmark.yaml

test: setup
	$(BIN)/python -m pytest -q --durations=15

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not docker"

lint: setup
	$(BIN)/ruff check harness tests methods datasets benchmarks
	$(BIN)/lint-imports  # the may-import table of harness/README.md (pyproject.toml [tool.importlinter])

typecheck: setup
	$(BIN)/mypy harness

clean:
	rm -rf runs reports/demo .cache
