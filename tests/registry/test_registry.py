"""The registry: collection through pluggy, validation of every registered object, the hooks of each
plugin, and one test per hook (`test_hook_<name>`; tests/registry/test_plugin_guide.py checks there is one
for every hookspec)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import types
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import install_plugin_package

from s2rbench import hookimpl, hookspecs
from s2rbench.featurizers import Featurizer
from s2rbench.models import Model
from s2rbench.samplers import Sampler

#: a few built-in plugins: enough for the tests below, cheap to load
HERMETIC = "cards,synthetic,linear,random-sampler"


class Mean(Model):
    name = "test-mean"
    version = "1.0"
    description = "mean of the real training targets"

    def fit_predict(self, block):
        return np.stack(
            [
                np.full(len(block.X_real), np.nanmean(block.y_train[t][block.train_mask[t]]))
                for t in range(block.n_trials)
            ]
        )


class NoVersion(Mean):
    name = "test-no-version"
    version = ""


class Unpicklable(Mean):
    name = "test-unpicklable"

    def __init__(self, **params):
        super().__init__(**params)
        self.lock = threading.Lock()


class Backwards(Sampler):
    name = "test-backwards"
    version = "1.0"

    def order(self, ctx, n_max):
        return np.arange(len(ctx.X_pool))[::-1].copy()


class FakeRidge(Mean):
    name = "ridge"


class FirstRidge(Mean):
    name = "ridge"


class Length(Featurizer):
    name = "test-length"
    version = "1.0"
    input_kind = "molecule"

    def canonicalize(self, inputs):
        return [s.strip() or None for s in inputs]

    def featurize_canonical(self, inputs):
        return np.array([[len(s)] for s in inputs], dtype=float)

    def feature_names(self):
        return ["length"]


def plugin(name: str, **hooks) -> types.ModuleType:
    """A plugin module whose functions are `hooks` (each marked with @hookimpl unless told otherwise)."""
    mod = types.ModuleType(name)
    for hook, fn in hooks.items():
        setattr(mod, hook, fn)
    return mod


@pytest.fixture
def registry_with(fresh_plugins):
    """Register in-process plugins beside a few built-in ones; return the built registry."""
    fresh_plugins.setenv("S2RBENCH_LOAD_PLUGINS", HERMETIC)
    from s2rbench import registry

    def build(*plugins_):
        for p in plugins_:
            registry.register_module(p, p.__name__, "9.9")
        return registry.get_registry()

    return build


def problems_naming(reg, plugin_name: str) -> list[str]:
    return [p for p in reg.problems if f"plugin {plugin_name!r}" in p]


def test_plugins_alias_is_the_registry_module():
    import s2rbench.plugins
    import s2rbench.registry

    assert s2rbench.plugins is s2rbench.registry
    from s2rbench.plugins import PluginInfo, get_model, get_registry, register_module, reset  # noqa: F401


def test_a_model_class_instead_of_an_instance_is_refused_and_the_rest_registers(registry_with):
    @hookimpl
    def register_models(register):
        register(Mean)  # the class: a classic mistake
        register(NoVersion())
        register(Unpicklable())
        register(object())
        good = Mean()
        register(good)

    reg = registry_with(plugin("mistakes", register_models=register_models))
    lines = problems_naming(reg, "mistakes")
    assert any("registered the model class Mean instead of an instance; call register(Mean())" in p for p in lines)
    assert any("model 'test-no-version' without a version" in p for p in lines)
    assert any("model 'test-unpicklable', which does not pickle" in p and "lock" in p for p in lines)
    assert any("registered a object as a model" in p and "s2rbench.models.Model" in p for p in lines)
    assert all("\n" not in p for p in lines) and len(lines) == 4
    assert "test-mean" in reg.models and "ridge" in reg.models  # the good object and the built-ins work
    assert {"test-no-version", "test-unpicklable"}.isdisjoint(reg.models)
    assert reg.origin[("models", "test-mean")].name == "mistakes"


def test_a_misspelled_hook_and_a_plugin_without_hooks_are_listed(registry_with):
    @hookimpl
    def register_model(register):  # the spec is register_models
        register(Mean())

    def register_samplers(register):  # forgot @hookimpl
        register(Backwards())

    reg = registry_with(
        plugin("typo", register_model=register_model),
        plugin("unmarked", register_samplers=register_samplers),
        plugin("empty"),
    )
    typo = problems_naming(reg, "typo")
    assert any(
        "implements 'register_model', which is not an s2rbench hook (did you mean 'register_models'?)" in p
        for p in typo
    )
    assert "test-mean" not in reg.models
    assert any(
        "implements no s2rbench hook; register_samplers lacks the @s2rbench.hookimpl marker" in p
        for p in problems_naming(reg, "unmarked")
    )
    assert any("implements no s2rbench hook" in p for p in problems_naming(reg, "empty"))
    assert reg.hooks["typo"] == [] and reg.hooks["linear"] == ["register_models"]


def test_duplicate_names_name_both_plugins_and_the_first_claim_wins(registry_with):
    @hookimpl
    def register_models(register):
        register(FakeRidge())

    reg = registry_with(plugin("impostor", register_models=register_models))
    assert any(
        "plugin 'impostor' registers model 'ridge', which plugin 'linear' already provides" in p for p in reg.problems
    )
    assert type(reg.models["ridge"]).__module__ == "s2rbench_plugins.models.linear"


def test_tryfirst_is_honoured_because_collection_goes_through_pluggy(registry_with):
    @hookimpl(tryfirst=True)
    def register_models(register):
        register(FirstRidge())

    reg = registry_with(plugin("eager", register_models=register_models))
    assert isinstance(reg.models["ridge"], FirstRidge)
    assert any(
        "plugin 'linear' registers model 'ridge', which plugin 'eager' already provides" in p for p in reg.problems
    )


# ---------------------------------------------------------------------------------------------
# one test per hook
# ---------------------------------------------------------------------------------------------


def test_hook_register_tasks(registry_with, tmp_path):
    """A TaskCard or a card path; a path that does not load is a problem, the other cards register."""
    from s2rbench.tasks import builtin_card_dir, load_card

    text = (builtin_card_dir() / "synthetic.toml").read_text()
    card_path = tmp_path / "mine.toml"
    card_path.write_text(text.replace('name = "synthetic"', 'name = "my-synthetic"', 1))
    (tmp_path / "other.toml").write_text(text.replace('name = "synthetic"', 'name = "my-other"', 1))
    assert 'name = "my-synthetic"' in card_path.read_text()

    @hookimpl
    def register_tasks(register):
        register(str(card_path))  # a path, as the hookspec promises
        register(load_card(tmp_path / "other.toml"))  # a card
        register(tmp_path / "missing.toml")

    reg = registry_with(plugin("path-cards", register_tasks=register_tasks))
    assert reg.tasks["my-synthetic"].name == "my-synthetic" and "my-other" in reg.tasks and "synthetic" in reg.tasks
    assert [p for p in problems_naming(reg, "path-cards") if "missing.toml does not exist" in p]
    from s2rbench.catalog import catalog

    assert "my-synthetic" in {r["name"] for r in catalog("tasks")["tasks"]}  # `s2rbench list` no longer crashes


def test_hook_register_models(registry_with):
    @hookimpl
    def register_models(register):
        register(Mean())

    reg = registry_with(plugin("means", register_models=register_models))
    assert reg.models["test-mean"].version == "1.0" and reg.hooks["means"] == ["register_models"]
    from s2rbench.plugins import plugin_of

    assert plugin_of("models", "test-mean").version == "9.9"


def test_hook_register_featurizers(registry_with):
    @hookimpl
    def register_featurizers(register):
        register(Length())
        register(Length)

    reg = registry_with(plugin("lengths", register_featurizers=register_featurizers))
    assert "test-length" in reg.featurizers
    assert any("registered the featurizer class Length instead of an instance" in p for p in reg.problems)
    import s2rbench

    assert s2rbench.featurize("test-length", ["ab", "abcd"]).tolist() == [[2.0], [4.0]]


def test_hook_register_loaders(registry_with):
    def loader(card, data_dir=None):
        raise AssertionError("not called here")

    @hookimpl
    def register_loaders(register):
        register("test-loader", loader)
        register("not-callable", 42)
        register(loader)  # wrong arity

    reg = registry_with(plugin("loads", register_loaders=register_loaders))
    assert reg.loaders["test-loader"] is loader and "not-callable" not in reg.loaders
    lines = problems_naming(reg, "loads")
    assert any("loader 'not-callable', which is not callable" in p for p in lines)
    assert any("call register(name, function) in register_loaders" in p for p in lines)


def test_hook_register_samplers(registry_with):
    @hookimpl
    def register_samplers(register):
        register(Backwards())

    reg = registry_with(plugin("backwards", register_samplers=register_samplers))
    assert reg.samplers["test-backwards"].version == "1.0" and "random" in reg.samplers


COMMAND_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "s2rbench-hello"
version = "0.4.0"

[project.entry-points.s2rbench]
hello = "s2rbench_hello"
hello-broken = "s2rbench_hello_broken"
hello-thief = "s2rbench_hello_thief"
mixed = "s2rbench_mixed"

[tool.setuptools]
py-modules = ["s2rbench_hello", "s2rbench_hello_broken", "s2rbench_hello_thief", "s2rbench_mixed"]
"""

