"""What the harness offers a model about the machine it runs on.

Why: a model that sizes its own work (the mlp stacks as many replicas as fit in the device's free
memory) needs to ask how much memory there is. It used to import that from the executors, a
higher layer, which made a plugin depend on the sweep's internals. A plugin depends on
``s2rbench.contracts`` alone, so the question is answered here; the executors use the same
function (``s2rbench.sweep.executors.available_memory_bytes`` remains as an alias).
"""

from __future__ import annotations

import os


def available_memory_bytes(device: str = "cpu") -> int | None:
    """Memory this process could use now: free GPU memory on a CUDA device (torch's
    ``mem_get_info``), else the kernel's MemAvailable (or free physical pages); None if unknown.

    A model compares it with its own `Model.state_bytes` estimate (leave a margin: it is a
    snapshot, and other processes allocate too)."""
    if str(device).startswith("cuda"):
        try:
            import torch

            free, _total = torch.cuda.mem_get_info(torch.device(device))
            return int(free)
        except Exception:  # no CUDA here: the sweep's own device check reports it
            return None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None
