"""Featurizer plugins: polymer/molecule (RDKit) and composition (Magpie) features.

Fast (a few seconds): small fixed inputs, plus a short real-data check when the data mirror is there.
The Magpie features are compared with matminer itself, the reference implementation.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

pytest.importorskip("rdkit")
pytest.importorskip("pymatgen")

from rdkit import Chem

from s2rbench.featurizers import PART_SEP, InvalidInputsWarning, featurize_with
from s2rbench_plugins.featurizers import composition as cf
from s2rbench_plugins.featurizers import polymer as pf
from s2rbench_plugins.featurizers import ward as wf

N_DESC = len(pf.DESCRIPTORS)
N_ATT = len(pf.ATTACHMENT_FEATURES)


def _col(fm, name):
    return fm.X[:, fm.names.index(name)]


def _featurize_quietly(featurizer, inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # valid inputs must not warn
        return featurize_with(featurizer, inputs)


# --------------------------------------------------------------------------------------------
# Polymer canonicalization
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "afzal, star",
    [
        ("[Ce]CC(C)(C)[Th]", "*CC(*)(C)C"),
        ("[Ce]CC(c1ccccc1)[Th]", "*CC(*)c1ccccc1"),
        ("[Ce]O[Si](C)(C)[Th]", "[*]O[Si]([*])(C)C"),
        ("[Ce]CCO[Th]", "*OCC*"),
    ],
)
def test_both_polymer_notations_canonicalize_identically(afzal, star):
    f = pf.PolymerRDKit()
    a, b = f.canonicalize([afzal, star])
    assert a is not None and a == b
    assert "*" in a and "Ce" not in a and "Th" not in a
    assert f.canonicalize([a]) == [a]  # idempotent
    assert pf.PolymerChain().canonicalize([afzal, star]) == [a, a]


def test_labelled_dummies_are_plain_attachment_points():
    assert pf.canonical_polymer("[1*]CC[2*]") == pf.canonical_polymer("*CC*") == "*CC*"


@pytest.mark.parametrize(
    "bad",
    ["C1CC", "*CC", "xyz", "", "CC", "*C(*)C*", "*C.C*", "CCCCC(C[*]C)[*]", "*=CC=*", "[Ce]CC"],
)
def test_invalid_polymers_canonicalize_to_none(bad):
    assert pf.PolymerRDKit().canonicalize([bad]) == [None]


def test_invalid_inputs_give_nan_rows_and_one_warning():
    inputs = ["*CC*", "C1CC", "*CC", "xyz", "*CC(*)c1ccccc1"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fm = featurize_with(pf.PolymerRDKit(), inputs)
    invalid = [w for w in caught if issubclass(w.category, InvalidInputsWarning)]
    assert len(invalid) == 1
    msg = str(invalid[0].message)
    assert "3 polymer input(s)" in msg
    for row, text in [(1, "C1CC"), (2, "*CC"), (3, "xyz")]:
        assert f"row {row}: {text!r}" in msg
    assert fm.invalid == [1, 2, 3]
    assert np.isnan(fm.X[[1, 2, 3]]).all()
    assert np.isfinite(fm.X[[0, 4]]).all()


# --------------------------------------------------------------------------------------------
# Polymer and molecule features
# --------------------------------------------------------------------------------------------


def test_feature_widths_and_names():
    p, c, m, s = pf.PolymerRDKit(), pf.PolymerChain(), pf.MoleculeRDKit(), pf.PolymerSolvent()
    assert 40 <= N_DESC <= 70
    assert len(p.feature_names()) == N_DESC + N_ATT + 1024
    assert c.feature_names() == p.feature_names()
    assert len(m.feature_names()) == N_DESC + 1024
    names = s.feature_names()
    assert len(names) == len(p.feature_names()) + 1 + len(m.feature_names())
    assert all(n.startswith(("polymer:", "solvent:")) for n in names)
    assert len(set(names)) == len(names)
    for f in (p, c, m, s):
        assert len(set(f.feature_names())) == len(f.feature_names())
        assert f.config()["radius"] == 2 and f.config()["nbits"] == 1024
        assert f.config()["descriptor_set"] == pf.DESCRIPTOR_SET_VERSION
    assert pf.PolymerRDKit(nbits=512).feature_names()[-1] == "morgan_r2_0511"


def test_repeat_unit_descriptor_values():
    inputs = ["*CC*", "*CC(*)c1ccccc1", "*CCO*", "*c1ccc(*)cc1", "[Ce]O[Si](C)(C)[Th]"]
    fm = _featurize_quietly(pf.PolymerRDKit(), inputs)
    assert fm.X.shape == (5, len(fm.names))
    # H-capped units: ethane, ethylbenzene, ethanol, benzene, dimethylsilanol
    np.testing.assert_allclose(_col(fm, "MolWt")[:4], [30.07, 106.168, 46.069, 78.114], atol=0.01)
    assert list(_col(fm, "NumAromaticRings")) == [0, 1, 0, 1, 0]
    assert list(_col(fm, "HeavyAtomCount")) == [2, 8, 3, 6, 4]
    assert list(_col(fm, "NumHydrogens")[:2]) == [6, 10]
    assert list(_col(fm, "n_Si")) == [0, 0, 0, 0, 1]
    # attachment atoms, sorted by atomic number: C/C, C/C, C/O, c/c, O/Si
    assert list(_col(fm, "att1_atomic_num")) == [6, 6, 6, 6, 8]
    assert list(_col(fm, "att2_atomic_num")) == [6, 6, 8, 6, 14]
    assert list(_col(fm, "att1_is_aromatic")) == [0, 0, 0, 1, 0]
    assert list(_col(fm, "att1_in_ring")) == [0, 0, 0, 1, 0]
    # backbone: atoms on the shortest path between the attachment points
    assert list(_col(fm, "backbone_path_atoms")) == [2, 2, 3, 4, 2]
    assert list(_col(fm, "backbone_ring_atoms")) == [0, 0, 0, 4, 0]
    assert list(_col(fm, "backbone_flexible_bonds")) == [2, 2, 3, 1, 2]
    np.testing.assert_allclose(_col(fm, "backbone_fraction"), [1, 2 / 8, 1, 4 / 6, 2 / 4])
    # H-capping makes *CCO* ethanol: a terminal OH, not an ether (the chain featurizer fixes that)
    assert _col(fm, "fr_Al_OH")[2] == 1 and _col(fm, "fr_ether")[2] == 0


def test_morgan_counts_encode_attachment_points():
    poly = _featurize_quietly(pf.PolymerRDKit(), ["*CC*"])
    mol = _featurize_quietly(pf.MoleculeRDKit(), ["CC"])
    fp_poly = poly.X[0, N_DESC + N_ATT :]
    fp_mol = mol.X[0, N_DESC:]
    assert fp_poly.sum() > fp_mol.sum()  # the two * atoms and their environments are counted
    assert not np.array_equal(fp_poly, fp_mol)
    # descriptors of the H-capped unit equal those of the molecule ethane
    np.testing.assert_allclose(poly.X[0, :N_DESC], mol.X[0, :N_DESC])


def test_duplicates_are_computed_once_and_identical():
    fm = _featurize_quietly(pf.PolymerRDKit(), ["*CC*", "[Ce]CC[Th]", "*CC*"])
    assert np.array_equal(fm.X[0], fm.X[1]) and np.array_equal(fm.X[0], fm.X[2])


def test_cyclic_oligomers():
    unit = Chem.MolFromSmiles("*CC*")
    assert Chem.MolToSmiles(pf.cyclic_oligomer(unit, 2)) == "C1CCC1"  # cyclobutane
    assert Chem.MolToSmiles(pf.cyclic_oligomer(unit, 3)) == "C1CCCCC1"  # cyclohexane
    ring = pf.cyclic_oligomer(Chem.MolFromSmiles("*CC(*)c1ccccc1"), 3)
    assert ring.GetRingInfo().NumRings() == 4  # three phenyls + the closing 6-ring
    # aromaticity is the repeat unit's: the polyacetylene trimer is not benzene
    ring = pf.cyclic_oligomer(Chem.MolFromSmiles("*C=C*"), 3)
    assert not any(a.GetIsAromatic() for a in ring.GetAtoms())
    # a single backbone atom cannot close a two-unit ring, but can close three
    assert pf.cyclic_oligomer(Chem.MolFromSmiles("*C(*)(F)F"), 2) is None
    assert Chem.MolToSmiles(pf.cyclic_oligomer(Chem.MolFromSmiles("*C(*)(F)F"), 3)) == "FC1(F)C(F)(F)C1(F)F"


def test_chain_features_are_per_repeat_unit():
    fm = _featurize_quietly(pf.PolymerChain(), ["*CC*", "*CCO*", "*C(*)C(=O)OC"])
    np.testing.assert_allclose(_col(fm, "MolWt")[:2], [28.054, 44.053], atol=0.01)  # C2H4, C2H4O
    assert list(_col(fm, "HeavyAtomCount")) == [2, 3, 5]
    # in the chain the oxygen of poly(ethylene oxide) is an ether, not an alcohol
    assert _col(fm, "fr_ether")[1] == 1 and _col(fm, "fr_Al_OH")[1] == 0
    # Morgan counts per unit: polyethylene has one atom environment type, CH2 between CH2s
    fp = fm.X[0, N_DESC + N_ATT :]
    assert fp.sum() == pytest.approx(2 * 3)  # 2 atoms x radii 0, 1, 2
    # a dimer of a single-atom backbone cannot close: invalid for n_units=2
    assert pf.PolymerChain(n_units=2).canonicalize(["*C(*)C(=O)OC"]) == [None]
    assert pf.PolymerChain(n_units=2).config()["n_units"] == 2


def test_molecule_featurizer_rejects_attachment_points():
    f = pf.MoleculeRDKit()
    assert f.canonicalize(["OCC", "*CC*", "C1CC", ""]) == ["CCO", None, None, None]
    fm = _featurize_quietly(f, ["CCO", "c1ccccc1"])
    assert list(_col(fm, "NumAromaticRings")) == [0, 1]
    np.testing.assert_allclose(_col(fm, "MolWt"), [46.069, 78.114], atol=0.01)


def test_polymer_solvent_pairs():
    f = pf.PolymerSolvent()
    pair = f"[Ce]CC(C)(C)[Th]{PART_SEP}ClC(Cl)Cl"
    canon = f.canonicalize([pair, f"*CC(*)(C)C{PART_SEP}C(Cl)(Cl)Cl"])
    assert canon[0] == canon[1] == f"*CC(*)(C)C{PART_SEP}ClC(Cl)Cl"
    # cyclic oligomer written without attachment points: accepted as a molecule
    cyclic = f"C1CCCCCCCCC1{PART_SEP}O"
    bad = ["*CC*", f"*CC*{PART_SEP}O{PART_SEP}O", f"*CC{PART_SEP}O", f"*CC*{PART_SEP}*O*", f"*CC*{PART_SEP}xyz"]
    assert f.canonicalize([cyclic, *bad]) == ["C1CCCCCCCCC1|O"] + [None] * len(bad)

    fm = _featurize_quietly(f, [pair, cyclic])
    p_width = len(pf.PolymerRDKit().feature_names()) + 1
    assert fm.X.shape == (2, p_width + len(pf.MoleculeRDKit().feature_names()))
    assert list(_col(fm, "polymer:has_attachment_points")) == [1, 0]
    assert _col(fm, "polymer:att1_atomic_num")[1] == 0
    np.testing.assert_allclose(_col(fm, "polymer:MolWt"), [58.12, 140.27], atol=0.01)  # isobutane; C10H20
    np.testing.assert_allclose(_col(fm, "solvent:MolWt"), [119.38, 18.015], atol=0.01)
    # the blocks are the single featurizers' rows
    poly = _featurize_quietly(pf.PolymerRDKit(), ["[Ce]CC(C)(C)[Th]"]).X[0]
    solv = _featurize_quietly(pf.MoleculeRDKit(), ["ClC(Cl)Cl"]).X[0]
    np.testing.assert_array_equal(fm.X[0], np.concatenate([poly, [1.0], solv]))


def test_parallel_path_matches_serial(monkeypatch):
    inputs = ["*CC*", "*CC(*)c1ccccc1", "*CCO*", "*c1ccc(*)cc1", "C1CC", "*CC(*)(C)C"] * 3
    serial = featurize_with_quiet_invalid(pf.PolymerRDKit(), inputs)
    monkeypatch.setattr(pf, "PARALLEL_MIN_INPUTS", 2)
    parallel = featurize_with_quiet_invalid(pf.PolymerRDKit(), inputs)
    np.testing.assert_array_equal(serial.X, parallel.X)
    assert serial.invalid == parallel.invalid == [4, 10, 16]


def featurize_with_quiet_invalid(featurizer, inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InvalidInputsWarning)
        return featurize_with(featurizer, inputs)


def test_registered_through_the_plugin_hook():
    from s2rbench.plugins import get_featurizer

    for name, kind in [
        ("polymer-rdkit", "polymer"),
        ("polymer-chain", "polymer"),
        ("molecule-rdkit", "molecule"),
        ("polymer-solvent", "polymer-solvent"),
        ("magpie", "composition"),
        ("magpie-ward", "composition"),
    ]:
        f = get_featurizer(name)
        assert f.name == name and f.input_kind == kind and f.description


# --------------------------------------------------------------------------------------------
# Magpie
# --------------------------------------------------------------------------------------------

#: Real formulas (most from the band-gap tables) and odd ones: parentheses, an explicit 1, single
#: elements, 5 elements, fractional amounts, noble gases, actinides, deuterium.
FORMULAS = [
    "Ag(AuS)2", "AgAu2S2", "Cr3Ni1", "K4Mn4O8", "Fe", "Si", "He", "Og", "H2O", "D2O", "NaCl",
    "LiFePO4", "BaTiO3", "CsPbI3", "YBa2Cu3O7", "Cu2ZnSn(SSe)2", "LiNi0.8Co0.15Al0.05O2",
    "Ag2Mo(I2O7)2", "Al(Ni10B7)2", "AlFe4(CuO4)3", "Al0.2Ga0.8P1", "Si0.8Ge0.2", "XeF2",
    "Pu2O3", "Bi2Te3", "Fe3O4", "CdTe", "MgB2", "Ga0.5In0.5As", "Ca0.1234567891234Ti",
    "Ba0.999Sr0.001TiO3", "KNaCaMgSiAlO7",
]  # fmt: skip

RTOL, ATOL = 1e-6, 1e-8


def _matminer_composition():
    """matminer is the reference implementation (a test dependency); outside CI a missing install is a
    reported skip, in CI (``CI`` set) an import error, never a silent pass."""
    if os.environ.get("CI"):
        import matminer.featurizers.composition as composite

        return composite
    return pytest.importorskip("matminer.featurizers.composition", reason="matminer (test extra) not installed")


@pytest.fixture(scope="module")
def matminer_magpie():
    return _matminer_composition().ElementProperty.from_preset("magpie")


def _matminer_rows(ep, formulas):
    from pymatgen.core import Composition

    return np.array([ep.featurize(Composition(f)) for f in formulas], dtype=np.float64)


def test_magpie_names_match_matminer(matminer_magpie):
    names = cf.Magpie().feature_names()
    assert names == matminer_magpie.feature_labels()
    assert len(names) == 22 * 6 == 132


def test_magpie_matches_matminer(matminer_magpie):
    fm = _featurize_quietly(cf.Magpie(), FORMULAS)
    ref = _matminer_rows(matminer_magpie, FORMULAS)
    np.testing.assert_allclose(fm.X, ref, rtol=RTOL, atol=ATOL)


def test_magpie_matches_matminer_without_imputation():
    """With impute_nan=False matminer leaves NaN for missing element data (He: no melting point)."""
    composite = _matminer_composition()
    base = composite.ElementProperty.from_preset("magpie")
    ep = composite.ElementProperty("magpie", base.features, base.stats, impute_nan=False)
    formulas = ["He", "HeF2", "Fe2O3", "FrCl", "XeF2"]
    canon = cf.Magpie(impute_nan=False).canonicalize(formulas)
    X = cf.Magpie(impute_nan=False).featurize_canonical(canon)
    ref = _matminer_rows(ep, formulas)
    assert np.isnan(ref).any() and np.isfinite(ref[2]).all()
    np.testing.assert_allclose(X, ref, rtol=RTOL, atol=ATOL, equal_nan=True)


def test_magpie_real_formulas_match_matminer(data_dir, matminer_magpie):
    import pandas as pd

    formulas: list[str] = []
    for name in ("mp_gap.csv", "expt_gap.csv"):
        table = pd.read_csv(data_dir / "bandgap" / name, nrows=3000)
        formulas += table["formula"].sample(15, random_state=1).tolist()
    fm = _featurize_quietly(cf.Magpie(), formulas)
    np.testing.assert_allclose(fm.X, _matminer_rows(matminer_magpie, formulas), rtol=RTOL, atol=ATOL)


def test_magpie_canonical_forms():
    m = cf.Magpie()
    canon = m.canonicalize(["Ag(AuS)2", "AgAu2S2", "Ag2Au4S4", "Cr3Ni1", "K4Mn4O8", "Al0.2Ga0.8P1", "D2O"])
    assert canon == ["AgAu2S2", "AgAu2S2", "AgAu2S2", "Cr3Ni", "KMnO2", "AlGa4P5", "H2O"]
    assert m.canonicalize(canon) == canon  # idempotent
    assert m.canonicalize(["Xx2O", "", "H2O+", "123", "Fe1/3Ni", "NaCl·H2O", "O0"]) == [None] * 7
    # not rational with a small denominator: written as atomic fractions
    (frac,) = m.canonicalize(["Fe0.3333Co0.1Ni0.77777"])
    assert frac.startswith("Fe0.27") and m.canonicalize([frac]) == [frac]


def test_magpie_invalid_formula_warns_once(matminer_magpie):
    inputs = ["NaCl", "Xx2O", "Fe2O3", "not a formula"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fm = featurize_with(cf.Magpie(), inputs)
    invalid = [w for w in caught if issubclass(w.category, InvalidInputsWarning)]
    assert len(invalid) == 1 and "row 1: 'Xx2O'" in str(invalid[0].message)
    assert fm.invalid == [1, 3]
    np.testing.assert_allclose(fm.X[[0, 2]], _matminer_rows(matminer_magpie, ["NaCl", "Fe2O3"]), rtol=RTOL, atol=ATOL)


def test_magpie_parallel_parsing_matches_serial(monkeypatch):
    inputs = FORMULAS * 2 + ["Xx2O"]
    serial = cf.Magpie(parallel=False).canonicalize(inputs)
    monkeypatch.setattr(cf, "PARALLEL_MIN_INPUTS", 5)
    assert cf.Magpie().canonicalize(inputs) == serial


def test_magpie_statistics_need_canonical_input():
    with pytest.raises(ValueError):
        cf.magpie_statistics(["NaCl", "not canonical"])


# --------------------------------------------------------------------------------------------
# magpie-ward (Ward et al. 2016: magpie + Stoichiometry + ValenceOrbital + ionic character)
# --------------------------------------------------------------------------------------------


def _matminer_ward(impute_nan: bool = True):
    """matminer's featurizers of the set, in magpie-ward's order. IonProperty(fast=True) changes only
    ``compound possible`` (dropped by `_matminer_ward_rows`), and works on fractional formulas."""
    composite = _matminer_composition()
    base = composite.ElementProperty.from_preset("magpie")
    return [
        composite.ElementProperty("magpie", base.features, base.stats, impute_nan=impute_nan),
        composite.Stoichiometry(),
        composite.ValenceOrbital(impute_nan=impute_nan),
        composite.IonProperty(impute_nan=impute_nan, fast=True),
    ]


def _matminer_ward_rows(featurizers, formulas):
    from pymatgen.core import Composition

    labels = [label for f in featurizers for label in f.feature_labels()]
    keep = [i for i, label in enumerate(labels) if label != "compound possible"]
    rows = [[v for f in featurizers for v in f.featurize(Composition(x))] for x in formulas]
    return np.array(rows, dtype=np.float64)[:, keep], [labels[i] for i in keep]


def _real_formulas(data_dir, per_file=15):
    import pandas as pd

    formulas: list[str] = []
    for name in ("mp_gap.csv", "expt_gap.csv"):
        table = pd.read_csv(data_dir / "bandgap" / name, nrows=3000)
        formulas += table["formula"].sample(per_file, random_state=2).tolist()
    return formulas


def test_ward_names_and_values_match_matminer():
    ref, labels = _matminer_ward_rows(_matminer_ward(), FORMULAS)
    fm = _featurize_quietly(wf.MagpieWard(), FORMULAS)
    assert fm.names == labels and len(labels) == 132 + 6 + 8 + 2
    np.testing.assert_allclose(fm.X, ref, rtol=RTOL, atol=ATOL)


def test_ward_real_formulas_match_matminer(data_dir):
    """30 real formulas (15 Materials Project, 15 experimental), every column to 1e-6 relative."""
    formulas = _real_formulas(data_dir)
    ref, _ = _matminer_ward_rows(_matminer_ward(), formulas)
    fm = _featurize_quietly(wf.MagpieWard(), formulas)
    assert len(set(formulas)) == 30 and np.isfinite(fm.X).all()
    np.testing.assert_allclose(fm.X, ref, rtol=RTOL, atol=ATOL)


def test_ward_without_imputation_matches_matminer():
    """Noble gases have no Pauling electronegativity: NaN ionic character without imputation."""
    formulas = ["He", "HeF2", "Fe2O3", "XeF2", "ArNa"]
    f = wf.MagpieWard(impute_nan=False)
    X = f.featurize_canonical(f.canonicalize(formulas))
    ref, _ = _matminer_ward_rows(_matminer_ward(impute_nan=False), formulas)
    assert np.isnan(ref[1, -2]) and np.isfinite(ref[2]).all()
    np.testing.assert_allclose(X, ref, rtol=RTOL, atol=ATOL, equal_nan=True)


def test_ward_extends_magpie():
    """The first 132 columns are magpie's, exactly; canonical forms and invalid rows are magpie's."""
    inputs = [*FORMULAS, "Xx2O", "not a formula"]
    magpie, ward = cf.Magpie(), wf.MagpieWard()
    assert ward.canonicalize(inputs) == magpie.canonicalize(inputs)
    a, b = featurize_with_quiet_invalid(magpie, inputs), featurize_with_quiet_invalid(ward, inputs)
    assert b.invalid == a.invalid == [len(FORMULAS), len(FORMULAS) + 1]
    assert b.names[:132] == a.names and np.array_equal(b.X[:, :132], a.X, equal_nan=True)
    assert ward.config()["omitted"] == ["compound possible"] and ward.config() != magpie.config()


def test_ward_values_by_hand():
    """NaCl: 2 elements at 1/2; Na 3s1, Cl 3s2 3p5; Pauling 0.93 and 3.16."""
    f = wf.MagpieWard()
    fm = _featurize_quietly(f, ["NaCl", "Fe"])
    col = dict(zip(fm.names, fm.X[0]))
    assert col["0-norm"] == 2 and col["2-norm"] == pytest.approx(0.5**0.5)
    assert col["avg s valence electrons"] == pytest.approx(1.5) and col["avg p valence electrons"] == 2.5
    assert col["frac p valence electrons"] == pytest.approx(2.5 / 4)
    char = 1 - np.exp(-((3.16 - 0.93) ** 2) / 4)
    assert col["max ionic char"] == pytest.approx(char) and col["avg ionic char"] == pytest.approx(char / 4)
    single = dict(zip(fm.names, fm.X[1]))
    assert single["max ionic char"] == single["avg ionic char"] == 0 and single["10-norm"] == 1


def test_ward_is_vectorised_over_element_counts():
    """The pairwise ionic character runs once per distinct element count; rows stay in place."""
    f = wf.MagpieWard()
    canon = f.canonicalize(["KNaCaMgSiAlO7", "Fe", "NaCl", "LiFePO4", "NaCl", "YBa2Cu3O7"])
    together = f.featurize_canonical(canon)
    alone = np.vstack([f.featurize_canonical([c]) for c in canon])
    np.testing.assert_allclose(together, alone, rtol=1e-12, atol=0)
    assert f.featurize_canonical([]).shape == (0, 148)


def test_ward_passes_the_check_kit():
    from s2rbench import testing

    testing.check_featurizer(wf.MagpieWard())


# --------------------------------------------------------------------------------------------
# Real polymer data (short)
# --------------------------------------------------------------------------------------------


def test_pi1070_and_afzal_samples(data_dir):
    import pandas as pd

    pi = pd.read_csv(data_dir / "radonpy-pi1070" / "PI1070.csv", usecols=["smiles"])["smiles"]
    sample = pi.iloc[::50].tolist()  # 22 polymers across the table's families
    for f in (pf.PolymerRDKit(), pf.PolymerChain()):
        fm = _featurize_quietly(f, sample)
        assert np.isfinite(fm.X).all()
    afzal = pd.read_csv(data_dir / "polymer-experimental" / "afzal2021_md_vs_exp.csv").iloc[:40, 2].tolist()
    assert all("[Ce]" in s and "[Th]" in s for s in afzal)
    canon = pf.PolymerRDKit().canonicalize(afzal)
    assert all(c is not None and c.count("*") == 2 for c in canon)
