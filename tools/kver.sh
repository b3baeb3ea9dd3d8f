#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Print the newest installed Debian amd64 kernel of a series that has its
# headers in /usr/src, e.g. "6.1.0-56-amd64" or "6.12.117+deb12-amd64".
# The guest kernel of the build and of the VM rig defaults to the 6.1
# series: installing the 6.12 lane's headers never changes that default.
#
# usage: tools/kver.sh [SERIES]     SERIES defaults to 6.1
# Prints nothing (and exits 1) when no such kernel is installed.
series=${1:-6.1}
re=$(printf '%s' "$series" | sed 's/\./\\./g')
kver=$(ls -1 /usr/src 2>/dev/null |
	sed -n "s/^linux-headers-\\($re\\.[0-9][0-9]*\\(-[0-9][0-9]*\\|+deb[0-9][0-9]*\\)-amd64\\)\$/\\1/p" |
	sort -V | tail -n 1)
[ -n "$kver" ] || exit 1
echo "$kver"
