"""The registry: plugins are loaded once, their hooks are called through pluggy, and every object
they register is validated as it arrives and tagged with the plugin that gave it.

Why validate at registration: a model *class* instead of an instance, an object without a version,
or a model that does not pickle used to be accepted here and crash much later (in an executor, in a
Ray worker, in a provenance record). Now each such object is refused with one line in
``registry.problems`` naming the plugin and the fix, and everything else keeps working.

Why go through pluggy (``pm.hook.<name>.get_hookimpls()``) rather than ``getattr(plugin, hook)``:
pluggy's markers (``tryfirst``/``trylast``, ``specname``) are honoured, and a function that looks
like a hook but has no spec (``register_model``) is found and reported instead of silently ignored.

Order of collection (who claims a name first when two plugins register the same one): ``tryfirst``
impls, then plain ones, then ``trylast``; within each, s2rbench's own plugins before the others,
then by plugin name. The first claim wins; the later one is a listed problem naming both plugins.

Built-in plugins (package ``s2rbench_plugins``) come through this project's own entry points,
exactly like a third-party package. ``S2RBENCH_LOAD_PLUGINS`` (comma-separated entry-point names)
restricts which plugins load, which keeps tests hermetic; an empty value loads none. The core's
own command families (entry points into ``s2rbench.cli``) are part of the command line, not a
choice: they always load.

Loading a plugin must stay cheap (``s2rbench list`` answers in well under a second): plugin
modules import their heavy libraries (torch, RDKit, pymatgen, LightGBM) inside the methods that
use them, never at module level; ``tests/registry/test_startup.py`` holds them to it.
"""

from __future__ import annotations

import difflib
import os
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import S2RBenchError

GROUP = "s2rbench"

#: hooks whose objects land in the registry: hook name -> registry kind
OBJECT_HOOKS = {
    "register_tasks": "tasks",
    "register_models": "models",
    "register_featurizers": "featurizers",
    "register_loaders": "loaders",
    "register_samplers": "samplers",
}
#: every hook of hookspecs.py (the object hooks and ``register_commands``)
HOOKS = tuple(sorted(name for name in dir(hookspecs) if name.startswith("register_")))

_CORE_COMMANDS = "s2rbench.cli"  # entry points into the core's command line always load


class PluginWarning(UserWarning):
    """A plugin failed to load, registered something invalid, or claimed a name another plugin has."""


@dataclass(frozen=True)
class PluginInfo:
    """Where an object came from; recorded with every result (its fields are part of the stored config)."""

    name: str
    module: str
    distribution: str
    version: str


@dataclass
class Registry:
    """Everything the loaded plugins registered, keyed by name, each with its plugin."""

    tasks: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    featurizers: dict[str, Any] = field(default_factory=dict)
    loaders: dict[str, Callable] = field(default_factory=dict)
    samplers: dict[str, Any] = field(default_factory=dict)
    origin: dict[tuple[str, str], PluginInfo] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    #: plugin name -> the hooks it implements (sorted)
    hooks: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def provided_by(self, plugin: PluginInfo) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for (kind, name), info in self.origin.items():
            if info == plugin:
                out.setdefault(kind, []).append(name)
        return {k: sorted(v) for k, v in sorted(out.items())}

    def hooks_of(self, plugin: PluginInfo | str) -> list[str]:
        return list(self.hooks.get(plugin if isinstance(plugin, str) else plugin.name, []))


_pm: pluggy.PluginManager | None = None
_registry: Registry | None = None
_infos: dict[str, PluginInfo] = {}
_load_problems: list[str] = []
#: problems of `register_commands` (the command group outlives `reset`, and so do they)
_command_problems: list[str] = []
#: command name -> the plugin that added it (shown as "provides: commands" by `s2rbench plugins`)
_command_owner: dict[str, str] = {}


def _allowed() -> set[str] | None:
    raw = os.environ.get("S2RBENCH_LOAD_PLUGINS")
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def _problem(problems: list[str], msg: str) -> None:
    problems.append(msg)
    warnings.warn(msg, PluginWarning, stacklevel=3)


