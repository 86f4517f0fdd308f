# celltrial: every target installs what it needs and is safe to run twice.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION ?= 0.13.9

.PHONY: all venv test demo lint typecheck importlint pytest pytest-sqlite pytest-postgres images reference lock clean bench bench-edc system-deps fuzz

all: test

# The virtualenv is rebuilt when the lock file or pyproject changes.
$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "python3 is required"; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  echo "installing python3-venv"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv installs the pinned lock about 4x faster than pip (CI's fresh clone builds the venv
	@# every run); pip is the fallback when uv cannot be fetched or fails.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) \
	  && $(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock \
	  || { echo "uv unavailable: installing with pip"; \
	       $(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip \
	       && $(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests and reports use: Chromium renders the HTML report to PDF and
# drives the browser tests. Installed once; skipped when already present.
system-deps:
	@command -v chromium >/dev/null || { echo "installing chromium (Debian)"; \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium fonts-dejavu-core >/dev/null; }

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: venv
	$(BIN)/mypy

importlint: venv
	$(BIN)/lint-imports

# Everything on SQLite, and the EDC tests again on a throw-away PostgreSQL cluster
# (scripts/with-postgres.sh installs Debian's postgresql when initdb is missing). The two
# passes run side by side (make -j2): each worker's waits (subprocesses, the database, the
# last file of a pass) leave CPU that the other pass uses. One pytest worker per core in
# each pass (pytest-xdist); a test file's tests stay in one worker, so its module fixtures
# are built once. Each worker has its own test database.
PYTEST_WORKERS ?= auto
PYTEST_ARGS := -q -n $(PYTEST_WORKERS) --dist loadfile
pytest: venv
	$(MAKE) --no-print-directory -j2 --output-sync=target pytest-sqlite pytest-postgres

pytest-sqlite: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

pytest-postgres: venv
	scripts/with-postgres.sh $(BIN)/python -m pytest $(PYTEST_ARGS) tests/edc

# The tracked images (docs/img, tests/report/screenshots) are rewritten only here: the browser
# and report tests write them when CELLTRIAL_WRITE_IMAGES=1 (a plain test run leaves them).
images: venv system-deps
	CELLTRIAL_WRITE_IMAGES=1 $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile \
	  tests/web tests/report/test_report_chromium.py

# The whole REST API fuzzed from its OpenAPI schema (schemathesis), as every role and
# without a token, on SQLite and on PostgreSQL: no answer may be a server error.
# FUZZ_EXAMPLES cases per operation and role (bounded; see docs/edc.md). Both databases run
# even when the first fails; the target fails when either does.
FUZZ_EXAMPLES ?= 5
fuzz: venv
	@status=0; \
	$(BIN)/python scripts/fuzz_api.py --examples $(FUZZ_EXAMPLES) || status=1; \
	scripts/with-postgres.sh $(BIN)/python scripts/fuzz_api.py --examples $(FUZZ_EXAMPLES) || status=1; \
	exit $$status

# The static checks and both pytest passes side by side (make -j): on a 2-core machine
# mypy's single process (about 50 s of CPU on a fresh clone, its cache cold) fills what the
# pytest workers leave idle. --output-sync prints each step's output whole, when it ends.
test: venv system-deps
	$(MAKE) --no-print-directory -j4 --output-sync=target lint typecheck importlint pytest-sqlite pytest-postgres

# --force: a second `make demo` replaces the first demo's EDC database (demo-output/).
demo: venv system-deps
	$(BIN)/celltrial demo --force

# Regenerate the R reference values under tests/reference (needs R; CI does not).
reference:
	@command -v Rscript >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  r-base-core r-cran-survival r-cran-metafor r-cran-rpact r-cran-lme4 r-cran-jsonlite; }
	@for s in tests/reference/*/*.R; do echo "Rscript $$s"; (cd $$(dirname $$s) && Rscript $$(basename $$s)) || exit 1; done

bench: venv
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The EDC's load test through gunicorn on both databases (issue 16's goals): SQLite (a WAL
# file), then a throw-away PostgreSQL cluster with its durable defaults (fsync and
# synchronous_commit on). About 2 minutes; run it on a quiet machine.
bench-edc: venv
	@status=0; \
	$(BIN)/python bench/edc_load.py || status=1; \
	PG_OPTIONS="" scripts/with-postgres.sh $(BIN)/python bench/edc_load.py || status=1; \
	exit $$status

# Re-resolve the pinned versions (needs network to PyPI).
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
