# virtcert — see README.md. `make certify` runs a real certification on the
# local lab; `make test` runs the unit tests, then the end-to-end tests on it.
SHELL := /bin/bash
GO    ?= go
LAB   := fixtures/lab/lab
REMOTE := fixtures/lab/remote
BIN   := bin/virtcert
OUT   ?= out

.PHONY: all build deps deps-certify lab-up lab-down lab-status remote-up fixtures tiny wintiny debian imagecheck vcprobe vcprobe-windows \
        unit e2e e2e-disruptive test certify vet lint fmt fuzz fuzz-seeds bench bench-catalog measure clean

all: build

# The version is stamped into the binary (virtcert --version, every report
# and bundle): VERSION for a release (make build VERSION=v1.2.3), and the
# git revision and dirty flag, which Go does not record in a git worktree
# or with -buildvcs=false. Unstamped parts come from the Go build info.
VERSION  ?=
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
DIRTY    ?= $(shell test -z "$$(git status --porcelain --untracked-files=no 2>/dev/null)" && echo false || echo true)
BI       := github.com/virtcert/virtcert/internal/buildinfo
LDFLAGS  := $(if $(VERSION),-X $(BI).version=$(VERSION)) $(if $(REVISION),-X $(BI).revision=$(REVISION) -X $(BI).dirty=$(DIRTY))

# Both binaries: virtcert and the guest helper it copies in (bin/vcprobe,
# found beside bin/virtcert). Windows guests get bin/vcprobe.exe when
# make vcprobe-windows has built it (not part of build; make vet already
# cross-builds it). Its disk subcommands use unbuffered I/O; built and
# vetted here, never run (wine cannot run Go 1.26 binaries).
build: vcprobe
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/virtcert

vcprobe:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/vcprobe ./cmd/vcprobe

# The helper for Windows guests: clock (GetSystemTimePreciseAsFileTime),
# mono (QueryPerformanceCounter) and TCP; no disk subcommands yet.
vcprobe-windows:
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/vcprobe.exe ./cmd/vcprobe

# Debian packages a certification needs (the lab and the Debian fixture
# guest): all `make certify` installs.
deps-certify:
	fixtures/deps.sh certify

# Everything the tests need too: the test-only Debian packages (tiny guest,
# chromium, fio, iperf3, xmllint, python3-winrm...) and the npm PowerShell
# grammar the Hyper-V script tests parse with (both idempotent).
deps:
	fixtures/deps.sh test
	drivers/hyperv/testdata/psparse/setup.sh

lab-up: deps-certify
	$(LAB) up

lab-down:
	$(REMOTE) down
	$(LAB) down

# The lab's second libvirt host (qemu+ssh, qemu+tls) in its own netns.
remote-up: lab-up
	$(REMOTE) up

lab-status:
	$(LAB) status

tiny: deps
	fixtures/guests/tiny/build

debian: deps-certify
	fixtures/guests/debian/build

# The SIMULATED Windows guest (a Linux guest playing Windows over WinRM).
wintiny: tiny
	GO='$(GO)' fixtures/guests/wintiny/build

# The faulty copies of the Debian image `virtcert image check` is proven on
# (no Hyper-V daemons; no virtio modules in the initramfs).
imagecheck: deps debian
	fixtures/guests/imagecheck/build

fixtures: tiny wintiny debian imagecheck vcprobe

vet:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=windows $(GO) build ./...

# The repository's own checks: no function in the core of a run
# (suites/runner, plan, resolve, cmd/virtcert) longer than 80 lines.
lint:
	$(GO) test -count=1 -run 'TestFunctionLength|TestLongFuncs' ./internal/lint/

# Unit tests: no lab needed (tests that need one skip with the reason).
# Through internal/testtime as make e2e: plain output, the 10 slowest
# tests, then a digest of every failure last (CI shows the log's tail).
unit: deps vet lint
	set -o pipefail; $(GO) test -json ./... | $(GO) run ./internal/testtime -top 10

