# Catalogage — `make demo` and `make test` create .venv, install the project and run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-all sysdeps testdeps bench clean

# System libraries the Python packages need: libmagic (python-magic), Pango (WeasyPrint).
# As root with apt-get (CI), they are installed; otherwise one French line says how.
sysdeps:
	@$(PYTHON) -c "import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library('magic') and ctypes.util.find_library('pango-1.0') else 1)" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagic1 libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; \
	  else \
	    echo "Bibliothèques manquantes : installez-les (Debian/Ubuntu : sudo apt-get install libmagic1 libpango-1.0-0 libpangoft2-1.0-0 ; macOS : brew install libmagic pango)." >&2; \
	    exit 1; \
	  fi; }

$(VENV)/.installed-%: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$*]"
	@touch $@

# What the tests drive for real: LibreOffice Calc (re-saving grids), Chromium (opening
# reports), pdftotext (reading PDF text), a PostgreSQL server (scan-db; the tests start
# their own on loopback).
TEST_PACKAGES := libreoffice-calc-nogui chromium poppler-utils postgresql
testdeps: sysdeps
	@if ! command -v soffice >/dev/null || ! command -v chromium >/dev/null || ! command -v pdftotext >/dev/null \
	    || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      $(TEST_PACKAGES) >/dev/null; \
	  else \
	    echo "Outils de test manquants : installez-les (Debian/Ubuntu : sudo apt-get install $(TEST_PACKAGES))." >&2; \
	    exit 1; \
	  fi; \
	fi

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
