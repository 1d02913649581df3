"""s2rbench: benchmark Sim2Real transfer learning by the scaling of real-world error with simulated data.

The Python API mirrors the command line: `run` (the standardized sweep), `fit` (the scaling law
of a run directory), `report`, `featurize` (any featurizer, without a task), `get_task`,
`load_tables`. Plugins extend tasks, loaders, models, featurizers, samplers and commands through
the ``s2rbench`` entry points (`s2rbench.registry` collects and validates them; docs/plugins.md is
the guide); `s2rbench.testing` is the check kit a plugin runs in its own tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from typing import Any

from .errors import S2RBenchError
from .hookspecs import hookimpl

try:
    __version__ = metadata.version("s2rbench")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "S2RBenchError",
    "__version__",
    "feature_names",
    "featurize",
    "fit",
    "get_task",
    "hookimpl",
    "load_tables",
    "prepare",
    "report",
    "run",
]


def run(task: str, model: str = "mlp", featurizer: str | None = None, *, fit: bool = True, **kwargs: Any):
    """Run or resume a sweep (see `s2rbench.sweep.run` for the arguments); with ``fit`` (default)
    the result's ``summary`` holds the law refitted from the stored rows (`s2rbench.fit`)."""
    from .sweep import run as _run

    result = _run(task, model, featurizer, **kwargs)
    if fit:
        from .analysis import summarize

        result.summary = summarize(result.run_dir)
    return result


def prepare(task: str, featurizer: str | None = None, **kwargs: Any):
    from .sweep import prepare as _prepare

    return _prepare(task, featurizer, **kwargs)


def fit(run_dir: str, **kwargs: Any):
    """The fitted law and curve of a run directory, recomputed from its per-trial rows."""
    from .analysis import summarize

    return summarize(run_dir, **kwargs)


def report(run_dir: str, **kwargs: Any):
    from .report import write_report

    return write_report(run_dir, **kwargs)


def featurize(name: str, inputs: Sequence[str], *, cache: bool = False):
    """Feature matrix of `inputs` with featurizer `name`: rows in input order, NaN rows where an
    input does not parse (one warning lists them). Column names: `feature_names(name)` or `.names`."""
    from .featurecache import cached_featurize
    from .registry import get_featurizer

    fm = cached_featurize(get_featurizer(name), list(inputs), use_cache=cache)
    return fm.X


def feature_names(name: str) -> list[str]:
    from .registry import get_featurizer

    return list(get_featurizer(name).feature_names())


def get_task(name_or_path: str):
    from .tasks import get_task as _get

    return _get(name_or_path)


def load_tables(task: str, data_dir: str | None = None):
    from .tasks import get_task as _get
    from .tasks import load_tables as _load

    return _load(_get(task), data_dir)
