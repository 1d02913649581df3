"""The three materials tasks end to end on the real data mirror: loading, overlap, a reduced sweep.

Uses the fast `ridge` model on a reduced grid; what is checked is the path (loading, canonical
inputs, featurizing, splitting, storing), and that the numbers are in a physically sensible range.
"""

import numpy as np
import pytest

from s2rbench import sweep

TASKS = {
    # task: (sim rows, real rows, real inputs also simulated, invalid real inputs, sizes)
    "polymer-density": (1077, 116, 64, 1, [16, 64, 256]),
    "chi": (1206, 1190, 1182, 0, [16, 64, 256]),
    "bandgap": (106113, 4604, 3374, 0, [100, 1000, 10000]),
}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_real_task_reduced_sweep(task, data_dir, tmp_path):
    sim_rows, real_rows, overlap, invalid_real, sizes = TASKS[task]
    res = sweep.run(
        task, "ridge", sizes=sizes, trials=2, data_dir=data_dir, out=tmp_path / task, progress=False, fit=False
    )
    info = res.config["data_info"]
    assert info["sim_rows"] == sim_rows and info["real_rows"] == real_rows
    assert info["real_inputs_in_sim"] == overlap
    assert info["invalid_inputs"]["real"] == invalid_real
    rows = res.results
    assert sorted(set(rows["n"])) == [0, *sizes] and len(rows) == 2 * (len(sizes) + 1)
    assert np.isfinite(rows["mae"]).all() and (rows["mae"] > 0).all()
    # in-pool / out-of-pool test rows (s2rbench.overlap): the two sides add up, scratch has no pool,
    # and a task whose real inputs are mostly simulated has in-pool rows at the largest n
    assert (rows["n_test_in_pool"] + rows["n_test_out_pool"] == rows["n_test"]).all()
    assert (rows[rows.n == 0]["n_test_in_pool"] == 0).all() and rows[rows.n == 0]["mae_in_pool"].isna().all()
    assert rows[rows.n == max(sizes)]["n_test_in_pool"].sum() > 0
    prep = sweep.prepare(task, data_dir=data_dir)
    # A sanity check of units and scale (a broken split, a target read from the wrong column or a
    # unit slip gives errors far beyond this), not a quality claim: linear ridge on ~1,100
    # descriptors and 93 polymers is barely better than the median, as README reports.
    spread = np.mean(np.abs(prep.y_real - np.median(prep.y_real)))  # the MAE of predicting the median
    assert rows["mae"].mean() < 2 * spread, (
        f"{task}: mean MAE {rows['mae'].mean():.3g} vs median-predictor MAE {spread:.3g}"
    )


def test_exclude_overlap_removes_shared_inputs(data_dir, tmp_path):
    prep = sweep.prepare("polymer-density", data_dir=data_dir, exclude_overlap=True)
    assert prep.excluded_overlap >= 64  # every simulated row of a polymer that was also measured
    assert not set(prep.sim_inputs) & set(prep.real_inputs)


def test_chi_group_split_holds_out_whole_polymers(data_dir):
    prep = sweep.prepare("chi", data_dir=data_dir, split="group")
    s = sweep.split_for(prep, 0, 0)
    assert set(prep.groups[s.test]).isdisjoint(prep.groups[s.train_order])
    assert len(set(prep.groups)) == 46
