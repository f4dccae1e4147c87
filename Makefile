# Hirebell. `make run` and `make test` set up a fresh Debian/Ubuntu machine
# (system packages through apt-get, with sudo when not root) and then run.

SHELL   := /bin/bash
GO      ?= go
BIN     := hirebell
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
export LANG ?= en_US.UTF-8

# Fyne needs cgo and the X11/GL headers to build.
BUILD_PKGS := gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxrandr-dev \
	libxxf86vm-dev libxi-dev libxcursor-dev libxinerama-dev
# The end-to-end tests run the real window under Xvfb with its own D-Bus.
E2E_PKGS := xvfb xauth dbus dbus-bin libglib2.0-bin x11-utils xdotool imagemagick dunst openssl python3

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FUZZTIME ?= 10s

.PHONY: all build run serve test fuzz fuzz-long bench bench-ui package deps deps-e2e check-go clean

all: build

check-go:
	@command -v $(GO) >/dev/null || { echo "Go 1.21 or newer is needed (it fetches the toolchain go.mod asks for): https://go.dev/doc/install"; exit 1; }

# deps installs the build packages that are missing (apt-get; others: see README).
deps: check-go
	@$(call apt_install,$(BUILD_PKGS))

deps-e2e: deps
	@$(call apt_install,$(E2E_PKGS))

define apt_install
missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
if [ -n "$$missing" ]; then \
	if command -v apt-get >/dev/null; then \
		echo "Installing: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "Please install the equivalents of: $$missing (see README)"; exit 1; \
	fi; \
fi
endef

build: deps
	$(GO) build -o $(BIN) .

run: build
	./$(BIN)

serve: build
	./$(BIN) serve

# test runs everything CI runs: vet, every test with the race detector
# (including the end-to-end tests of the real binary), and short fuzz runs.
test: deps-e2e
	$(GO) vet ./...
	HIREBELL_E2E=1 $(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) fuzz

fuzz: check-go
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./receiver/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeHire$$' -fuzztime $(FUZZTIME) ./store/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeFast$$' -fuzztime $(FUZZTIME) ./store/
	$(GO) test -run '^$$' -fuzz '^FuzzSafeFileName$$' -fuzztime $(FUZZTIME) ./store/

# fuzz-long is the longer run to do before a release.
fuzz-long:
	$(MAKE) fuzz FUZZTIME=10m

# bench prints the throughput comparison against the Python peer and a
# null Go receiver (it fails when a target is missed), then the
# micro-benchmarks.
bench: build
	-HIREBELL_LOAD=1 HIREBELL_LOAD_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^TestLoadComparison$$' -count=1 -v ./receiver/
	$(GO) test -run '^$$' -bench . -benchmem ./store/ ./receiver/ ./ui/

# bench-ui measures the desktop app with 100,000 hires under Xvfb: first
# paint, memory against a Fyne hello world, export, notification latency.
bench-ui: deps-e2e
	.ci/bench/ui.sh

package: deps
	$(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package --target linux --release --name Hirebell

clean:
	rm -f $(BIN) Hirebell.tar.xz
