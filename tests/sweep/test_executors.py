"""Executors: the Ray executor gives the local executor's rows bit for bit, retries and names a failing
unit while storing the rest, and a killed driver resumes; memory estimates refuse what cannot fit.

The Ray tests share one local Ray cluster of 2 workers (started once for this module: start-up
takes 10-30 s). They skip only where Ray is not installed AND CI is not set; in CI a missing Ray
is a failure (`.ci/run` installs '.[test,ray]').
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import suppress

import pandas as pd
import pytest

from s2rbench import plugins, sweep
from s2rbench.analysis import summarize_rows
from s2rbench.contracts.model import Model, generic_state_bytes
from s2rbench.errors import S2RBenchError
from s2rbench.hookspecs import hookimpl
from s2rbench.plugins import get_model
from s2rbench.sweep.executors import (
    CheckedLocalExecutor,
    available_memory_bytes,
    check_memory,
    estimate_unit_bytes,
    make_executor,
    model_bytes,
)
from s2rbench.sweep.store import Store
from s2rbench_plugins.models.linear import Ridge

try:
    import ray

    HAVE_RAY = True
except ImportError:  # pragma: no cover - depends on the environment
    ray = None
    HAVE_RAY = False

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
requires_ray = pytest.mark.skipif(
    not HAVE_RAY and not IN_CI,
    reason="Ray is not installed (pip install 's2rbench[ray]'); these tests always run in CI",
)

RIDGE = {"random_features": 64}
SWEEP = dict(
    model="ridge",
    sizes=[32, 128, 512, 2048],
    trials=4,
    m=240,
    m_grid=[30, 240],
    progress=False,
    fit=False,
    model_params=RIDGE,
)
N_UNITS = 5 * 2  # (scratch + 4 sizes) x 2 m values, one block of 4 trials each
VOLATILE = ["seconds", "created"]  # wall time and commit time: the only columns allowed to differ


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=VOLATILE).sort_values(["n", "m", "trial"]).reset_index(drop=True)


def _stored(out) -> pd.DataFrame:
    with Store(out, create=False) as store:
        return store.results()


# ---------------------------------------------------------------------------------------------
# Without Ray: memory estimates and the factory
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prep():
    return sweep.prepare("synthetic")


def test_estimate_grows_with_n_and_trials_and_refuses_what_cannot_fit(prep):
    ridge = get_model("ridge").with_params(**RIDGE)
    mlp_like = type("Net", (), {"hyperparameters": {"hidden": (128, 64), "batch_size": 64}})()
    unit = lambda n, t: sweep.WorkUnit("synthetic", "ridge", "vector", n, 240, tuple(range(t)), 0)
    data = prep.X_sim.nbytes + prep.X_real.nbytes + prep.y_sim.nbytes + prep.y_real.nbytes
    for model in (None, ridge, mlp_like):
        small, big_n, big_t = (estimate_unit_bytes(unit(n, t), prep, model) for n, t in ((32, 4), (8192, 4), (32, 40)))
        assert data < small < big_n and small < big_t
    # the core reads no model's hyperparameters: without its own state_bytes a network gets the generic copies
    assert (
        model_bytes(mlp_like, 1000, 100, 8, 300)
        == model_bytes(None, 1000, 100, 8, 300)
        == generic_state_bytes(1000, 100, 8, 300)
    )

    class Net(Model):  # a model adds its own state on top of the default
        name, version = "net", "1"

        def state_bytes(self, n, m, d, n_real):
            once, per = super().state_bytes(n, m, d, n_real)
            return once, per + 4 * 5 * (d * 128 + 128)

    assert (
        model_bytes(Net(), 1000, 100, 8, 300)[1]
        > model_bytes(Model(), 1000, 100, 8, 300)[1]
        == generic_state_bytes(1000, 100, 8, 300)[1]
    )

    class Declared:  # a model may state its own needs: (once, per trial)
        def state_bytes(self, n, m, d, n_real):
            return 0, 10**9

    assert estimate_unit_bytes(unit(32, 25), prep, Declared()) > 25 * 10**9
    units = [unit(32, 4), unit(8192, 25)]
    check_memory(units, prep, ridge, 64 * 2**30, "here")  # fits
    with pytest.raises(
        S2RBenchError, match=r"unit synthetic/ridge/vector/random/n=8192/m=240/trials=0-24 needs about .* GiB"
    ):
        check_memory(units, prep, ridge, estimate_unit_bytes(units[1], prep, ridge) - 1, "on this test machine")


def test_memory_question_is_offered_through_the_contract():
    from s2rbench.contracts import resources

    assert available_memory_bytes is resources.available_memory_bytes  # the old import path still works
    free = resources.available_memory_bytes("cpu")
    assert free is None or free > 0


def test_local_executor_refuses_up_front(tmp_path, monkeypatch):
    import s2rbench.sweep.executors as ex

    monkeypatch.setattr(ex, "available_memory_bytes", lambda device="cpu": 1000)
    with pytest.raises(S2RBenchError, match=r"needs about .* more than the 0.00 GiB available on cpu"):
        sweep.run("synthetic", out=tmp_path / "r", executor=make_executor("local"), **SWEEP)
    assert _stored(tmp_path / "r").empty  # refused before any unit ran


def test_factory_arguments(monkeypatch):
    assert isinstance(make_executor("local"), CheckedLocalExecutor)
    with pytest.raises(S2RBenchError, match="unknown executor 'dask'"):
        make_executor("dask")
    with pytest.raises(S2RBenchError, match="--address, --workers only apply to --executor ray"):
        make_executor("local", address="10.0.0.1:6379", workers=4)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(S2RBenchError, match=r"needs Ray.*pip install 's2rbench\[ray\]'"):
        make_executor("ray")


# ---------------------------------------------------------------------------------------------
# With Ray: one local cluster of 2 workers for the module
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    """A local Ray of 2 CPUs started by the executor's own start-up path, shut down after the module."""
    if not HAVE_RAY:  # only reached in CI, where the tests must not skip
        pytest.fail("CI is set but Ray is not importable: .ci/run must install '.[test,ray]'")
    if ray.is_initialized():
        ray.shutdown()
    ex = make_executor("ray", workers=2)
    ex.connect()
    assert ray.cluster_resources()["CPU"] == 2
    # classes defined in this test module travel by value: Ray workers cannot import it
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray.get_runtime_context().gcs_address
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    ex.close()
    assert not ray.is_initialized()


