# Intake: `make run` starts the service, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := run

# Debian packages the build needs (C libraries behind the system-library targets, and pkg-config
# which SwiftPM uses to find them), and those the tests need (a real sshd and the SFTP clients
# partners use: OpenSSH's sftp, lftp, rclone, curl; nginx and openssl for the TLS proxy test).
BUILD_PACKAGES := libxlsxwriter-dev libzip-dev libexpat1-dev libsqlite3-dev libpq-dev pkg-config
TEST_PACKAGES := postgresql openssh-server openssh-client lftp rclone curl python3-venv nginx-light openssl libreoffice-calc-nogui poppler-utils chromium chromium-driver python3-selenium
# A scratch Python environment (PyPI): paramiko, an SFTP client that sends plain rename requests,
# and schemathesis, which checks the live API against deploy/openapi.yaml.
TEST_VENV := .build-venv
TEST_PYTHON_PACKAGES := paramiko schemathesis openpyxl
BENCH_PACKAGES := sqlite3 unzip time wrk postgresql

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

.PHONY: deps test-deps bench-deps build release run test bench fuzz fuzz-build clean

deps:
	$(call install_missing,$(BUILD_PACKAGES))

test-deps: deps
	$(call install_missing,$(TEST_PACKAGES))
	@[ -x $(TEST_VENV)/bin/python ] && $(TEST_VENV)/bin/python -c 'import paramiko, schemathesis, openpyxl' 2>/dev/null || \
		{ python3 -m venv $(TEST_VENV) && $(TEST_VENV)/bin/pip install -q --disable-pip-version-check $(TEST_PYTHON_PACKAGES); }

bench-deps: deps
	$(call install_missing,$(BENCH_PACKAGES))

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

release: deps
	swift build -c release $(SWIFT_BUILD_FLAGS)

HTTP_LISTEN ?= 127.0.0.1:8080
# The demo partner's portal password for `make run` (loopback only; choose your own for anything else).
DEMO_PASSWORD ?= intake-demo-password

run: build
	@mkdir -p $(DATA_ROOT)/partners/demo/inbox $(DATA_ROOT)/partners/demo/outbox
	@bin=$$(swift build --show-bin-path); \
	$$bin/intake token revoke --partner demo --name demo --root $(DATA_ROOT) >/dev/null 2>&1; \
	token=$$($$bin/intake token create --partner demo --name demo --root $(DATA_ROOT)) || exit 1; \
	echo "Intake is watching $(DATA_ROOT) (partner 'demo'). Drop CSV or XLSX files into:"; \
	echo "    $(DATA_ROOT)/partners/demo/inbox/"; \
	echo "and read the result workbooks in:"; \
	echo "    $(DATA_ROOT)/partners/demo/outbox/"; \
	echo "Try: cp Fixtures/customers-sample.csv $(DATA_ROOT)/partners/demo/inbox/"; \
	echo ""; \
	echo "The API listens on http://$(HTTP_LISTEN) with the demo token $$token"; \
	echo "Try: curl -H 'Authorization: Bearer $$token' http://$(HTTP_LISTEN)/v4/consumers"; \
	echo "$(DEMO_PASSWORD)" | $$bin/intake user add --partner demo demo@example.com --root $(DATA_ROOT) >/dev/null || exit 1; \
	echo "The portal: http://$(HTTP_LISTEN)/ (sign in as demo@example.com, password $(DEMO_PASSWORD))"; \
	echo "Metrics: http://$(HTTP_LISTEN)/metrics"; \
	echo "(Ctrl-C stops.)"; \
	exec $$bin/intake watch --root $(DATA_ROOT) --http $(HTTP_LISTEN)

test: test-deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)

# Release build, generated files under .build-bench/ (never committed), BENCH_ROWS to choose sizes.
BENCH_ROWS ?= 100000,1000000
BENCH_RUNS ?= 3
bench: bench-deps release
	@bin=$$(swift build -c release --show-bin-path); \
	$$bin/intake-bench --intake $$bin/intake --scratch $(CURDIR)/.build-bench --rows $(BENCH_ROWS) --runs $(BENCH_RUNS)

# Coverage-guided fuzzing with libFuzzer (not part of `make test`): each target for FUZZ_SECONDS,
# seeded from Fixtures/fuzz/<target> and ../shared/corpus; what it finds goes to
# .build-fuzz/crashes/<target>/ (see README, Fuzzing).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= csv xlsx sheet shared-strings number-format field-rules settings json
FUZZ_FLAGS ?=
FUZZ_SCRATCH := .build-fuzz
CORPUS ?= ../shared/corpus

fuzz-build: deps
	swift build -c release --scratch-path $(FUZZ_SCRATCH) --product intake-fuzz \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld

fuzz: fuzz-build
	@bin=$$(swift build -c release --scratch-path $(FUZZ_SCRATCH) --show-bin-path)/intake-fuzz; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_SCRATCH)/corpus/$$t $(FUZZ_SCRATCH)/crashes/$$t; \
		seeds="Fixtures/fuzz/$$t"; dict=""; \
		case $$t in \
			csv) seeds="$$seeds $$(find $(CORPUS)/csv -type d 2>/dev/null | head -50 | tr '\n' ' ')" ;; \
			xlsx) seeds="$$seeds $(CORPUS)/xlsx"; dict="-dict=Fixtures/fuzz/dicts/xlsx.dict" ;; \
			sheet|shared-strings) dict="-dict=Fixtures/fuzz/dicts/xlsx.dict" ;; \
		esac; \
		echo "== $$t: $(FUZZ_SECONDS) s"; \
		SWIFT_BACKTRACE=enable=no INTAKE_FUZZ_TARGET=$$t $$bin $(FUZZ_SCRATCH)/corpus/$$t $$seeds $$dict \
			-max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=512 -max_len=65536 \
			-artifact_prefix=$(FUZZ_SCRATCH)/crashes/$$t/ -print_final_stats=1 $(FUZZ_FLAGS) \
			> $(FUZZ_SCRATCH)/$$t.log 2>&1; status=$$?; \
		grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::new_units_added|^stat::peak_rss_mb" $(FUZZ_SCRATCH)/$$t.log; \
		grep -E "cov: [0-9]+" $(FUZZ_SCRATCH)/$$t.log | tail -1; \
		if [ $$status -ne 0 ]; then echo "$$t: FOUND A PROBLEM (exit $$status), see $(FUZZ_SCRATCH)/$$t.log and $(FUZZ_SCRATCH)/crashes/$$t/"; fi; \
	done

clean:
	rm -rf .build
