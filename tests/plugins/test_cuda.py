"""The CUDA path of the batched ensemble and of the sweep. These tests run where CUDA is present and
are reported as skipped, with the reason, where it is not (CI runs on CPU; the CPU path is tested
everywhere else). Run them on a GPU machine with `python -m pytest -q tests/plugins/test_cuda.py -rs`."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from test_mlp import make_block, test_mae

from s2rbench import sweep
from s2rbench.sweep.store import Store
from s2rbench_plugins.models.mlp import MLP

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="CUDA is not available on this machine (torch.cuda.is_available() is False)"
)

FAST = dict(pretrain_epochs=20, finetune_epochs=20, hidden=(32,))


def test_cuda_matches_cpu_accuracy_and_is_deterministic():
    block, y_real, test_idx = make_block(T=4, n=200, m=40)
    cpu = MLP(**FAST).fit_predict(block)
    gpu_block = dataclasses.replace(block, device="cuda")
    gpu = MLP(**FAST).fit_predict(gpu_block)
    np.testing.assert_array_equal(gpu, MLP(**FAST).fit_predict(gpu_block))  # same seeds, same numbers
    a, b = test_mae(cpu, y_real, test_idx), test_mae(gpu, y_real, test_idx)
    assert abs(a - b) < 0.1 * a


def test_cuda_replica_groups_give_close_numbers():
    block, _, _ = make_block(T=6, n=100, m=30)
    gpu_block = dataclasses.replace(block, device="cuda")
    whole = MLP(**FAST).fit_predict(gpu_block)
    chunked = MLP(**FAST)
    chunked.max_replicas = 4
    got = chunked.fit_predict(gpu_block)
    assert chunked.last_groups == [4, 2]
    np.testing.assert_allclose(got, whole, rtol=1e-3, atol=1e-3)


def test_tf32_and_bf16_run_on_cuda():
    block, y_real, test_idx = make_block(T=2, n=200, m=40)
    gpu_block = dataclasses.replace(block, device="cuda")
    ref = test_mae(MLP(**FAST).fit_predict(gpu_block), y_real, test_idx)
    for precision in ("tf32", "bf16"):
        got = test_mae(MLP(**FAST, precision=precision).fit_predict(gpu_block), y_real, test_idx)
        assert abs(got - ref) < 0.25 * ref
    assert torch.backends.cuda.matmul.allow_tf32 is False  # restored after the tf32 run


def test_sweep_on_cuda_records_the_device(tmp_path):
    sweep.run(
        "synthetic", model="mlp", sizes=[32, 128], trials=2, m=30, device="cuda", out=tmp_path / "r", model_params=FAST
    )
    rows = Store(tmp_path / "r", create=False).results()
    assert len(rows) and rows["device"].str.startswith("cuda").all()
