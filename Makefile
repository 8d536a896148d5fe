# kasten: `make run` and `make check` are the two set-up commands (README.md).
BUILD ?= build
ASAN  ?= build-asan
FUZZ  ?= build-fuzz
DATA  ?= kasten-data

.PHONY: all deps-run deps-check build run check e2e clean bench

all: build

# `make run` needs only what builds and runs kasten; the test clients, clang and
# Postfix's load generator come with `make check`, Dovecot with `make bench`.
deps-run:
	@scripts/install-deps.sh build

deps-check:
	@scripts/install-deps.sh check

# the webmail's npm packages (web/package-lock.json), which the build embeds
web-deps:
	@scripts/install-npm.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: web-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: deps-run build
	@$(BUILD)/kasten init --data $(DATA)
	exec $(BUILD)/kasten serve --data $(DATA)

check: deps-check web-deps
	@scripts/check.sh

# the browser tests alone (also a stage of `make check`): Debian's chromium, playwright-core
e2e: deps-check build
	@scripts/install-npm.sh
	KASTEN_BIN=$(CURDIR)/$(BUILD)/kasten /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

bench:
	@scripts/install-deps.sh bench
	@bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
