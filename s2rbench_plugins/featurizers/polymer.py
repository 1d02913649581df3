"""RDKit featurizers for polymer repeat units, molecules and polymer–solvent pairs.

Four featurizers are registered:

``polymer-rdkit`` (input kind ``polymer``)
    A repeat unit written as SMILES with exactly two attachment points. Two notations are accepted
    and mean the same thing: ``*`` / ``[*]`` (RadonPy PI1070, polyVERSE, e.g. ``*CC(*)C``) and the
    ``[Ce]`` (head) / ``[Th]`` (tail) placeholders of Afzal et al. 2021 (e.g. ``[Ce]CC(C)(C)[Th]``).
    Features: a fixed descriptor set (see `DESCRIPTORS`) on the hydrogen-capped repeat unit,
    explicit attachment/backbone features, and Morgan count fingerprints of the unit *with* its
    attachment points.

``polymer-chain`` (input kind ``polymer``)
    The same repeat unit joined head-to-tail into a cyclic oligomer (a trimer by default), so that
    the bond between consecutive units is a real bond. Descriptors and Morgan counts are divided by
    the number of units, i.e. reported per repeat unit.

``molecule-rdkit`` (input kind ``molecule``)
    A plain molecule SMILES (no attachment points): the descriptor set plus Morgan counts.

``polymer-solvent`` (input kind ``polymer-solvent``)
    One string ``"POLYMER|SOLVENT"`` (`PART_SEP`); polymer-rdkit features of the polymer (prefixed
    ``polymer:``) and molecule-rdkit features of the solvent (prefixed ``solvent:``). Temperature
    and other conditions are not part of the input; the core appends them as columns.

Design choices, and why
-----------------------
* Attachment points are handled explicitly rather than silently dropped. For the descriptor set each
  attachment point (dummy atom) is replaced by a hydrogen, so that the unit is a valid closed-shell
  molecule whose MolWt, TPSA, logP... are those of the "H-capped monomer" (``*CC*`` → ethane,
  MolWt 30.07). Because capping turns a heteroatom attachment into a terminal group (``*CCO*`` →
  ethanol, so ``fr_Al_OH`` = 1 and ``fr_ether`` = 0), information about the attachment points is
  added back as separate columns (element, aromaticity, ring membership, heavy-atom degree and H
  count of both attachment atoms; backbone path length; backbone atoms in rings; acyclic single
  bonds on the backbone). The two attachment atoms are reported in a sorted order (by atomic number,
  aromaticity, degree, H count), because after canonicalisation ``*`` has no head or tail.
* Morgan count fingerprints are computed on the unit with its dummy atoms: RDKit's Morgan atom
  invariants include the atomic number, so a dummy atom (Z = 0) is its own atom type and the
  environments around the attachment points are encoded (``*CC*`` and ``CC`` differ).
* ``polymer-chain`` exists because a single repeat unit misses the inter-unit bonds: the
  environment of an attachment atom is never seen with its real neighbour, and H-capping invents
  end groups. Closing a ring of n units makes every unit see its real neighbours. Aromaticity is
  kept as perceived on the repeat unit (RDKit would otherwise call the cyclic trimer of
  polyacetylene ``*C=C*`` benzene). The closing ring itself is
  still counted by ring descriptors, which adds a near-constant 1/n to ``RingCount`` and the
  aliphatic ring counts, and makes backbone bonds ring bonds (so ``NumRotatableBonds`` undercounts;
  the backbone columns cover that).
* Rings are the plain SSSR (as many as the cycle rank) for every featurized molecule, not RDKit's
  default symmetrized SSSR, which keeps all 2^n equivalent macrocycles of a ring through n
  para-linked rings (a polyimide trimer: 4,114 rings, 30-60 s in ``NumSpiroAtoms`` alone).
* Canonical form of a polymer is RDKit's canonical SMILES with both attachment points written ``*``
  (isotope labels and atom maps on dummies removed), so both notations of one polymer give one
  string. Translationally equivalent repeat units (``*CC*`` vs ``*CCCC*``) are NOT merged.
* Invalid inputs (unparseable SMILES, a number of attachment points other than two, an attachment
  point bonded to two atoms or by a non-single bond, attachment points in different fragments)
  canonicalize to None. RDKit's own error messages are blocked (`rdkit.rdBase.BlockLogs`, the
  scoped form of ``RDLogger.DisableLog('rdApp.*')``) because the core reports invalid rows itself.
* Whole tables are featurized at once: identical canonical inputs are computed once, and above
  `PARALLEL_MIN_INPUTS` distinct inputs the work is spread over up to two worker processes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from contextlib import suppress

import numpy as np

from s2rbench.contracts.featurizer import PART_SEP, Featurizer, unify_attachments
from s2rbench.hookspecs import hookimpl
from s2rbench_plugins._lazy import lazy_module
from s2rbench_plugins.featurizers._pool import process_pool

# RDKit is imported the first time a featurizer runs, not when the plugin loads (`s2rbench list`)
Chem = lazy_module("rdkit.Chem")
rdBase = lazy_module("rdkit.rdBase")
Descriptors = lazy_module("rdkit.Chem.Descriptors")
rdFingerprintGenerator = lazy_module("rdkit.Chem.rdFingerprintGenerator")
rdMolDescriptors = lazy_module("rdkit.Chem.rdMolDescriptors")

__all__ = [
    "DESCRIPTORS",
    "DESCRIPTOR_SET_VERSION",
    "MoleculeRDKit",
    "PolymerChain",
    "PolymerRDKit",
    "PolymerSolvent",
    "register_featurizers",
]

#: Bump when the descriptor list or its definitions change (goes into config and cache keys).
DESCRIPTOR_SET_VERSION = "1"

#: Distinct inputs above which work is split over worker processes (process start-up costs ~0.1 s).
PARALLEL_MIN_INPUTS = 2000
#: At most this many worker processes (the benchmark machines have two cores).
MAX_WORKERS = 2

_E, _I = True, False  # extensive (scales with the number of repeat units) / intensive

#: (name, extensive) for the descriptors taken from `rdkit.Chem.Descriptors`. A stable subset chosen
#: for polymers: size/mass, polarity and hydrogen bonding, lipophilicity/refractivity (Crippen),
#: saturation, connectivity indices (Bicerano's correlations for Tg, density and refractive index
#: are built on Chi0/Chi1 and their valence forms), ring counts, and the functional groups that
#: define common polymer classes (esters, ethers, amides, imides, urethanes, sulfones, ureas,
#: halogens, nitriles). Left out on purpose: partial charges (Gasteiger gives NaN for Se, Ge, Sn,
#: Te...), EState/VSA bins (many near-empty columns), BertzCT/Ipc/Kappa (not additive, so undefined
#: per repeat unit), qed/SPS (drug-likeness).
_RDKIT_DESCRIPTORS: tuple[tuple[str, bool], ...] = (
    # size and mass
    ("MolWt", _E),
    ("HeavyAtomMolWt", _E),
    ("HeavyAtomCount", _E),
    ("NumValenceElectrons", _E),
    # polarity and hydrogen bonding
    ("TPSA", _E),
    ("NumHDonors", _E),
    ("NumHAcceptors", _E),
    ("NHOHCount", _E),
    ("NOCount", _E),
    ("NumHeteroatoms", _E),
    # lipophilicity, molar refractivity, surface area
    ("MolLogP", _E),
    ("MolMR", _E),
    ("LabuteASA", _E),
    # flexibility and saturation
    ("NumRotatableBonds", _E),
    ("FractionCSP3", _I),
    # connectivity indices (additive over atoms/bonds)
    ("Chi0", _E),
    ("Chi0n", _E),
    ("Chi0v", _E),
    ("Chi1", _E),
    ("Chi1n", _E),
    ("Chi1v", _E),
    ("HallKierAlpha", _E),
    # rings
    ("RingCount", _E),
    ("NumAromaticRings", _E),
    ("NumAliphaticRings", _E),
    ("NumSaturatedRings", _E),
    ("NumAromaticCarbocycles", _E),
    ("NumAromaticHeterocycles", _E),
    ("NumAliphaticCarbocycles", _E),
    ("NumAliphaticHeterocycles", _E),
    ("NumSpiroAtoms", _E),
    # functional groups (RDKit fragment counts)
    ("fr_ester", _E),
    ("fr_ether", _E),
    ("fr_amide", _E),
    ("fr_imide", _E),
    ("fr_ketone", _E),
    ("fr_C_O", _E),
    ("fr_COO", _E),
    ("fr_Al_OH", _E),
    ("fr_phenol", _E),
    ("fr_benzene", _E),
    ("fr_nitrile", _E),
    ("fr_halogen", _E),
    ("fr_sulfone", _E),
    ("fr_sulfide", _E),
    ("fr_urea", _E),
    ("fr_alkyl_carbamate", _E),
)

#: Element counts (heavy atoms) reported as separate columns; anything else goes to ``n_other``.
_COUNTED_ELEMENTS: tuple[tuple[str, int], ...] = (
    ("C", 6),
    ("N", 7),
    ("O", 8),
    ("F", 9),
    ("Si", 14),
    ("P", 15),
    ("S", 16),
    ("Cl", 17),
    ("Br", 35),
)

#: Descriptors computed here (not in `rdkit.Chem.Descriptors`), with their extensivity.
_EXTRA_DESCRIPTORS: tuple[tuple[str, bool], ...] = (
    ("NumAromaticAtoms", _E),
    ("FractionAromaticAtoms", _I),
    ("NumHydrogens", _E),
    *((f"n_{sym}", _E) for sym, _ in _COUNTED_ELEMENTS),
    ("n_other", _E),
)

#: Full descriptor list (names in column order) and which are extensive.
DESCRIPTORS: tuple[str, ...] = tuple(n for n, _ in _RDKIT_DESCRIPTORS + _EXTRA_DESCRIPTORS)
_EXTENSIVE = np.array([e for _, e in _RDKIT_DESCRIPTORS + _EXTRA_DESCRIPTORS], dtype=bool)


@functools.cache
def _rdkit_funcs() -> tuple[Callable[[Chem.Mol], float], ...]:
    """The RDKit descriptor functions of `_RDKIT_DESCRIPTORS`, looked up once (on first use: RDKit loads then)."""
    return tuple(getattr(Descriptors, n) for n, _ in _RDKIT_DESCRIPTORS)


# MolLogP and MolMR share one Crippen atom typing; compute it once (the slowest descriptor here).
_CRIPPEN_AT = (DESCRIPTORS.index("MolLogP"), DESCRIPTORS.index("MolMR"))

#: Per attachment atom (two of them, sorted): what each column holds.
_ATTACHMENT_ATOM_FIELDS = ("atomic_num", "is_aromatic", "in_ring", "heavy_degree", "num_hs")
#: Backbone columns: computed on the repeat unit with its attachment points.
_BACKBONE_FIELDS = (
    "same_attachment_atom",  # 1 when one atom carries both attachment points (e.g. *C(*)(F)F)
    "backbone_path_atoms",  # atoms on the shortest path between the two attachment atoms, inclusive
    "backbone_ring_atoms",  # of those, atoms in a ring (stiff backbones: aromatic/imide rings)
    "backbone_aromatic_atoms",
    "backbone_flexible_bonds",  # acyclic single bonds on the path, the inter-unit bond counted once
    "backbone_fraction",  # backbone_path_atoms / heavy atoms: short side groups -> near 1
)
ATTACHMENT_FEATURES: tuple[str, ...] = (
    tuple(f"att{i}_{f}" for i in (1, 2) for f in _ATTACHMENT_ATOM_FIELDS) + _BACKBONE_FIELDS
)


# --------------------------------------------------------------------------------------------
# Parsing and canonical forms
# --------------------------------------------------------------------------------------------


def _parse(smiles: str) -> Chem.Mol | None:
    """RDKit molecule from SMILES, None if it does not parse or is empty; RDKit logging blocked."""
    block = rdBase.BlockLogs()  # noqa: F841 (restores logging when it goes out of scope)
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    return mol


def _plain_rings(mol: Chem.Mol) -> Chem.Mol:
    """Replace RDKit's symmetrized SSSR by the plain SSSR (as many rings as the cycle rank).

    Every molecule that descriptors are computed on goes through this. A macrocycle running
    through para-linked rings (a cyclic oligomer of poly(p-phenylene)-like units, as in the
    COSMO-RS chi data) has 2^n equally small alternatives, all kept by the symmetrized SSSR: 1,034
    "rings" for one of those polymers, and ``NumSpiroAtoms`` then needs seconds per molecule.
    """
    Chem.GetSSSR(mol)
    return mol


def _features_mol(canon: str) -> Chem.Mol:
    mol = _parse(canon)
    if mol is None:
        raise ValueError(f"canonical SMILES {canon!r} does not parse")
    return _plain_rings(mol)


def _dummies(mol: Chem.Mol) -> list[Chem.Atom]:
    return [a for a in mol.GetAtoms() if a.GetAtomicNum() == 0]


def _polymer_mol(smiles: str) -> Chem.Mol | None:
    """Repeat unit with exactly two well-formed attachment points, or None.

    ``[Ce]`` and ``[Th]`` (head and tail placeholders) become ``[*]``; only these exact bracket
    atoms are replaced, so a charged cerium ``[Ce+3]`` stays cerium (and then the unit has the
    wrong number of attachment points).
    """
    s = unify_attachments(smiles)
    if not s:
        return None
    mol = _parse(s)
    if mol is None:
        return None
    dummies = _dummies(mol)
    if len(dummies) != 2:
        return None
    for d in dummies:
        if d.GetDegree() != 1:
            return None  # e.g. polyVERSE's "CCCCC(C[*]C)[*]": a dummy inside the chain
        if d.GetBonds()[0].GetBondType() != Chem.BondType.SINGLE:
            return None
        if d.GetNeighbors()[0].GetAtomicNum() == 0:
            return None  # "**"
        d.SetIsotope(0)
        d.SetAtomMapNum(0)
        d.SetFormalCharge(0)
    if not Chem.GetShortestPath(mol, dummies[0].GetIdx(), dummies[1].GetIdx()):
        return None  # attachment points in different fragments
    return mol


def canonical_polymer(smiles: str) -> str | None:
    """Canonical SMILES of a repeat unit, attachment points written ``*``; None if invalid."""
    mol = _polymer_mol(smiles)
    return None if mol is None else Chem.MolToSmiles(mol)


def canonical_molecule(smiles: str) -> str | None:
    """Canonical SMILES of a molecule without attachment points; None if invalid."""
    mol = _parse(smiles.strip()) if smiles.strip() else None
    if mol is None or _dummies(mol):
        return None
    return Chem.MolToSmiles(mol)


def canonical_chain(smiles: str, n_units: int) -> str | None:
    """Canonical repeat unit, or None if the unit cannot be closed into a cyclic n-mer."""
    canon = canonical_polymer(smiles)
    if canon is None or cyclic_oligomer(_parse(canon), n_units) is None:
        return None
    return canon


def canonical_polymer_or_molecule(smiles: str) -> str | None:
    """Polymer part of a polymer–solvent pair: a repeat unit with two ``*``, or a plain molecule.

    Any SMILES without attachment points (e.g. the cyclic-oligomer polymer models of the COSMO-RS
    chi data) is accepted and treated as a molecule; one attachment point or more than two is
    invalid.
    """
    canon = canonical_polymer(smiles)
    if canon is not None:
        return canon
    return canonical_molecule(smiles)


def canonical_pair(text: str) -> str | None:
    """``POLYMER|SOLVENT`` with both parts canonical; None if either part is invalid."""
    parts = text.split(PART_SEP)
    if len(parts) != 2:
        return None
    polymer = canonical_polymer_or_molecule(parts[0])
    solvent = canonical_molecule(parts[1])
    if polymer is None or solvent is None:
        return None
    return f"{polymer}{PART_SEP}{solvent}"


# --------------------------------------------------------------------------------------------
# Molecule editing
# --------------------------------------------------------------------------------------------


def cap_with_hydrogens(unit: Chem.Mol) -> Chem.Mol:
    """The repeat unit with each attachment point replaced by a hydrogen (a closed-shell molecule)."""
    rw = Chem.RWMol(unit)
    Chem.RemoveStereochemistry(rw)  # an H that defined double-bond stereo would otherwise be kept
    for atom in rw.GetAtoms():
        if atom.GetAtomicNum() == 0:
            atom.SetAtomicNum(1)
            atom.SetIsotope(0)
            atom.SetNoImplicit(True)
    return _plain_rings(Chem.RemoveHs(rw.GetMol()))  # folds the new H atoms into their neighbours


def cyclic_oligomer(unit: Chem.Mol, n_units: int) -> Chem.Mol | None:
    """Join ``n_units`` copies of a repeat unit head to tail into one ring; None if that fails.

    The atom bonded to the second attachment point of copy k is bonded to the atom bonded to the
    first attachment point of copy k+1 (and the last copy to the first), then all attachment points
    are removed. Aromaticity flags are kept from the repeat unit instead of being re-perceived on
    the ring, so that conjugated backbones do not turn into artificial aromatic macrocycles.
    Stereochemistry is dropped (descriptors and Morgan counts here ignore it).
    """
    if n_units < 2:
        return None
    try:
        unit = Chem.Mol(unit)
        Chem.RemoveStereochemistry(unit)
        d1, d2 = (a.GetIdx() for a in _dummies(unit))
        a1 = unit.GetAtomWithIdx(d1).GetNeighbors()[0].GetIdx()
        a2 = unit.GetAtomWithIdx(d2).GetNeighbors()[0].GetIdx()
        if a1 == a2 and n_units < 3:
            return None  # a two-unit ring of single-atom backbones would need a double edge
        size = unit.GetNumAtoms()
        rw = Chem.RWMol()
        for _ in range(n_units):
            rw.InsertMol(unit)
        for k in range(n_units):
            rw.AddBond(a2 + k * size, a1 + ((k + 1) % n_units) * size, Chem.BondType.SINGLE)
        dummy_idx = sorted((d + k * size for k in range(n_units) for d in (d1, d2)), reverse=True)
        for idx in dummy_idx:
            rw.RemoveAtom(idx)
        ring = rw.GetMol()
        flags = Chem.SanitizeFlags
        ops = flags.SANITIZE_ALL ^ flags.SANITIZE_KEKULIZE ^ flags.SANITIZE_SETAROMATICITY
        # Plain SSSR, not the symmetrized one: the closing ring can run either way round every
        # para-phenylene or imide, and RDKit's symmetrized SSSR then holds thousands of equivalent
        # macrocycles (a polyimide trimer: 4,114 rings, 30-60 s in NumSpiroAtoms).
        Chem.SanitizeMol(ring, sanitizeOps=ops ^ flags.SANITIZE_SYMMRINGS)
        Chem.GetSSSR(ring)
        return ring
    except Exception:
        return None


# --------------------------------------------------------------------------------------------
# Feature blocks
# --------------------------------------------------------------------------------------------


def descriptor_vector(mol: Chem.Mol) -> np.ndarray:
    """The `DESCRIPTORS` of a closed-shell molecule, in order."""
    logp, mr = rdMolDescriptors.CalcCrippenDescriptors(mol)
    values = [
        logp if i == _CRIPPEN_AT[0] else mr if i == _CRIPPEN_AT[1] else float(f(mol))
        for i, f in enumerate(_rdkit_funcs())
    ]
    heavy = mol.GetNumHeavyAtoms()
    aromatic = sum(1 for a in mol.GetAtoms() if a.GetIsAromatic())
    z_counts: dict[int, int] = {}
    for a in mol.GetAtoms():
        z_counts[a.GetAtomicNum()] = z_counts.get(a.GetAtomicNum(), 0) + 1
    n_h = sum(a.GetTotalNumHs() for a in mol.GetAtoms()) + z_counts.get(1, 0)  # implicit + explicit
    counted = [z_counts.get(z, 0) for _, z in _COUNTED_ELEMENTS]
    other = heavy - sum(counted)
    values += [aromatic, aromatic / heavy if heavy else 0.0, n_h, *counted, other]
    return np.asarray(values, dtype=np.float64)


def attachment_vector(unit: Chem.Mol) -> np.ndarray:
    """Attachment-atom and backbone features (`ATTACHMENT_FEATURES`) of a repeat unit with ``*``."""
    d1, d2 = (a.GetIdx() for a in _dummies(unit))
    ring_info = unit.GetRingInfo()
    atoms = []
    for d in (d1, d2):
        a = unit.GetAtomWithIdx(d).GetNeighbors()[0]
        heavy_degree = sum(1 for nb in a.GetNeighbors() if nb.GetAtomicNum() > 1)
        atoms.append(
            (
                a.GetAtomicNum(),
                int(a.GetIsAromatic()),
                int(ring_info.NumAtomRings(a.GetIdx()) > 0),
                heavy_degree,
                a.GetTotalNumHs(),
            )
        )
    atoms.sort()
    path = list(Chem.GetShortestPath(unit, d1, d2))  # includes both dummies
    backbone = path[1:-1]
    flexible = 0
    for i, j in zip(path[:-1], path[1:]):
        b = unit.GetBondBetweenAtoms(i, j)
        if b.GetBondType() == Chem.BondType.SINGLE and not b.IsInRing():
            flexible += 1
    flexible -= 1  # the two bonds to the dummies are one inter-unit bond
    heavy = sum(1 for a in unit.GetAtoms() if a.GetAtomicNum() > 1)
    backbone_feats = (
        int(len(backbone) == 1),
        len(backbone),
        sum(1 for i in backbone if ring_info.NumAtomRings(i) > 0),
        sum(1 for i in backbone if unit.GetAtomWithIdx(i).GetIsAromatic()),
        flexible,
        len(backbone) / heavy if heavy else 0.0,
    )
    return np.asarray([*atoms[0], *atoms[1], *backbone_feats], dtype=np.float64)


_GENERATORS: dict[tuple[int, int], object] = {}


def morgan_counts(mol: Chem.Mol, radius: int, nbits: int) -> np.ndarray:
    """Folded Morgan count fingerprint; dummy atoms (Z = 0) are kept as their own atom type."""
    key = (radius, nbits)
    gen = _GENERATORS.get(key)
    if gen is None:  # generators cannot be pickled, so each process builds its own
        gen = _GENERATORS[key] = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=nbits)
    return gen.GetCountFingerprintAsNumPy(mol).astype(np.float64)


def _polymer_row(canon: str, radius: int, nbits: int) -> np.ndarray:
    unit = _features_mol(canon)
    return np.concatenate(
        [descriptor_vector(cap_with_hydrogens(unit)), attachment_vector(unit), morgan_counts(unit, radius, nbits)]
    )


def _chain_row(canon: str, radius: int, nbits: int, n_units: int) -> np.ndarray:
    unit = _features_mol(canon)
    ring = cyclic_oligomer(unit, n_units)
    if ring is None:
        raise ValueError(f"cannot close {canon!r} into a ring")
    desc = descriptor_vector(ring)
    desc[_EXTENSIVE] /= n_units
    return np.concatenate([desc, attachment_vector(unit), morgan_counts(ring, radius, nbits) / n_units])


def _molecule_row(canon: str, radius: int, nbits: int) -> np.ndarray:
    mol = _features_mol(canon)
    return np.concatenate([descriptor_vector(mol), morgan_counts(mol, radius, nbits)])


def _polymer_or_molecule_row(canon: str, radius: int, nbits: int) -> np.ndarray:
    """polymer-rdkit row plus a 1 flag; for a molecule: its descriptors, zero attachment columns, 0."""
    mol = _features_mol(canon)
    if _dummies(mol):
        return np.concatenate([_polymer_row(canon, radius, nbits), [1.0]])
    return np.concatenate(
        [descriptor_vector(mol), np.zeros(len(ATTACHMENT_FEATURES)), morgan_counts(mol, radius, nbits), [0.0]]
    )


_ROW_FUNCS: dict[str, Callable[..., np.ndarray]] = {
    "polymer": _polymer_row,
    "chain": _chain_row,
    "molecule": _molecule_row,
    "polymer_or_molecule": _polymer_or_molecule_row,
}

_CANON_FUNCS: dict[str, Callable[..., str | None]] = {
    "polymer": canonical_polymer,
    "chain": canonical_chain,
    "molecule": canonical_molecule,
    "polymer_or_molecule": canonical_polymer_or_molecule,
    "pair": canonical_pair,
}


# --------------------------------------------------------------------------------------------
# Batch execution: dedupe, then serial or two processes
# --------------------------------------------------------------------------------------------


def _rows_chunk(kind: str, width: int, args: tuple, items: Sequence[str]) -> np.ndarray:
    """Feature rows for a chunk; an input that fails late becomes a NaN row (reported by the core)."""
    out = np.full((len(items), width), np.nan)
    func = _ROW_FUNCS[kind]
    block = rdBase.BlockLogs()  # noqa: F841
    for i, s in enumerate(items):
        with suppress(Exception):
            out[i] = func(s, *args)
    return out


def _canon_chunk(kind: str, args: tuple, items: Sequence[str]) -> list[str | None]:
    func = _CANON_FUNCS[kind]
    return [func(s, *args) for s in items]


def _n_workers(n_items: int) -> int:
    if n_items <= PARALLEL_MIN_INPUTS:
        return 1
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _map_chunks(func: Callable, fixed: tuple, items: list[str]) -> list:
    """``func(*fixed, chunk)`` over chunks of items, in parallel when there are many; results in order."""
    workers = _n_workers(len(items))
    if workers == 1:
        return [func(*fixed, items)]
    bounds = np.linspace(0, len(items), 4 * workers + 1).astype(int)
    chunks = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    try:
        with process_pool(workers) as pool:
            return list(pool.map(func, *zip(*[(*fixed, c) for c in chunks])))
    except (OSError, RuntimeError):  # no processes allowed here (sandbox, broken pool): do it serially
        return [func(*fixed, items)]


def _canonicalize_batch(kind: str, inputs: Sequence[str], args: tuple = ()) -> list[str | None]:
    unique = list(dict.fromkeys(str(s) for s in inputs))
    parts = _map_chunks(_canon_chunk, (kind, args), unique)
    table = dict(zip(unique, (c for part in parts for c in part)))
    return [table[str(s)] for s in inputs]


def _featurize_batch(kind: str, width: int, inputs: Sequence[str], args: tuple) -> np.ndarray:
    unique = list(dict.fromkeys(inputs))
    if not unique:
        return np.zeros((0, width))
    blocks = _map_chunks(_rows_chunk, (kind, width, args), unique)
    rows = np.concatenate(blocks, axis=0)
    index = {s: i for i, s in enumerate(unique)}
    return rows[[index[s] for s in inputs]]


# --------------------------------------------------------------------------------------------
# Featurizers
# --------------------------------------------------------------------------------------------


class _RDKitFeaturizer(Featurizer):
    """Shared settings (Morgan radius and width) and batch plumbing."""

    _kind = ""

    def __init__(self, radius: int = 2, nbits: int = 1024) -> None:
        if radius < 0 or nbits < 1:
            raise ValueError(f"radius must be >= 0 and nbits >= 1, got radius={radius}, nbits={nbits}")
        self.radius = int(radius)
        self.nbits = int(nbits)

    def _args(self) -> tuple:
        return (self.radius, self.nbits)

    def _canon_args(self) -> tuple:
        return ()

    def morgan_names(self) -> list[str]:
        return [f"morgan_r{self.radius}_{i:04d}" for i in range(self.nbits)]

    def canonicalize(self, inputs: Sequence[str]) -> list[str | None]:
        return _canonicalize_batch(self._kind, inputs, self._canon_args())

    def featurize_canonical(self, inputs: Sequence[str]) -> np.ndarray:
        return _featurize_batch(self._kind, len(self.feature_names()), list(inputs), self._args())

    def config(self) -> dict:
        return {"radius": self.radius, "nbits": self.nbits, "descriptor_set": DESCRIPTOR_SET_VERSION}


class PolymerRDKit(_RDKitFeaturizer):
    """Repeat-unit descriptors (H-capped), attachment/backbone features, Morgan counts with ``*``."""

    name = "polymer-rdkit"
    version = "1"
    input_kind = "polymer"
    description = (
        "RDKit descriptors of the H-capped repeat unit, attachment-point and backbone features, "
        "and Morgan count fingerprints including the attachment points (* or [Ce]/[Th] notation)"
    )
    _kind = "polymer"

    def feature_names(self) -> list[str]:
        return [*DESCRIPTORS, *ATTACHMENT_FEATURES, *self.morgan_names()]


class PolymerChain(_RDKitFeaturizer):
    """Descriptors and Morgan counts of a cyclic n-mer of the repeat unit, per repeat unit.

    A single repeat unit never sees the bond to its neighbour; the cyclic oligomer does, so its
    per-unit descriptors describe the inner units of a long chain. Inputs whose ring cannot be
    closed canonicalize to None.
    """

    name = "polymer-chain"
    version = "1"
    input_kind = "polymer"
    description = (
        "RDKit descriptors and Morgan counts of the head-to-tail cyclic oligomer of the repeat unit, "
        "per repeat unit, plus attachment-point and backbone features"
    )
    _kind = "chain"

    def __init__(self, radius: int = 2, nbits: int = 1024, n_units: int = 3) -> None:
        super().__init__(radius, nbits)
        if n_units < 2:
            raise ValueError(f"n_units must be >= 2, got {n_units}")
        self.n_units = int(n_units)

    def _args(self) -> tuple:
        return (self.radius, self.nbits, self.n_units)

    def _canon_args(self) -> tuple:
        return (self.n_units,)

    def feature_names(self) -> list[str]:
        return [*DESCRIPTORS, *ATTACHMENT_FEATURES, *self.morgan_names()]

    def config(self) -> dict:
        return {**super().config(), "n_units": self.n_units}


class MoleculeRDKit(_RDKitFeaturizer):
    """Descriptors and Morgan counts of a plain molecule (SMILES with attachment points is invalid)."""

    name = "molecule-rdkit"
    version = "1"
    input_kind = "molecule"
    description = "RDKit descriptors and Morgan count fingerprints of a molecule"
    _kind = "molecule"

    def feature_names(self) -> list[str]:
        return [*DESCRIPTORS, *self.morgan_names()]


class PolymerSolvent(_RDKitFeaturizer):
    """``POLYMER|SOLVENT``: polymer-rdkit features of the polymer, molecule-rdkit of the solvent.

    A polymer given without attachment points (a cyclic-oligomer model, as in the COSMO-RS chi data)
    is featurized as a molecule: descriptors and Morgan counts of the whole molecule, attachment
    columns zero and ``polymer:has_attachment_points`` = 0. Its descriptors are then for the whole
    oligomer, not per repeat unit, so do not mix the two notations within one task.
    """

    name = "polymer-solvent"
    version = "1"
    input_kind = "polymer-solvent"
    description = (
        "polymer-rdkit features of the polymer (or molecule features of a polymer given without "
        "attachment points) concatenated with molecule-rdkit features of the solvent"
    )
    _kind = "pair"

    def _part_names(self) -> tuple[list[str], list[str]]:
        polymer = [*DESCRIPTORS, *ATTACHMENT_FEATURES, *self.morgan_names(), "has_attachment_points"]
        solvent = [*DESCRIPTORS, *self.morgan_names()]
        return polymer, solvent

    def feature_names(self) -> list[str]:
        polymer, solvent = self._part_names()
        return [f"polymer:{n}" for n in polymer] + [f"solvent:{n}" for n in solvent]

    def canonicalize(self, inputs: Sequence[str]) -> list[str | None]:
        """Each distinct polymer and solvent is canonicalized once (a chi table repeats both)."""
        parts = [str(s).split(PART_SEP) for s in inputs]
        ok = [len(p) == 2 for p in parts]
        polymers = _canonicalize_batch("polymer_or_molecule", [p[0] for p, good in zip(parts, ok) if good])
        solvents = _canonicalize_batch("molecule", [p[1] for p, good in zip(parts, ok) if good])
        pairs = iter(zip(polymers, solvents))
        out: list[str | None] = []
        for good in ok:
            if not good:
                out.append(None)
                continue
            polymer, solvent = next(pairs)
            out.append(None if polymer is None or solvent is None else f"{polymer}{PART_SEP}{solvent}")
        return out

    def featurize_canonical(self, inputs: Sequence[str]) -> np.ndarray:
        """Polymers and solvents are featurized separately: a chi table has far fewer distinct
        polymers (tens) and solvents (about a hundred) than pairs, and each is computed once."""
        polymer_names, solvent_names = self._part_names()
        parts = [c.split(PART_SEP) for c in inputs]
        polymers = _featurize_batch("polymer_or_molecule", len(polymer_names), [p for p, _ in parts], self._args())
        solvents = _featurize_batch("molecule", len(solvent_names), [s for _, s in parts], self._args())
        return np.hstack([polymers, solvents])


@hookimpl
def register_featurizers(register):
    register(PolymerRDKit())
    register(PolymerChain())
    register(MoleculeRDKit())
    register(PolymerSolvent())