@requires_ray
def test_ray_gives_the_local_rows_and_fit_bit_for_bit(cluster, tmp_path):
    local = sweep.run("synthetic", out=tmp_path / "local", executor=make_executor("local"), **SWEEP)
    ex = make_executor("ray", workers=2)
    remote = sweep.run("synthetic", out=tmp_path / "ray", executor=ex, **SWEEP)
    assert len(local.results) == len(remote.results) == N_UNITS * 4
    pd.testing.assert_frame_equal(_rows(local.results), _rows(remote.results), check_exact=True)
    assert set(ex.attempts.values()) == {1} and len(ex.attempts) == N_UNITS
    fits = [summarize_rows(r.results, r.config, n_boot=50).to_dict() for r in (local, remote)]
    assert repr(fits[0]) == repr(fits[1])
    # one worker or two: the same numbers
    one = sweep.run("synthetic", out=tmp_path / "one", executor=make_executor("ray", workers=1), **SWEEP)
    pd.testing.assert_frame_equal(_rows(local.results), _rows(one.results), check_exact=True)


class BrokenRidge(Ridge):
    """ridge that raises for one pretraining size, and logs each attempt to a file."""

    name = "ridge-broken"
    defaults = {**Ridge.defaults, "fail_n": 128, "attempt_log": ""}

    def fit_predict(self, block):
        with open(self.params["attempt_log"], "a") as fh:
            fh.write(f"{block.n}\n")
        if block.n == self.params["fail_n"]:
            raise RuntimeError(f"simulated failure at n={block.n}")
        return super().fit_predict(block)


class _BrokenPlugin:
    @hookimpl
    def register_models(self, register):
        register(BrokenRidge())


@requires_ray
def test_failing_unit_is_retried_then_named_and_the_rest_stored(cluster, tmp_path, fresh_plugins):
    plugins.register_module(_BrokenPlugin(), "broken-ridge-test")
    log = tmp_path / "attempts.txt"
    cfg = {**SWEEP, "model": "ridge-broken", "model_params": {**RIDGE, "attempt_log": str(log)}}
    with pytest.raises(S2RBenchError) as err:
        sweep.run("synthetic", out=tmp_path / "r", executor=make_executor("ray", workers=2), **cfg)
    msg = str(err.value)
    assert "2 of 10 units failed" in msg and "the other 8 units are stored" in msg
    for m in (30, 240):
        assert (
            f"synthetic/ridge-broken/vector/random/n=128/m={m}/trials=0-3: RuntimeError: simulated failure at n=128 (after 3 attempts)"
            in msg
        )
    stored = _stored(tmp_path / "r")
    assert len(stored) == 8 * 4 and 128 not in set(stored["n"])
    attempts = log.read_text().split()
    assert attempts.count("128") == 2 * 3  # 1 attempt + 2 retries for each failing unit
    assert attempts.count("512") == 2  # the others ran once


