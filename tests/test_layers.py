"""The project's own rules: the import direction of DESIGN.md, and ruff."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# layer -> the packages of ours it may import
ALLOWED = {
    "indicators": set(),
    "warehouse": set(),
    "flows": {"warehouse", "indicators"},
    "app": {"warehouse", "indicators"},
}
OURS = set(ALLOWED)


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer):
    broken = [
        f"{path.relative_to(ROOT)}:{line} imports {package}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for line, package in _imports(path)
        if package in OURS and package != layer and package not in ALLOWED[layer]
    ]
    assert not broken, "\n".join(broken)


def test_indicators_do_no_io():
    """indicators/ is plain computation: no Prefect, no DuckDB, no files, no network."""
    forbidden = {"prefect", "duckdb", "streamlit", "httpx", "requests", "os", "pathlib"}
    found = [
        f"{path.name}:{line} imports {package}"
        for path in sorted((ROOT / "indicators").rglob("*.py"))
        for line, package in _imports(path)
        if package in forbidden
    ]
    assert not found, found


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