HELLO = '''
import click
from s2rbench import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("name")
    def hello(name):
        """Greet NAME (a third-party command)."""
        click.echo(f"hello {name}")
'''

BROKEN = """
from s2rbench import hookimpl


@hookimpl
def register_commands(cli):
    raise RuntimeError("this command plugin is broken on purpose")
"""

THIEF = """
import click
from s2rbench import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command("run")
    def run():
        click.echo("stolen")
"""

MIXED = """
import threading
import numpy as np
from s2rbench import hookimpl
from s2rbench.featurizers import Featurizer
from s2rbench.models import Model


class Good(Model):
    name = "mixed-good"
    version = "1.0"

    def fit_predict(self, block):
        return np.zeros((block.n_trials, len(block.X_real)))


class Locked(Good):
    name = "mixed-locked"

    def __init__(self, **params):
        super().__init__(**params)
        self.lock = threading.Lock()


@hookimpl
def register_models(register):
    register(Good)
    register(Locked())
    register(Good())


@hookimpl
def register_model(register):
    pass
"""


@pytest.fixture(scope="module")
def hello_site(tmp_path_factory) -> Path:
    return install_plugin_package(
        tmp_path_factory.mktemp("hello"),
        COMMAND_PYPROJECT,
        {
            "s2rbench_hello": HELLO,
            "s2rbench_hello_broken": BROKEN,
            "s2rbench_hello_thief": THIEF,
            "s2rbench_mixed": MIXED,
        },
    )


