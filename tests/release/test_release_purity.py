"""The release core in bot/sansio/ stays pure: no network library, no I/O module, no clock."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SANSIO = Path(__file__).resolve().parents[2] / "bot" / "sansio"
RELEASE_MODULES = ["commits", "history", "versioning", "changelog", "forge_links", "release_config"]
ALLOWED_IMPORTS = {"__future__", "collections", "dataclasses", "enum", "functools", "itertools", "operator",
                   "re", "types", "typing", "urllib", "semver", "bot"}
CLOCK_CALLS = {("time", "time"), ("time", "monotonic"), ("datetime", "now"), ("datetime", "utcnow"),
               ("date", "today"), ("datetime", "today")}


def tree(name: str) -> ast.Module:
    return ast.parse((SANSIO / f"{name}.py").read_text())


class TestSansioPurity:
    @pytest.mark.parametrize("name", RELEASE_MODULES)
    def test_imports(self, name):
        """Only the standard library's pure modules, semver and bot.sansio are imported."""
        imported = set()
        for node in ast.walk(tree(name)):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
                if node.module and node.module.startswith("bot") and not node.module.startswith("bot.sansio"):
                    pytest.fail(f"{name}.py imports {node.module}, outside bot.sansio")
        assert {module.split(".")[0] for module in imported} <= ALLOWED_IMPORTS

    @pytest.mark.parametrize("name", RELEASE_MODULES)
    def test_no_clock(self, name):
        """Nothing reads the clock: dates are passed in."""
        calls = {(node.func.value.id, node.func.attr) for node in ast.walk(tree(name))
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                 and isinstance(node.func.value, ast.Name)}
        assert not calls & CLOCK_CALLS

    @pytest.mark.parametrize("name", RELEASE_MODULES)
    def test_size_and_docstring(self, name):
        """Each module opens with a one-line summary and stays around 300 lines at most."""
        source = (SANSIO / f"{name}.py").read_text()
        docstring = ast.get_docstring(tree(name))
        assert docstring and docstring.splitlines()[0].endswith(".")
        assert len(source.splitlines()) <= 300
