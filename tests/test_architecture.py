"""The floors of the house, checked from the source: channels at the bottom, then the domain and
the dispatcher, then the web and the console, each importing only downward (docs/architecture.md).

Every import counts, wherever it is written: at the top, inside a function, or under
`TYPE_CHECKING`. A cycle hidden behind a late import is still a cycle to whoever reads the code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("alerts", "channels")
TOP_FLOOR = ("alerts.web", "alerts.console")
# The fake Twilio is a provider, not a client of one: it may speak Twilio's language.
TWILIO_HOMES = ("channels.twilio", "alerts.simulator")


def _modules(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imported_names(module: str, path: Path, source: str) -> set[str]:
    """Every dotted name `module` imports, from anywhere in its body."""
    names: set[str] = set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.update(f"{base}.{alias.name}" for alias in node.names)
            names.add(base)
    return names


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path = ROOT) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(edges between our modules, the outside top-level packages each module imports)."""
    modules = _modules(root)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    outside: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for name in _imported_names(module, path, path.read_text(encoding="utf-8")):
            target = _resolve(name, modules)
            if target is None:
                outside[module].add(name.split(".")[0])
            elif target != module:
                edges[module].add(target)
    # `from alerts.dispatch import queue` names both the package and its submodule; the edge that
    # matters is to the submodule, so drop a package when a submodule of it is imported as well.
    for module, targets in edges.items():
        edges[module] = {t for t in targets if not any(o.startswith(t + ".") for o in targets)}
    return edges, outside


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


EDGES, OUTSIDE = import_graph()


def test_the_graph_sees_late_and_type_checking_imports(tmp_path: Path) -> None:
    """The checker itself: an import inside a function or under TYPE_CHECKING is an edge."""
    (tmp_path / "alerts").mkdir()
    (tmp_path / "channels").mkdir()
    for package in ("alerts", "channels"):
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "alerts" / "a.py").write_text("def f():\n    from alerts import b\n")
    (tmp_path / "alerts" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from alerts.a import f\n")
    (tmp_path / "channels" / "c.py").write_text("from . import d\nimport twilio.rest\n")
    (tmp_path / "channels" / "d.py").write_text("")
    edges, outside = import_graph(tmp_path)
    assert edges["alerts.a"] == {"alerts.b"} and edges["alerts.b"] == {"alerts.a"}
    assert cycles(edges) == [["alerts.a", "alerts.b"]]
    assert edges["channels.c"] == {"channels.d"} and outside["channels.c"] == {"twilio"}


def test_there_are_modules_to_check() -> None:
    assert len(EDGES) > 50 and any(m.startswith("channels.") for m in EDGES)


def test_no_import_cycle() -> None:
    assert cycles(EDGES) == []


@pytest.mark.parametrize("module", sorted(m for m in EDGES if _under(m, ("channels",))))
def test_channels_know_nothing_of_the_app(module: str) -> None:
    assert not {t for t in EDGES[module] if _under(t, ("alerts",))}


@pytest.mark.parametrize("module", sorted(m for m in EDGES if not _under(m, TOP_FLOOR)))
def test_only_the_top_floor_imports_the_web_and_the_console(module: str) -> None:
    assert not {t for t in EDGES[module] if _under(t, TOP_FLOOR)}


@pytest.mark.parametrize("module", sorted(m for m in EDGES if not _under(m, TWILIO_HOMES)))
def test_only_channels_twilio_speaks_twilio(module: str) -> None:
    """The `twilio` library, Twilio's header names and its error-code prefix live in one folder;
    everything else asks channels/twilio/."""
    assert "twilio" not in OUTSIDE[module]
    source = _modules(ROOT)[module].read_text(encoding="utf-8")
    assert not re.search(r"X-Twilio-Signature|[\"']TWILIO_\d|f[\"']TWILIO_", source)
