#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The results table of tools/bench/bench.sh.

usage: report.py RAWDIR OUTPREFIX SETTINGS NAME=LABEL...

Reads RAWDIR/status, RAWDIR/env and the fio JSON files RAWDIR/NAME-TEST.json;
writes OUTPREFIX.md (markdown) and OUTPREFIX.dat (the gnuplot data).
"""
import json
import os
import sys

TESTS = ("rw4k_qd1", "rw4k_qd32", "seq1m_qd4", "rr4k_qd32", "mix4k_qd16")
COLS = (  # key, heading, format, the fio job it comes from
    ("qd1", "4k randwrite qd1 IOPS", "{:.0f}", "rw4k_qd1"),
    ("p50", "qd1 p50 (ms)", "{:.2f}", "rw4k_qd1"),
    ("p99", "qd1 p99 (ms)", "{:.2f}", "rw4k_qd1"),
    ("qd32", "4k randwrite qd32 IOPS", "{:.0f}", "rw4k_qd32"),
    ("seq", "1M write qd4 (MB/s)", "{:.0f}", "seq1m_qd4"),
    ("rr32", "4k randread qd32 IOPS", "{:.0f}", "rr4k_qd32"),
    ("mix", "4k 70/30 read/write qd16 IOPS", "{:.0f}", "mix4k_qd16"),
)
MARK = " †"


def load(raw, name, test, side="write"):
    with open(os.path.join(raw, f"{name}-{test}.json")) as f:
        text = f.read()
    # fio may print notes before the JSON object
    return json.loads(text[text.index("{"):])["jobs"][0][side]


def metrics(raw, name):
    qd1 = load(raw, name, "rw4k_qd1")
    pct = qd1["clat_ns"]["percentile"]
    return {
        "qd1": qd1["iops"],
        "p50": pct["50.000000"] / 1e6,
        "p99": pct["99.000000"] / 1e6,
        "qd32": load(raw, name, "rw4k_qd32")["iops"],
        "seq": load(raw, name, "seq1m_qd4")["bw_bytes"] / 1e6,
        "rr32": load(raw, name, "rr4k_qd32", "read")["iops"],
        "mix": load(raw, name, "mix4k_qd16", "read")["iops"] +
        load(raw, name, "mix4k_qd16")["iops"],
    }


def main():
    raw, out, settings = sys.argv[1:4]
    labels = dict(a.split("=", 1) for a in sys.argv[4:])
    status, notes, disturbed = {}, [], {}
    with open(os.path.join(raw, "status")) as f:
        for line in f:
            name, st, text = line.rstrip("\n").split("\t", 2)
            if st == "warning":
                notes.append(f"{labels.get(name, name)}: {text}")
            elif st == "disturbed":
                disturbed.setdefault(name, set()).add(text)
            else:
                status[name] = (st, text)
    res = {}
    for name in labels:
        if status.get(name, ("",))[0] == "ok":
            try:
                res[name] = metrics(raw, name)
            except (OSError, ValueError, KeyError) as e:
                status[name] = ("failed", f"unreadable fio output: {e}")
    env = open(os.path.join(raw, "env")).read().strip().splitlines()

    md = [f"### prbd benchmark {os.path.basename(out).replace('results-', '')} UTC", ""]
    md += [f"fio direct=1 ioengine=libaio time_based {settings}; "
           "one job each; latency is fio's completion latency (clat)", ""]
    md += [f"- {e}" for e in env] + [""]
    md.append("| target | " + " | ".join(c[1] for c in COLS) + " |")
    md.append("|---|" + "---:|" * len(COLS))
    for name, label in labels.items():
        if name in res:
            cells = [fmt.format(res[name][k]) + (MARK if job in disturbed.get(name, ()) else "")
                     for k, _, fmt, job in COLS]
        else:
            st, text = status.get(name, ("failed", "not run"))
            cells = [text if st == "unavailable" else f"**{st}**: {text}"] + \
                ["–"] * (len(COLS) - 1)
        md.append(f"| {label} | " + " | ".join(cells) + " |")

    ratios = []
    for name in labels:
        if not name.startswith("prbd") or name not in res:
            continue
        for base in ("raw", "drbd"):
            if base in res:
                bad = disturbed.get(name, set()) | disturbed.get(base, set())
                ratios.append((f"{labels[name]} / {labels[base]}",
                               {k: f"{res[name][k] / res[base][k]:.2f}" +
                                (MARK if job in bad else "") for k, _, _, job in COLS}))
    if ratios:
        md += ["", "| ratio | " + " | ".join(c[1] for c in COLS) + " |",
               "|---|" + "---:|" * len(COLS)]
        for title, r in ratios:
            md.append(f"| {title} | " + " | ".join(r[k] for k, _, _, _ in COLS) + " |")
        md += ["", "Ratios above 1: more IOPS or MB/s, or a longer latency, than the base."]
    if disturbed:
        md += ["", f"{MARK.strip()} the fio job ran while other VMs were running on this host "
               "(CPU contention): not a clean figure."]
    if notes:
        md += [""] + [f"- warning: {n}" for n in notes]
    with open(out + ".md", "w") as f:
        f.write("\n".join(md) + "\n")
    with open(out + ".dat", "w") as f:
        f.write("# target qd1_iops qd32_iops seq_MBps randread_qd32_iops mix_qd16_iops\n")
        for name in labels:
            if name in res:
                r = res[name]
                f.write(f"\"{labels[name]}\" {r['qd1']:.1f} {r['qd32']:.1f} {r['seq']:.1f}"
                        f" {r['rr32']:.1f} {r['mix']:.1f}\n")


if __name__ == "__main__":
    main()
