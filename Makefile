# The two commands a new user needs: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: run test install postgres chromium bench bench-report clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

# Starts the bot on the embedded SQLite default; dry-run until credentials are set. A first start
# on a new database adds a few sample records, marked as such, so the board at /board shows something.
run: $(VENV)/.installed
	$(VENV)/bin/shipbot sample-data --if-new
	$(VENV)/bin/shipbot serve --host 127.0.0.1

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

# The board's browser test drives Debian's chromium; install it when missing (as root, or with sudo
# when it asks for no password).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then as_root=""; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; \
	  else echo "chromium is missing and installing it needs root: apt-get install chromium"; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$as_root apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { $$as_root apt-get update -qq >/dev/null && $$as_root apt-get install -y -qq chromium >/dev/null; }; }

test: install postgres chromium
	$(PY) -m pytest -q $(PYTEST_ARGS)

$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: install $(VENV)/.bench-installed
	$(PY) bench/ingest.py
	$(PY) bench/dora.py
	$(PY) bench/board.py

# Every benchmark, each point repeated; writes docs/benchmarks.md and docs/benchmarks/ (about 10 min).
bench-report: install postgres $(VENV)/.bench-installed
	$(PY) bench/report.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache shipbot.db*
