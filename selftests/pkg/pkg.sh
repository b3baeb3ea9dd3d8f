#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installing prbd like a storage driver, on the host (no VM, no module
# loaded, nothing installed outside temporary directories):
#
# - make install DESTDIR=... puts exactly the expected files there (for the
#   default PREFIX /usr/local and for PREFIX=/usr), with the paths filled
#   in, the example resource file mode 600 and a config already there kept;
# - make uninstall removes every file install put there, keeps a resource
#   file of the user's;
# - make dkms-tree holds only what the module build reads, and DKMS builds
#   prbd.ko from it for the installed 6.1 and 6.12 headers: modinfo shows
#   the vermagic of that kernel, the version of kmod/prbd_int.h and, when
#   kmod/prbd.ko is built for the same kernel, the same srcversion (the
#   same sources); dkms works in temporary trees, /var/lib/dkms is untouched;
# - systemd-analyze verify is silent on prbd@r0.service as installed;
# - the bash completion completes the commands of user/prbdctl.c's table
#   (and no others), its long options, and resource names;
# - prbd-resname maps prbdN to its resource from `prbdctl status` output in
#   the format of user/status.c (a fake prbdctl on PATH);
# - udevadm verify accepts 65-prbd.rules (skipped where udevadm has no
#   verify, e.g. Debian 12's systemd 252).
#
# PKG_NO_DKMS=1 skips the two DKMS builds (nearly all of the ~90 s of CPU).
#
. "$(dirname "$0")/../lib.sh"
set -u

T=$(mktemp -d /tmp/prbd-pkg.XXXXXX)
trap 'rm -rf "$T"' EXIT
MK=(make -s -C "$TOP" --no-print-directory)
VERSION=$(sed -n 's/^#define PRBD_VERSION[[:space:]]*"\(.*\)"/\1/p' "$TOP/kmod/prbd_int.h")

# the files (not directories) under $1, relative, sorted
files_under() { (cd "$1" && find . ! -type d | sed 's|^\./||' | sort); }

