"""The sweep: protocol (splits and nested subsets), task preparation, units of work, executors,
the store (the single writer) and provenance, and the runner that ties them together.

``from s2rbench.sweep import run, prepare, ...`` keeps working as before the split into modules.
The names are resolved on first use (PEP 562): importing one module of the package (a contract
importing ``s2rbench.sweep.protocol``) must not import the runner, which imports the contracts
back (that cycle left the samplers unregistered). ``s2rbench.sweep.prepare`` stays the function,
as before, although a submodule has the same name (`_Package`).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_NAMES = {
    "Prepared": "prepare",
    "prepare": "prepare",
    "RunResult": "runner",
    "default_run_dir": "runner",
    "run": "runner",
    "LocalExecutor": "units",
    "WorkUnit": "units",
    "full_m": "units",
    "plan_units": "units",
    "run_unit": "units",
    "sim_order_for": "units",
    "split_for": "units",
    "_ORDER_CACHE": "units",  # the samplers' memo; tests clear it as they did before the split
}

__all__ = list(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))


class _Package(types.ModuleType):
    """Keeps a public function whose submodule has the same name (``prepare``) as the attribute."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _NAMES and isinstance(value, types.ModuleType):
            return  # the import system binding the submodule: the function wins (`__getattr__`)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
