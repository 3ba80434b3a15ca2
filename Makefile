# iys-inbound — everything a newcomer needs is `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
TEST_STAMP    := $(VENV)/.test-installed
PEER_STAMP    := tests/peer/node_modules/.installed
WEB_STAMP     := tests/web/node_modules/.installed

.PHONY: run test lint bench chaos install clean docker

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(RUNTIME_STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# the independent SMSC peer used by the interop tests (npm `smpp`, pinned by the lock file)
$(PEER_STAMP): tests/peer/package.json tests/peer/package-lock.json
	npm ci --prefix tests/peer --no-audit --no-fund --loglevel=error
	touch $@

# axe-core for the web page's accessibility checks (the browser is Debian's chromium; no
# browser is downloaded: Playwright drives it through executable_path)
$(WEB_STAMP): tests/web/package.json tests/web/package-lock.json
	npm ci --prefix tests/web --no-audit --no-fund --loglevel=error
	touch $@

install: $(RUNTIME_STAMP)

## run: install, migrate and start the service on the zero-config default
run: $(RUNTIME_STAMP)
	$(BIN)/iys-inbound run

## test: install what the tests need, lint, and run the whole suite
test: $(TEST_STAMP) $(PEER_STAMP) $(WEB_STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

## bench / chaos: the long versions (minutes); small versions run inside `make test`
bench: $(TEST_STAMP) $(PEER_STAMP)
	flock /tmp/iys-bench.lock $(BIN)/python -m bench

chaos: $(TEST_STAMP) $(PEER_STAMP)
	IYS_CHAOS_FULL=1 $(BIN)/pytest -q -p no:cacheprovider tests/chaos

docker:
	docker build -t iys-inbound .

clean:
	rm -rf $(VENV) tests/peer/node_modules tests/web/node_modules var build *.egg-info
