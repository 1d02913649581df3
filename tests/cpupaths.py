"""CPU code paths for the tests that promise the same numbers (or the same verdict) on every CPU (issue 18).

Each flag is read when a library starts, so a path is one subprocess: `run_under` starts one with
the flags added to the environment. NumPy's ``NPY_DISABLE_CPU_FEATURES`` switches its SIMD kernels
off, ``OPENBLAS_CORETYPE`` forces OpenBLAS's kernels of an older core, ``ATEN_CPU_CAPABILITY`` picks
torch's ATen dispatch, and ``GLIBC_TUNABLES=glibc.cpu.hwcaps=...`` makes glibc's libm pick its
variants without FMA / AVX2 (its ifuncs choose by CPU). A path the CPU lacks falls back to what it has.

NumPy 2.x names its dispatch targets by group (``X86_V3``, ``X86_V4``, ``AVX512_ICL``, ...; see
`numpy.show_runtime`): a name that is not a dispatch target (``AVX512_SKX``, ``AVX512F``) is only
reported and disables nothing (the earlier ``AVX512_SKX`` path left NumPy's kernels on), so these
paths use the group names.
"""

from __future__ import annotations

import os
import subprocess
import sys

#: The combined paths the leaderboard check must agree on (the native path runs in-process).
CPU_PATHS: tuple[dict[str, str], ...] = (
    {"NPY_DISABLE_CPU_FEATURES": "X86_V4", "ATEN_CPU_CAPABILITY": "avx2", "OPENBLAS_CORETYPE": "Haswell"},
    {
        "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL",
        "OPENBLAS_CORETYPE": "Sandybridge",
        "ATEN_CPU_CAPABILITY": "default",
    },
)

#: One flag at a time (and the default), for a result that must be bit-identical on each: which flag
#: moves a number is then visible in the failure.
SINGLE_PATHS: tuple[dict[str, str], ...] = (
    {},
    {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL"},  # every AVX-512 kernel off
    {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL"},  # down to the baseline (x86-64-v2)
    {"OPENBLAS_CORETYPE": "Sandybridge"},
    {"OPENBLAS_CORETYPE": "Haswell"},
    {"ATEN_CPU_CAPABILITY": "default"},
    {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F"},
)


def path_id(env: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in env.items()) or "default"


def run_under(env: dict[str, str], args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """``python ARGS`` in a fresh process with ``env`` added to this one's environment."""
    return subprocess.run(
        [sys.executable, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )
