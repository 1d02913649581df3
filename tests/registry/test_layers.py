"""The layering of the package, enforced: import-linter's contracts in pyproject.toml (layers, the
core never importing the built-in plugins, no cycles between the core's modules), every core module
placed in a layer, and no heavy library imported by the core at module level."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "s2rbench"
#: libraries the core may use only inside functions (a plugin or a device check needs them, `list` must not)
HEAVY = ("torch", "rdkit", "pymatgen", "matminer", "lightgbm", "ray", "s2rbench_plugins")


def _contracts() -> list[dict]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_import_linter_contracts_are_kept(capsys):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        import importlinter.cli as importlinter_cli  # CI installs the test extra: missing is a failure
    else:
        importlinter_cli = pytest.importorskip(
            "importlinter.cli", reason="install the test extra: pip install -e '.[test]'"
        )
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        rc = importlinter_cli.lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert rc == 0, out[-4000:]
    assert f"{len(_contracts())} kept, 0 broken" in out


def test_every_core_module_has_a_layer():
    """A new top-level module or subpackage must be placed in the layers contract, not slip past it."""
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    named = {part.strip().strip("()") for layer in layers for part in layer.split(":")}
    tops = {p.stem for p in CORE.glob("*.py") if p.stem not in ("__init__", "__main__")}
    tops |= {p.name for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    missing = sorted(f"s2rbench.{t}" for t in tops if f"s2rbench.{t}" not in named)
    assert not missing, f"place these in [tool.importlinter] layers of pyproject.toml: {missing}"


def _module_level_imports(tree: ast.AST):
    """Import statements that run when the module is imported (not inside a function body)."""
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            yield node, [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, [node.module]
        stack.extend(ast.iter_child_nodes(node))


def test_the_core_imports_no_heavy_library_at_module_level():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for node, names in _module_level_imports(ast.parse(path.read_text(), filename=str(path))):
            for name in names:
                if name.split(".")[0] in HEAVY:
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: import {name}")
    assert not offenders, "import these inside the functions that need them:\n" + "\n".join(offenders)


def test_the_module_level_scan_sees_what_it_must(tmp_path):
    """The scanner itself: module level, class bodies and `if` blocks count; function bodies do not."""
    tree = ast.parse(
        "import torch\nclass A:\n    import rdkit\nif True:\n    from pymatgen.core import X\n"
        "def f():\n    import lightgbm\n"
    )
    found = sorted(n for _, names in _module_level_imports(tree) for n in names)
    assert found == ["pymatgen.core", "rdkit", "torch"]
