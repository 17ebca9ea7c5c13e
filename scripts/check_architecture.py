#!/usr/bin/env python3
"""The architecture's guardrails, checked (exit 1 on any breach, listing each):

1. no import cycle among the modules of a crate (below);
2. no source file under `*/src/` longer than 800 lines;
3. the crates depend one way: no collector module but the quickstart imports `custos_agent`,
   and neither the rules crate nor the wire crate imports the agent or the collector.

Import cycles:

A module is a source file under `CRATE/src/`. A file depends on another module of its crate
when it names it through a `crate::…`, `super::…` or `self::…` path, or a path starting with
one of its own submodules (in `use` or inline; `mod child;` declarations do not count). Dependencies on a
module's own children (`foo.rs` → `foo/bar.rs`) and on its ancestors count like any other, so a
parent that re-exports a child and a child that reaches back into its parent form a cycle.

Tests (`#[cfg(test)] mod tests { … }` blocks at the end of a file) are left out: a test may
reach anywhere. Usage: `python3 scripts/check_architecture.py [CRATE_DIR …]` (default: every
crate).
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["proto", "rules", "pg", "agent", "collector"]
PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")


def modules(src: Path) -> dict:
    """Module path (tuple of names) → file."""
    out = {}
    for f in sorted(src.rglob("*.rs")):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "mod":
            parts.pop()
        if parts in (["lib"], ["main"]):
            parts = []
        out[tuple(parts)] = f
    return out


def strip_tests_and_comments(text: str) -> str:
    cut = re.search(r"^\s*#\[cfg\(test\)\]\s*\n\s*mod tests", text, re.M)
    if cut:
        text = text[: cut.start()]
    text = re.sub(r"//[^\n]*", "", text)
    return text


def expand_braces(text: str, start: int) -> list:
    """The paths inside a `{…}` group starting at `start` (the `{`), one level deep per name."""
    depth, i, buf = 0, start, ""
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        if depth >= 1:
            buf += c
        i += 1
    names = []
    level, item = 0, ""
    for c in buf:
        if c == "{":
            level += 1
        elif c == "}":
            level -= 1
        if c == "," and level == 0:
            names.append(item.strip())
            item = ""
        else:
            item += c
    names.append(item.strip())
    return [n.split("::")[0].split(" ")[0] for n in names if n]


def deps(mod: tuple, text: str, mods: dict) -> set:
    found = set()
    # Paths relative to the module itself: `child::…` (a declared submodule) and `self::child::…`.
    children = {m[-1] for m in mods if len(m) == len(mod) + 1 and m[:-1] == mod}
    for m in re.finditer(r"(?<![A-Za-z0-9_:])(?:self::)?([a-z_][a-z0-9_]*)::", text):
        if m.group(1) in children:
            found.add(mod + (m.group(1),))
    for m in PATH.finditer(text):
        base = [] if m.group(1) == "crate" else list(mod[:-1]) if not is_dir_module(mod, mods) else list(mod[:-1])
        tail = m.group(2)
        if m.group(1) == "super":
            # `super` from a file module is its parent module.
            base = list(mod[:-1])
        if tail == "::{":
            firsts = [[n] for n in expand_braces(text, m.end() - 1)]
        else:
            names = tail.strip(":").split("::")
            firsts = [names]
            if text[m.end():m.end() + 3] == "::{":
                firsts = [names + [n] for n in expand_braces(text, m.end() + 2)]
        for names in firsts:
            path = base + names
            best = None
            for k in range(len(path), 0, -1):
                if tuple(path[:k]) in mods:
                    best = tuple(path[:k])
                    break
            if best is not None and best != mod:
                found.add(best)
    return found


def is_dir_module(mod: tuple, mods: dict) -> bool:
    return mods[mod].name == "mod.rs"


def sccs(graph: dict) -> list:
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


MAX_LINES = 800


def long_files(crates: list) -> list:
    out = []
    for crate in crates:
        for f in sorted((ROOT / crate / "src").rglob("*.rs")):
            n = len(f.read_text().splitlines())
            if n > MAX_LINES:
                out.append(f"{f.relative_to(ROOT)}: {n} lines (at most {MAX_LINES}: split it by concept)")
    return out


def wrong_way_imports() -> list:
    out = []
    rules = {
        "collector": ("custos_agent", {"collector/src/cli/quickstart.rs"}),
        "rules": ("custos_(agent|collector|proto)", set()),
        "proto": ("custos_(agent|collector)", set()),
        "pg": ("custos_(agent|collector|proto|rules)", set()),
        "agent": ("custos_collector", set()),
    }
    for crate, (pattern, allowed) in rules.items():
        for f in sorted((ROOT / crate / "src").rglob("*.rs")):
            rel = str(f.relative_to(ROOT))
            if rel in allowed:
                continue
            for i, line in enumerate(f.read_text().splitlines(), 1):
                if re.search(rf"\b{pattern}::", line) and not line.lstrip().startswith("//"):
                    out.append(f"{rel}:{i}: imports against the crates' direction: {line.strip()}")
    return out


def main() -> int:
    crates = sys.argv[1:] or CRATES
    bad = 0
    for problem in long_files(crates) + (wrong_way_imports() if not sys.argv[1:] else []):
        bad += 1
        print(problem)
    for crate in crates:
        src = ROOT / crate / "src"
        mods = modules(src)
        graph = {m: deps(m, strip_tests_and_comments(f.read_text()), mods) for m, f in mods.items()}
        for comp in sccs(graph):
            bad += 1
            names = ["::".join(m) or "lib" for m in comp]
            print(f"{crate}: import cycle among {len(comp)} modules: {', '.join(names)}")
            for m in comp:
                inside = sorted("::".join(d) or "lib" for d in graph[m] if d in comp)
                print(f"    {'::'.join(m) or 'lib'} -> {', '.join(inside)}")
    if bad:
        return 1
    print(f"architecture holds for {', '.join(crates)}: no import cycle, no file over {MAX_LINES} lines, crates one way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
