#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host-side check of prbd-logreplay on synthetic dm-log-writes logs.

usage: logreplay-selftest.py PRBD_LOGREPLAY WORKDIR

Writes logs in the format of drivers/md/dm-log-writes.c, replays them and
compares the images with the expected ones; corrupt logs must be refused
with a message and a non-zero exit.  Prints one line per check, exits 1 on
any failure.
"""
import os
import struct
import subprocess
import sys

FLUSH, FUA, DISCARD, MARK = 1, 2, 4, 8
SS = 512
MAGIC = 0x6a736677736872

tool, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
bad = 0


def entry(sector=0, nr=0, flags=0, data=b"", mark=b""):
    hdr = struct.pack("<QQQQ", sector, nr, flags, len(mark)) + mark
    return hdr + bytes(SS - len(hdr)) + data


def log(entries, nr=None, magic=MAGIC, version=1, ss=SS):
    sup = struct.pack("<QQQI", magic, version, len(entries) if nr is None else nr, ss)
    return sup + bytes(SS - len(sup)) + b"".join(entries)


def blk(c):
    return bytes([c]) * SS


def run(*args):
    return subprocess.run([tool, *args], capture_output=True, text=True)


def check(name, ok, detail=""):
    global bad
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail and not ok else ""))
    if not ok:
        bad = 1


# sector 0: A (plain, flushed), 1: B (FUA), 2: C (plain, unflushed at mark m1),
# 3: D (plain, after the mark, before the next flush), 4: E (FUA after the mark),
# 5: F after the second flush; sector 6 discarded before the first flush.
ents = [
    entry(6, 1, 0, blk(9)),
    entry(0, 1, 0, blk(1)),
    entry(6, 1, DISCARD),
    entry(flags=FLUSH),
    entry(1, 1, FUA, blk(2)),
    entry(flags=MARK, mark=b"m1"),
    entry(2, 1, 0, blk(3)),
    entry(4, 1, FUA, blk(5)),
    entry(3, 1, 0, blk(4)),
    entry(flags=FLUSH),
    entry(5, 1, 0, blk(6)),
    entry(flags=MARK, mark=b"m1"),
]
good = os.path.join(work, "good.log")
with open(good, "wb") as f:
    f.write(log(ents))


def image(name, *args):
    p = os.path.join(work, name)
    with open(p, "wb") as f:
        f.truncate(8 * SS)
    r = run("replay", good, p, *args)
    with open(p, "rb") as f:
        d = f.read()
    return r, [d[i * SS] for i in range(8)]


r = run("list", good)
check("list counts entries, flushes and marks",
      r.returncode == 0 and "12 entries" in r.stdout and "2 flushes" in r.stdout
      and "2 marks" in r.stdout and 'mark 2 "m1": entry 11' in r.stdout, r.stdout + r.stderr)
r, img = image("prefix.img", "--mark", "m1")
check("prefix at mark m1: flushed and FUA data only", r.returncode == 0 and img == [1, 2, 0, 0, 0, 0, 0, 0],
      str(img) + r.stderr)
r, img = image("keepall.img", "--mark", "m1", "--seed", "1", "--keep", "100")
check("mark m1, cache all written back: plain writes up to the next flush, no FUA write after the mark", r.returncode == 0 and img == [1, 2, 3, 4, 0, 0, 0, 0],
      str(img) + r.stderr)
r, img = image("keepnone.img", "--mark", "m1", "--seed", "1", "--keep", "0")
check("mark m1, cache lost: FUA writes up to the mark only", r.returncode == 0 and img == [1, 2, 0, 0, 0, 0, 0, 0],
      str(img) + r.stderr)
r, img = image("second.img", "--mark", "m1", "--nth", "2")
check("second mark m1: everything flushed", r.returncode == 0 and img == [1, 2, 3, 4, 5, 0, 0, 0], str(img) + r.stderr)
seen = set()
for s in range(40):
    r, img = image("rand.img", "--mark", "m1", "--seed", str(s))
    if r.returncode or img[:2] != [1, 2] or img[4] or img[5] or img[6]:
        check("random subsets keep the durable part", False, str(img) + r.stderr)
        break
    seen.add((img[2], img[3]))
check("random subsets: all four combinations of the two volatile writes over 40 seeds", seen == {(0, 0), (3, 0), (0, 4), (3, 4)}, str(seen))
r1, i1 = image("r1.img", "--mark", "m1", "--seed", "7")
r2, i2 = image("r2.img", "--mark", "m1", "--seed", "7")
check("a seed gives the same state twice", i1 == i2 and "seed 7" in r1.stdout, r1.stdout)


def refused(name, data, args=("--mark", "m1"), want=""):
    p = os.path.join(work, "bad.log")
    with open(p, "wb") as f:
        f.write(data)
    t = os.path.join(work, "bad.img")
    with open(t, "wb") as f:
        f.truncate(8 * SS)
    r = run("replay", p, t, *args)
    check(name, r.returncode == 1 and want in r.stderr and r.stderr.startswith("prbd-logreplay:"),
          "exit %d, %r" % (r.returncode, r.stderr))


full = log(ents)
refused("refused: wrong magic", log(ents, magic=1), want="not a dm-log-writes log")
refused("refused: unknown version", log(ents, version=2), want="version")
refused("refused: bad sector size", log(ents, ss=1000), want="sector size")
refused("refused: truncated in an entry's data", full[:len(full) - SS - SS // 2], want="truncated")
refused("refused: more entries claimed than present", log(ents, nr=40), want="")
refused("refused: unknown flags", log([entry(0, 1, 64, blk(1))]), want="unknown flags")
refused("refused: write past the target's end", log([entry(100, 1, 0, blk(1)), entry(flags=FLUSH), entry(flags=MARK, mark=b"m1")]),
        want="beyond the end")
refused("refused: no such mark", full, args=("--mark", "nope"), want="no mark")
refused("refused: empty file", b"", want="too small")
r = run("replay", good)
check("usage error exits 2", r.returncode == 2, str(r.returncode))
sys.exit(bad)
