# Catalogage — `make demo` and `make test` create .venv, install the project and run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-all sysdeps testdeps benchdeps bench clean

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

# Install Debian packages $(2) unless the shell test $(1) passes: as root with apt-get
# (CI), they are installed; otherwise one French line says what is missing.
define ensure_packages
	@if ! { $(1); } >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      $(2) >/dev/null; \
	  else \
	    echo "Outils manquants : installez-les (Debian/Ubuntu : sudo apt-get install $(2))." >&2; \
	    exit 1; \
	  fi; \
	fi
endef

# What the tests drive for real: LibreOffice Calc (re-saving grids), Chromium (opening
# reports), pdftotext (reading PDF text), a PostgreSQL server (scan-db; the tests start
# their own on loopback), FUSE (a mount with network-like latency, bench/latencyfs.py).
TEST_PACKAGES := libreoffice-calc-nogui chromium poppler-utils postgresql fuse3 libfuse2
TEST_TOOLS_PRESENT := command -v soffice && command -v chromium && command -v pdftotext \
	&& ls /usr/lib/postgresql/*/bin/initdb && command -v fusermount && ldconfig -p | grep -q 'libfuse\.so\.2'
testdeps: sysdeps
	$(call ensure_packages,$(TEST_TOOLS_PRESENT),$(TEST_PACKAGES))

demo: sysdeps $(VENV)/.installed-demo
	$(VENV)/bin/catalogue demo --out demo

test: testdeps $(VENV)/.installed-test
	$(PY) -m pytest -q -m "not slow"

test-all: testdeps $(VENV)/.installed-test
	$(PY) -m pytest -q

# The peers the benchmark runs side by side with our scan.
BENCH_PACKAGES := rdfind jdupes rmlint
benchdeps: testdeps
	$(call ensure_packages,command -v rdfind && command -v jdupes && command -v rmlint,$(BENCH_PACKAGES))

bench: benchdeps $(VENV)/.installed-test
	$(PY) bench/bench_scan.py

clean:
	rm -rf $(VENV) demo .pytest_cache
