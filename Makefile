# SPDX-License-Identifier: GPL-2.0
#
# prbd top-level Makefile.
#
#   make deps        install every Debian package needed (idempotent, as root)
#   make             build kmod/prbd.ko (with module BTF) and the userspace tools
#   make demo        a 3-node cluster in VMs: write, kill the leader, the data survives
#   make bench       fio: raw disk vs prbd vs in-tree DRBD protocol C, one run (tools/bench)
#   make test        install deps, build, run every test group; last line "N passed, N failed"
#   make torture     the long nemesis and fuzzing campaigns (hours; see robust/ in README)
#   make vm-shell    boot one VM and drop into its console (debugging)
#   make checkpatch  checkpatch.pl --strict over kmod/
#   make bench-bpf   4k randwrite qd32 IOPS on prbd without and with prbd-lat attached
#   make crash-broken-test  the crash-state test must catch a module whose log records lack FUA
#   make install     prbdctl, man page, systemd unit, udev rule, bash completion
#                    (PREFIX=/usr/local, DESTDIR=; INSTALL_MODULE=1: prbd.ko too)
#   make uninstall   remove what make install put there (same PREFIX/DESTDIR)
#   make dkms-tree   the DKMS source tree build/dkms/prbd-VERSION (dkms.conf)
#
# KDIR=/path/to/kernel/build overrides the kernel tree (no BTF unless it has a vmlinux).
# KVER=<version> builds for another installed Debian kernel, e.g. the 6.12 lane:
#   make KVER=$$(tools/kver.sh 6.12) module initramfs

# The guest kernel: the newest installed Debian 6.1 amd64 kernel with headers
# (tools/kver.sh); installing other series' headers does not change it.
DEFAULT_KVER := $(shell tools/kver.sh 6.1)
KVER ?= $(DEFAULT_KVER)
BUILD := $(CURDIR)/build
SRCTAR := /usr/src/linux-source-6.1.tar.xz
KSRC := $(BUILD)/src/linux-source-6.1
VMLINUX := $(BUILD)/vmlinux-$(KVER)

ifeq ($(origin KDIR), undefined)
KDIR := $(BUILD)/kdir-$(KVER)
KDIR_DEP := $(KDIR)/.prepared
endif

# The default kernel's module is built in place (kmod/prbd.ko); any other
# KVER builds in a private copy of the sources, build/mod-$(KVER), so the
# objects of two kernels never mix.
ifeq ($(KVER),$(DEFAULT_KVER))
MOD_DIR := $(CURDIR)
MOD_SYNC :=
else
MOD_DIR := $(BUILD)/mod-$(KVER)
MOD_SYNC := mod-sync
endif
PRBD_KO := $(MOD_DIR)/kmod/prbd.ko

# Framework files taken from the kernel source tarball (never committed).
KSRC_FILES := scripts/extract-vmlinux scripts/checkpatch.pl scripts/spelling.txt \
	scripts/const_structs.checkpatch \
	tools/testing/selftests/kselftest_harness.h tools/testing/selftests/kselftest.h \
	tools/testing/selftests/kselftest/runner.sh

.PHONY: crash-broken crash-broken-test
.PHONY: install uninstall dkms-tree
.PHONY: all module mod-sync user guest-tools crash-tools bpf sim deps demo bench bench-bpf test torture checkpatch sparse ksft initramfs vm-shell clean clean-module help

all: module user guest-tools crash-tools bpf

help:
	@sed -n '3,22p' Makefile

deps:
	@tools/deps.sh

$(KSRC)/.extracted: | $(SRCTAR)
	mkdir -p $(BUILD)/src
	tar -xf $(SRCTAR) -C $(BUILD)/src $(addprefix linux-source-6.1/,$(KSRC_FILES))
	touch $@

$(SRCTAR):
	@echo "missing $(SRCTAR): run 'make deps'" >&2; exit 1

ksft: $(BUILD)/ksft/kselftest_harness.h
$(BUILD)/ksft/kselftest_harness.h: $(KSRC)/.extracted
	mkdir -p $(BUILD)/ksft
	cp $(KSRC)/tools/testing/selftests/kselftest_harness.h \
	   $(KSRC)/tools/testing/selftests/kselftest.h \
	   $(KSRC)/tools/testing/selftests/kselftest/runner.sh $(BUILD)/ksft/

