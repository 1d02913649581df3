"""The one process pool the featurizers use (composition and polymer featurizers share it).

``fork`` where the platform has it: the workers then inherit the already-imported pymatgen or RDKit
instead of importing it again (seconds per worker); elsewhere the platform's default start method.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers`` processes, forked where available."""
    import multiprocessing as mp

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
