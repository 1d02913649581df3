"""Shared fixtures: a private cache per test session, the data mirror, and the CI rule that
real-data tests never skip silently."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path | None:
    raw = os.environ.get("S2RBENCH_DATA_DIR")
    if raw:
        return Path(raw).resolve()
    guess = REPO.parent / "shared" / "data"
    return guess if guess.is_dir() else None


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Feature and download caches live in a temp dir, so tests neither read nor pollute ~/.cache."""
    old = os.environ.get("S2RBENCH_CACHE_DIR")
    os.environ["S2RBENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("s2rcache"))
    yield
    if old is None:
        os.environ.pop("S2RBENCH_CACHE_DIR", None)
    else:
        os.environ["S2RBENCH_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The local mirror of the built-in tasks' data. Missing in CI is a failure, not a skip."""
    d = _data_dir()
    if d is None or not d.is_dir():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("S2RBENCH_DATA_DIR is not set (or ../shared/data is missing) in CI: real-data tests must run")
        pytest.skip("no data mirror: set S2RBENCH_DATA_DIR to run the real-data tests")
    return d


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Reset the plugin manager before and after a test that changes which plugins load."""
    from s2rbench import plugins

    plugins.reset()
    yield monkeypatch
    plugins.reset()


def install_plugin_package(root: Path, pyproject: str, modules: dict[str, str]) -> Path:
    """Build a third-party plugin package from source texts and pip-install it into ``root/site``
    (offline, no dependencies), as a user would; return that directory for ``PYTHONPATH``."""
    import subprocess
    import sys

    src = root / "src"
    src.mkdir(parents=True)
    (src / "pyproject.toml").write_text(pyproject)
    for name, text in modules.items():
        (src / f"{name}.py").write_text(text)
    target = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(src),
        ],
        check=True,
    )
    return target
