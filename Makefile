# The README's two commands: `make serve` and `make test`. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Test processes: two halve the suite's time on two cores (0 runs it in this process).
TEST_WORKERS ?= 2

.PHONY: serve test test-bars lint bench soak worker clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("vidgate needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs show pip's own progress (a first install takes a minute or two), not silence.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "make: installing vidgate and its dependencies into $(VENV)"
	$(BIN)/pip install --progress-bar on -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "make: installing vidgate with its test dependencies into $(VENV)"
	$(BIN)/pip install --progress-bar on -e '.[dev]'
	touch $(VENV)/.installed $@

serve: $(VENV)/.installed
	PORT=$(PORT) $(BIN)/vidgate serve

worker: $(VENV)/.installed
	$(BIN)/vidgate worker

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The issues' full bars for the e2e tests `make test` runs smaller (docs/testing.md): 2,000
# sandbox jobs, 20 rounds of killing workers; tens of minutes, PostgreSQL needed for most.
test-bars: $(VENV)/.installed-dev
	VIDGATE_TEST_SANDBOX_JOBS=2000 VIDGATE_TEST_LEADERLESS_ROUNDS=20 VIDGATE_TEST_KILL_ROUNDS=20 \
		$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS) \
		tests/e2e/test_sandbox_analytics.py tests/e2e/test_leaderless_workers.py \
		tests/e2e/test_no_double_submits.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed-dev
	$(BIN)/python tests/benchmarks/bench_submit.py $(BENCH_ARGS)
	$(BIN)/python tests/benchmarks/bench_deliveries.py $(BENCH_DELIVERIES_ARGS)
	$(BIN)/python tests/benchmarks/bench_upstream.py $(BENCH_UPSTREAM_ARGS)
	$(BIN)/python tests/benchmarks/bench_replay.py $(BENCH_REPLAY_ARGS)
	$(BIN)/python tests/benchmarks/bench_slow_clients.py $(BENCH_SLOW_ARGS)
	$(BIN)/python tests/benchmarks/bench_streams.py $(BENCH_STREAMS_ARGS)
	$(BIN)/python tests/benchmarks/bench_shutdown.py $(BENCH_SHUTDOWN_ARGS)
	$(BIN)/python tests/benchmarks/bench_background.py $(BENCH_BACKGROUND_ARGS)
	$(BIN)/python tests/benchmarks/bench_idle.py $(BENCH_IDLE_ARGS)
	$(BIN)/python tests/benchmarks/bench_completion_lag.py $(BENCH_LAG_ARGS)

# Not part of `make bench`: ten minutes (SOAK_ARGS="--store postgres", "--minutes 1" …).
soak: $(VENV)/.installed-dev
	$(BIN)/python tests/benchmarks/bench_soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
