# The two commands of the README: `make serve` and `make test`. Both set up everything
# they need (a virtualenv with the locked dependencies; Chromium for the browser tests).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test build check lint lock system-packages

$(BIN)/refdb: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

# After changing a dependency in pyproject.toml: install the project afresh in a scratch
# virtualenv (the newest versions its ranges allow) and pin exactly what that installed.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e '.[test]'
	{ sed -n '1,4p' requirements.lock; .lock-venv/bin/pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf .lock-venv

serve: $(BIN)/refdb
	$(BIN)/refdb serve

build: $(BIN)/refdb
	$(BIN)/refdb build

check: $(BIN)/refdb
	$(BIN)/refdb check

lint: $(BIN)/refdb
	$(BIN)/ruff check refdb tests

# What the tests need from Debian (no browser or server download works here): Chromium for
# the browser tests, PostgreSQL for the server-database tests (each test starts its own).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-packages:
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium chromium-driver"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

test: $(BIN)/refdb system-packages
	$(BIN)/pytest
