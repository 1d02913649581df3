"""Meta-tests in the manner of datasette: docs/plugins.md documents every hook of hookspecs.py with
its exact signature and a worked example, and each example works (it registers, and its object
passes the check kit)."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest

from s2rbench import hookspecs, testing

REPO = Path(__file__).resolve().parents[2]
GUIDE = (REPO / "docs" / "plugins.md").read_text()
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("register_"))
HEADING = re.compile(r"^### (register_\w+)\(([^)]*)\)\s*$", re.M)


def _sections() -> dict[str, tuple[str, str]]:
    """hook -> (documented parameters, the section's text up to the next heading)."""
    out = {}
    marks = list(HEADING.finditer(GUIDE))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else GUIDE.find("\n## ", mark.end())
        out[mark.group(1)] = (mark.group(2), GUIDE[mark.end() : end if end > 0 else len(GUIDE)])
    return out


def _example(section: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "no python example"
    return blocks[-1]


def test_every_hook_is_documented_with_its_exact_signature():
    sections = _sections()
    assert sorted(sections) == HOOKS, f"documented {sorted(sections)}, hookspecs.py has {HOOKS}"
    for hook, (params, _) in sections.items():
        spec = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
        assert params.replace(" ", "") == spec.replace(" ", ""), f"{hook}: documented ({params}), hookspecs.py ({spec})"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_worked_example_that_implements_it(hook):
    params, section = _sections()[hook]
    code = _example(section)
    assert "@hookimpl" in code and re.search(rf"^def {hook}\({re.escape(params)}\):", code, re.M), hook


def test_the_guide_covers_the_contracts_a_plugin_author_needs():
    for phrase in (
        "TaskTables",
        "loader(card: TaskCard, data_dir",
        "once per table",
        "chunk",
        "must pickle",
        "state_bytes",
        "selected",
        "check_params",
        "parametrize_with_checks",
        "S2RBENCH_LOAD_PLUGINS",
        "tryfirst",
    ):
        assert phrase in GUIDE, phrase


def _run_example(hook: str, tmp_path: Path) -> types.ModuleType:
    """Import the example as a real module (what it registers must pickle, by reference to it)."""
    import importlib
    import sys

    name = f"guide_{hook}_{tmp_path.name}".replace("-", "_")
    (tmp_path / f"{name}.py").write_text(_example(_sections()[hook][1]))
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def test_the_worked_examples_register_and_pass_the_check_kit(fresh_plugins, tmp_path):
    fresh_plugins.setenv("S2RBENCH_LOAD_PLUGINS", "cards,synthetic")
    fresh_plugins.syspath_prepend(str(tmp_path))  # the examples' classes pickle by reference to their module
    from s2rbench import registry
    from s2rbench.tasks import builtin_card_dir

    (tmp_path / "cards").mkdir()
    text = (builtin_card_dir() / "synthetic.toml").read_text()
    (tmp_path / "cards" / "guide.toml").write_text(text.replace('name = "synthetic"', 'name = "guide-task"', 1))
    mods = {hook: _run_example(hook, tmp_path) for hook in HOOKS if hook != "register_commands"}
    for hook, mod in mods.items():
        registry.register_module(mod, f"guide-{hook}", "1")
    reg = registry.get_registry()
    assert not [p for p in reg.problems if "guide-" in p], reg.problems
    assert "guide-task" in reg.tasks and "squares" in reg.loaders
    tables = reg.loaders["squares"](None)
    assert list(tables.sim.columns) == ["input", "target"] and len(tables.real) == 40
    testing.check_model(reg.models["meanshift"])
    testing.check_featurizer(reg.featurizers["element-count"])
    testing.check_sampler(reg.samplers["shortest-first"])


def test_the_command_example_adds_a_command(tmp_path):
    import click
    from click.testing import CliRunner

    group = click.Group("s2rbench")
    _run_example("register_commands", tmp_path).register_commands(group)
    assert CliRunner().invoke(group, ["hello", "you"]).output == "hello you\n"