# expect_files DIR PREFIX: exactly what make install PREFIX=PREFIX puts
expected_files() {
	local p=${1#/}
	printf '%s\n' etc/prbd.d/r0.res.example \
		"$p/sbin/prbdctl" "$p/share/man/man8/prbdctl.8" \
		"$p/lib/udev/prbd-resname" "$p/lib/udev/rules.d/65-prbd.rules" \
		"$p/lib/systemd/system/prbd@.service" \
		"$p/share/bash-completion/completions/prbdctl" | sort
}

# same_list WHAT EXPECTED ACTUAL
same_list() {
	if [ "$2" != "$3" ]; then
		diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/  /'
		fail "$1: file list differs (< expected, > installed)"
	fi
}

case_install() {
	local d prefix p
	for prefix in default /usr; do
		d=$T/inst-${prefix//\//_}
		if [ $prefix = default ]; then
			"${MK[@]}" install DESTDIR="$d" > "$T/install.log"
			p=/usr/local
		else
			"${MK[@]}" install DESTDIR="$d" PREFIX=/usr > "$T/install.log"
			p=/usr
		fi
		same_list "PREFIX=$p" "$(expected_files $p)" "$(files_under "$d")"
		! grep -rlI '@[A-Z]*@' "$d" || fail "a placeholder left unfilled"
		grep -qx "ExecStart=$p/sbin/prbdctl up %i" "$d$p/lib/systemd/system/prbd@.service" ||
			fail "prbd@.service does not run $p/sbin/prbdctl"
		grep -q "PROGRAM==\"$p/lib/udev/prbd-resname %k\"" "$d$p/lib/udev/rules.d/65-prbd.rules" ||
			fail "65-prbd.rules does not call $p/lib/udev/prbd-resname"
		[ -x "$d$p/sbin/prbdctl" ] && [ -x "$d$p/lib/udev/prbd-resname" ] ||
			fail "prbdctl or prbd-resname not executable"
		[ "$(stat -c %a "$d/etc/prbd.d" "$d/etc/prbd.d/r0.res.example" | tr '\n' ' ')" = "700 600 " ] ||
			fail "/etc/prbd.d or the example not root-only (it holds a secret)"
		cmp -s "$TOP/build/user/prbdctl" "$d$p/sbin/prbdctl" || fail "prbdctl differs from build/user"
		echo "PREFIX=$p: $(files_under "$d" | wc -l) files as expected"
	done
	# the example parses (its node 1 as the local node)
	"$d/usr/sbin/prbdctl" -c "$d/etc/prbd.d/r0.res.example" --node 1 check-config r0 > /dev/null ||
		fail "the installed example resource file does not pass check-config"
	# an existing configuration is never overwritten
	echo '; mine' > "$d/etc/prbd.d/r0.res.example"
	chmod 750 "$d/etc/prbd.d"
	"${MK[@]}" install DESTDIR="$d" PREFIX=/usr > "$T/install.log"
	[ "$(cat "$d/etc/prbd.d/r0.res.example")" = "; mine" ] || fail "install overwrote an existing example"
	[ "$(stat -c %a "$d/etc/prbd.d")" = 750 ] || fail "install changed the mode of an existing /etc/prbd.d"
	echo "an existing /etc/prbd.d and example kept"
}

case_uninstall() {
	local d=$T/uninst left
	"${MK[@]}" install DESTDIR="$d" > "$T/install.log"
	"${MK[@]}" uninstall DESTDIR="$d" > "$T/uninstall.log"
	left=$(files_under "$d")
	[ -z "$left" ] || { echo "$left" | sed 's/^/  /'; fail "uninstall left files"; }
	[ ! -e "$d/etc/prbd.d" ] || fail "uninstall left an empty /etc/prbd.d"
	echo "uninstall left no file"
	# a resource file of the user's and an edited example stay
	"${MK[@]}" install DESTDIR="$d" PREFIX=/usr > "$T/install.log"
	echo '[resource]' > "$d/etc/prbd.d/r9.res"
	"${MK[@]}" uninstall DESTDIR="$d" PREFIX=/usr > "$T/uninstall.log"
	same_list "user's file" "etc/prbd.d/r9.res" "$(files_under "$d")"
	echo '; edited' > "$d/etc/prbd.d/r0.res.example"
	"${MK[@]}" uninstall DESTDIR="$d" PREFIX=/usr > "$T/uninstall.log"
	same_list "edited example" "$(printf '%s\n' etc/prbd.d/r0.res.example etc/prbd.d/r9.res)" \
		"$(files_under "$d")"
	echo "a resource file of the user's and an edited example kept"
}

case_dkms_tree() {
	local tree=$T/dkms-src/prbd-$VERSION want got k
	[ -n "$VERSION" ] || fail "no PRBD_VERSION in kmod/prbd_int.h"
	"${MK[@]}" dkms-tree DKMS_DIR="$T/dkms-src" > "$T/dkms-tree.log"
	want=$( (echo Kbuild; echo dkms.conf
		cd "$TOP" && git ls-files kmod | grep -E '\.[ch]$|/Kbuild$') | sort)
	same_list "dkms tree" "$want" "$(files_under "$tree")"
	for k in 'PACKAGE_NAME="prbd"' "PACKAGE_VERSION=\"$VERSION\"" \
		'BUILT_MODULE_NAME[0]="prbd"' 'BUILT_MODULE_LOCATION[0]="kmod/"' \
		'DEST_MODULE_LOCATION[0]="/updates/dkms"' 'AUTOINSTALL="yes"'; do
		grep -qxF "$k" "$tree/dkms.conf" || fail "dkms.conf lacks $k"
	done
	grep -q '^MAKE\[0\]=.*-C ${kernel_source_dir} M=${dkms_tree}/${PACKAGE_NAME}/${PACKAGE_VERSION}/build .*modules' \
		"$tree/dkms.conf" || fail "dkms.conf: MAKE does not build M=<the dkms build dir>"
	got=$(cat "$tree/Kbuild")
	[ "$got" = "$(cat "$TOP/Kbuild")" ] || fail "the tree's Kbuild is not the root Kbuild"
	echo "prbd-$VERSION: $(files_under "$tree" | wc -l) files, dkms.conf complete"
}

# dkms_build KVER: dkms add + build in temporary trees; modinfo of the result
dkms_build() {
	local kver=$1 dt=$T/dkms-$1 ko vm ref
	[ -f "$T/dkms-src/prbd-$VERSION/dkms.conf" ] ||
		"${MK[@]}" dkms-tree DKMS_DIR="$T/dkms-src" > "$T/dkms-tree.log"
	mkdir -p "$dt/tree" "$dt/install"
	local o=(-m prbd -v "$VERSION" --sourcetree "$T/dkms-src" --dkmstree "$dt/tree"
		 --installtree "$dt/install")
	# sign_file: no MOK key is generated under /var/lib/dkms
	export sign_file=/nonexistent
	dkms add "${o[@]}" > "$dt/add.log" 2>&1 || { cat "$dt/add.log"; fail "dkms add"; }
	if ! dkms build "${o[@]}" -k "$kver" > "$dt/build.log" 2>&1; then
		cat "$dt/build.log"
		tail -n 30 "$dt/tree/prbd/$VERSION/build/make.log" 2>/dev/null
		fail "dkms build for $kver"
	fi
	# compressed as the kernel's modules are (6.12: prbd.ko.xz)
	ko=$(ls "$dt/tree/prbd/$VERSION/$kver/$(uname -m)/module/"prbd.ko* 2>/dev/null | head -n 1)
	[ -n "$ko" ] || fail "no prbd.ko in $dt/tree/prbd/$VERSION/$kver/$(uname -m)/module"
	vm=$(modinfo -F vermagic "$ko")
	[ "${vm%% *}" = "$kver" ] || fail "vermagic '$vm', not $kver"
	[ "$(modinfo -F version "$ko")" = "$VERSION" ] || fail "version not $VERSION"
	echo "$kver: ${ko##*/} vermagic $vm"
	ref=$TOP/kmod/prbd.ko
	[ "$kver" = "$(tools_kver 6.1)" ] || ref=$TOP/build/mod-$kver/kmod/prbd.ko
	if [ -f "$ref" ] && [ "$(modinfo -F vermagic "$ref" | cut -d' ' -f1)" = "$kver" ]; then
		[ "$(modinfo -F srcversion "$ko")" = "$(modinfo -F srcversion "$ref")" ] ||
			fail "srcversion differs from ${ref#"$TOP"/} (the DKMS tree builds other sources)"
		echo "$kver: srcversion $(modinfo -F srcversion "$ko") as ${ref#"$TOP"/}"
	fi
	dkms remove "${o[@]}" -k "$kver" > /dev/null 2>&1 || true
}

tools_kver() { "$TOP/tools/kver.sh" "$1"; }

# case_dkms SERIES: build for the newest installed kernel of SERIES
case_dkms() {
	local kver
	if [ -n "${PKG_NO_DKMS:-}" ]; then
		echo "SKIP: PKG_NO_DKMS set"
		exit "$KSFT_SKIP"
	fi
	if ! command -v dkms > /dev/null; then
		echo "SKIP: no dkms (make deps)"
		exit "$KSFT_SKIP"
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: dkms add needs root"
		exit "$KSFT_SKIP"
	fi
	kver=$(tools_kver "$1") || { echo "SKIP: no $1 kernel headers in /usr/src"; exit "$KSFT_SKIP"; }
	[ -e "/lib/modules/$kver/build" ] || fail "/lib/modules/$kver/build missing (linux-headers-$kver)"
	dkms_build "$kver"
}

case_unit() {
	local d=$T/unit u out rc=0
	if ! command -v systemd-analyze > /dev/null; then
		echo "SKIP: no systemd-analyze"
		exit "$KSFT_SKIP"
	fi
	# prbdctl's path filled in with one that exists here
	"${MK[@]}" install DESTDIR="$d" SBINDIR="$TOP/build/user" > "$T/install.log"
	u=$d/usr/local/lib/systemd/system/prbd@.service
	for k in Type=oneshot RemainAfterExit=yes 'ExecStartPre=/sbin/modprobe prbd' \
		"ExecStart=$TOP/build/user/prbdctl up %i" "ExecStop=$TOP/build/user/prbdctl down %i" \
		After=network-online.target Wants=network-online.target \
		Before=remote-fs-pre.target WantedBy=multi-user.target; do
		grep -Eq "^${k%%=*}=(.* )?${k#*=}( |\$)" "$u" || fail "prbd@.service lacks $k"
	done
	out=$(cd "$(dirname "$u")" && systemd-analyze verify --man=no "$(dirname "$u")/prbd@r0.service" 2>&1) || rc=$?
	[ -z "$out" ] || echo "$out"
	[ $rc -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify prbd@r0.service: exit $rc"
	echo "systemd-analyze verify: no complaint"
	# and the real commands
	for k in up down; do
		"$TOP/build/user/prbdctl" --help 2>&1 | grep -q "^[[:space:]]$k RES" ||
			fail "prbdctl has no '$k RES'"
	done
}

# complete WORD...: COMPREPLY of the completion for the command line
# "WORD... <cursor on the last WORD>", one per line, sorted
complete_line() {
	# shellcheck disable=SC2016
	PRBDCTL_CONF_DIR=$T/conf bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_prbdctl prbdctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP/packaging/bash-completion/prbdctl" "$@" | sort
}

case_completion() {
	local cmds opts got
	mkdir -p "$T/conf"
	touch "$T/conf/r0.res" "$T/conf/data1.res" "$T/conf/r0.res.example"
	# the command table and the long options of user/prbdctl.c
	cmds=$(sed -n '/^static const struct prbdctl_cmd prbdctl_cmds\[\]/,/^};/s/^\t{ "\([^"]*\)".*/\1/p' \
		"$TOP/user/prbdctl.c" | sort)
	opts=$(sed -n '/^static const struct option prbdctl_long_opts\[\]/,/^};/s/^\t{ "\([^"]*\)".*/--\1/p' \
		"$TOP/user/prbdctl.c" | sort)
	[ "$(echo "$cmds" | wc -l)" -gt 20 ] || fail "cannot read the command table of user/prbdctl.c"
	same_list "commands (prbdctl.c vs completion of '')" "$cmds" "$(complete_line prbdctl '')"
	same_list "long options" "$opts" "$(complete_line prbdctl --)"
	same_list "'st'" "$(printf '%s\n' start status stop)" "$(complete_line prbdctl st)"
	same_list "'up '" "$(printf '%s\n' data1 r0)" "$(complete_line prbdctl up '')"
	same_list "'down d'" data1 "$(complete_line prbdctl down d)"
	same_list "'-c FILE -n 2 status r'" r0 "$(complete_line prbdctl -c /x -n 2 status r)"
	same_list "'--on-no-quorum '" "$(printf '%s\n' block io-error)" \
		"$(complete_line prbdctl set r0 --on-no-quorum '')"
	got=$(complete_line prbdctl attach r0 /dev/nul)
	[ "$got" = /dev/null ] || fail "'attach r0 /dev/nul' completes to '$got', not a device"
	[ -z "$(complete_line prbdctl up r0 '')" ] || fail "'up r0 ' completes a second resource"
	echo "$(echo "$cmds" | wc -l) commands, $(echo "$opts" | wc -l) options, resources data1 r0"
}

# a prbdctl that prints status in the format of user/status.c
fake_prbdctl() {
	mkdir -p "$T/fake"
	cat > "$T/fake/prbdctl" <<-'EOF'
	#!/bin/sh
	[ "$1" = status ] || exit 1
	[ -e "$FAKE_DIR/unloaded" ] && {
		echo "prbdctl: generic netlink family 'prbd' not found: is the prbd module loaded?" >&2
		exit 7
	}
	cat <<'S'
	r0 minor 7 node 1 role secondary state up disk attached
	  cluster 6f1c2a34-9d55-4e1b-8a77-0c2f3d4e5f60 on-no-quorum block resync-rate none
	  listen 10.77.0.1:7790
	  backing /dev/vda size 1065353216
	  paxos follower leader 2 quorum yes ballot 4 commit 12 applied 12
	  config epoch 1 voters 1,2,3 learners -
	  peer 2 10.77.0.2:7790 connected voter match 12 sync up-to-date
	  peer 3 10.77.0.3:7790 connected voter match 12 sync up-to-date
	db.vol-2 minor 12 node 3 role primary state up disk attached
	  cluster 0b6f4c1e-5d2a-4f7e-9a3b-2c1d0e9f8a7b on-no-quorum io-error resync-rate 20 MiB/s
	  paxos leader leader 3 quorum yes ballot 9 commit 40 applied 40
	  peer 1 10.77.0.1:7791 connecting voter match 0 sync -
	S
	EOF
	chmod +x "$T/fake/prbdctl"
}

case_resname() {
	local h=$TOP/packaging/udev/prbd-resname out rc
	# the first line of a resource, as user/status.c prints it
	grep -qF 'printf("%s minor %u node %u role %s state %s disk %s\n", name,' "$TOP/user/status.c" ||
		fail "user/status.c's first status line changed: update prbd-resname and this test"
	fake_prbdctl
	export FAKE_DIR=$T/fake PATH=$T/fake:$PATH
	[ "$(command -v prbdctl)" = "$T/fake/prbdctl" ] || fail "fake prbdctl not first on PATH"
	[ "$(sh "$h" prbd7)" = r0 ] || fail "prbd7 is not r0"
	[ "$(sh "$h" /dev/prbd12)" = db.vol-2 ] || fail "/dev/prbd12 is not db.vol-2"
	[ "$(sh "$h" 12)" = db.vol-2 ] || fail "minor 12 is not db.vol-2"
	for dev in prbd1 prbd2 prbd3 prbd70; do
		rc=0
		out=$(sh "$h" $dev 2>&1) || rc=$?
		[ $rc -eq 1 ] && [ -z "$out" ] || fail "$dev (no such resource): exit $rc, '$out'"
	done
	rc=0
	sh "$h" sda > /dev/null 2>&1 || rc=$?
	[ $rc -eq 2 ] || fail "sda: exit $rc, not 2"
	touch "$T/fake/unloaded"
	rc=0
	out=$(sh "$h" prbd7 2>&1) || rc=$?
	[ $rc -eq 1 ] && [ -z "$out" ] || fail "module not loaded: exit $rc, '$out'"
	echo "prbd7 -> r0, prbd12 -> db.vol-2; unknown minors, no module: exit 1"
}

case_udev() {
	local d=$T/udev
	if ! udevadm verify --help > /dev/null 2>&1; then
		echo "SKIP: udevadm $(udevadm --version 2>/dev/null) has no verify (systemd >= 254)"
		exit "$KSFT_SKIP"
	fi
	"${MK[@]}" install DESTDIR="$d" > "$T/install.log"
	udevadm verify --resolve-names=never "$d/usr/local/lib/udev/rules.d/65-prbd.rules" ||
		fail "udevadm verify 65-prbd.rules"
}

ktap_plan 9
ktap_run "make install DESTDIR: the expected files" case_install
ktap_run "make uninstall DESTDIR: no file left" case_uninstall
ktap_run "make dkms-tree: the module sources and dkms.conf" case_dkms_tree
ktap_run "dkms build for the 6.1 headers" case_dkms 6.1
ktap_run "dkms build for the 6.12 headers" case_dkms 6.12
ktap_run "systemd-analyze verify prbd@r0.service" case_unit
ktap_run "bash completion: commands, options, resources" case_completion
ktap_run "prbd-resname: device to resource from prbdctl status" case_resname
ktap_run "udevadm verify 65-prbd.rules" case_udev
ktap_finish
