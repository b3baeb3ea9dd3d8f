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
	# benchmarks against DRBD protocol C (tools/bench), their bar plot
	drbd-utils gnuplot-nox
	# netlink spec checker
	python3 python3-yaml
)

missing=()
for p in "${PKGS[@]}"; do
	[[ $p == \#* ]] && continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages present"
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
