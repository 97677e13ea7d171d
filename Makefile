# Two commands on a fresh machine with only Python 3.11+:
#   make demo   set up .venv and run the main job end to end on embedded defaults
#   make test   set up .venv with the test extras and the system programs the tests run
#               (scripts/install-system-packages), then run ruff and the whole test suite
#               (PYTEST_ARGS="tests/x.py -q" runs a part; PYTEST_WORKERS=0 runs it in one process)
PYTHON ?= python3
PYTEST_ARGS ?=
# one pytest worker per core of the 2-core CI machine; Spark's tests share one worker (conftest.py)
PYTEST_WORKERS ?= 2
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-output

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/persona-risk demo --out $(DEMO_DIR)

test: $(VENV)/.installed-test
	scripts/install-system-packages
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.simulator
	$(BIN)/python -m bench.features
	$(BIN)/python -m bench.batch --spark
	$(BIN)/python -m bench.ingest
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) || echo "no wrk: bench.serving uses httpx"
	$(BIN)/python -m bench.serving

clean:
	rm -rf $(VENV) $(DEMO_DIR) mlruns mlflow.db .pytest_cache
