# The README's two commands: `make all` (set up, run the main job, render the book) and `make test`.
# `make system` installs the system packages (Chromium for `make book-check`); CI runs it first.
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out
# Where the data lives: override with `make all REPLICATE_DATA=/path` or the environment.
REPLICATE_DATA ?= $(abspath ../shared/data)
export REPLICATE_DATA
# Two threads is the 2-core machine's best setting (reference: measured-on-this-machine.md).
export OMP_NUM_THREADS ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: all setup system main book book-check test clean-out

all: main

setup: $(VENV)/.installed

$(VENV)/.installed: requirements-lock.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-lock.txt
	$(VENV)/bin/pip install --disable-pip-version-check -q --no-deps -e .
	touch $@

main: setup
	@start=$$(date +%s); \
	$(VENV)/bin/replicate batch --main-job --profile cpu --out $(OUT) && \
	$(VENV)/bin/replicate book --results $(OUT) --build $(OUT)/_build && \
	echo "main job + book: $$(( $$(date +%s) - start )) s; open $(OUT)/_build/_build/html/index.html"

book: setup
	$(VENV)/bin/replicate book --results results --build _build

# Headless Chromium + chromedriver from Debian (browser downloads are blocked) for book-check, and
# a C++ compiler for the fused CPU LIF (replicate.fused_lif); skipped when present.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v g++ >/dev/null; then \
	  echo "system: chromium, chromedriver and g++ present"; \
	else \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver g++; \
	fi

# The built book in a real browser at 1280 px: overflowing tables/figures, broken images and
# links, Python errors; screenshots in _build/screenshots/.
book-check: book system
	$(VENV)/bin/replicate book-check --build _build

test: setup
	$(PY) -m pytest -q
	$(VENV)/bin/replicate book --results results --build _build

clean-out:
	rm -rf $(OUT)
