#!/usr/bin/env python3
"""A minimal pkg-config for tests/gpu/check.sh on machines without one.

Implements what CMake's FindPkgConfig asks: --version, --exists, a
"name OP version" constraint, --modversion, --variable=NAME, --cflags[-only-I|
-only-other], --libs[-only-L|-only-l|-only-other], --static (Libs.private
added), --print-errors/--short-errors (accepted). Searches PKG_CONFIG_LIBDIR
(or PKG_CONFIG_PATH) and applies PKG_CONFIG_SYSROOT_DIR to -I/-L paths like
the real tool. Requires are followed recursively. Exit 1 when a module is
missing, with the reason on stderr.
"""
import os
import re
import shlex
import sys

OPS = ("<", "<=", "=", ">=", ">", "!=")

def search_dirs():
    dirs = []
    for var in ("PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR"):
        dirs += [d for d in os.environ.get(var, "").split(":") if d]
    return dirs


def find_pc(name):
    for d in search_dirs():
        p = os.path.join(d, name + ".pc")
        if os.path.isfile(p):
            return p
    return None


def parse_pc(path):
    """Returns (variables, fields) with ${var} expanded."""
    variables, fields = {}, {}

    def expand(s):
        for _ in range(20):
            n = re.sub(r"\$\{([^}]+)\}", lambda m: variables.get(m.group(1), ""), s)
            if n == s:
                break
            s = n
        return s

    variables["pcfiledir"] = os.path.dirname(path)
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            m = re.match(r"^([A-Za-z0-9_.]+)\s*=\s*(.*)$", line)
            if m and ":" not in line.split("=", 1)[0]:
                variables[m.group(1)] = expand(m.group(2).strip())
                continue
            m = re.match(r"^([A-Za-z0-9_.]+)\s*:\s*(.*)$", line)
            if m:
                fields[m.group(1)] = expand(m.group(2).strip())
    return variables, fields


def vercmp(a, b):
    pa = [int(x) if x.isdigit() else x for x in re.split(r"[.\-]", a)]
    pb = [int(x) if x.isdigit() else x for x in re.split(r"[.\-]", b)]
    for x, y in zip(pa, pb):
        if x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return -1 if x < y else 1
        return -1 if str(x) < str(y) else 1
    return (len(pa) > len(pb)) - (len(pa) < len(pb))


def parse_requires(s):
    out = []
    toks = s.replace(",", " ").split()
    i = 0
    while i < len(toks):
        name, op, ver = toks[i], None, None
        if i + 2 < len(toks) and toks[i + 1] in OPS:
            op, ver = toks[i + 1], toks[i + 2]
            i += 3
        else:
            i += 1
        out.append((name, op, ver))
    return out


def sysroot_flags(flags):
    root = os.environ.get("PKG_CONFIG_SYSROOT_DIR", "")
    out = []
    for f in flags:
        if root and (f.startswith("-I/") or f.startswith("-L/")):
            f = f[:2] + root.rstrip("/") + f[2:]
        out.append(f)
    return out


def collect(name, static, seen, errors):
    if name in seen:
        return [], []
    seen.add(name)
    pc = find_pc(name)
    if not pc:
        errors.append("Package %s was not found in the pkg-config search path" % name)
        return [], []
    _, fields = parse_pc(pc)
    cflags = shlex.split(fields.get("Cflags", ""))
    libs = shlex.split(fields.get("Libs", ""))
    if static:
        libs += shlex.split(fields.get("Libs.private", ""))
    reqs = parse_requires(fields.get("Requires", ""))
    if static:
        reqs += parse_requires(fields.get("Requires.private", ""))
    for r, _, _ in reqs:
        c2, l2 = collect(r, static, seen, errors)
        cflags += c2
        libs += l2
    return cflags, libs


def dedup(xs):
    out = []
    for x in xs:
        if x not in out or x.startswith("-l"):
            out.append(x)
    return out


def main(argv):
    opts = [a for a in argv if a.startswith("--")]
    mods = [a for a in argv if not a.startswith("--")]
    if "--version" in opts:
        print("0.29.2")
        return 0
    # "name OP version" may come as one argument (CMake) or three.
    specs = []
    parts = " ".join(mods).split()
    i = 0
    while i < len(parts):
        if i + 2 < len(parts) and parts[i + 1] in OPS:
            specs.append((parts[i], parts[i + 1], parts[i + 2]))
            i += 3
        else:
            specs.append((parts[i], None, None))
            i += 1
    errors = []
    for name, op, ver in specs:
        pc = find_pc(name)
        if not pc:
            errors.append("Package '%s' not found" % name)
            continue
        if op:
            have = parse_pc(pc)[1].get("Version", "0")
            c = vercmp(have, ver)
            ok = {"<": c < 0, "<=": c <= 0, "=": c == 0, ">=": c >= 0,
                  ">": c > 0, "!=": c != 0}[op]
            if not ok:
                errors.append("Requested '%s %s %s' but version of %s is %s"
                              % (name, op, ver, name, have))
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
        return 1
    if "--exists" in opts or not [o for o in opts if o not in (
            "--print-errors", "--short-errors", "--static")]:
        return 0
    for o in opts:
        if o.startswith("--variable="):
            var = o.split("=", 1)[1]
            vals = []
            for name, _, _ in specs:
                v = parse_pc(find_pc(name))[0].get(var, "")
                root = os.environ.get("PKG_CONFIG_SYSROOT_DIR", "")
                if root and v.startswith("/") and var in ("prefix", "includedir",
                                                          "libdir", "exec_prefix"):
                    v = root.rstrip("/") + v
                vals.append(v)
            print(" ".join(vals))
            return 0
    if "--modversion" in opts:
        for name, _, _ in specs:
            print(parse_pc(find_pc(name))[1].get("Version", ""))
        return 0
    static = "--static" in opts
    cflags, libs, seen = [], [], set()
    for name, _, _ in specs:
        c, l = collect(name, static, seen, errors)
        cflags += c
        libs += l
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
        return 1
    cflags, libs = dedup(sysroot_flags(cflags)), dedup(sysroot_flags(libs))
    out = []
    if "--cflags" in opts:
        out += cflags
    if "--cflags-only-I" in opts:
        out += [f for f in cflags if f.startswith("-I")]
    if "--cflags-only-other" in opts:
        out += [f for f in cflags if not f.startswith("-I")]
    if "--libs" in opts:
        out += libs
    if "--libs-only-L" in opts:
        out += [f for f in libs if f.startswith("-L")]
    if "--libs-only-l" in opts:
        out += [f for f in libs if f.startswith("-l")]
    if "--libs-only-other" in opts:
        out += [f for f in libs if not f.startswith(("-l", "-L"))]
    print(" ".join(shlex.quote(f) for f in out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
