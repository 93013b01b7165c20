"""The layout the README promises: a light command line, one-way dependencies, small modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "camwatch"
HEAVY = ("av", "cv2", "sqlalchemy", "camwatch.sim", "numpy", "alembic", "matplotlib")
COMMANDS = ("check-config", "check", "db", "run", "status", "incidents", "maintenance", "alerts", "discover",
            "report", "sim", "demo")


def imported_by(argv: list[str]) -> set[str]:
    code = ("import sys\nfrom camwatch.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert "usage: camwatch" in r.stdout, r.stdout + r.stderr
    return set(r.stderr.split())


@pytest.mark.parametrize("argv", [["--help"], *[[c, "--help"] for c in COMMANDS]])
def test_help_loads_nothing_heavy(argv: list[str]) -> None:
    mods = imported_by(argv)
    loaded = sorted(m for m in mods if m.split(".")[0] in HEAVY or m.startswith(("camwatch.sim", "camwatch.web")))
    assert loaded == [], loaded


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_pure_modules_import_only_values_and_settings() -> None:
    for name in ("analysis", "health", "uptime", "words"):
        files = sorted((PACKAGE / name).glob("*.py")) if (PACKAGE / name).is_dir() else [PACKAGE / f"{name}.py"]
        assert files, name
        for path in files:  # a pure package may import itself
            ours = {m for m in _imports(path) if m.startswith("camwatch") and not m.startswith(f"camwatch.{name}")}
            assert ours <= {"camwatch.model", "camwatch.config.settings"}, (path.name, ours)


def test_the_store_imports_neither_probes_nor_analysis() -> None:
    for path in (PACKAGE / "store").glob("*.py"):
        bad = {m for m in _imports(path) if m.startswith(("camwatch.probe", "camwatch.analysis", "camwatch.pipeline"))}
        assert not bad, (path.name, bad)


def test_no_sql_in_the_command_line() -> None:
    sql = {"select", "insert", "update", "delete", "text", "func", "and_", "or_", "Table"}
    for path in (PACKAGE / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {a.name for a in node.names}
                assert not (node.module.startswith("sqlalchemy") and names & sql), (path.name, names)
                assert not node.module.startswith("camwatch.store.schema"), path.name


def test_modules_and_classes_stay_small() -> None:
    big = []
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 420:
            big.append((str(path.relative_to(PACKAGE)), len(text.splitlines())))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno and node.end_lineno - node.lineno > 160:
                big.append((f"{path.name}:{node.name}", node.end_lineno - node.lineno))
    assert big == []
