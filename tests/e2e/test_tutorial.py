"""docs/tutorial.md cannot go stale: its commands are run here, and its pasted output is compared.

Every fenced ```bash block preceded by ``<!-- tutorial:run -->`` is run, in order, by one bash
shell (so `cd` and variables carry over, as in a user's terminal) in a fresh directory, with
S2RBENCH_DATA_DIR pointing at the data mirror. Every fenced block preceded by
``<!-- tutorial:output -->`` is output the tutorial shows for the run block before it: each of its
lines must appear in that block's stdout, in order (a line ``...`` skips any number of lines, and
``…`` within a line any text; runs of spaces and of table dashes are compared loosely, and numbers
written with a decimal point to 2% (integers exactly), so that a table re-aligned by a digit does
not fail, but a changed result does).

Run ``python tests/e2e/test_tutorial.py`` to print each block's actual output (for updating the doc).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
MARK = "@@tutorial-block-{}@@"
_BLOCK = re.compile(r"<!--\s*tutorial:(run|output)\s*-->\s*\n```[a-z]*\n(.*?)```", re.S)
# a number stands alone: digits inside a word or a hash (v1, 3e93496a...) are text and compared exactly
_NUM = re.compile(r"(?<![A-Za-z0-9.])[-+−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![A-Za-z0-9])")


def blocks(doc: str | None = None) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(doc if doc is not None else DOC.read_text())]


def run_blocks(workdir: Path, data_dir: Path, timeout: int = 600) -> tuple[list[str], str, float]:
    """Run the tutorial's commands; stdout of each run block, stderr, and the wall time."""
    runs = [code for kind, code in blocks() if kind == "run"]
    script = ["set -euo pipefail"]
    for i, code in enumerate(runs):
        script += [f"echo '{MARK.format(i)}'", code]
    env = {
        **os.environ,
        "S2RBENCH_DATA_DIR": str(data_dir),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, (
        f"tutorial commands failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    parts = re.split(r"@@tutorial-block-\d+@@\n", proc.stdout)[1:]
    assert len(parts) == len(runs)
    return parts, proc.stderr, wall


def _pattern(doc_line: str) -> re.Pattern:
    """A regex for a shown line: numbers captured, blanks and table dashes loose, `…` any text."""
    out = []
    for piece in doc_line.strip().split("…"):
        parts = []
        pos = 0
        for m in _NUM.finditer(piece):
            parts.append(_text(piece[pos : m.start()]))
            parts.append(r"([-+−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)")
            pos = m.end()
        parts.append(_text(piece[pos:]))
        out.append("".join(parts))
    return re.compile(r"\s*" + ".*?".join(out) + r"\s*")


def _text(t: str) -> str:
    return "".join(
        r"\s*" if c.isspace() else re.escape(c) for c in re.sub(r"\s+", " ", re.sub(r"-{3,}", "\x00", t))
    ).replace(re.escape("\x00"), "-{3,}")


def same(doc_line: str, actual_line: str, rel: float = 0.02) -> bool:
    m = _pattern(doc_line).fullmatch(actual_line)
    if not m:
        return False
    want = _NUM.findall(doc_line.replace("…", " "))
    got = [float(x.replace("−", "-")) for x in m.groups()]
    if len(want) != len(got):
        return False
    for w, a in zip(want, got):
        d = float(w.replace("−", "-"))
        exact = re.fullmatch(r"[-+−]?\d+", w) is not None  # counts (rows, n, m) must match exactly
        if (a != d) if exact else abs(a - d) > max(rel * abs(d), 1e-9):
            return False
    return True


def missing_lines(expected: str, actual: str) -> list[str]:
    """Lines of `expected` not found, in order, in `actual` (`...` skips ahead)."""
    lines = actual.splitlines()
    pos, missing = 0, []
    for want in expected.splitlines():
        if want.strip() in ("...", "…") or not want.strip():
            continue
        for j in range(pos, len(lines)):
            if same(want, lines[j]):
                pos = j + 1
                break
        else:
            missing.append(want)
    return missing


def test_tutorial_blocks_are_marked():
    kinds = [k for k, _ in blocks()]
    assert kinds.count("run") >= 5 and kinds.count("output") >= 3 and kinds[0] == "run"
    text = "\n".join(code for k, code in blocks() if k == "run")
    for command in (
        "s2rbench task init",
        "s2rbench task check",
        "s2rbench task hash",
        "s2rbench run",
        "s2rbench report",
    ):
        assert command in text


def test_tutorial_runs_and_shows_what_it_obtains(data_dir, tmp_path):
    outputs, stderr, wall = run_blocks(tmp_path, data_dir)
    assert "Traceback" not in stderr, stderr[-3000:]
    i = -1
    for kind, code in blocks():
        if kind == "run":
            i += 1
            continue
        missing = missing_lines(code, outputs[i])
        assert not missing, (
            f"tutorial output of run block {i} is stale; not found:\n"
            + "\n".join(missing)
            + f"\n--- actual:\n{outputs[i]}"
        )
    report = tmp_path / "tg-tutorial" / "runs" / "tg-ridge" / "report.md"
    assert report.is_file() and (report.parent / "mae_vs_n.png").is_file()
    print(f"tutorial ran in {wall:.0f} s")


if __name__ == "__main__":  # print the actual output of every run block (to paste into the tutorial)
    import tempfile

    data = Path(os.environ.get("S2RBENCH_DATA_DIR") or DOC.parents[2] / "shared" / "data")
    with tempfile.TemporaryDirectory() as tmp:
        outs, err, wall = run_blocks(Path(tmp), data)
        for k, out in enumerate(outs):
            print(f"===== run block {k} =====\n{out}")
        print(f"===== stderr =====\n{err}\n===== {wall:.0f} s")
