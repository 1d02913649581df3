"""Executors: where the units of work of a sweep run.

An executor has one method, ``map(units, prep, model, device)``, a generator that yields
``(unit, rows)`` as each unit finishes. The driver (`s2rbench.sweep.run`) is the single writer: it
commits each unit's rows as soon as they are yielded, so a killed driver loses nothing finished
and a re-run skips what is stored, whichever executor ran it. A unit's rows are a pure function of
(unit, prepared data, model): the same seed gives the same numbers bit for bit on any executor and
with any number of workers.

Same numbers on any executor needs the same arithmetic: OpenBLAS (NumPy's LAPACK solve) and torch
may round differently with another thread count, so every executor runs a unit with a fixed number
of compute threads, ``threads_per_unit`` (default 1; `unit_threads`), and a machine's cores are used
by running units side by side (``--executor ray --workers``) rather than by threading inside one.

- ``local`` (`CheckedLocalExecutor`): the units one after another in this process, after a
  memory check, each with ``threads_per_unit`` threads.
- ``ray``: each unit is one Ray task. The prepared arrays and the model go to the object store once
  (``ray.put``) and every task reads them from there (zero-copy on a node); the driver submits at
  most ``workers`` units at a time, collects them as they complete (``ray.wait``), retries a failed
  unit up to ``max_retries`` times, and at the end raises one `S2RBenchError` naming the units that
  still failed, after yielding (so storing) every unit that succeeded.

Ray is an optional dependency: ``pip install 's2rbench[ray]'``. See docs/scale-out.md.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from typing import Any

from ..contracts.model import Model, generic_state_bytes
from ..contracts.resources import available_memory_bytes
from ..errors import S2RBenchError
from .prepare import Prepared
from .units import LocalExecutor, WorkUnit, run_unit

log = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")

#: how many times a failed unit is run again before it is reported (so 1 + 2 attempts in all)
DEFAULT_RETRIES = 2

#: compute threads of one unit (BLAS, OpenMP, torch) on every executor unless told otherwise
DEFAULT_UNIT_THREADS = 1

#: fixed cost of the process that runs a unit (interpreter, NumPy, torch), counted once per unit
PROCESS_BYTES = 384 * 2**20

GiB = 2**30


# ---------------------------------------------------------------------------------------------
# Memory: what a unit needs, said before it starts
# ---------------------------------------------------------------------------------------------


def model_bytes(model: Model | None, n: int, m: int, d: int, n_real: int) -> tuple[int, int]:
    """Estimated working memory of a unit beyond the shared feature matrices, as
    ``(once, per_trial)``: the model's own `Model.state_bytes` (the core knows nothing of a model's
    internals); for an object without one (None, a duck-typed model), the generic data copies of
    `s2rbench.contracts.model.generic_state_bytes`."""
    custom = getattr(model, "state_bytes", None)
    if callable(custom):
        once, per_trial = custom(n=n, m=m, d=d, n_real=n_real)
        return int(once), int(per_trial)
    return generic_state_bytes(n, m, d, n_real)


def estimate_unit_bytes(unit: WorkUnit, prep: Prepared, model: Model | None = None) -> int:
    """Estimated peak memory of one unit: the feature matrices as stored (float32) and once more in
    float64 (ridge converts them; the mlp moves them to its device), plus `model_bytes` (once, plus
    per trial times the unit's T trials), plus the process itself (`PROCESS_BYTES`). An estimate
    for planning, not a measurement; docs/scale-out.md compares it with measured peaks."""
    data = 3 * sum(int(a.nbytes) for a in (prep.X_sim, prep.y_sim, prep.X_real, prep.y_real))
    once, per_trial = model_bytes(model, int(unit.n), int(unit.m), int(prep.X_real.shape[1]), len(prep.y_real))
    # a model that trains its replicas in groups that fit (attribute ``chunks_replicas``) needs one at least
    trials = 1 if getattr(model, "chunks_replicas", False) else len(unit.trials)
    return int(data + once + trials * per_trial + PROCESS_BYTES)


def check_memory(units: Iterable[WorkUnit], prep: Prepared, model: Model | None, limit: int | None, where: str) -> None:
    """Raise `S2RBenchError` before anything runs if the largest unit's estimate exceeds ``limit``."""
    if not limit:
        return
    units = list(units)
    if not units:
        return
    need, worst = max((estimate_unit_bytes(u, prep, model), i) for i, u in enumerate(units))
    if need > limit:
        u = units[worst]
        raise S2RBenchError(
            f"unit {u.key} needs about {need / GiB:.2f} GiB ({len(u.trials)} trials at n={u.n}, m={u.m}, "
            f"{prep.X_sim.shape[1]} features), more than the {limit / GiB:.2f} GiB {where}; "
            "lower trial_block in the task card, drop the largest --sizes, or run on a machine with more memory"
        )


# ---------------------------------------------------------------------------------------------
# Threads: a unit's arithmetic must not depend on where it ran
# ---------------------------------------------------------------------------------------------


@contextmanager
def unit_threads(threads: int | None) -> Iterator[None]:
    """Run the body with ``threads`` compute threads in BLAS/OpenMP (threadpoolctl) and torch, then
    restore them; None leaves everything as it is."""
    if threads is None:
        yield
        return
    threads = max(1, int(threads))
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=threads)
    except ImportError:  # then only OMP_NUM_THREADS at start-up (Ray sets it per task) limits BLAS
        limiter = nullcontext()
    torch = sys.modules.get("torch")  # a torch model is imported by now; never import torch just for this
    old = torch.get_num_threads() if torch is not None else None
    with limiter:
        if torch is not None and old != threads:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None and old != threads:
                torch.set_num_threads(old)


