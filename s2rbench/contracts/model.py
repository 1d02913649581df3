"""The model contract: one call trains a block of trials together and predicts the real table.

A unit of work hands a model a `TrainingBlock`: T trials that share the pretraining size n and the
fine-tuning size m, so a model can train them as one batched ensemble. The model never sees the
real test targets: it receives the real *inputs* (all rows) and the targets of each trial's
training rows only, and returns predictions for every real row; the core scores the test rows.
"""

from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TrainingBlock:
    """The data of one unit of work, as arrays a batched model can index on any device.

    - ``X_sim`` (N, d) float32, ``y_sim`` (N,) float32: the featurized simulated pool, shared by trials.
    - ``sim_idx`` (T, n) int64: each trial's pretraining rows (nested across n within a trial);
      n == 0 means no pretraining (the scratch baseline).
    - ``X_real`` (M, d) float32: the featurized real inputs, all rows (test rows included, without targets).
    - ``train_idx`` (T, m) int64, ``train_mask`` (T, m) bool, ``y_train`` (T, m) float32: each trial's
      real fine-tuning rows; where a split leaves a trial fewer rows, the row is padded (mask False,
      target NaN).
    - ``seeds`` (T,) int64: one seed per trial; a model derives all its randomness from them.
    """

    X_sim: np.ndarray
    y_sim: np.ndarray
    sim_idx: np.ndarray
    X_real: np.ndarray
    train_idx: np.ndarray
    train_mask: np.ndarray
    y_train: np.ndarray
    seeds: np.ndarray
    device: str = "cpu"

    @property
    def n_trials(self) -> int:
        return int(self.seeds.shape[0])

    @property
    def n(self) -> int:
        return int(self.sim_idx.shape[1])

    @property
    def m(self) -> int:
        return int(self.train_idx.shape[1])


@dataclass(frozen=True)
class ParamSpec:
    """The type and range of one model hyperparameter, checked before any work starts.

    Why: ``--param lr=-1`` and ``lr=NaN`` used to run to exit 0 with plausible-looking garbage, and
    ``lr=abc`` was a traceback from inside the model. A model declares ``param_specs`` beside its
    ``defaults`` (one entry per name) and `Model.__init__` checks every value given to it, so a bad
    value is one line naming the model, the hyperparameter, the rule and an example.

    - ``type``: ``int``, ``float``, ``bool`` or ``str``. An int is accepted where a float is asked
      (``lr=1``); a bool never counts as a number; floats must be finite.
    - ``low`` / ``high``: bounds (None: unbounded), closed unless ``low_open`` / ``high_open``.
    - ``choices``: the allowed values (for strings, e.g. an activation).
    - ``sequence``: a list or tuple of such values is allowed (``hidden=[256,128]``), of length
      ``min_len``..``max_len``; ``scalar=False`` allows only a sequence.
    - ``doc``: a few words for error messages and catalogues.
    """

    type: type = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    sequence: bool = False
    scalar: bool = True
    min_len: int = 1
    max_len: int = 64
    doc: str = ""

    def describe(self) -> str:
        """The rule in words, e.g. ``a number > 0`` or ``an integer in [1, 1000]``."""
        if self.choices is not None:
            what = "one of " + ", ".join(map(str, self.choices))
        else:
            what = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
                self.type, self.type.__name__
            )
            lo, hi = self.low, self.high
            if lo is not None and hi is not None:
                what += f" in {'(' if self.low_open else '['}{lo:g}, {hi:g}{')' if self.high_open else ']'}"
            elif lo is not None:
                what += f" {'>' if self.low_open else '>='} {lo:g}"
            elif hi is not None:
                what += f" {'<' if self.high_open else '<='} {hi:g}"
        if self.sequence:
            what = (
                f"{what}, or a list of them"
                if self.scalar
                else f"a list of {self.min_len}..{self.max_len} values, each {what}"
            )
        return what

    def problem(self, value: Any) -> str | None:
        """Why ``value`` breaks this spec, or None when it is fine."""
        if self.sequence and isinstance(value, (list, tuple)):
            if not self.min_len <= len(value) <= self.max_len:
                return f"has {len(value)} entries (allowed: {self.min_len}..{self.max_len})"
            for v in value:
                if isinstance(v, (list, tuple, dict)) or self._scalar_problem(v):
                    return f"has the entry {v!r}"
            return None
        if not self.scalar:
            return "is not a list"
        return self._scalar_problem(value)

    def _scalar_problem(self, v: Any) -> str | None:
        if self.type is bool:
            return None if isinstance(v, (bool, np.bool_)) else "is not true or false"
        if self.type in (int, float):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
                return "is not a number"
            if self.type is int and not isinstance(v, numbers.Integral):
                return "is not an integer"
            f = float(v)
            if not math.isfinite(f):
                return "is not finite"
            if self.low is not None and (f < self.low or (self.low_open and f == self.low)):
                return "is out of range"
            if self.high is not None and (f > self.high or (self.high_open and f == self.high)):
                return "is out of range"
        elif self.type is str and not isinstance(v, str):
            return "is not a string"
        if self.choices is not None and v not in self.choices:
            return "is not an allowed value"
        return None


