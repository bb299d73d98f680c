# Catalogage — `make demo` and `make test` create .venv, install the project and run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-all check sysdeps testdeps benchdeps bench clean lock

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

# Every dependency at the version and hash the tests passed with (requirements.lock),
# then the project itself without resolving anything again.
LOCK := requirements.lock
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

# Refresh the lock after a change of dependencies in pyproject.toml, then run `make test`
# before committing both. The project's own line (its test extra names its other extras)
# is dropped: the project is installed from the work tree.
PIP_TOOLS := pip-tools==7.6.2
lock:
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install -q $(PIP_TOOLS)
	$(VENV)-lock/bin/pip-compile -q --upgrade --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links --extra test --output-file $(LOCK) pyproject.toml
	sed -i -e '/^# WARNING: pip install will require/,/^# Consider using a hashable URL/d' \
	  -e '/^catalogage @ /,/^[a-z]/{/^catalogage @ /d;/^ *#/d}' $(LOCK)

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

demo: sysdeps $(VENV)/.installed
	$(VENV)/bin/catalogue demo --out demo $(if $(wildcard ../shared/seda/seda-2.2),--schemas-seda ../shared/seda)

# Habits first (DESIGN.md §3, §5): lint and import order, no function above radon's « C »
# (xenon; ruff's C901 at 20 does not count boolean operators), types, one-way layers;
# then the tests.
check: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/xenon --max-absolute C catalogue scanners grids reports data
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: testdeps check $(VENV)/.installed
	$(PY) -m pytest -q -m "not slow"

test-all: testdeps $(VENV)/.installed
	$(PY) -m pytest -q

# The peers the benchmarks run side by side with ours (scan; SIP: zip -0 then sha512sum).
BENCH_PACKAGES := rdfind jdupes rmlint zip
benchdeps: testdeps
	$(call ensure_packages,command -v rdfind && command -v jdupes && command -v rmlint && command -v zip,$(BENCH_PACKAGES))

bench: benchdeps $(VENV)/.installed
	$(PY) bench/bench_scan.py
	$(PY) bench/bench_sip.py

clean:
	rm -rf $(VENV) $(VENV)-lock demo .pytest_cache
