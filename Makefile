# The targets are exactly what CI runs: .ci/run calls `make lint`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make run` needs the runtime dependencies only; lint and test add their extras (and PostgreSQL's
# driver), pinned by constraints.txt as in CI.
RUNTIME_STAMP := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
CONSTRAINTS := constraints.txt

.PHONY: install install-runtime run lint test bench clean

install-runtime: $(RUNTIME_STAMP)

$(RUNTIME_STAMP): setup.cfg pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e .
	touch $(RUNTIME_STAMP)

install: $(STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[postgres,test,lint]'
	touch $(STAMP)

## make run: create the database, load the demo population once, print demo credentials, serve
## (gateway serve; GATEWAY_BIND, GATEWAY_WORKERS and the other settings apply).
run: install-runtime
	exec $(BIN)/gateway serve

## make lint: ruff (rules and formatting), mypy (strict on the domain and its implementations), the layer
## contracts (import-linter). Every step runs, so one report shows every kind of problem; any failure fails.
lint: install
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check --output-format concise . || status=1; \
	$(BIN)/mypy || status=1; \
	$(BIN)/lint-imports || status=1; \
	exit $$status

## make test: the whole suite, on WORKERS pytest-xdist processes (tests that must not overlap share an
## xdist_group and run in one worker). WORKERS=0 runs it in this process.
WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup $(PYTEST_ARGS)


## make bench: every figure beside its baseline, measured in one run; writes docs/benchmarks.md.
bench: install
	command -v wrk >/dev/null || apt-get install -y -q wrk || { echo "make bench needs wrk (apt-get install wrk)"; exit 1; }
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .mypy_cache .ruff_cache .import_linter_cache *.egg-info
