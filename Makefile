# transferkeyd — build, test, install.
#   make test      installs what the tests need (moto[server]), lints, builds, runs every test
#   make demo      the demo (scripts/demo.sh)
#   make build     debug build
#   make release   release build
#   make install   installs the release binary and an example config (DESTDIR, PREFIX honoured)

SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(DESTDIR)$(PREFIX)/bin
CONFDIR := $(DESTDIR)/etc/transferkeyd
SOURCES := Sources Tests Plugins Package.swift

.PHONY: build release test test-deps lint format install clean demo

build:
	$(SWIFT) build

demo: test-deps
	scripts/demo.sh

release:
	$(SWIFT) build -c release

# Everything the tests need that a fresh Debian machine may lack, then the whole suite.
test: test-deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

test-deps:
	@command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3; }
	@$(PYTHON) -c 'import moto, flask, flask_cors' 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet 'moto[server]>=5.0'

lint:
	$(SWIFT) format lint --strict --recursive --parallel $(SOURCES)

format:
	$(SWIFT) format format --in-place --recursive --parallel $(SOURCES)

install: release
	install -d $(BINDIR) $(CONFDIR)
	install -m 0755 "$$($(SWIFT) build -c release --show-bin-path)/transferkeyd" $(BINDIR)/transferkeyd
	# The example config is never overwritten: an operator's edits survive upgrades.
	@if [ -e $(CONFDIR)/config.toml ]; then \
		echo "keeping existing $(CONFDIR)/config.toml"; \
	else \
		install -m 0640 examples/config.toml $(CONFDIR)/config.toml; \
	fi

clean:
	rm -rf .build
