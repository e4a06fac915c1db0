# Fresco's two commands: `make quickstart` and `make test`. Both are fast to re-run:
# the virtual environment is rebuilt only when pyproject.toml or requirements.lock change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
## Test processes (pytest-xdist; a test file runs whole in one of them). 0: in this process.
PYTEST_WORKERS ?= 2

.PHONY: install quickstart services test lock benchmarks clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Fresco needs Python 3.11, found {sys.version.split()[0]} at {sys.executable}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv>=0.9,<1"
	$(BIN)/uv pip install --python $(BIN)/python --constraint requirements.lock --editable '.[dev]'
	touch $@

## The main job on the embedded default: SQLite online store, Parquet offline store, no servers.
quickstart: install
	$(BIN)/fresco quickstart

## Real services the tests use: a Cassandra 5.0 node and a Kafka 4 broker, fetched from Maven Central
## with mvn (first time only).
services: install
	$(BIN)/fresco services start cassandra
	$(BIN)/fresco services start kafka

## Every test, against the real Cassandra node and real Spark with its Hive metastore.
test: install services
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## Re-resolve the pinned versions after changing pyproject.toml's ranges.
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --upgrade -o requirements.lock

clean:
	rm -rf $(VENV) .fresco feature_repo/data .pytest_cache
