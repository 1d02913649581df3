"""The plugin manager: entry points of group ``s2rbench`` are loaded once, and the objects their
hooks register are collected into one registry tagged with the plugin that gave them.

Built-in plugins (package ``s2rbench_plugins``) are registered through this project's own entry
points, exactly like a third-party package. ``S2RBENCH_LOAD_PLUGINS`` (comma-separated entry-point
names) restricts which plugins load, which keeps tests hermetic; an empty value loads none.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

import pluggy

from . import hookspecs
from .errors import S2RBenchError

GROUP = "s2rbench"


class PluginWarning(UserWarning):
    """A plugin failed to load or claimed a name another plugin already has."""


@dataclass(frozen=True)
class PluginInfo:
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
    problems: list[str] = field(default_factory=list)

    def provided_by(self, plugin: PluginInfo) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for (kind, name), info in self.origin.items():
            if info == plugin:
                out.setdefault(kind, []).append(name)
        return {k: sorted(v) for k, v in sorted(out.items())}


_pm: pluggy.PluginManager | None = None
_registry: Registry | None = None
_infos: dict[str, PluginInfo] = {}


def _allowed() -> set[str] | None:
    raw = os.environ.get("S2RBENCH_LOAD_PLUGINS")
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def get_plugin_manager() -> pluggy.PluginManager:
    """Build the manager once, loading every allowed entry point; a broken plugin is reported, not fatal."""
    global _pm
    if _pm is not None:
        return _pm
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    allowed = _allowed()
    problems: list[str] = []
    for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
        if allowed is not None and ep.name not in allowed:
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
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # a broken third-party plugin must not take the others down
            msg = f"plugin {ep.name!r} ({info.distribution} {info.version}) failed to load: {type(exc).__name__}: {exc}"
            problems.append(msg)
            warnings.warn(msg, PluginWarning, stacklevel=2)
            continue
        _infos[ep.name] = info
    pm._s2rbench_problems = problems  # type: ignore[attr-defined]
    _pm = pm
    return pm


def register_module(module: Any, name: str, version: str = "0") -> None:
    """Register a plugin object in-process (for notebooks and tests), as if it came by entry point."""
    global _registry
    pm = get_plugin_manager()
    pm.register(module, name=name)
    _infos[name] = PluginInfo(name=name, module=getattr(module, "__name__", repr(module)), distribution=name, version=version)
    _registry = None


def reset() -> None:
    """Forget the manager and registry (tests use it after changing S2RBENCH_LOAD_PLUGINS)."""
    global _pm, _registry
    _pm = None
    _registry = None
    _infos.clear()


def _collect(pm: pluggy.PluginManager, registry: Registry) -> None:
    def make_register(kind: str, store: dict, plugin_name: str, namer: Callable[[Any], str]):
        info = _infos.get(plugin_name) or PluginInfo(plugin_name, plugin_name, plugin_name, "?")

        def register(*args: Any) -> None:
            if kind == "loaders":
                name, obj = args
            else:
                (obj,) = args
                name = namer(obj)
            if not name:
                registry.problems.append(f"plugin {plugin_name!r} registered a {kind[:-1]} without a name; it is ignored")
                return
            if name in store:
                first = registry.origin[(kind, name)].name
                msg = (
                    f"plugin {plugin_name!r} registers {kind[:-1]} {name!r}, which plugin {first!r} already provides; "
                    f"{plugin_name!r}'s is ignored (uninstall one or rename it)"
                )
                registry.problems.append(msg)
                warnings.warn(msg, PluginWarning, stacklevel=2)
                return
            store[name] = obj
            registry.origin[(kind, name)] = info

        return register

    def precedence(item: tuple[str, Any]) -> tuple[int, str]:
        # deterministic: s2rbench's own plugins claim names first, then the others by name
        info = _infos.get(item[0])
        return (0 if info and info.distribution == "s2rbench" else 1, item[0])

    for plugin_name, plugin in sorted(pm.list_name_plugin(), key=precedence):
        for hook, kind, store, namer in (
            ("register_featurizers", "featurizers", registry.featurizers, lambda o: o.name),
            ("register_models", "models", registry.models, lambda o: o.name),
            ("register_loaders", "loaders", registry.loaders, None),
            ("register_tasks", "tasks", registry.tasks, lambda o: o.name),
            ("register_samplers", "samplers", registry.samplers, lambda o: o.name),
        ):
            impl = getattr(plugin, hook, None)
            if impl is None:
                continue
            try:
                impl(register=make_register(kind, store, plugin_name, namer))
            except S2RBenchError as exc:
                registry.problems.append(f"plugin {plugin_name!r}: {exc}")
                warnings.warn(f"plugin {plugin_name!r}: {exc}", PluginWarning, stacklevel=2)
            except Exception as exc:
                msg = f"plugin {plugin_name!r} failed in {hook}: {type(exc).__name__}: {exc}"
                registry.problems.append(msg)
                warnings.warn(msg, PluginWarning, stacklevel=2)


def get_registry() -> Registry:
    """The registry of everything the loaded plugins provide (built once per process)."""
    global _registry
    if _registry is None:
        pm = get_plugin_manager()
        registry = Registry(problems=list(getattr(pm, "_s2rbench_problems", [])))
        for name in sorted(_infos):
            registry.plugins.append(_infos[name])
        _collect(pm, registry)
        # user task-card directories (S2RBENCH_TASKS_PATH) are registered like a plugin's cards
        from .tasks.resolve import TASKS_PATH_ENV, user_cards

        found = user_cards(set(registry.tasks))
        for card, directory in found.cards:
            registry.tasks[card.name] = card
            registry.origin[("tasks", card.name)] = PluginInfo(TASKS_PATH_ENV, directory, "user cards", card.version)
        for msg in found.problems:
            registry.problems.append(msg)
            warnings.warn(msg, PluginWarning, stacklevel=2)
        _registry = registry
    return _registry


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
