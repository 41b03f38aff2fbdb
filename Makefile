# Intake: `make run` starts the service, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := run

# Debian packages the build needs (C libraries behind the system-library targets, and pkg-config
# which SwiftPM uses to find them), and those the tests need (a real sshd and the SFTP clients
# partners use: OpenSSH's sftp, lftp, rclone, curl).
BUILD_PACKAGES := libxlsxwriter-dev libzip-dev libexpat1-dev libsqlite3-dev pkg-config
TEST_PACKAGES := openssh-server openssh-client lftp rclone curl python3-venv
# A scratch Python environment for the SFTP client that sends plain rename requests (paramiko, PyPI).
TEST_VENV := .build-venv
BENCH_PACKAGES := sqlite3 unzip time

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD_FLAGS ?=
DATA_ROOT ?= ./var

# Installs each listed package that dpkg does not already have; apt-get update runs once, only if needed.
define install_missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

.PHONY: deps test-deps bench-deps build release run test bench clean

deps:
	$(call install_missing,$(BUILD_PACKAGES))

test-deps: deps
	$(call install_missing,$(TEST_PACKAGES))
	@[ -x $(TEST_VENV)/bin/python ] && $(TEST_VENV)/bin/python -c 'import paramiko' 2>/dev/null || \
		{ python3 -m venv $(TEST_VENV) && $(TEST_VENV)/bin/pip install -q --disable-pip-version-check paramiko; }

bench-deps: deps
	$(call install_missing,$(BENCH_PACKAGES))

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

release: deps
	swift build -c release $(SWIFT_BUILD_FLAGS)

run: build
	@mkdir -p $(DATA_ROOT)/partners/demo/inbox $(DATA_ROOT)/partners/demo/outbox
	@echo "Intake is watching $(DATA_ROOT) (partner 'demo'). Drop CSV or XLSX files into:"
	@echo "    $(DATA_ROOT)/partners/demo/inbox/"
	@echo "and read the result workbooks in:"
	@echo "    $(DATA_ROOT)/partners/demo/outbox/"
	@echo "Try: cp Fixtures/customers-sample.csv $(DATA_ROOT)/partners/demo/inbox/   (Ctrl-C stops.)"
	@exec $$(swift build --show-bin-path)/intake watch --root $(DATA_ROOT)

test: test-deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)

# Release build, generated files under .build-bench/ (never committed), BENCH_ROWS to choose sizes.
BENCH_ROWS ?= 100000,1000000
BENCH_RUNS ?= 3
bench: bench-deps release
	@bin=$$(swift build -c release --show-bin-path); \
	$$bin/intake-bench --intake $$bin/intake --scratch $(CURDIR)/.build-bench --rows $(BENCH_ROWS) --runs $(BENCH_RUNS)

clean:
	rm -rf .build