# An uncompressed vmlinux of the guest kernel: the PVH boot image of the VMs
# and the BTF base of the module.
$(VMLINUX): /boot/vmlinuz-$(KVER) $(KSRC)/.extracted
	sh $(KSRC)/scripts/extract-vmlinux $< > $@.tmp
	mv $@.tmp $@

# A private copy of the Debian headers tree that also holds the vmlinux, so
# Kbuild's own modfinal step generates module BTF against it.
$(BUILD)/kdir-$(KVER)/.prepared: $(VMLINUX)
	rm -rf $(BUILD)/kdir-$(KVER)
	mkdir -p $(BUILD)/kdir-$(KVER)
	cp -a /usr/src/linux-headers-$(KVER)/. $(BUILD)/kdir-$(KVER)/
	for l in scripts tools; do \
		t=$$(readlink -f /usr/src/linux-headers-$(KVER)/$$l); \
		rm -f $(BUILD)/kdir-$(KVER)/$$l; ln -s $$t $(BUILD)/kdir-$(KVER)/$$l; \
	done
	ln -sf $(VMLINUX) $(BUILD)/kdir-$(KVER)/vmlinux
	touch $@

# Debian ships no resolve_btfids; the module has no BTF_ID sets, so the
# BTF pahole generates is complete without it.
module: $(KDIR_DEP) $(MOD_SYNC)
	$(MAKE) -C $(KDIR) M=$(MOD_DIR) RESOLVE_BTFIDS=true modules

# Copy what changed (cp -u keeps the timestamps of unchanged files).
mod-sync:
	mkdir -p $(MOD_DIR)/kmod
	cp -au Kbuild $(MOD_DIR)/
	cd kmod && find . \( -name '*.[ch]' ! -name '*.mod.c' \) -o -name Kbuild | \
		xargs cp -au --parents -t $(MOD_DIR)/kmod

user:
	@if [ -f user/Makefile ]; then $(MAKE) -C user; fi

# prbd-lat and its BPF programs (bpf/Makefile), against the guest kernel's
# BTF: vmlinux.h, the object, its skeleton and the tool go to build/bpf.
bpf: $(VMLINUX)
	$(MAKE) -C bpf VMLINUX=$(VMLINUX)

# Test helpers that run inside the guests (shipped in the initramfs).
GUEST_TOOLS := $(BUILD)/guest-bin/prbd-blkcheck $(BUILD)/guest-bin/prbd-wirefuzz \
	       $(BUILD)/guest-bin/prbd-nlfuzz
guest-tools: $(GUEST_TOOLS)
$(BUILD)/guest-bin/%: tools/guest/%.c kmod/uapi/prbd.h
	mkdir -p $(BUILD)/guest-bin
	$(CC) -O2 -Wall -Wextra -Werror -Ikmod -o $@ $<

# Host tools of the crash-state tests (tools/crash): the dm-log-writes replayer.
CRASH_TOOLS := $(BUILD)/bin/prbd-logreplay
crash-tools: $(CRASH_TOOLS)
$(BUILD)/bin/%: tools/crash/%.c
	mkdir -p $(BUILD)/bin
	$(CC) -O2 -Wall -Wextra -Werror -Ikmod -o $@ $<

# A deliberately broken module for the crash-state test: log records
# without REQ_FUA (PRBD_TEST_BROKEN_LOG_FUA, kmod/prbd_log.c), built in its
# own copy of the sources with its own initramfs; never the default build.
BROKEN_DIR := $(BUILD)/crash-broken
crash-broken: $(KDIR_DEP) user guest-tools bpf
	mkdir -p $(BROKEN_DIR)/kmod
	cp -au Kbuild $(BROKEN_DIR)/
	cd kmod && find . \( -name '*.[ch]' ! -name '*.mod.c' \) -o -name Kbuild | \
		xargs cp -au --parents -t $(BROKEN_DIR)/kmod
	$(MAKE) -C $(KDIR) M=$(BROKEN_DIR) RESOLVE_BTFIDS=true \
		KCFLAGS=-DPRBD_TEST_BROKEN_LOG_FUA modules
	MKINITRAMFS_IMG=$(BROKEN_DIR)/initramfs.cpio.lz4 \
		tools/vm/mkinitramfs.sh $(KVER) $(BROKEN_DIR)/kmod/prbd.ko