class Interrupted:
    """Wraps an executor; the driver 'dies' (KeyboardInterrupt) after `after` units are stored."""

    def __init__(self, inner, after):
        self.inner, self.after = inner, after

    def map(self, units, prep, model, device):
        for i, item in enumerate(self.inner.map(units, prep, model, device)):
            if i == self.after:
                raise KeyboardInterrupt
            yield item


@requires_ray
def test_interrupted_driver_resumes_with_the_same_rows(cluster, tmp_path):
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        sweep.run("synthetic", out=out, executor=Interrupted(make_executor("ray", workers=2), 3), **SWEEP)
    assert len(_stored(out)) == 3 * 4
    ex = make_executor("ray", workers=2)
    res = sweep.run("synthetic", out=out, executor=ex, **SWEEP)
    assert len(ex.attempts) == N_UNITS - 3  # only the missing units ran
    local = sweep.run("synthetic", out=tmp_path / "local", executor=make_executor("local"), **SWEEP)
    pd.testing.assert_frame_equal(_rows(local.results), _rows(res.results), check_exact=True)


KILLED_DRIVER = textwrap.dedent(
    """
    import sys, time
    from s2rbench import sweep
    from s2rbench.sweep.executors import make_executor

    class Slow:  # the driver dawdles 2 s after committing each unit, so that the test can kill it mid-run
        def __init__(self, inner):
            self.inner = inner

        def map(self, *args):
            for item in self.inner.map(*args):
                yield item
                time.sleep(2)

    address, out, cfg = sys.argv[1], sys.argv[2], eval(sys.argv[3])
    sweep.run("synthetic", out=out, executor=Slow(make_executor("ray", address=address, workers=1)), **cfg)
    """
)


@requires_ray
def test_killed_driver_process_resumes(cluster, tmp_path):
    """A driver process joined to the cluster is SIGKILLed after it stored a unit; a re-run completes it."""
    out = tmp_path / "r"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_DRIVER, cluster, str(out), repr(SWEEP)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300  # a fresh driver joins the cluster and imports torch: slow on a busy 2-core box
    stored = 0
    while not stored and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
        if (out / "results.sqlite").exists():
            # an OperationalError: the table is not created yet
            with sqlite3.connect(out / "results.sqlite", timeout=30) as con, suppress(sqlite3.OperationalError):
                stored = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    if proc.poll() is not None:
        pytest.fail(f"the driver ended before it could be killed:\n{proc.stdout.read().decode()[-3000:]}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert stored, "the driver stored no unit within 300 s"
    kept = _stored(out)
    assert len(kept) % 4 == 0 and 0 < len(kept) < 4 * N_UNITS  # whole units only, and not all of them
    ex = make_executor("ray", workers=2)
    res = sweep.run("synthetic", out=out, executor=ex, **SWEEP)
    assert len(ex.attempts) == N_UNITS - len(kept) // 4  # only the missing units ran
    local = sweep.run("synthetic", out=tmp_path / "local", executor=make_executor("local"), **SWEEP)
    pd.testing.assert_frame_equal(_rows(local.results), _rows(res.results), check_exact=True)


@requires_ray
def test_ray_device_and_resource_checks(cluster, prep):
    ex = make_executor("ray", workers=2)
    assert ex.resolve_device("auto") == "cpu"
    with pytest.raises(S2RBenchError, match="needs --gpus-per-unit"):
        ex.resolve_device("cuda")
    gpu = make_executor("ray", gpus_per_unit=1)
    assert gpu.resolve_device("auto") == "cuda"
    unit = sweep.WorkUnit("synthetic", "ridge", "vector", 32, 240, (0,), 0)
    model = get_model("ridge").with_params(**RIDGE)
    with pytest.raises(S2RBenchError, match="the Ray cluster has 0 GPUs"):
        list(gpu.map([unit], prep, model, "cuda"))
    huge = sweep.WorkUnit("synthetic", "ridge", "vector", 8192, 240, tuple(range(10**6)), 0)
    with pytest.raises(S2RBenchError, match=r"more than the .* GiB the largest Ray node offers"):
        list(ex.map([huge], prep, model, "cpu"))
