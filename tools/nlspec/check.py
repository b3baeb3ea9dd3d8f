#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check that a genetlink YAML spec and a C UAPI header agree.

Usage: check.py [--spec FILE] [--header FILE] [--kernel FILE] [--schema FILE]
                [--verbose]

Computes every C constant the spec defines (family name/version,
constants, enums, attribute enums, command enum, multicast groups), using
the naming rules of the kernel's ynl code generator for protocol
"genetlink", and compares them with the #defines and enums parsed from the
header.  Also checks the spec for internal consistency (unknown attribute
sets, unknown attributes in requests/replies, duplicate values, unknown
multicast groups).  Also checks that the kernel's genl_ops table
(kmod/prbd_nl.c) registers exactly the spec's do/dump operations, with
admin-perm where the spec says so, and that each operation's policy accepts
exactly the request attributes the spec lists.  Prints TAP; exits 0 when
everything agrees, 1 when not, 2 on a usage or parse error.
"""

import argparse
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.stderr.write("check.py: python3-yaml is required (apt-get install python3-yaml)\n")
    sys.exit(2)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEF_SPEC = os.path.join(ROOT, "Documentation", "netlink", "specs", "prbd.yaml")
DEF_HEADER = os.path.join(ROOT, "kmod", "uapi", "prbd.h")
DEF_KERNEL = os.path.join(ROOT, "kmod", "prbd_nl.c")

TOP_KEYS = {"name", "doc", "protocol", "uapi-header", "definitions",
            "attribute-sets", "operations", "mcast-groups"}
ATTR_TYPES = {"unused", "pad", "flag", "binary", "uint", "sint", "u8", "u16",
              "u32", "u64", "s32", "s64", "string", "nest", "array-nest",
              "nest-type-value"}


class SpecError(Exception):
    pass


def c_upper(name):
    return name.upper().replace("-", "_")


def c_lower(name):
    return name.lower().replace("-", "_")


def spec_constants(spec, problems):
    """Return {C name: value} for every constant the spec defines, and
    {C enum name: [member names]} for ordering checks."""
    consts = {}
    enums = {}
    fam = spec["name"]

    def put(name, value):
        if name in consts:
            problems.append(f"spec defines {name} twice")
        consts[name] = value

    put(c_upper(fam + "-family-name"), fam)
    put(c_upper(fam + "-family-version"), spec.get("version", 1))

    for d in spec.get("definitions", []):
        if d["type"] == "const":
            put(c_upper(f"{fam}-{d['name']}"), d["value"])
            continue
        pfx = c_upper(f"{fam}-{d['name']}-")
        val = d.get("value-start", 0)
        members = []
        for i, e in enumerate(d.get("entries", [])):
            ename = e if isinstance(e, str) else e["name"]
            if isinstance(e, dict) and "value" in e:
                val = e["value"]
            elif d["type"] == "flags":
                val = 1 << i
            put(pfx + c_upper(ename), val)
            members.append(pfx + c_upper(ename))
            val += 1
        if d.get("render-max") and d["type"] == "enum":
            put("__" + pfx + "MAX", val)
            put(pfx + "MAX", val - 1)
        enums[c_lower(f"{fam}-{d['name']}")] = members

    for s in spec["attribute-sets"]:
        if "subset-of" in s:
            continue
        pfx = c_upper(s.get("name-prefix", f"{fam}-a-" if s["name"] == fam
                            else f"{fam}-a-{s['name']}-"))
        val = 1
        members = []
        seen = set()
        for a in s["attributes"]:
            if "value" in a:
                val = a["value"]
            if val in seen:
                problems.append(f"attribute-set {s['name']}: value {val} used twice")
            seen.add(val)
            put(pfx + c_upper(a["name"]), val)
            members.append(pfx + c_upper(a["name"]))
            val += 1
        put("__" + pfx + "MAX", val)
        put(pfx + "MAX", val - 1)
        ename = s.get("enum-name")
        if ename:
            enums[c_lower(ename)] = members

    ops = spec["operations"]
    pfx = c_upper(ops.get("name-prefix", f"{fam}-cmd-"))
    val = 1
    members = []
    seen = set()
    for op in ops["list"]:
        if "value" in op:
            val = op["value"]
        if val in seen:
            problems.append(f"operation value {val} used twice ({op['name']})")
        seen.add(val)
        put(pfx + c_upper(op["name"]), val)
        members.append(pfx + c_upper(op["name"]))
        val += 1
    put("__" + pfx + "MAX", val)
    put(pfx + "MAX", val - 1)
    if ops.get("enum-name"):
        enums[c_lower(ops["enum-name"])] = members

    for g in spec.get("mcast-groups", {}).get("list", []):
        put(c_upper(f"{fam}-mcgrp-{g['name']}"), g["name"])
    return consts, enums


def spec_lint(spec, problems):
    """Internal consistency of the spec (a subset of what the kernel's
    JSON schema and ynl enforce, plus cross references)."""
    for k in spec:
        if k not in TOP_KEYS:
            problems.append(f"spec: unknown top-level key '{k}'")
    for k in ("name", "doc", "attribute-sets", "operations"):
        if k not in spec:
            problems.append(f"spec: missing top-level key '{k}'")
    if spec.get("protocol", "genetlink") != "genetlink":
        problems.append("spec: protocol must be 'genetlink'")

    defs = {d["name"]: d for d in spec.get("definitions", [])}
    sets = {s["name"]: s for s in spec.get("attribute-sets", [])}
    for s in sets.values():
        for a in s["attributes"]:
            t = a.get("type")
            if t not in ATTR_TYPES:
                problems.append(f"set {s['name']}: attribute {a['name']}: bad type {t!r}")
            if t == "nest" and a.get("nested-attributes") not in sets:
                problems.append(f"set {s['name']}: attribute {a['name']}: "
                                f"unknown nested-attributes {a.get('nested-attributes')!r}")
            if "enum" in a and a["enum"] not in defs:
                problems.append(f"set {s['name']}: attribute {a['name']}: "
                                f"unknown enum {a['enum']!r}")
    groups = {g["name"] for g in spec.get("mcast-groups", {}).get("list", [])}
    opnames = {op["name"] for op in spec["operations"]["list"]}
    for op in spec["operations"]["list"]:
        if "doc" not in op:
            problems.append(f"operation {op['name']}: missing doc")
        aset = op.get("attribute-set")
        if aset is None and "notify" not in op:
            problems.append(f"operation {op['name']}: missing attribute-set")
        if aset is not None and aset not in sets:
            problems.append(f"operation {op['name']}: unknown attribute-set {aset!r}")
            continue
        names = {a["name"] for a in sets[aset]["attributes"]} if aset else set()
        for kind in ("do", "dump"):
            for part in ("request", "reply"):
                attrs = op.get(kind, {}).get(part, {}).get("attributes", [])
                for a in attrs:
                    if a not in names:
                        problems.append(f"operation {op['name']}: {kind} {part}: "
                                        f"unknown attribute {a!r}")
        for a in op.get("event", {}).get("attributes", []):
            if a not in names:
                problems.append(f"operation {op['name']}: event: unknown attribute {a!r}")
        if "notify" in op and op["notify"] not in opnames:
            problems.append(f"operation {op['name']}: notify of unknown op {op['notify']!r}")
        if "mcgrp" in op and op["mcgrp"] not in groups:
            problems.append(f"operation {op['name']}: unknown mcgrp {op['mcgrp']!r}")
        for f in op.get("flags", []):
            if f != "admin-perm":
                problems.append(f"operation {op['name']}: unknown flag {f!r}")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def c_eval(expr, names, where):
    expr = expr.strip()
    if re.fullmatch(r'"[^"]*"', expr):
        return expr[1:-1]
    py = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", expr)
    for tok in re.findall(r"[A-Za-z_]\w*", py):
        if tok not in names:
            raise SpecError(f"{where}: '{expr}' uses unknown name {tok}")
    if not re.fullmatch(r"[\w\s()+\-*<>|&]*", py):
        raise SpecError(f"{where}: cannot evaluate '{expr}'")
    try:
        return eval(py, {"__builtins__": {}}, dict(names))  # noqa: S307
    except Exception as e:  # pylint: disable=broad-except
        raise SpecError(f"{where}: cannot evaluate '{expr}': {e}") from e


def header_constants(path):
    """Return ({name: value}, {enum name: [members]}, guard)."""
    raw = open(path, encoding="utf-8").read()
    text = strip_comments(raw)
    names = {}
    enums = {}
    guard = None
    m = re.search(r"#ifndef\s+(\w+)\s*\n\s*#define\s+\1\b", text)
    if m:
        guard = m.group(1)
    for m in re.finditer(r"^\s*#\s*define\s+(\w+)(?:[ \t]+(.*?))?\s*$", text, flags=re.M):
        name, val = m.group(1), m.group(2)
        if name == guard:
            continue
        if val is None or val == "":
            raise SpecError(f"{path}: #define {name} has no value")
        names[name] = c_eval(val, names, f"{path}: #define {name}")
    for m in re.finditer(r"\benum\s+(\w+)?\s*\{(.*?)\}\s*;", text, flags=re.S):
        ename = m.group(1) or "<anonymous>"
        val = 0
        members = []
        for item in m.group(2).split(","):
            item = item.strip()
            if not item:
                continue
            mm = re.fullmatch(r"(\w+)\s*(?:=\s*(.+))?", item, flags=re.S)
            if not mm:
                raise SpecError(f"{path}: enum {ename}: cannot parse '{item}'")
            if mm.group(2) is not None:
                val = c_eval(mm.group(2), names, f"{path}: enum {ename}: {mm.group(1)}")
            if mm.group(1) in names:
                raise SpecError(f"{path}: {mm.group(1)} defined twice")
            names[mm.group(1)] = val
            if not mm.group(1).startswith("__") and not mm.group(1).endswith("_MAX"):
                members.append(mm.group(1))
            val += 1
        enums[ename] = members
    return names, enums, guard


def kernel_ops(path):
    """Parse prbd_nl.c: {cmd C name: {policy, flags, doit, dumpit}} and
    {policy name: set of attribute C names}."""
    text = strip_comments(open(path, encoding="utf-8").read())
    macros = {}
    for m in re.finditer(r"^#define\s+(\w+)\s*((?:[^\n]*\\\n)*[^\n]*)", text, flags=re.M):
        macros[m.group(1)] = m.group(2)

    def attrs_of(body, depth=0):
        names = set(re.findall(r"\[\s*(PRBD_\w+)\s*\]", body))
        if depth < 3:
            for tok in re.findall(r"\b[A-Z_][A-Z0-9_]*\b", body):
                if tok in macros:
                    names |= attrs_of(macros[tok], depth + 1)
        return names

    policies = {}
    for m in re.finditer(r"struct\s+nla_policy\s+(\w+)\s*\[[^\]]*\]\s*=\s*\{(.*?)\n\};",
                         text, flags=re.S):
        policies[m.group(1)] = attrs_of(m.group(2))
    m = re.search(r"struct\s+genl_ops\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)\n\};", text, flags=re.S)
    if not m:
        raise SpecError(f"{path}: no genl_ops table found")
    ops = {}
    for entry in re.findall(r"\{(.*?)\}", m.group(1), flags=re.S):
        cmd = re.search(r"\.cmd\s*=\s*(\w+)", entry)
        if not cmd:
            raise SpecError(f"{path}: genl_ops entry without .cmd")
        pol = re.search(r"\.policy\s*=\s*(\w+)", entry)
        ops[cmd.group(1)] = {
            "policy": pol.group(1) if pol else None,
            "admin": "GENL_ADMIN_PERM" in entry,
            "doit": ".doit" in entry,
            "dumpit": ".dumpit" in entry,
        }
    return ops, policies


def kernel_check(spec, path, problems):
    ops, policies = kernel_ops(path)
    fam = spec["name"]
    opfx = c_upper(spec["operations"].get("name-prefix", f"{fam}-cmd-"))
    sets = {s["name"]: s for s in spec["attribute-sets"]}
    seen = set()
    for op in spec["operations"]["list"]:
        cname = opfx + c_upper(op["name"])
        has_do, has_dump = "do" in op, "dump" in op
        if not has_do and not has_dump:
            if cname in ops:
                problems.append(f"{cname}: a notification, but the kernel registers it")
            continue
        seen.add(cname)
        k = ops.get(cname)
        if not k:
            problems.append(f"{cname}: in the spec, not in the kernel's genl_ops")
            continue
        if has_do != k["doit"]:
            problems.append(f"{cname}: spec do={has_do}, kernel doit={k['doit']}")
        if has_dump != k["dumpit"]:
            problems.append(f"{cname}: spec dump={has_dump}, kernel dumpit={k['dumpit']}")
        want_admin = "admin-perm" in op.get("flags", [])
        if want_admin != k["admin"]:
            problems.append(f"{cname}: spec admin-perm={want_admin}, kernel GENL_ADMIN_PERM={k['admin']}")
        aset = sets[op["attribute-set"]]
        apfx = c_upper(aset.get("name-prefix", f"{fam}-a-{aset['name']}-"))
        want = set()
        for kind in ("do", "dump"):
            for a in op.get(kind, {}).get("request", {}).get("attributes", []):
                want.add(apfx + c_upper(a))
        if k["policy"] is None or k["policy"] not in policies:
            problems.append(f"{cname}: kernel op has no per-op policy")
            continue
        got = policies[k["policy"]]
        for a in sorted(want - got):
            problems.append(f"{cname}: request attribute {a} in the spec, not in policy {k['policy']}")
        for a in sorted(got - want):
            problems.append(f"{cname}: policy {k['policy']} accepts {a}, the spec does not list it")
    for cname in sorted(set(ops) - seen):
        problems.append(f"{cname}: registered by the kernel, not a do/dump op of the spec")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", default=DEF_SPEC)
    ap.add_argument("--header", default=DEF_HEADER)
    ap.add_argument("--kernel", default=DEF_KERNEL,
                    help="genl family source to check, '' to skip")
    ap.add_argument("--schema", default=None,
                    help="the kernel's Documentation/netlink/genetlink.yaml "
                         "(Linux 6.4+) to validate the spec against; needs "
                         "python3-jsonschema")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()

    tests = []

    def result(ok, desc, details):
        tests.append((ok, desc, details))

    try:
        with open(args.spec, encoding="utf-8") as f:
            spec = yaml.safe_load(f)
        hdr, hdr_enums, guard = header_constants(args.header)
    except (OSError, yaml.YAMLError, SpecError) as e:
        print("1..1")
        print(f"not ok 1 - parse spec and header # {e}")
        return 2

    lint = []
    spec_lint(spec, lint)
    result(not lint, "spec is internally consistent", lint)

    problems = []
    want, want_enums = spec_constants(spec, problems)
    result(not problems, "spec values are unique", problems)

    diff = []
    for name, val in sorted(want.items(), key=lambda kv: kv[0]):
        if name not in hdr:
            diff.append(f"- {name} = {val!r}   (in spec, missing from header)")
        elif hdr[name] != val:
            diff.append(f"! {name}: spec {val!r}, header {hdr[name]!r}")
    result(not diff, "every spec constant is in the header with the same value", diff)

    extra = [f"+ {n} = {hdr[n]!r}   (in header, not in spec)"
             for n in sorted(hdr) if n not in want]
    result(not extra, "the header defines nothing the spec does not", extra)

    order = []
    for ename, members in sorted(want_enums.items()):
        if ename not in hdr_enums:
            order.append(f"- enum {ename} missing from header")
        elif hdr_enums[ename] != members:
            order.append(f"! enum {ename}: spec order {members}, header order {hdr_enums[ename]}")
    result(not order, "named enums match the spec, member for member", order)

    exp_guard = "_UAPI_" + c_upper(spec.get("uapi-header", f"linux/{spec['name']}.h")
                                   .replace("/", "_").replace(".", "_"))
    result(guard == exp_guard, f"include guard is {exp_guard}",
           [f"! guard is {guard!r}"] if guard != exp_guard else [])

    if args.schema:
        sprob = []
        try:
            import jsonschema  # pylint: disable=import-outside-toplevel
            with open(args.schema, encoding="utf-8") as f:
                schema = yaml.safe_load(f)
            for e in jsonschema.Draft7Validator(schema).iter_errors(spec):
                sprob.append(f"{'/'.join(str(p) for p in e.path)}: {e.message}")
        except (ImportError, OSError, yaml.YAMLError) as e:
            sprob.append(f"cannot validate: {e}")
        result(not sprob, f"spec validates against {os.path.basename(args.schema)}", sprob)

    if args.kernel:
        kprob = []
        try:
            kernel_check(spec, args.kernel, kprob)
        except (OSError, SpecError) as e:
            kprob.append(str(e))
        result(not kprob, f"kernel ops and policies ({os.path.basename(args.kernel)}) match the spec",
               kprob)

    print(f"1..{len(tests)}")
    failed = 0
    for i, (ok, desc, details) in enumerate(tests, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {desc}")
        if not ok:
            failed += 1
        if not ok or args.verbose:
            for d in details:
                print(f"#   {d}")
    print(f"# {args.spec} vs {args.header}: {len(want)} constants")
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
