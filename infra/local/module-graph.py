#!/usr/bin/env python3
"""Checks that no crate of the workspace has an import circle between its modules.

For every crate under crates/, each source file is a module; an edge A -> B is any `crate::` path in A (a `use`
or a qualified name, unit tests excluded) that names B or an item of B, an item the crate root re-exports followed
to where it is defined. A `mod.rs` or `lib.rs` only declares its children, which is not an edge; a child that uses an
item defined in lib.rs reaches up, which is reported as well. Prints each circle found and exits 1; prints the edge count otherwise.
Usage: module-graph.py [crate dir ...] (default: every crates/* of the workspace).
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def modules(src):
    """Maps a module path ("store::handle") to its file, for every .rs file under src."""
    found = {}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] in ("mod", "lib", "main"):
            parts = parts[:-1]
        found["::".join(parts)] = path
    return found


def code_of(path):
    """The file's text without its `#[cfg(test)]` module and without comments."""
    text = path.read_text()
    cut = text.find("#[cfg(test)]\nmod tests")
    if cut >= 0:
        text = text[:cut]
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def uses(text):
    """Every `crate::a::b::...` path a text names, `use crate::a::{b, c}` expanded one level."""
    paths = []
    for match in re.finditer(r"crate::((?:\w+::)*)(\{[^}]*\}|\w+)", text):
        prefix, tail = match.group(1), match.group(2)
        if tail.startswith("{"):
            for item in tail.strip("{}").split(","):
                item = item.strip().split(" as ")[0].strip()
                if item:
                    paths.append(prefix + item.split("::")[0] if item != "self" else prefix.rstrip(":"))
        else:
            paths.append(prefix + tail)
    return paths


def reexports(src):
    """Maps an item the crate root re-exports (`pub use a::b::{X, Y}` in lib.rs) to the path it comes from."""
    lib = src / "lib.rs"
    found = {}
    if not lib.exists():
        return found
    text = re.sub(r"\s+", " ", code_of(lib))
    for match in re.finditer(r"pub use ((?:\w+::)+)(\{[^}]*\}|\w+)", text):
        prefix, tail = match.group(1), match.group(2)
        for item in tail.strip("{}").split(","):
            item = item.strip().split(" as ")[-1].strip()
            if item and item != "self":
                found[item] = prefix + item
    return found


def resolve(path, mods, aliases=None):
    """The deepest module a `a::b::c` path lies in (a root re-export followed to where it is defined)."""
    parts = [p for p in path.split("::") if p]
    if aliases and parts and parts[0] in aliases and parts[0] not in mods:
        parts = aliases[parts[0]].split("::") + parts[1:]
    while parts:
        name = "::".join(parts)
        if name in mods:
            return name
        parts.pop()
    return ""  # an item of the crate root itself


def circles(crate):
    src = crate / "src"
    mods = modules(src)
    aliases = reexports(src)
    edges = {m: set() for m in mods}
    found_up = []
    for name, path in mods.items():
        if path.name in ("lib.rs", "main.rs", "mod.rs"):
            text = code_of(path)
            # a declaring file may still use a module for its own code: count only non-`pub use` lines
            text = "\n".join(l for l in text.splitlines() if not re.match(r"\s*pub(\(crate\))? use ", l))
        else:
            text = code_of(path)
        for used in uses(text):
            target = resolve(used, mods, aliases)
            if target == "" and name != "":
                found_up.append(f"{name} uses crate::{used}, defined in lib.rs (a façade holds no items)")
            elif target is not None and target != name:
                edges[name].add(target)
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found + found_up, sum(len(e) for e in edges.values())


def main():
    crates = [pathlib.Path(a) for a in sys.argv[1:]] or sorted(p for p in (ROOT / "crates").iterdir() if (p / "src").is_dir())
    bad = 0
    for crate in crates:
        found, count = circles(crate)
        for circle in found:
            bad += 1
            print(f"{crate.name}: " + (circle if isinstance(circle, str) else f"import circle: {' -> '.join(circle)}"))
        if not found:
            print(f"{crate.name}: {count} module imports, no circle")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
