#!/usr/bin/env python3
"""Checks ARCHITECTURE.md's dependency rules against `cargo metadata`.

The rules are the table under "## Dependency rules" in ARCHITECTURE.md: per workspace crate,
the workspace crates it depends on (exactly: the document must name every edge, and no edge may
exist that it does not name) and the packages it must not reach, directly or through any other
dependency (normal dependencies only; tests and benches may use more). Exit 0 when code and
document agree, else 1 with one line per disagreement.

Usage: python3 scripts/check_layers.py [ROOT]
"""
import json
import re
import subprocess
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
doc = (root / "ARCHITECTURE.md").read_text(encoding="utf-8")
m = re.search(r"^## Dependency rules\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
if not m:
    sys.exit("ARCHITECTURE.md has no '## Dependency rules' section")
rules = {}
for line in m.group(1).splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 3 or not cells[0].startswith("`gridmap-"):
        continue
    names = lambda s: {x.strip("` ") for x in s.split(",") if x.strip("` —-")}
    rules[cells[0].strip("`")] = (names(cells[1]), names(cells[2]))
if not rules:
    sys.exit("the '## Dependency rules' table lists no crate")

meta = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
)
ws = {p["id"] for p in meta["packages"] if p["id"] in meta["workspace_members"]}
name = {p["id"]: p["name"] for p in meta["packages"]}
# normal (non-dev, non-build) dependency edges of the resolved graph
edges = {}
for n in meta["resolve"]["nodes"]:
    edges[n["id"]] = [
        d["pkg"] for d in n["deps"]
        if any(k["kind"] is None for k in d["dep_kinds"])
    ]

problems = []
members = {name[i]: i for i in ws}
for crate in sorted(set(members) - set(rules)):
    problems.append(f"{crate}: a workspace crate the rules table does not list")
for crate, (allowed, forbidden) in sorted(rules.items()):
    if crate not in members:
        problems.append(f"{crate}: listed in ARCHITECTURE.md but not a workspace crate")
        continue
    direct = {name[d] for d in edges[members[crate]] if d in ws}
    for extra in sorted(direct - allowed):
        problems.append(f"{crate} depends on {extra}, which ARCHITECTURE.md does not allow")
    for missing in sorted(allowed - direct):
        problems.append(f"ARCHITECTURE.md says {crate} depends on {missing}; it does not")
    # everything reachable, with the path that reaches it
    seen, stack = {members[crate]: [crate]}, [members[crate]]
    while stack:
        cur = stack.pop()
        for d in edges.get(cur, []):
            if d not in seen:
                seen[d] = seen[cur] + [name[d]]
                stack.append(d)
    for pkg_id, path in seen.items():
        if name[pkg_id] in forbidden:
            problems.append(f"{crate} reaches {name[pkg_id]} ({' → '.join(path)}), which it must not")

# The diagram at the top ("cli ──▶ server, service, …") says the same as the table.
block = re.search(r"^```\n(.*?)^```", doc, re.S | re.M)
for line in (block.group(1).splitlines() if block else []):
    d = re.match(r"^(\w+)\s+──▶\s+(.*?)(?:\s{2,}\(.*)?$", line)
    if not d:
        continue
    crate = f"gridmap-{d.group(1)}"
    drawn = {f"gridmap-{x.strip()}" for x in d.group(2).split(",") if x.strip() and x.strip() != "(none)"}
    if crate in rules and drawn != rules[crate][0]:
        problems.append(f"the diagram draws {crate} → {sorted(drawn)}, the table says {sorted(rules[crate][0])}")

for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"dependency rules hold for {len(rules)} crates")