# ---------------------------------------------------------------------------------------------
# Factory
# ---------------------------------------------------------------------------------------------


def make_executor(
    kind: str = "local",
    *,
    address: str | None = None,
    workers: int | None = None,
    gpus_per_unit: float = 0.0,
    threads_per_unit: int = DEFAULT_UNIT_THREADS,
    max_retries: int = DEFAULT_RETRIES,
    init_kwargs: dict[str, Any] | None = None,
):
    """The executor named ``kind`` ('local' or 'ray'), configured from the CLI's options."""
    kind = (kind or "local").lower()
    if kind == "local":
        extra = [
            name
            for name, v in (("--address", address), ("--workers", workers), ("--gpus-per-unit", gpus_per_unit))
            if v
        ]
        if extra:
            raise S2RBenchError(f"{', '.join(extra)} only apply to --executor ray; drop them or add --executor ray")
        return CheckedLocalExecutor(threads_per_unit=threads_per_unit)
    if kind == "ray":
        return RayExecutor(
            address=address,
            workers=workers,
            gpus_per_unit=gpus_per_unit,
            threads_per_unit=threads_per_unit,
            max_retries=max_retries,
            init_kwargs=init_kwargs,
        )
    raise S2RBenchError(f"unknown executor {kind!r}; use one of {', '.join(EXECUTORS)}")


class CheckedLocalExecutor(LocalExecutor):
    """The local executor: refuses up front a unit that would not fit in this machine's memory, and
    runs each unit with ``threads_per_unit`` compute threads (None: as many as the libraries pick,
    which is faster for a large model on an idle machine but not bit-identical to a Ray run)."""

    def __init__(self, threads_per_unit: int | None = DEFAULT_UNIT_THREADS) -> None:
        self.threads_per_unit = threads_per_unit

    def map(
        self, units: list[WorkUnit], prep: Prepared, model: Model, device: str
    ) -> Iterator[tuple[WorkUnit, list[dict]]]:
        units = list(units)
        check_memory(units, prep, model, available_memory_bytes(device), f"available on {device}")
        for unit in units:
            with unit_threads(self.threads_per_unit):
                rows = run_unit(unit, prep, model, device)
            yield unit, rows


# ---------------------------------------------------------------------------------------------
# Ray
# ---------------------------------------------------------------------------------------------


def _slim(prep: Prepared) -> Prepared:
    """The prepared task without what no unit reads (the featurizer object, the real input strings)."""
    # sim_inputs stay: samplers (e.g. stratified) read the pool's canonical inputs on the workers
    return dataclasses.replace(prep, featurizer=None, real_inputs=[], invalid_examples={})


def _ray_unit(unit: WorkUnit, prep: Prepared, model: Model, device: str, threads: int) -> list[dict[str, Any]]:
    """The body of one Ray task. The arrays arrive read-only (zero-copy from the object store)."""
    with warnings.catch_warnings(), unit_threads(threads):
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return run_unit(unit, prep, model, device)


def _cause(exc: BaseException) -> BaseException:
    return getattr(exc, "cause", None) or exc


def _describe(exc: BaseException) -> str:
    cause = _cause(exc)
    text = str(cause).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 200:
        first = first[:197] + "..."
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


