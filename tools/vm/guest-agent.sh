#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# Runs one command for the rig: the first input line is the command, base64
# encoded; its output (stdout and stderr merged) streams back, then a last
# line "\037rc=N" carries its exit code.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
IFS= read -r line
f=/tmp/agent.$$.sh
printf '%s' "$line" | /bin/busybox base64 -d > "$f"
cd /root
/bin/bash "$f" </dev/null 2>&1
rc=$?
/bin/busybox rm -f "$f"
printf '\n\037rc=%d\n' "$rc"
