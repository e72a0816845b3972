# The two commands of the README: `make serve` and `make test`. Both set up everything
# they need (a virtualenv with the pinned dependencies; Chromium for the browser tests).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test build check lint browser

$(BIN)/refdb: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

serve: $(BIN)/refdb
	$(BIN)/refdb serve

build: $(BIN)/refdb
	$(BIN)/refdb build

check: $(BIN)/refdb
	$(BIN)/refdb check

lint: $(BIN)/refdb
	$(BIN)/ruff check refdb tests

# Debian's Chromium for the browser tests (no browser download works here).
browser:
	@test -x /usr/bin/chromium || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

test: $(BIN)/refdb browser
	$(BIN)/pytest