class RayExecutor:
    """Each unit is one Ray task; the driver collects them as they complete and stays the only writer.

    - ``address``: join that cluster (``ray start --head`` on the allocation; 'auto' finds the one
      started on this node or in RAY_ADDRESS). None starts a private local Ray with
      ``num_cpus = workers or os.cpu_count()``, no dashboard, quiet logs, stopped by `close`.
    - ``workers``: at most this many units in flight (default: as many as the cluster schedules).
    - ``gpus_per_unit``, ``threads_per_unit``: the resources of each task (``num_gpus``, ``num_cpus``);
      a task computes with exactly ``threads_per_unit`` threads (`unit_threads`), like the local
      executor, so both give the same numbers. ``memory`` of each task is set
      from `estimate_unit_bytes`, and a unit larger than the largest node is refused up front.
    - ``max_retries``: a failing unit runs again up to this many times (a worker or node crash
      included); an `S2RBenchError` (a deterministic user or plugin error) is not retried.

    If Ray is already initialized in this process (a notebook, a test fixture), that session is used
    and left running.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        gpus_per_unit: float = 0.0,
        threads_per_unit: int = DEFAULT_UNIT_THREADS,
        max_retries: int = DEFAULT_RETRIES,
        init_kwargs: dict[str, Any] | None = None,
        check_memory: bool = True,
    ) -> None:
        if workers is not None and int(workers) < 1:
            raise S2RBenchError(f"--workers must be at least 1; got {workers}")
        if gpus_per_unit is None or not float(gpus_per_unit) >= 0:
            raise S2RBenchError(f"--gpus-per-unit must be >= 0; got {gpus_per_unit}")
        if int(threads_per_unit) < 1:
            raise S2RBenchError(f"threads_per_unit must be >= 1; got {threads_per_unit}")
        if int(max_retries) < 0:
            raise S2RBenchError(f"max_retries must be >= 0; got {max_retries}")
        try:
            import ray
        except ImportError:
            raise S2RBenchError(
                "--executor ray needs Ray, which is not installed here: pip install 's2rbench[ray]' (or 'ray[default]')"
            ) from None
        self._ray = ray
        self.address = address
        self.workers = int(workers) if workers is not None else None
        self.gpus_per_unit = float(gpus_per_unit or 0.0)
        self.threads_per_unit = int(threads_per_unit)
        self.max_retries = int(max_retries)
        self.init_kwargs = dict(init_kwargs or {})
        self.check_memory = bool(check_memory)
        self._owns_ray = False
        self._remote = None
        #: attempts of each unit key in the last `map` (for reports and tests)
        self.attempts: dict[str, int] = {}

    # -- session -----------------------------------------------------------------------------
    def connect(self) -> None:
        """Join the cluster at ``address``, or start a private local one; no-op if Ray is up."""
        ray = self._ray
        if ray.is_initialized():
            return
        quiet = {"logging_level": logging.WARNING, "log_to_driver": True}
        try:
            if self.address:
                ray.init(address=self.address, **{**quiet, **self.init_kwargs})
            else:
                # a private cluster, with Ray's default token authentication (token in ~/.ray/auth_token);
                # Ray announces that default with a warning, which is noise here
                auth_log = logging.getLogger("ray._private.authentication.authentication_token_setup")
                level = auth_log.level
                auth_log.setLevel(logging.ERROR)
                cpus = self.workers * self.threads_per_unit if self.workers else (os.cpu_count() or 1)
                try:
                    ray.init(
                        address="local",
                        num_cpus=int(cpus),
                        include_dashboard=False,
                        **{**quiet, **self.init_kwargs},
                    )
                finally:
                    auth_log.setLevel(level)
        except ConnectionError as exc:
            raise S2RBenchError(
                f"cannot reach the Ray cluster at {self.address!r} ({exc}); start it with `ray start --head` or fix --address"
            ) from None
        self._owns_ray = True

    def close(self) -> None:
        """Stop the Ray session this executor started (a joined cluster keeps running)."""
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False
        self._remote = None

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def resolve_device(self, device: str = "auto") -> str:
        """The device units run on, decided by the resources they reserve rather than by the
        driver's own hardware (a CPU-only head node may drive GPU workers): with
        ``gpus_per_unit`` > 0, 'auto' and 'cuda' mean 'cuda' (each task sees only its GPU);
        without, 'auto' means 'cpu' and asking for CUDA is an error."""
        device = (device or "auto").lower()
        if device not in ("auto", "cpu") and not device.startswith("cuda"):
            raise S2RBenchError(f"unknown device {device!r}; use auto, cpu or cuda")
        if self.gpus_per_unit > 0:
            if device == "cpu":
                raise S2RBenchError("--gpus-per-unit reserves GPUs but --device is cpu; drop one of them")
            return "cuda"
        if device.startswith("cuda"):
            raise S2RBenchError(
                "--executor ray with --device cuda needs --gpus-per-unit (e.g. 1, or 0.25 to share a GPU among 4 units)"
            )
        return "cpu"

    def device_name(self, device: str) -> str:
        """The name of the device the units run on, asked of a worker holding the same resources
        (the driver may have no GPU at all)."""
        from .provenance import device_name

        if not str(device).startswith("cuda"):
            return device_name(device)
        self.connect()
        remote = self._ray.remote(device_name).options(num_cpus=0, num_gpus=self.gpus_per_unit, max_retries=0)
        return str(self._ray.get(remote.remote(device)))

    def _largest_node_memory(self) -> int | None:
        sizes = [int(n.get("Resources", {}).get("memory", 0)) for n in self._ray.nodes() if n.get("Alive")]
        return max(sizes) if sizes else None

    # -- the work ----------------------------------------------------------------------------
    def map(
        self, units: list[WorkUnit], prep: Prepared, model: Model, device: str
    ) -> Iterator[tuple[WorkUnit, list[dict]]]:
        units = list(units)
        self.attempts = {}
        if not units:
            return
        if str(device).startswith("cuda") and self.gpus_per_unit <= 0:
            raise S2RBenchError(
                "units would run on cuda without a reserved GPU: pass --gpus-per-unit (e.g. 1) or --device cpu"
            )
        if device == "cpu" and self.gpus_per_unit > 0:
            warnings.warn(
                f"--gpus-per-unit {self.gpus_per_unit:g} reserves GPUs, but the units run on cpu (the device the driver "
                "resolved), so those GPUs sit idle and the run is no faster; pass --device cuda",
                UserWarning,
                stacklevel=2,
            )
        self.connect()
        ray = self._ray
        estimates = {u: estimate_unit_bytes(u, prep, model) for u in units}
        if self.check_memory:
            check_memory(units, prep, model, self._largest_node_memory(), "the largest Ray node offers")
        total_gpus = float(ray.cluster_resources().get("GPU", 0.0))
        if self.gpus_per_unit > total_gpus:
            raise S2RBenchError(
                f"--gpus-per-unit {self.gpus_per_unit:g} but the Ray cluster has {total_gpus:g} GPUs; lower it or add GPU nodes"
            )
        if self._remote is None:
            self._remote = ray.remote(_ray_unit)
        prep_ref = ray.put(_slim(prep))  # once: every task reads the same objects
        model_ref = ray.put(model)
        threads = self.threads_per_unit
        cap = self.workers or len(units)
        queue: deque[WorkUnit] = deque(units)
        inflight: dict[Any, WorkUnit] = {}
        failed: dict[str, str] = {}
        done = 0

        def submit(unit: WorkUnit) -> None:
            self.attempts[unit.key] = self.attempts.get(unit.key, 0) + 1
            ref = self._remote.options(
                num_cpus=self.threads_per_unit,
                num_gpus=self.gpus_per_unit,
                memory=estimates[unit],
                max_retries=0,
                retry_exceptions=False,
                name=f"s2rbench {unit.key}",
            ).remote(unit, prep_ref, model_ref, device, threads)
            inflight[ref] = unit

        try:
            while queue or inflight:
                while queue and len(inflight) < cap:
                    submit(queue.popleft())
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    unit = inflight.pop(ref)
                    try:
                        rows = ray.get(ref)
                    except Exception as exc:  # the task raised, or its worker or node died
                        n_try = self.attempts[unit.key]
                        if n_try <= self.max_retries and not isinstance(_cause(exc), S2RBenchError):
                            log.warning(
                                "unit %s failed (attempt %d of %d): %s; retrying",
                                unit.key,
                                n_try,
                                self.max_retries + 1,
                                _describe(exc),
                            )
                            queue.append(unit)
                        else:
                            failed[unit.key] = f"{_describe(exc)} (after {n_try} attempt{'s' * (n_try > 1)})"
                        continue
                    done += 1
                    yield unit, rows
        finally:  # a closed generator (driver interrupted) cancels what is still running
            for ref in inflight:
                with suppress(Exception):
                    ray.cancel(ref)
            del prep_ref, model_ref
        if failed:
            listing = "; ".join(f"{k}: {v}" for k, v in failed.items())
            raise S2RBenchError(
                f"{len(failed)} of {len(units)} units failed and were not stored ({listing}); the other {done} units are stored; "
                "fix the cause and re-run the same command: only the missing units run"
            )
