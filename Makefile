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

## pyspark publishes only a source distribution. Its wheel is built once per machine into a
## wheelhouse beside the service downloads, and every uv call here (this install, the installed-wheel
## test, BentoML's package lock) takes it from there: an index answering without cache headers makes
## uv rebuild the sdist, and keep another 1.9 GB copy in its cache, on each install.
FRESCO_CACHE  ?= $(HOME)/.cache/fresco
WHEELHOUSE    := $(FRESCO_CACHE)/wheels
PYSPARK       := $(shell grep -E '^pyspark==' requirements.lock)
PYSPARK_WHEEL := $(WHEELHOUSE)/$(subst ==,-,$(PYSPARK))-py2.py3-none-any.whl
export UV_FIND_LINKS := $(WHEELHOUSE)

install: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Fresco needs Python 3.11, found {sys.version.split()[0]} at {sys.executable}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv>=0.9,<1"

$(PYSPARK_WHEEL): | $(BIN)/python
	$(BIN)/python -m pip wheel --quiet --no-deps -w $(WHEELHOUSE) '$(PYSPARK)'

$(STAMP): pyproject.toml setup.py requirements.lock $(PYSPARK_WHEEL) | $(BIN)/python
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