# End-to-end tests: the real binary (e2e/) and the lab tests of the drivers,
# fixtures and checks, from inside the lab's network namespace, scheduled
# by fixtures/e2e/run.sh: packages without lab tests from the unit run's
# test cache, then the light lab packages two at a time, then the heavy
# ones (e2e, suites/network) one at a time. internal/labslot bounds the
# guests booted at once across all of them (3): packages that each booted
# guests at once overloaded the 2-core lab (dropbear and emulated NICs
# stalled). The output is plain go test's (failures only), then the 10
# slowest tests, then a digest of every failed test with its last output
# lines.
e2e: deps lab-up remote-up fixtures build
	set -o pipefail; $(LAB) exec -- env VIRTCERT_E2E=1 GO=$(GO) fixtures/e2e/run.sh | $(GO) run ./internal/testtime -top 10

# Tests that kill or freeze the lab's libvirtd run alone, after the others.
e2e-disruptive: deps lab-up fixtures build
	$(LAB) exec -- env VIRTCERT_E2E=1 VIRTCERT_E2E_DISRUPTIVE=1 $(GO) test -count=1 -timeout 20m -run 'TestReliabDisruptive' ./e2e/
	$(LAB) up

# Each stage prints how long it took (CI reads them; the budget is 60 min),
# and the last line sums them all up, so CI's tail shows every stage's
# time; a failed stage stops the run with its exit status.
test:
	@set -e; sum=""; t00=$$(date +%s); rc=0; \
	for s in unit e2e e2e-disruptive; do \
	  if [ $$rc != 0 ]; then sum="$$sum $$s=not-run"; continue; fi; \
	  t0=$$(date +%s); $(MAKE) --no-print-directory $$s || rc=$$?; \
	  echo "make test: stage $$s took $$(( $$(date +%s) - t0 ))s (exit $$rc)"; \
	  sum="$$sum $$s=$$(( $$(date +%s) - t0 ))s"; [ $$rc = 0 ] || sum="$$sum(FAILED)"; done; \
	echo "make test: stages$$sum; total $$(( $$(date +%s) - t00 ))s (exit $$rc)"; exit $$rc

certify: lab-up debian build
	$(LAB) exec -- $(BIN) run --plan fixtures/plans/default.yaml

# Every fuzz target of the module for FUZZTIME each (default 60s), one
# after another, with its exec count (about 40 minutes for ~40 targets on
# 2 cores). Not part of `make test`; `make unit` runs their seed corpora.
# FUZZRUN=Manifest picks targets by name.
FUZZTIME ?= 60s
FUZZRUN  ?= .
fuzz:
	FUZZTIME='$(FUZZTIME)' FUZZRUN='$(FUZZRUN)' GO='$(GO)' fixtures/fuzz/run.sh

# Go micro-benchmarks, then the side-by-side benchmarks on the lab
# (cmd/vcbench; figures and commands in BENCHMARKS.md). BENCH picks them
# (a,b,c,d,e). Not part of `make test`. A lab that is down stops it at once
# (exit 3), not after a timeout.
BENCH ?= a,b,e,c,d
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./reports/... ./guests/transport/ssh/...
	fixtures/deps.sh bench
	$(GO) build -o bin/vcbench ./cmd/vcbench
	@timeout 30 $(LAB) status >/dev/null || { echo "make bench: the lab is not up (make lab-up)" >&2; exit 3; }
	$(LAB) exec -- bin/vcbench -only '$(BENCH)'

# f: a full certification (make certify, the Debian guest's whole Linux
# catalog) against the guest's boot plus the checks that measure or change
# it (issue 13's 1.5× goal). About 5-15 minutes of lab time.
# The run's verdict does not matter to f (its exit code is ignored).
bench-catalog: lab-up debian build
	-$(LAB) exec -- $(BIN) run --plan fixtures/plans/default.yaml
	$(GO) build -o bin/vcbench ./cmd/vcbench
	bin/vcbench -only f -catalog-run out/latest

# Measurement runs on the lab (figures, no assertions): vcprobe against fio
# and iperf3 on the Debian guest.
measure: lab-up debian vcprobe
	$(LAB) exec -- env VIRTCERT_E2E=1 VIRTCERT_MEASURE=1 $(GO) test -count=1 -v -timeout 40m -run 'E2EToolAgreement' ./suites/network/

clean:
	rm -rf bin $(OUT)