def get_plugin_manager() -> pluggy.PluginManager:
    """Build the manager once, loading every allowed entry point; a broken plugin is reported, not fatal."""
    global _pm
    if _pm is not None:
        return _pm
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    allowed = _allowed()
    _load_problems.clear()
    for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
        core_command = ep.value.split(":")[0].startswith(_CORE_COMMANDS)
        if allowed is not None and ep.name not in allowed and not core_command:
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            module=ep.value,
            distribution=dist.name if dist else "?",
            version=dist.version if dist else "?",
        )
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # a broken third-party plugin must not take the others down
            _load_problems.append(  # warned when the registry is built, inside a command
                f"plugin {ep.name!r} ({info.distribution} {info.version}) failed to load: {type(exc).__name__}: {exc}",
            )
            continue
        _infos[ep.name] = info
    _pm = pm
    return pm


def register_module(module: Any, name: str, version: str = "0") -> None:
    """Register a plugin object in-process (for notebooks and tests), as if it came by entry point."""
    global _registry
    pm = get_plugin_manager()
    pm.register(module, name=name)
    _infos[name] = PluginInfo(
        name=name, module=getattr(module, "__name__", repr(module)), distribution=name, version=version
    )
    _registry = None


def reset() -> None:
    """Forget the manager and registry (tests use it after changing S2RBENCH_LOAD_PLUGINS)."""
    global _pm, _registry
    _pm = None
    _registry = None
    _infos.clear()


def _info(plugin_name: str) -> PluginInfo:
    return _infos.get(plugin_name) or PluginInfo(plugin_name, plugin_name, plugin_name, "?")


def _ordered_impls(pm: pluggy.PluginManager, hook: str) -> list[pluggy.HookImpl]:
    """The hook's impls in collection order: tryfirst, plain, trylast; s2rbench's own first; by name."""

    def key(impl: pluggy.HookImpl) -> tuple[int, int, str]:
        tier = 0 if impl.tryfirst else 2 if impl.trylast else 1
        own = 0 if _info(impl.plugin_name).distribution == "s2rbench" else 1
        return (tier, own, impl.plugin_name)

    return sorted(getattr(pm.hook, hook).get_hookimpls(), key=key)


# ---------------------------------------------------------------------------------------------
# validation of one registered object
# ---------------------------------------------------------------------------------------------


def _base_class(kind: str) -> type:
    if kind == "models":
        from .contracts.model import Model

        return Model
    if kind == "featurizers":
        from .contracts.featurizer import Featurizer

        return Featurizer
    if kind == "samplers":
        from .contracts.sampler import Sampler

        return Sampler
    from .cards.card import TaskCard

    return TaskCard


_PUBLIC_BASE = {
    "models": "s2rbench.models.Model",
    "featurizers": "s2rbench.featurizers.Featurizer",
    "samplers": "s2rbench.samplers.Sampler",
    "tasks": "s2rbench.tasks.TaskCard",
}


def _check_object(kind: str, obj: Any, plugin_name: str) -> str | None:
    """One line saying why `obj` cannot be registered as a `kind`, or None when it can."""
    what = kind[:-1]
    who = f"plugin {plugin_name!r}"
    base = _base_class(kind)
    if isinstance(obj, type):
        if issubclass(obj, base):
            return (
                f"{who} registered the {what} class {obj.__name__} instead of an instance; "
                f"call register({obj.__name__}()); it is ignored"
            )
        return f"{who} registered the class {obj.__name__}, which is not a {_PUBLIC_BASE[kind]}; it is ignored"
    if not isinstance(obj, base):
        return (
            f"{who} registered a {type(obj).__name__} as a {what}; register an instance of a "
            f"{_PUBLIC_BASE[kind]} subclass; it is ignored"
        )
    name = getattr(obj, "name", "")
    if not isinstance(name, str) or not name.strip():
        return f"{who} registered a {what} ({type(obj).__name__}) without a name; set `name`; it is ignored"
    version = getattr(obj, "version", "")
    if not isinstance(version, str) or not version.strip():
        return (
            f'{who} registered {what} {name!r} without a version; set `version = "1.0"` (a string; it goes '
            "into every result); it is ignored"
        )
    if kind != "tasks":  # the Ray executor ships models and samplers to workers, and prepared featurizers
        try:
            pickle.dumps(obj)
        except Exception as exc:
            return (
                f"{who} registered {what} {name!r}, which does not pickle ({type(exc).__name__}: {exc}); "
                "executors ship it to worker processes: keep open handles, locks and lambdas out of its "
                "attributes; it is ignored"
            )
    return None


