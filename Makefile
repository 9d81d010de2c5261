# The targets are exactly what CI runs: .ci/run calls `make lint`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make run` needs the runtime dependencies only; lint and test add their extras (and PostgreSQL's
# driver), pinned by constraints.txt as in CI.
RUNTIME_STAMP := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
CONSTRAINTS := constraints.txt

.PHONY: install install-runtime run lint test docs docs-serve bench clean

install-runtime: $(RUNTIME_STAMP)

$(RUNTIME_STAMP): setup.cfg pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e .
	touch $(RUNTIME_STAMP)

install: $(STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[postgres,test,lint,docs]'
	touch $(STAMP)

## make run: create the database, load the demo population once, print demo credentials, serve
## (gateway serve; GATEWAY_BIND, GATEWAY_WORKERS and the other settings apply).
run: install-runtime
	exec $(BIN)/gateway serve

## make lint: ruff (rules and formatting), mypy (strict on the domain and its implementations), the layer
## contracts (import-linter), the docs site (strict: a broken link or a page missing from the nav fails).
## Every step runs, so one report shows every kind of problem; any failure fails.
export NO_MKDOCS_2_WARNING := 1
lint: install
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check --output-format concise . || status=1; \
	$(BIN)/mypy || status=1; \
	$(BIN)/lint-imports || status=1; \
	site=$$(mktemp -d); $(BIN)/mkdocs build --strict --quiet --site-dir $$site || status=1; rm -rf $$site; \
	exit $$status

## make docs: the docs site into site/ (strict); make docs-serve: served on 127.0.0.1:8000 while you edit.
docs: install
	$(BIN)/mkdocs build --strict

docs-serve: install
	$(BIN)/mkdocs serve

## make test: the whole suite, on WORKERS pytest-xdist processes (tests that must not overlap share an
## xdist_group and run in one worker). WORKERS=0 runs it in this process.
WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup $(PYTEST_ARGS)


## make bench: every figure beside its baseline, measured in one run; writes docs/benchmarks.md.
## WireMock (the stub-server baseline) comes from the npm package wiremock, run by Debian's JRE; without them
## the bench says how to install them and skips those rows.
BENCH_CACHE ?= $(HOME)/.cache/gateway-bench
bench: install $(VENV)/.bench-stamp
	command -v wrk >/dev/null || apt-get install -y -q wrk || { echo "make bench needs wrk (apt-get install wrk)"; exit 1; }
	command -v java >/dev/null || apt-get install -y -q default-jre-headless || echo "no java: the WireMock rows will be skipped"
	test -d $(BENCH_CACHE)/node_modules/wiremock || { command -v npm >/dev/null && npm install --prefix $(BENCH_CACHE) --no-audit --no-fund wiremock; } || echo "no npm: the WireMock rows will be skipped (npm install --prefix $(BENCH_CACHE) wiremock)"
	BENCH_CACHE=$(BENCH_CACHE) $(BIN)/python -m bench $(BENCH_ARGS)

$(VENV)/.bench-stamp: setup.cfg $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

clean:
	rm -rf $(VENV) var site .pytest_cache .hypothesis .mypy_cache .ruff_cache .import_linter_cache *.egg-info
