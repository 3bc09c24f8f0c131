# Two commands on a fresh clone:  `make demo` (set up + screen the example photos)  and  `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt

.PHONY: demo test setup-core setup-all benchmark clean serve app browser-deps

demo: $(VENV)/.core
	$(VENV)/bin/vitalens predict --data examples/nails --out experiments/demo/predictions.csv
	$(VENV)/bin/vitalens predict --data examples/nails/yakimov2024_65.png --out experiments/demo/raw_photo.csv

test: $(VENV)/.all browser-deps
	$(PY) -m pytest -q -ra

serve: $(VENV)/.all node_modules/.package-lock.json
	$(VENV)/bin/vitalens serve

# The browser app's runtime (onnxruntime-web) and the browser tests' driver (playwright-core) from npm,
# and Debian's chromium for the tests (never a downloaded browser). Without node or chromium the
# browser tests skip and say why.
browser-deps: node_modules/.package-lock.json
	@command -v chromium >/dev/null 2>&1 || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
			|| echo "could not install chromium: the browser tests will skip"; \
		else echo "chromium is not installed (apt-get install chromium): the browser tests will skip"; fi; }

node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund || echo "npm ci failed: the browser tests will say why"; \
		else echo "npm is not installed: the browser app cannot run onnxruntime-web and the browser tests will skip"; fi

# Copy onnxruntime-web's browser files, Swagger UI (for /docs) and ReDoc (for /redoc) into the package, so a built wheel
# serves the app and its API docs without node_modules.
app: node_modules/.package-lock.json
	mkdir -p src/vitalens/webapp/vendor/onnxruntime-web src/vitalens/webapp/vendor/swagger-ui
	cp node_modules/onnxruntime-web/dist/ort.wasm.min.mjs node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.mjs \
		node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm src/vitalens/webapp/vendor/onnxruntime-web/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css src/vitalens/webapp/vendor/swagger-ui/
	mkdir -p src/vitalens/webapp/vendor/redoc && cp node_modules/redoc/bundles/redoc.standalone.js src/vitalens/webapp/vendor/redoc/

benchmark: $(VENV)/.all
	$(PY) benchmarks/hb_nails.py
	$(PY) benchmarks/speed.py
	$(PY) benchmarks/load_test.py

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

# Everything: training (CPU torch 2.13 pinned in constraints.txt), the service, Ray and the tests.
$(VENV)/.all: $(VENV)/.core
	$(PIP) -e ".[train,serve,scale,dev]"
	touch $@

clean:
	rm -rf $(VENV) experiments .pytest_cache node_modules src/vitalens/webapp/vendor
