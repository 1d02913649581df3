"""`lazy_module`: a module object that imports the real module on first attribute access.

Why: every plugin module is imported when the registry loads (``s2rbench list`` must answer in
well under a second), and RDKit, pymatgen, torch or LightGBM take 0.3–2 s each to import. A plugin
writes ``Chem = lazy_module("rdkit.Chem")`` where it used to write ``from rdkit import Chem``: the
code that uses ``Chem.MolFromSmiles`` is unchanged, and RDKit is imported the first time a
featurizer actually runs. Unlike `importlib.util.LazyLoader`, nothing is put into ``sys.modules``
until the import really happens, so "is RDKit loaded?" keeps its plain meaning (tests/registry/test_startup.py
asks it). After the first access the module's namespace is copied in, so later look-ups are plain
attribute reads.
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class _LazyModule(types.ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_lazy_loaded"] = False

    def __getattr__(self, attr: str) -> Any:  # only called for names not in __dict__ yet
        if attr.startswith("__") and attr.endswith("__") and not self.__dict__["_lazy_loaded"]:
            raise AttributeError(attr)  # introspection (copy, pickle, doctest) must not import
        module = importlib.import_module(self.__name__)
        if not self.__dict__["_lazy_loaded"]:
            self.__dict__.update({k: v for k, v in vars(module).items() if k != "__name__"})
            self.__dict__["_lazy_loaded"] = True
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self.__dict__["_lazy_loaded"] else "not loaded yet"
        return f"<lazy module {self.__name__!r} ({state})>"


def lazy_module(name: str) -> types.ModuleType:
    """A stand-in for ``import name`` that imports `name` when one of its attributes is first read."""
    return _LazyModule(name)