# Passes when repl/crash_state, its recording done, finds a completed write
# lost or damaged (prbd-blkcheck: CORRUPT) at some crash point with the
# broken module; replicas that differ alone do not count.
crash-broken-test: crash-broken crash-tools
	CRASH_BROKEN=1 bash selftests/repl/crash_state.sh | tee $(BROKEN_DIR)/test.log; \
	if grep -q '^ok 2 3 nodes on dm-log-writes' $(BROKEN_DIR)/test.log && \
	   grep -q '^not ok [0-9]* crash point' $(BROKEN_DIR)/test.log && \
	   grep -Eq '^# .*: CORRUPT$$' $(BROKEN_DIR)/test.log; then \
		echo "crash-broken-test: PASS: the crash-state test caught the module without log FUA"; \
	else \
		echo "crash-broken-test: FAIL: the crash-state test passed a module without log FUA"; exit 1; \
	fi

sim:
	$(MAKE) -C tools/sim sim

CHECKPATCH = perl $(KSRC)/scripts/checkpatch.pl --strict --no-tree --terse --show-types
checkpatch: $(KSRC)/.extracted
	$(CHECKPATCH) -f $$(find kmod -name '*.[ch]' ! -name '*.mod.c' | sort)

sparse: $(KDIR_DEP) $(MOD_SYNC)
	$(MAKE) -C $(KDIR) M=$(MOD_DIR) RESOLVE_BTFIDS=true C=2 modules

initramfs: module user guest-tools bpf
	tools/vm/mkinitramfs.sh $(KVER) $(PRBD_KO)

vm-shell: initramfs
	tools/vm/rig.sh shell

demo: deps
	$(MAKE) all initramfs
	tools/demo.sh

bench: deps
	$(MAKE) all initramfs
	tools/bench/bench.sh

bench-bpf: deps
	$(MAKE) all initramfs
	BENCH=bpf tools/bench/bench.sh

test:
	tools/run-tests.sh

# The long campaigns of issue 14, outside `make test` (which runs short
# versions of the same groups): the nemesis (40 rounds on 5 nodes), the
# wire fuzzer (20,000 rounds) and the netlink fuzzer (100,000 requests in
# each of its five cases; `make test` sends 20,000 in each).  Seeds are printed; NEMESIS_SEED, WIREFUZZ_SEED and
# NLFUZZ_SEED replay one.
TORTURE_GROUPS ?= robust/nemesis robust/wirefuzz robust/nlfuzz
torture: deps
	$(MAKE) all initramfs
	NEMESIS_ROUNDS=$${NEMESIS_ROUNDS:-40} NEMESIS_NODES=$${NEMESIS_NODES:-5} \
	WIREFUZZ_ROUNDS=$${WIREFUZZ_ROUNDS:-20000} \
	NLFUZZ_ROUNDS=$${NLFUZZ_ROUNDS:-100000} \
	GROUP_TIMEOUT=$${GROUP_TIMEOUT:-14400} GROUP="$(TORTURE_GROUPS)" \
	LOGDIR=$${LOGDIR:-$(BUILD)/torture-logs} tools/run-tests.sh

# --- installing on real machines (README "Install on real machines") -------
# Paths follow the GNU conventions; systemd, udev and bash-completion all
# read their /usr/local directories too.  Configuration lives in /etc
# whatever PREFIX is.  INSTALL_MODULE=1 also installs the module built for
# KVER to /lib/modules/KVER/extra (DKMS, `make dkms-tree`, is the normal way).
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UDEVDIR ?= $(PREFIX)/lib/udev
UNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
CONFDIR := $(SYSCONFDIR)/prbd.d
MODINSTDIR := /lib/modules/$(KVER)/extra
INSTALL ?= install
PRBD_VERSION := $(shell sed -n 's/^\#define PRBD_VERSION[[:space:]]*"\(.*\)"/\1/p' kmod/prbd_int.h)
PKG := packaging
# what install puts under DESTDIR (uninstall removes these, and no more)
INSTALL_FILES := $(SBINDIR)/prbdctl $(MANDIR)/man8/prbdctl.8 \
	$(UDEVDIR)/prbd-resname $(UDEVDIR)/rules.d/65-prbd.rules \
	$(UNITDIR)/prbd@.service $(BASHCOMPDIR)/prbdctl
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@UDEVDIR@|$(UDEVDIR)|g'

