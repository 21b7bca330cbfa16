# Every target builds .venv itself on a fresh machine: `make demo` and `make test` are all you need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench notebooks clean graphviz chromium

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory graphviz chromium
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Graphviz's `dot` renders the graph drawings; installed from Debian when missing.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing graphviz (dot)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq graphviz >/dev/null; fi; }

# Headless Chromium and its driver run the backprop stepper's browser test (tests/browser.py);
# installed from Debian when missing, checked again by every `make test`.
chromium:
	@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || { \
	  echo "installing chromium and chromium-driver (browser tests)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium chromium-driver >/dev/null; fi; }

demo: $(STAMP)
	$(PY) -m nn.demo

test: $(STAMP) chromium
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m bench

# Execute every notebook and render it to HTML with its pictures (notebooks/html/).
notebooks: $(STAMP)
	$(PY) notebooks/run.py --html notebooks/html

clean:
	rm -rf $(VENV) build *.egg-info demo_output
