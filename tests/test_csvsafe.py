"""Every CSV we export goes through alerts.csvsafe, the one writer that keeps formulas out."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_export_writes_csv_but_through_csvsafe():
    writers = {"writer", "DictWriter"}
    found = []
    for path in sorted([*(ROOT / "alerts").rglob("*.py"), *(ROOT / "channels").rglob("*.py")]):
        if path == ROOT / "alerts" / "csvsafe.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in writers and \
                    isinstance(node.value, ast.Name) and node.value.id == "csv":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "csv" and \
                    any(alias.name in writers for alias in node.names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], "write CSV with alerts.csvsafe.writer: " + ", ".join(found)
