# virtcert — see README.md. `make certify` runs a real certification on the
# local lab; `make test` runs the unit tests, then the end-to-end tests on it.
SHELL := /bin/bash
GO    ?= go
LAB   := fixtures/lab/lab
BIN   := bin/virtcert
OUT   ?= out

.PHONY: all build deps lab-up lab-down lab-status fixtures tiny debian vcprobe \
        unit e2e test certify vet fmt fuzz-seeds bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/virtcert

vcprobe:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/vcprobe ./cmd/vcprobe

# Debian packages the lab, the fixtures and the tests need (idempotent).
deps:
	fixtures/deps.sh

lab-up: deps
	$(LAB) up

lab-down:
	$(LAB) down

lab-status:
	$(LAB) status

tiny: deps
	fixtures/guests/tiny/build

debian: deps
	fixtures/guests/debian/build

fixtures: tiny debian vcprobe

vet:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=windows $(GO) build ./...

# Unit tests: no lab needed (tests that need one skip with the reason).
unit: vet
	$(GO) test -count=1 ./...

# End-to-end tests: the real binary against the lab, from inside its
# network namespace.
e2e: lab-up fixtures build
	$(LAB) exec -- env VIRTCERT_E2E=1 $(GO) test -count=1 -timeout 60m ./e2e/...

test: unit e2e

certify: lab-up debian build vcprobe
	$(LAB) exec -- $(BIN) run --plan fixtures/plans/default.yaml --out $(OUT)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./reports/...

clean:
	rm -rf bin $(OUT)
