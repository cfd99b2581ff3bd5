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


# --- the warehouse owns its tables; one config --------------------------------------------------
def _calls(path, names: set[str]):
    """(line, name) of every call `<anything>.<name>(...)` in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in names):
            yield node.lineno, node.func.attr


# The validation benchmark times DuckDB itself on an in-memory copy of its frames, as one of
# the baselines: no warehouse is involved. The scale benchmark times storage layouts DuckDB
# could read (one file, Parquet partitions) on synthetic copies of the observations. The
# reliability benchmark reads the published file as another program would, while it is replaced.
NOT_THE_WAREHOUSE = {ROOT / "benchmarks" / "validation.py", ROOT / "benchmarks" / "scale.py",
                     ROOT / "benchmarks" / "reliability.py"}


def _outside(folder: str):
    """The project's Python files outside `folder` (tests build their own fixtures)."""
    for layer in (*ALLOWED, "docs", "benchmarks"):
        if layer != folder:
            yield from (path for path in sorted((ROOT / layer).rglob("*.py"))
                        if path not in NOT_THE_WAREHOUSE)


def test_no_sql_outside_the_warehouse():
    """Every statement on a warehouse table lives in warehouse/, behind named functions:
    nothing else runs SQL or holds a DuckDB module of its own."""
    found = [f"{path.relative_to(ROOT)}:{line} calls .{name}("
             for path in _outside("warehouse")
             for line, name in _calls(path, {"execute", "executemany", "sql", "query"})]
    found += [f"{path.relative_to(ROOT)}:{line} imports duckdb"
              for path in _outside("warehouse")
              for line, package in _imports(path) if package == "duckdb"]
    assert not found, "\n".join(found)


# The commands: each parses the config file once, at its start, and hands the parts on.
ENTRY_POINTS = {
    "app/cli.py", "app/ui.py", "flows/cli.py", "docs/screenshot.py",
    "flows/sources/catalog.py",  # read_config: the file with the sources' own settings
    "flows/refresh.py",  # a scheduled run's process starts in the flow (citybench serve)
}


def test_the_config_file_is_read_in_one_place():
    """Only warehouse/config.py knows the file (its name, its variable); only the commands'
    entry points ask it to read the file, never a source or a step on its way."""
    # the model, and the paths it reads without the model (for `compare`, pydantic-free)
    mine = {ROOT / "warehouse" / "config.py", ROOT / "warehouse" / "config_paths.py"}
    every = [*_outside("warehouse"), *sorted((ROOT / "warehouse").rglob("*.py"))]
    found = [f"{path.relative_to(ROOT)}: {mark}"
             for path in every if path not in mine
             for mark in ('"citybench.toml"', "CITYBENCH_CONFIG")
             if mark in path.read_text(encoding="utf-8")]
    found += [f"{path.relative_to(ROOT)}:{line} reads the config file"
              for path in every if str(path.relative_to(ROOT)) not in ENTRY_POINTS
              for line, name in _config_reads(path)]
    assert not found, "\n".join(found)


def _config_reads(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "read"
                and isinstance(func.value, ast.Name) and func.value.id == "config"):
            yield node.lineno, "config.read"
        elif isinstance(func, ast.Name) and func.id == "read_config":
            yield node.lineno, "read_config"
