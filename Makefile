# SPDX-License-Identifier: GPL-2.0
#
# prbd top-level Makefile.
#
#   make deps        install every Debian package needed (idempotent, as root)
#   make             build kmod/prbd.ko (with module BTF) and the userspace tools
#   make demo        a 3-node cluster in VMs: write, kill the leader, the data survives
#   make bench       fio: raw disk vs prbd vs in-tree DRBD protocol C, one run (tools/bench)
#   make test        install deps, build, run every test group; last line "N passed, N failed"
#   make vm-shell    boot one VM and drop into its console (debugging)
#   make checkpatch  checkpatch.pl --strict over kmod/
#   make bench-bpf   4k randwrite qd32 IOPS on prbd without and with prbd-lat attached
#   make crash-broken-test  the crash-state test must catch a module whose log records lack FUA
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
.PHONY: all module mod-sync user guest-tools crash-tools bpf sim deps demo bench bench-bpf test checkpatch sparse ksft initramfs vm-shell clean clean-module help

all: module user guest-tools crash-tools bpf

help:
	@sed -n '3,15p' Makefile

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
GUEST_TOOLS := $(BUILD)/guest-bin/prbd-blkcheck $(BUILD)/guest-bin/prbd-nlfuzz
guest-tools: $(GUEST_TOOLS)
$(BUILD)/guest-bin/%: tools/guest/%.c kmod/uapi/prbd.h
	mkdir -p $(BUILD)/guest-bin
	$(CC) -O2 -Wall -Wextra -Werror -Ikmod -o $@ $<

# Host tools of the crash-state tests (tools/crash): the dm-log-writes replayer.
CRASH_TOOLS := $(BUILD)/bin/prbd-logreplay
crash-tools: $(CRASH_TOOLS)
$(BUILD)/bin/%: tools/crash/%.c
	mkdir -p $(BUILD)/bin
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

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

clean-module:
	-[ -d $(KDIR) ] && $(MAKE) -C $(KDIR) M=$(MOD_DIR) clean

clean:
	-[ -d $(KDIR) ] && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-[ -f user/Makefile ] && $(MAKE) -C user clean
	rm -rf $(BUILD)
