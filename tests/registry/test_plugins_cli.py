"""Plugins as a third-party package would ship them, and the CLI's behaviour on good and bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import install_plugin_package

from s2rbench.cli import cli

PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "s2rbench-toy"
version = "0.3.0"

[project.entry-points.s2rbench]
toy = "s2rbench_toy"
toy-broken = "s2rbench_toy_broken"

[tool.setuptools]
py-modules = ["s2rbench_toy", "s2rbench_toy_broken"]
"""

PLUGIN_MODULE = '''
import numpy as np
from s2rbench import hookimpl
from s2rbench.models import Model


class ShiftedMean(Model):
    """Predicts the mean of the pretraining targets, corrected by the real training rows' offset."""

    name = "toy-mean"
    version = "0.3.0"
    description = "a toy third-party model"
    defaults = {"shrink": 0.5}

    def fit_predict(self, block):
        out = np.empty((block.n_trials, len(block.X_real)))
        for t in range(block.n_trials):
            real = np.nanmean(block.y_train[t][block.train_mask[t]])
            sim = block.y_sim[block.sim_idx[t]].mean() if block.n else real
            out[t] = self.params["shrink"] * sim + (1 - self.params["shrink"]) * real
        return out


class Duplicate(ShiftedMean):
    name = "ridge"  # claims a built-in name: must be refused with a message, not crash


@hookimpl
def register_models(register):
    register(ShiftedMean())
    register(Duplicate())
'''


@pytest.fixture(scope="module")
def toy_plugin(tmp_path_factory) -> Path:
    """Build and install a third-party plugin package into a private target directory."""
    return install_plugin_package(
        tmp_path_factory.mktemp("toy"),
        PLUGIN_PYPROJECT,
        {
            "s2rbench_toy": PLUGIN_MODULE,
            "s2rbench_toy_broken": "raise ImportError('this plugin is broken on purpose')\n",
        },
    )


def _cli(args, env_extra, cwd):
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "s2rbench.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )


def test_third_party_plugin_is_discovered_and_used_by_run(toy_plugin, tmp_path):
    env = {"PYTHONPATH": str(toy_plugin)}
    listing = _cli(["plugins", "--json"], env, tmp_path)
    assert listing.returncode == 0, listing.stderr
    data = json.loads(listing.stdout)
    toy = next(p for p in data["plugins"] if p["name"] == "toy")
    assert toy["distribution"] == "s2rbench-toy" and toy["version"] == "0.3.0"
    assert toy["provides"] == {"models": ["toy-mean"]}
    problems = " ".join(data["problems"])
    assert "toy-broken" in problems and "broken on purpose" in problems  # a broken plugin is named...
    assert "registers model 'ridge', which plugin 'linear' already provides" in problems  # ...and so is a duplicate
    run = _cli(
        [
            "run",
            "synthetic",
            "--model",
            "toy-mean",
            "--sizes",
            "32,128,512",
            "--trials",
            "2",
            "--no-progress",
            "--boot",
            "50",
            "--out",
            "r",
        ],
        env,
        tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "toy-mean" in run.stdout and "Traceback" not in run.stderr
    cfg = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3,sys; print(sqlite3.connect('r/results.sqlite')"
                ".execute(\"select value from meta where key='config'\").fetchone()[0])",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        ).stdout
    )
    assert cfg["model_plugin"]["distribution"] == "s2rbench-toy" and cfg["model_plugin"]["version"] == "0.3.0"
    # the built-in ridge still works beside the duplicate claim
    ridge = _cli(
        [
            "run",
            "synthetic",
            "--model",
            "ridge",
            "--sizes",
            "32,128,512",
            "--trials",
            "1",
            "--no-progress",
            "--boot",
            "20",
            "--out",
            "r2",
        ],
        env,
        tmp_path,
    )
    assert ridge.returncode == 0, ridge.stderr


def test_load_plugins_whitelist_makes_registry_hermetic(fresh_plugins):
    fresh_plugins.setenv("S2RBENCH_LOAD_PLUGINS", "cards,synthetic")
    from s2rbench.plugins import get_registry

    reg = get_registry()
    # the core's command families always load (they are the command line, not a choice)
    assert sorted(p.name for p in reg.plugins if not p.module.startswith("s2rbench.cli")) == ["cards", "synthetic"]
    assert reg.models == {}
    assert "synthetic" in reg.tasks and "vector" in reg.featurizers


def test_cli_run_fit_report_export(tmp_path):
    runner = CliRunner()
    out = str(tmp_path / "run")
    res = runner.invoke(
        cli,
        [
            "run",
            "synthetic",
            "--model",
            "ridge",
            "--sizes",
            "32,128,512,2048",
            "--trials",
            "3",
            "--param",
            "random_features=128",
            "--no-progress",
            "--boot",
            "100",
            "--out",
            out,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "alpha [90% CI]" in res.output and "scratch MAE" in res.output
    res = runner.invoke(cli, ["fit", out, "--json", "--boot", "100"])
    assert res.exit_code == 0, res.output
    fitted = json.loads(res.output)
    assert fitted["fit"]["alpha"] > 0 and fitted["curve"]["n"] == [32, 128, 512, 2048]
    assert (tmp_path / "run" / "report.md").read_text().count("![MAE versus n](mae_vs_n.png)") == 1
    png = tmp_path / "run" / "mae_vs_n.png"
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    res = runner.invoke(cli, ["export", out, str(tmp_path / "rows.csv")])
    assert res.exit_code == 0 and (tmp_path / "rows.csv").read_text().count("\n") == 1 + 5 * 3


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "no-such-task"], "unknown task 'no-such-task'"),
        (["run", "synthetic", "--model", "nope"], "unknown model 'nope'"),
        (["run", "synthetic", "--featurizer", "nope"], "unknown featurizer 'nope'"),
        (["run", "synthetic", "--sizes", "1,x"], "--sizes '1,x' must be comma-separated integers"),
        (
            ["run", "synthetic", "--device", "cuda:7"]
            if not __import__("torch").cuda.is_available()
            else ["run", "synthetic", "--device", "tpu"],
            "device",
        ),
        (["run", "missing/card.toml"], "does not exist"),
        (["fit", "/nonexistent/run"], "holds no s2rbench results"),
        (["run", "synthetic", "--param", "nonsense"], "must look like name=value"),
    ],
)
def test_cli_errors_are_one_line_and_nonzero(args, fragment, tmp_path):
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "x")] if args[0] == "run" else args)
    assert res.exit_code == 1
    assert fragment in res.output
    assert "Traceback" not in res.output
    assert sum(1 for line in res.output.splitlines() if line.startswith("Error:")) == 1
