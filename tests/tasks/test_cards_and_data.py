import hashlib
from pathlib import Path

import pytest

from s2rbench import data as data_mod
from s2rbench.errors import S2RBenchError
from s2rbench.tasks import load_card, load_tables

CARD = """
format = 1
name = "toy"
version = "1.0.0"
input_kind = "vector"
featurizer = "vector"
[target]
name = "y"
unit = "u"
[sim]
file = "sim"
input = "x"
target = "y"
[real]
file = "real"
input = "x"
target = "y"
[files.sim]
path = "sim.csv"
{sim_sha}
[files.real]
path = "real.csv"
[protocol]
sizes = [4, 8, 16]
"""


def write_card(tmp_path: Path, text: str = CARD, sim_sha: str = "", **files: str) -> Path:
    files = {
        "sim.csv": "x,y\n" + "".join(f'"{i},{i + 1}",{i}\n' for i in range(30)),
        "real.csv": "x,y\n" + "".join(f'"{i},{i}",{i}\n' for i in range(20)),
        **files,
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    p = tmp_path / "toy.toml"
    p.write_text(text.replace("{sim_sha}", sim_sha))
    return p


def test_card_loads_and_tables_map_columns(tmp_path):
    card = load_card(write_card(tmp_path))
    t = load_tables(card)
    assert list(t.sim.columns[:2]) == ["input", "target"]
    assert len(t.sim) == 30 and len(t.real) == 20


def test_card_hash_ignores_comments_but_not_values(tmp_path):
    a = load_card(write_card(tmp_path)).hash
    p = tmp_path / "toy.toml"
    p.write_text("# a comment\n" + p.read_text())
    assert load_card(p).hash == a
    p.write_text(p.read_text().replace('version = "1.0.0"', 'version = "1.0.1"'))
    assert load_card(p).hash != a


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda s: s.replace('input_kind = "vector"', 'input_kind = "crystal"'), 'input_kind = "crystal" is not valid'),
        (lambda s: s.replace("format = 1", "format = 9"), "newer than this s2rbench"),
        (lambda s: s.replace('[files.real]\npath = "real.csv"', ""), "file 'real' is not declared under [files]"),
        (lambda s: s.replace("sizes = [4, 8, 16]", "sizes = [8, 4]"), "increasing"),
        (lambda s: s.replace('name = "toy"', ""), "has no `name`"),
        (lambda s: s + "\n[[[", "not valid TOML"),
    ],
)
def test_card_errors_are_one_line(tmp_path, edit, fragment):
    p = write_card(tmp_path)
    p.write_text(edit(p.read_text()))
    with pytest.raises(S2RBenchError) as exc:
        load_tables(load_card(p))
    assert fragment in str(exc.value)
    assert "\n" not in str(exc.value)


def test_missing_column_nan_target_and_malformed_csv(tmp_path):
    p = write_card(tmp_path, text=CARD.replace('target = "y"\n[real]', 'target = "z"\n[real]'))
    with pytest.raises(S2RBenchError, match=r"column\(s\) \['z'\] not in the table"):
        load_tables(load_card(p))
    p = write_card(tmp_path, **{"real.csv": 'x,y\n"1,1",\n"2,2",3\n'})
    with pytest.raises(S2RBenchError, match=r"1 missing value.*drop_missing_target"):
        load_tables(load_card(p))
    p = write_card(tmp_path, **{"real.csv": 'x,y\n"1,1",abc\n"2,2",3\n'})
    with pytest.raises(S2RBenchError, match="non-numeric"):
        load_tables(load_card(p))
    p = write_card(tmp_path, **{"real.csv": 'x,y\n"1,1",1,5,6\n"2,2\n'})
    with pytest.raises(S2RBenchError, match="cannot read"):
        load_tables(load_card(p))


def test_hash_mismatch_names_file_and_fix(tmp_path):
    p = write_card(tmp_path, sim_sha='sha256 = "' + "0" * 64 + '"')
    with pytest.raises(S2RBenchError, match=r"has sha256 .* expects 000000000000.* delete it"):
        load_tables(load_card(p))


def test_mirror_is_preferred_and_checked(tmp_path):
    content = b"a,b\n1,2\n"
    sha = hashlib.sha256(content).hexdigest()
    (tmp_path / "mirror" / "sub").mkdir(parents=True)
    (tmp_path / "mirror" / "sub" / "f.csv").write_bytes(content)
    entry = data_mod.FileEntry(key="f", url="https://s2rbench.invalid/f.csv", sha256=sha, mirror="sub/f.csv")
    assert data_mod.fetch(entry, data_dir=tmp_path / "mirror").read_bytes() == content
    (tmp_path / "mirror" / "sub" / "f.csv").write_bytes(b"tampered\n")
    with pytest.raises(S2RBenchError, match="mirror file"):
        data_mod.fetch(entry, data_dir=tmp_path / "mirror")


def test_missing_file_without_network_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.delenv("S2RBENCH_DATA_DIR", raising=False)
    entry = data_mod.FileEntry(key="f", url="https://s2rbench.invalid/f.csv", sha256="1" * 64, mirror="sub/f.csv")
    with pytest.raises(S2RBenchError) as exc:
        data_mod.fetch(entry)
    msg = str(exc.value)
    assert (
        "'f' is missing" in msg
        and "https://s2rbench.invalid/f.csv" in msg
        and "S2RBENCH_DATA_DIR" in msg
        and "sub/f.csv" in msg
    )


def test_builtin_cards_point_at_the_shared_data_hashes(data_dir):
    from s2rbench.tasks import builtin_card_dir

    for path in builtin_card_dir().glob("*.toml"):
        card = load_card(path)
        for entry in card.files.values():
            local = data_dir / entry.mirror
            assert local.is_file(), f"{path.name}: {entry.mirror} missing from the mirror"
            assert data_mod.sha256_of(local) == entry.sha256, f"{path.name}: {entry.key} hash differs"
            assert entry.url.startswith("https://raw.githubusercontent.com/") and entry.sha256