def _cli(args, site, tmp_path, plugins="hello,hello-broken,hello-thief,mixed," + HERMETIC):
    env = {**os.environ, "PYTHONPATH": str(site), "S2RBENCH_LOAD_PLUGINS": plugins}
    return subprocess.run(
        [sys.executable, "-m", "s2rbench.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


def test_hook_register_commands(hello_site, tmp_path):
    """A pip-installed package adds a command; a broken one and one that steals `run` are listed
    problems, and every other command keeps working."""
    res = _cli(["hello", "world"], hello_site, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "hello world"
    listing = _cli(["plugins", "--json"], hello_site, tmp_path)
    assert listing.returncode == 0, listing.stderr
    data = json.loads(listing.stdout)
    rows = {p["name"]: p for p in data["plugins"]}
    assert rows["hello"]["hooks"] == ["register_commands"] and rows["hello"]["distribution"] == "s2rbench-hello"
    assert rows["task-commands"]["hooks"] == ["register_commands"]  # the core's own families come the same way
    assert rows["hello"]["provides"] == {"commands": ["hello"]} and rows["hello-thief"]["provides"] == {}
    assert rows["task-commands"]["provides"] == {"commands": ["task"]}
    problems = data["problems"]
    assert any(
        "plugin 'hello-broken' failed in register_commands: RuntimeError: this command plugin is broken" in p
        for p in problems
    )
    assert any("plugin 'hello-thief' adds command 'run', which 's2rbench' already provides" in p for p in problems)
    # each refused object of `mixed` is one line; its good model registers
    mixed = [p for p in problems if "plugin 'mixed'" in p]
    assert len(mixed) == 3, mixed
    assert any("model class Good instead of an instance" in p for p in mixed)
    assert any("'mixed-locked', which does not pickle" in p for p in mixed)
    assert any("'register_model', which is not an s2rbench hook (did you mean 'register_models'?)" in p for p in mixed)
    assert rows["mixed"]["provides"] == {"models": ["mixed-good"]}
    run_help = _cli(["run", "--help"], hello_site, tmp_path)
    assert run_help.returncode == 0 and "standardized sweep" in run_help.stdout  # not the thief's
    text = _cli(["plugins"], hello_site, tmp_path)
    assert text.returncode == 0 and "Traceback" not in text.stderr
    assert "Problem: plugin 'hello-broken' failed in register_commands" in text.stderr
    assert "commands" in next(line for line in text.stdout.splitlines() if line.startswith("hello "))
    listed = _cli(["list", "models", "--json"], hello_site, tmp_path)
    assert listed.returncode == 0 and {"mixed-good", "ridge"} <= {
        m["name"] for m in json.loads(listed.stdout)["models"]
    }


def test_register_commands_in_process_restores_a_replaced_command():
    from s2rbench.registry import get_plugin_manager, register_commands

    group = click.Group("g")

    @group.command("keep")
    def keep():
        click.echo("kept")

    class Thief:
        @staticmethod
        @hookimpl
        def register_commands(cli):
            @cli.command("keep")
            def other():
                click.echo("stolen")

    pm = get_plugin_manager()
    pm.register(Thief, name="thief-in-process")
    try:
        problems = register_commands(group)
    finally:
        pm.unregister(name="thief-in-process")
    assert any("'thief-in-process' adds command 'keep'" in p for p in problems)
    assert CliRunner().invoke(group, ["keep"]).output.strip() == "kept"


def test_every_hookspec_has_a_test_here():
    names = sorted(n for n in dir(hookspecs) if n.startswith("register_"))
    assert names == [
        "register_commands",
        "register_featurizers",
        "register_loaders",
        "register_models",
        "register_samplers",
        "register_tasks",
    ]
    missing = [n for n in names if f"test_hook_{n}" not in globals()]
    assert not missing, f"hooks without a test_hook_<name> in tests/registry/test_registry.py: {missing}"
