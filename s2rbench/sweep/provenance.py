"""What every result carries: package and plugin versions, device, platform."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

PACKAGES = ("s2rbench", "numpy", "scipy", "pandas", "torch", "rdkit", "pymatgen", "matminer", "lightgbm", "pluggy")


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def resolve_device(device: str = "auto") -> str:
    """'auto' picks CUDA when present; asking for CUDA without it is a user error, not a fallback."""
    from ..errors import S2RBenchError

    device = (device or "auto").lower()
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise S2RBenchError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda" if device == "auto" else device
    if device == "auto":
        return "cpu"
    raise S2RBenchError(f"--device {device} asked for CUDA, but torch sees no CUDA device; use --device cpu or auto")


def cpu_description(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name and its widest SIMD extension, e.g. "Intel(R) Xeon(R) Processor, AVX-512".

    Why both: a float32 training re-run on another CPU may take other SIMD and BLAS kernels (MKL
    dispatches by vendor as well as by instruction set), and a long training can grow their last-bit
    differences into a different model (`s2rbench.leaderboard.reproduce`); the record of a run or a
    reproduction says which CPU it was. Read from /proc/cpuinfo (Linux), else what `platform` knows.
    """
    name, flags = "", set()
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not name:
                    name = " ".join(value.split())[:100]
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
                if name and flags:
                    break
    except OSError:
        pass
    name = name or platform.processor() or platform.machine()
    simd = next(
        (label for flag, label in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("sse4_2", "SSE4.2")) if flag in flags), ""
    )
    return f"{name}, {simd}" if simd else name


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu ({cpu_description()})"
