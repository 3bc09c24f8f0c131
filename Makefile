# Two commands on a fresh clone:  `make demo` (set up + screen the example photos)  and  `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt

.PHONY: demo test setup-core setup-all benchmark clean

demo: $(VENV)/.core
	$(VENV)/bin/vitalens predict --data examples/nails --out experiments/demo/predictions.csv
	$(VENV)/bin/vitalens predict --data examples/nails/yakimov2024_65.png --out experiments/demo/raw_photo.csv

test: $(VENV)/.all
	$(PY) -m pytest -q -ra

benchmark: $(VENV)/.all
	$(PY) benchmarks/hb_nails.py
	$(PY) benchmarks/speed.py

setup-core: $(VENV)/.core
setup-all: $(VENV)/.all

$(VENV)/.venv-created:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	touch $@

# The serving world only: numpy, Pillow, pillow-heif, onnxruntime, typer, rich (no torch).
$(VENV)/.core: $(VENV)/.venv-created pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

# Everything: training (CPU torch 2.13 pinned in constraints.txt), the service and the tests.
$(VENV)/.all: $(VENV)/.core
	$(PIP) -e ".[train,serve,dev]"
	touch $@

clean:
	rm -rf $(VENV) experiments .pytest_cache
