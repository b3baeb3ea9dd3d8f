#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install, idempotently and only what is missing, every Debian package that
# the build, the tests, the demo and the benchmarks of prbd need.
set -euo pipefail

PKGS=(
	# build: module (gcc-12 is the guest kernel's compiler), BTF, sparse
	make gcc gcc-12 libc6-dev pkg-config dwarves sparse linux-source-6.1
	linux-image-amd64 linux-headers-amd64 xz-utils
	# prbdctl and BPF
	libnl-genl-3-dev libinih-dev libbpf-dev libelf-dev zlib1g-dev bpftool clang llvm
	# the VM rig and the guest userland
	qemu-system-x86 busybox-static cpio lz4 kmod iproute2 nftables socat
	e2fsprogs fio util-linux procps coreutils
	# crash-state tests: dm-log-writes control in the guests
	dmsetup
	# benchmarks against DRBD protocol C (tools/bench), their bar plot
	drbd-utils gnuplot-nox
	# netlink spec checker
	python3 python3-yaml
	# installing like a storage driver (make install, make dkms-tree,
	# selftests/pkg): DKMS, bash completion, systemd/udev for the unit
	# and the rule checks
	dkms bash-completion systemd udev
)

missing=()
for p in "${PKGS[@]}"; do
	[[ $p == \#* ]] && continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

# The 6.12 guest kernel lane (selftests/compat/k612.sh): image and headers
# of the newest Debian 12 6.12 kernel, resolved when installing: the meta
# packages linux-{image,headers}-6.12-amd64 follow bookworm-security, and when
# the archive no longer has them the newest linux-image-6.12.*+deb12-amd64-unsigned
# with its headers is taken.  Once some 6.12 kernel with headers is installed
# (tools/kver.sh 6.12) nothing more is done.  Optional: without it the lane's
# test group is skipped, the rest works.
k612_pkgs() {
	local img v
	if apt-cache show linux-image-6.12-amd64 linux-headers-6.12-amd64 >/dev/null 2>&1; then
		echo linux-image-6.12-amd64 linux-headers-6.12-amd64
		return
	fi
	img=$(apt-cache pkgnames linux-image-6.12. 2>/dev/null |
		grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' | sort -V | tail -n 1)
	[ -n "$img" ] || return 0
	v=${img#linux-image-}
	v=${v%-unsigned}
	echo "$img linux-headers-$v"
}
k612=()
if ! "$(dirname "$0")/kver.sh" 6.12 >/dev/null; then
	read -r -a k612 <<< "$(k612_pkgs)"
	if [ ${#k612[@]} -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
		apt-get update -q >/dev/null 2>&1 || true
		read -r -a k612 <<< "$(k612_pkgs)"
	fi
	[ ${#k612[@]} -gt 0 ] ||
		echo "deps: no Debian 6.12 kernel in the archive: the 6.12 lane will be skipped" >&2
fi
missing+=("${k612[@]}")

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages present (and a 6.12 guest kernel)"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (apt-get install)" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# a fresh machine has no package lists yet
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "deps: done"