# ---------------------------------------------------------------------------------------------
# collection
# ---------------------------------------------------------------------------------------------


def _make_register(kind: str, store: dict, plugin_name: str, registry: Registry) -> Callable[..., None]:
    info = _info(plugin_name)
    what = kind[:-1]

    def register(*args: Any) -> None:
        if kind == "loaders":
            if len(args) != 2:
                _problem(
                    registry.problems, f"plugin {plugin_name!r}: call register(name, function) in register_loaders"
                )
                return
            name, obj = args
            if not isinstance(name, str) or not name.strip():
                _problem(registry.problems, f"plugin {plugin_name!r} registered a loader without a name; it is ignored")
                return
            if not callable(obj):
                _problem(
                    registry.problems,
                    f"plugin {plugin_name!r} registered loader {name!r}, which is not callable; it is ignored",
                )
                return
        else:
            if len(args) != 1:
                _problem(
                    registry.problems,
                    f"plugin {plugin_name!r} called register with {len(args)} arguments in register_{kind}; "
                    f"call register({what}) once per {what}",
                )
                return
            (obj,) = args
            if kind == "tasks" and isinstance(obj, (str, os.PathLike)):
                from .cards.card import load_card

                try:
                    obj = load_card(obj)
                except S2RBenchError as exc:
                    _problem(registry.problems, f"plugin {plugin_name!r}: {exc}")
                    return
            bad = _check_object(kind, obj, plugin_name)
            if bad:
                _problem(registry.problems, bad)
                return
            name = obj.name
        if name in store:
            first = registry.origin[(kind, name)].name
            _problem(
                registry.problems,
                f"plugin {plugin_name!r} registers {what} {name!r}, which plugin {first!r} already provides; "
                f"{plugin_name!r}'s is ignored (uninstall one or rename it)",
            )
            return
        store[name] = obj
        registry.origin[(kind, name)] = info

    return register


