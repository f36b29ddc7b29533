# The two commands of the README: `make run` and `make test`.
# Both build the virtual environment from scratch when it is missing or stale.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test demo lint typecheck pytest bench clean sysdeps console-shots

$(STAMP): pyproject.toml tools/install-system-deps.sh
	bash tools/install-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

sysdeps:
	bash tools/install-system-deps.sh

run: $(STAMP)
	$(BIN)/axis db upgrade
	$(BIN)/axis registry seed
	$(BIN)/axis serve --host $(HOST) --port $(PORT)

demo: $(STAMP)
	$(BIN)/axis demo

lint: $(STAMP)
	$(BIN)/ruff check axis adapters tools tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	bash tools/ensure-services.sh
	$(BIN)/python -m pytest -q

# pytest includes tests/test_installed_wheel.py: the wheel, installed in a fresh venv
# outside the tree, must check a package, serve until /readyz is 200 and verify the journal.
test: lint typecheck pytest

# The console's screenshots in docs/console.md: its browser tests (headless Chromium),
# each writing the page it shows to docs/console/<name>.png.
console-shots: $(STAMP)
	AXIS_CONSOLE_SHOTS=docs/console $(BIN)/python -m pytest -q tests/test_console_*.py

bench: $(STAMP)
	$(BIN)/python tools/bench_edxml.py
	$(BIN)/python tools/bench_trust.py --report reports/bench_trust.json
	bash tools/ensure-services.sh
	# axis bench (docs/benchmarks.md): the rows of issue 9's table, a report each.
	# --rate auto: after the closed-loop steps, an open-loop step at 80 % of their peak.
	$(BIN)/axis bench --backend embedded --concurrency 2,8 --rate auto \
	    --out reports/bench/embedded-5KB-r1
	$(BIN)/axis bench --backend postgres-rabbit --concurrency 2,8 --rate auto \
	    --out reports/bench/postgres-rabbit-5KB-r1
	$(BIN)/axis bench --backend postgres-rabbit --recipients 10 \
	    --out reports/bench/postgres-rabbit-5KB-r10
	$(BIN)/axis bench --backend postgres-rabbit --size 360KB \
	    --out reports/bench/postgres-rabbit-360KB-r1
	$(BIN)/axis bench --backend postgres-rabbit --size 45MB --concurrency 1 --packages 3 \
	    --seconds 30 --ceilings none --out reports/bench/postgres-rabbit-45MB-r1
	$(BIN)/axis bench --backend postgres-rabbit --recipients 100 --packages 40 \
	    --drain-seconds 120 --out reports/bench/postgres-rabbit-5KB-r100
	# Urgent (Priority 1) behind 10,000 waiting normal packages (workers stopped, then resumed).
	$(BIN)/axis bench --backend postgres-rabbit --backlog 10000 --backlog-urgent 20 \
	    --ceilings none --drain-seconds 300 --out reports/bench/postgres-rabbit-backlog-10000
	$(BIN)/axis bench --backend embedded --backlog 10000 --backlog-urgent 20 \
	    --ceilings none --drain-seconds 300 --out reports/bench/embedded-backlog-10000

clean:
	rm -rf $(VENV) var build *.egg-info .mypy_cache .pytest_cache .ruff_cache
