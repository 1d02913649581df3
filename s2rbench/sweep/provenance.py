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


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu ({platform.processor() or platform.machine()})"