def _check_hooks(pm: pluggy.PluginManager, registry: Registry) -> None:
    """Record each plugin's hooks; a plugin with none, or with a function no spec knows, is a problem."""
    for plugin_name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        callers = pm.get_hookcallers(plugin) or []
        names = sorted(c.name for c in callers)
        registry.hooks[plugin_name] = [n for n in names if n in HOOKS]
        for unknown in (n for n in names if n not in HOOKS):
            impls = [i for i in getattr(pm.hook, unknown).get_hookimpls() if i.plugin_name == plugin_name]
            if all(i.optionalhook for i in impls):
                continue
            close = difflib.get_close_matches(unknown, HOOKS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (hooks: {', '.join(HOOKS)})"
            _problem(
                registry.problems,
                f"plugin {plugin_name!r} implements {unknown!r}, which is not an s2rbench hook{hint}; it is ignored",
            )
        if not names:
            unmarked = [h for h in HOOKS if callable(getattr(plugin, h, None))]
            hint = (
                f"; {', '.join(unmarked)} lacks the @s2rbench.hookimpl marker"
                if unmarked
                else f"; mark its functions with @s2rbench.hookimpl (hooks: {', '.join(HOOKS)})"
            )
            _problem(registry.problems, f"plugin {plugin_name!r} implements no s2rbench hook{hint}")


def _collect(pm: pluggy.PluginManager, registry: Registry) -> None:
    for hook, kind in OBJECT_HOOKS.items():
        store = getattr(registry, kind)
        for impl in _ordered_impls(pm, hook):
            try:
                impl.function(register=_make_register(kind, store, impl.plugin_name, registry))
            except S2RBenchError as exc:
                _problem(registry.problems, f"plugin {impl.plugin_name!r}: {exc}")
            except Exception as exc:  # one broken plugin must not take the others down
                _problem(
                    registry.problems, f"plugin {impl.plugin_name!r} failed in {hook}: {type(exc).__name__}: {exc}"
                )


def get_registry() -> Registry:
    """The registry of everything the loaded plugins provide (built once per process)."""
    global _registry
    if _registry is None:
        pm = get_plugin_manager()
        registry = Registry()
        for msg in [*_load_problems, *_command_problems]:  # recorded at import time, shown now
            _problem(registry.problems, msg)
        registry.plugins = [_infos[name] for name in sorted(_infos)]
        _check_hooks(pm, registry)
        _collect(pm, registry)
        # user task-card directories (S2RBENCH_TASKS_PATH) are registered like a plugin's cards
        from .cards.user import TASKS_PATH_ENV, user_cards

        found = user_cards(set(registry.tasks))
        for card, directory in found.cards:
            registry.tasks[card.name] = card
            registry.origin[("tasks", card.name)] = PluginInfo(TASKS_PATH_ENV, directory, "user cards", card.version)
        for msg in found.problems:
            _problem(registry.problems, msg)
        for command, plugin_name in sorted(_command_owner.items()):
            if plugin_name in _infos:
                registry.origin[("commands", command)] = _infos[plugin_name]
        _registry = registry
    return _registry


def register_commands(cli: Any) -> list[str]:
    """Let every plugin's ``register_commands(cli)`` add its commands to the click group `cli`.

    A plugin that raises, or that tries to replace a command another plugin (or the core) already
    has, is a listed problem; its commands are dropped and every other command keeps working.
    Problems are recorded, not warned (this runs while the command line is imported); the registry
    lists them, so `s2rbench plugins` and every command that loads plugins shows them.
    """
    pm = get_plugin_manager()
    problems: list[str] = []
    owner = {name: "s2rbench" for name in getattr(cli, "commands", {})}
    for impl in _ordered_impls(pm, "register_commands"):
        before = dict(cli.commands)
        try:
            impl.function(cli=cli)
        except Exception as exc:
            cli.commands.clear()
            cli.commands.update(before)
            problems.append(f"plugin {impl.plugin_name!r} failed in register_commands: {type(exc).__name__}: {exc}")
            continue
        for name, cmd in list(cli.commands.items()):
            if name in before and before[name] is not cmd:
                cli.commands[name] = before[name]
                problems.append(
                    f"plugin {impl.plugin_name!r} adds command {name!r}, which {owner[name]!r} already provides; "
                    f"{impl.plugin_name!r}'s is ignored",
                )
            elif name not in before:
                owner[name] = impl.plugin_name
    _command_problems[:] = problems
    _command_owner.clear()
    _command_owner.update({name: plugin for name, plugin in owner.items() if plugin != "s2rbench"})
    return problems


# ---------------------------------------------------------------------------------------------
# look-ups
# ---------------------------------------------------------------------------------------------


def _lookup(kind: str, name: str) -> Any:
    registry = get_registry()
    store = getattr(registry, kind)
    if name not in store:
        known = ", ".join(sorted(store)) or "none installed"
        raise S2RBenchError(f"unknown {kind[:-1]} {name!r}; known {kind}: {known} (see `s2rbench list {kind}`)")
    return store[name]


def get_model(name: str):
    return _lookup("models", name)


def get_featurizer(name: str):
    return _lookup("featurizers", name)


def get_sampler(name: str):
    return _lookup("samplers", name)


def get_loader(name: str):
    return _lookup("loaders", name)


def plugin_of(kind: str, name: str) -> PluginInfo | None:
    return get_registry().origin.get((kind, name))
