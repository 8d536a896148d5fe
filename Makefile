# kasten: `make run` and `make check` are the two set-up commands (README.md).
BUILD ?= build
ASAN  ?= build-asan
FUZZ  ?= build-fuzz
DATA  ?= kasten-data

.PHONY: all deps build run check unit asan fuzz proto clients clean bench

all: build

deps:
	@scripts/install-deps.sh check

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: deps build
	@$(BUILD)/kasten init --data $(DATA)
	exec $(BUILD)/kasten serve --data $(DATA)

check: deps
	@scripts/check.sh

bench:
	@scripts/install-deps.sh bench
	@bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
