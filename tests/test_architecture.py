"""Data flows one way: a module of ``sim`` imports only packages listed below its own in the layer diagram of
docs/architecture.md (or modules of its own package). The order is read from that diagram, so the test and
the document cannot drift apart."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "sim"


def layers() -> list[str]:
    """Top-level parts of ``sim`` (packages and single modules) in the diagram's order, top first."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    return [m.group(1) for m in re.finditer(r"^sim/(\w+)(?:/|\.py)\s", block, re.MULTILINE)]


def top_part(path: Path) -> str | None:
    rel = path.relative_to(SIM).with_suffix("")
    name = rel.parts[0]
    return None if name in ("__init__", "__main__") else name


def sim_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level part of sim) of every absolute ``sim.*`` import in a file, lazy ones included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        out += [(node.lineno, n.split(".")[1]) for n in names if n.startswith("sim.") and n.count(".") >= 1]
    return out


def test_the_diagram_lists_every_part_of_the_package():
    order = layers()
    parts = {top_part(p) for p in SIM.rglob("*.py")} - {None}
    assert len(order) == len(set(order)), order
    assert parts - set(order) == set(), "add these to the diagram in docs/architecture.md"
    assert set(order) - parts == set(), "the diagram names parts that do not exist"


def upward(path: Path, part: str, rank: dict[str, int]) -> list[str]:
    """The imports of ``path`` (a module of layer ``part``) that reach a layer above it."""
    return [f"{path.name}:{line} ({part}) imports sim.{target}" for line, target in sim_imports(path)
            if target in rank and rank[target] < rank[part]]


def test_no_module_imports_a_layer_above_its_own():
    rank = {name: i for i, name in enumerate(layers())}
    bad = []
    for path in sorted(SIM.rglob("*.py")):
        part = top_part(path)
        if part is not None:
            bad += [f"{path.parent.relative_to(ROOT)}/{b}" for b in upward(path, part, rank)]
    assert not bad, "\n".join(bad)


def test_the_scan_finds_an_upward_import_even_inside_a_function(tmp_path):
    rank = {name: i for i, name in enumerate(layers())}
    assert rank["cli"] < rank["engine"] < rank["dram"] < rank["config"]
    mod = tmp_path / "m.py"
    mod.write_text("from sim.config.units import parse_quantity\n\ndef f():\n    from sim.engine import replay\n")
    assert upward(mod, "dram", rank) == ["m.py:4 (dram) imports sim.engine"]
    assert upward(mod, "cli", rank) == []