def check_params(model: str, specs: dict[str, ParamSpec], known: Any, params: dict[str, Any]) -> None:
    """Raise one `S2RBenchError` line for the first unknown name (with a "did you mean") or the
    first value that breaks its `ParamSpec`; names without a spec are only checked for existence."""
    from ..errors import S2RBenchError

    known = sorted(known)
    for name in sorted(params):
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise S2RBenchError(
                f"model {model!r} has no hyperparameter {name!r}{hint} (known: {', '.join(known) or 'none'})"
            )
    for name in sorted(params):
        spec = specs.get(name)
        if spec is None:
            continue
        why = spec.problem(params[name])
        if why:
            try:
                shown = repr(params[name])
            except RecursionError:
                shown = "(a deeply nested value)"
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise S2RBenchError(
                f"model {model!r}: hyperparameter {name}={shown} {why}; {name} must be {spec.describe()}"
            )


class Model:
    """Base class for model plugins.

    Subclasses set `name`, `version`, `description` and `defaults` (hyperparameters), and implement
    `fit_predict`. `with_params` returns a copy with some hyperparameters overridden; the effective
    hyperparameters are recorded with every result.

    What validation selected (optional): a model that chooses something per trial from its training
    rows (a penalty strength from a grid, a number of boosting rounds by early stopping) may set
    ``self.selected`` during `fit_predict` to a list of T entries, one per trial of the block, each a
    JSON-serializable dict (e.g. ``{"alpha": 10.0}`` or ``{"rounds_sim": 312, "rounds_real": 40}``)
    or None. The harness resets it to None before each call, reads it right after, and stores entry
    k as JSON in the ``selected`` column of trial k's result row (NULL where None or not set).
    """

    name: str = ""
    version: str = ""  # required: the registry refuses an object without one
    description: str = ""
    defaults: dict[str, Any] = {}
    #: the type and range of each hyperparameter (see `ParamSpec`), checked on every value given
    param_specs: dict[str, ParamSpec] = {}
    #: True for a model that trains a block's trials in groups that fit in memory (see
    #: `state_bytes`): the harness then needs room for one trial's ``per_trial`` at least, not T
    chunks_replicas: bool = False
    #: True for a model that trains the trials of a block one after another, each from its own
    #: seed and rows only, so that a trial's predictions are the same bit for bit whether it is
    #: trained alone or within any block (the check kit tests it). The harness then runs the model
    #: one trial per unit: a stopped run loses at most one trial's work, and ``--workers`` can train
    #: the trials of one n side by side. (A batched ensemble that shares work across a block keeps
    #: it False and gets blocks of the card's ``trial_block``.)
    trials_independent: bool = False
    #: per trial of the last `fit_predict`: what the model's validation selected (see above)
    selected: list[dict[str, Any] | None] | None = None

    def __init__(self, **params: Any) -> None:
        check_params(self.name, self.param_specs, self.defaults, params)
        self.params: dict[str, Any] = {**self.defaults, **params}

    def with_params(self, **params: Any) -> Model:
        return type(self)(**{**self.params, **params})

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.params)

    def fit_predict(self, block: TrainingBlock) -> np.ndarray:
        """Train the block's T trials; return predictions for all real rows, shape (T, M)."""
        raise NotImplementedError

    def state_bytes(self, n: int, m: int, d: int, n_real: int) -> tuple[int, int]:
        """Estimated working memory of one unit beyond the shared feature matrices, as
        ``(once, per_trial)``: what one trial at a time needs (trials computed one after another
        reuse it) and what every trial holds while the unit runs (a batched ensemble holds all T).
        The harness refuses a unit that would not fit before it starts (`check_memory`).

        This default counts generic data copies only: once, four float64 copies of one trial's
        gathered pretraining rows (n x d: the rows, their standardized copy and its temporaries,
        the design matrix); per trial, its index arrays and predictions. A model with more state
        (network weights, optimizer moments, activations, random-feature design matrices) adds its
        own on top: ``once, per = super().state_bytes(n, m, d, n_real)``. ``n``: pretraining rows
        (0: scratch), ``m``: real training rows, ``d``: features, ``n_real``: all real rows."""
        return generic_state_bytes(n, m, d, n_real)


def generic_state_bytes(n: int, m: int, d: int, n_real: int) -> tuple[int, int]:
    """The data copies every model makes (see `Model.state_bytes`): ``(4·8·n·d, 8·(2n + 3m + 2·n_real))``."""
    return int(4 * 8 * n * d), int(8 * (2 * n + 3 * m + 2 * n_real))


def informative_columns(X_sim: np.ndarray, X_real: np.ndarray) -> np.ndarray:
    """Indices of the columns that vary somewhere in the simulated pool or the real inputs.

    A column that is constant over both tables standardizes to zero for every trial, so it never
    changes an output: dropping it before training is lossless, and wide sparse fingerprints (two
    thirds of the chi task's 2,186 columns are constant) train several times faster. The choice
    depends on the tables only, never on the trials of a block, so results stay block-independent.
    """

    def varies(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[0] == 0:
            return np.zeros(X.shape[1], bool)
        first = X[0]
        with np.errstate(invalid="ignore"):
            differ = ~((first == X) | (np.isnan(X) & np.isnan(first))).all(axis=0)
        return differ

    v = varies(X_real) | varies(X_sim)
    if X_sim.shape[0] and X_real.shape[0]:
        a, b = np.asarray(X_sim[0], np.float64), np.asarray(X_real[0], np.float64)
        v |= ~((a == b) | (np.isnan(a) & np.isnan(b)))
    return np.flatnonzero(v)


def trials_per_unit(model: Any, trial_block: int) -> int:
    """How many trials one unit of work trains together: the card's ``trial_block``, or one for a
    model that declares ``trials_independent``. The runner plans units by it, and a reproduction
    re-runs a block of this size, so that both see the units the run itself trained."""
    return 1 if getattr(model, "trials_independent", False) else max(1, int(trial_block))
