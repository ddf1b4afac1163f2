# The README's two commands: `make all` (set up, run the main job, render the book) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out
# Where the data lives: override with `make all REPLICATE_DATA=/path` or the environment.
REPLICATE_DATA ?= $(abspath ../shared/data)
export REPLICATE_DATA
# Two threads is the 2-core machine's best setting (reference: measured-on-this-machine.md).
export OMP_NUM_THREADS ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: all setup main book test clean-out

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

test: setup
	$(PY) -m pytest -q
	$(VENV)/bin/replicate book --results results --build _build

clean-out:
	rm -rf $(OUT)