install: user $(if $(INSTALL_MODULE),module)
	$(INSTALL) -D -m 0755 $(BUILD)/user/prbdctl $(DESTDIR)$(SBINDIR)/prbdctl
	$(INSTALL) -D -m 0644 user/prbdctl.8 $(DESTDIR)$(MANDIR)/man8/prbdctl.8
	$(INSTALL) -d $(DESTDIR)$(UDEVDIR)/rules.d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(BASHCOMPDIR)
	$(SUBST) $(PKG)/udev/prbd-resname > $(DESTDIR)$(UDEVDIR)/prbd-resname
	chmod 0755 $(DESTDIR)$(UDEVDIR)/prbd-resname
	$(SUBST) $(PKG)/udev/65-prbd.rules > $(DESTDIR)$(UDEVDIR)/rules.d/65-prbd.rules
	$(SUBST) $(PKG)/systemd/prbd@.service > $(DESTDIR)$(UNITDIR)/prbd@.service
	chmod 0644 $(DESTDIR)$(UDEVDIR)/rules.d/65-prbd.rules $(DESTDIR)$(UNITDIR)/prbd@.service
	$(INSTALL) -m 0644 $(PKG)/bash-completion/prbdctl $(DESTDIR)$(BASHCOMPDIR)/prbdctl
	@# resource files hold the secret; an existing config is never touched
	[ -d $(DESTDIR)$(CONFDIR) ] || $(INSTALL) -d -m 0700 $(DESTDIR)$(CONFDIR)
	[ -e $(DESTDIR)$(CONFDIR)/r0.res.example ] || \
		$(INSTALL) -m 0600 $(PKG)/prbd.d/r0.res.example $(DESTDIR)$(CONFDIR)/r0.res.example
ifneq ($(INSTALL_MODULE),)
	$(INSTALL) -D -m 0644 $(PRBD_KO) $(DESTDIR)$(MODINSTDIR)/prbd.ko
endif
	@if [ -z "$(DESTDIR)" ]; then \
		if [ -n "$(INSTALL_MODULE)" ]; then depmod -a $(KVER); fi; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		if command -v udevadm >/dev/null; then udevadm control --reload || true; fi; \
	fi

# The example and the directory go only when untouched (the same file, an
# empty directory); the module only when install put it there.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES))
	if cmp -s $(PKG)/prbd.d/r0.res.example $(DESTDIR)$(CONFDIR)/r0.res.example; then \
		rm -f $(DESTDIR)$(CONFDIR)/r0.res.example; fi
	-rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null
	if [ -f $(DESTDIR)$(MODINSTDIR)/prbd.ko ]; then \
		rm -f $(DESTDIR)$(MODINSTDIR)/prbd.ko; \
		if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi; \
	fi
	@if [ -z "$(DESTDIR)" ]; then \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		if command -v udevadm >/dev/null; then udevadm control --reload || true; fi; \
	fi

# The DKMS source tree: dkms.conf and what the module build reads, in the
# repository's layout (the root Kbuild, kmod/ with its uapi/, paxos/, md/),
# as mod-sync copies it.  `dkms add build/dkms/prbd-VERSION` or copy it to
# /usr/src first (README).
DKMS_DIR ?= $(BUILD)/dkms
DKMS_TREE := $(DKMS_DIR)/prbd-$(PRBD_VERSION)
dkms-tree:
	@[ -n "$(PRBD_VERSION)" ] || { echo "no PRBD_VERSION in kmod/prbd_int.h" >&2; exit 1; }
	rm -rf $(DKMS_TREE)
	mkdir -p $(DKMS_TREE)/kmod
	cp Kbuild $(DKMS_TREE)/
	cd kmod && find . \( -name '*.[ch]' ! -name '*.mod.c' \) -o -name Kbuild | \
		xargs cp --parents -t $(DKMS_TREE)/kmod
	sed 's|@VERSION@|$(PRBD_VERSION)|g' $(PKG)/dkms/dkms.conf > $(DKMS_TREE)/dkms.conf
	@echo "dkms-tree: $(DKMS_TREE)"

clean-module:
	-[ -d $(KDIR) ] && $(MAKE) -C $(KDIR) M=$(MOD_DIR) clean

clean:
	-[ -d $(KDIR) ] && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-[ -f user/Makefile ] && $(MAKE) -C user clean
	rm -rf $(BUILD)
