# Catalogage — `make demo` and `make test` create .venv, install the project and run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-all sysdeps testdeps bench clean

# System libraries the Python packages need: libmagic (python-magic).
# As root with apt-get (CI), they are installed; otherwise one French line says how.
sysdeps:
	@$(PYTHON) -c "import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library('magic') else 1)" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagic1 >/dev/null; \
	  else \
	    echo "Bibliothèque libmagic manquante : installez-la (Debian/Ubuntu : sudo apt-get install libmagic1 ; macOS : brew install libmagic)." >&2; \
	    exit 1; \
	  fi; }

$(VENV)/.installed-%: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$*]"
	@touch $@

# What the tests drive for real: LibreOffice Calc (re-saving grids).
testdeps: sysdeps
	@command -v soffice >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      libreoffice-calc-nogui >/dev/null; \
	  else \
	    echo "LibreOffice Calc manquant pour les tests : installez-le (Debian/Ubuntu : sudo apt-get install libreoffice-calc-nogui)." >&2; \
	    exit 1; \
	  fi; }

demo: sysdeps $(VENV)/.installed-demo
	$(VENV)/bin/catalogue demo --out demo

test: testdeps $(VENV)/.installed-test
	$(PY) -m pytest -q -m "not slow"

test-all: testdeps $(VENV)/.installed-test
	$(PY) -m pytest -q

bench: sysdeps $(VENV)/.installed-test
	$(PY) bench/bench_scan.py

clean:
	rm -rf $(VENV) demo .pytest_cache
