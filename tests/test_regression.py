"""mmvae_lib.regression: trained numbers are checked against a stored reference within a measured
tolerance; a wrong value fails; a notebook gives the same checked outputs in two differing environments."""
import json
import os
import subprocess
import sys

import nbformat
import pandas as pd
import pytest

from mmvae_lib import regression
from mmvae_lib.paths import REPO_ROOT


@pytest.fixture
def refs(tmp_path, monkeypatch):
    """An outputs root and a references folder of their own, with a smoke reference of one group."""
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.setenv("MMVAE_REFERENCES", str(tmp_path / "refs"))
    (tmp_path / "refs").mkdir()
    reference = {"values": {"g": {"a": 10.0, "b": 20.0}}, "tolerances": {"g": 1.5}, "kinds": {"g": "percent"}}
    (tmp_path / "refs" / "smoke.json").write_text(json.dumps(reference))
    return tmp_path


def test_values_within_tolerance_pass_and_are_recorded(refs, capsys):
    regression.check("smoke", "g", {"a": 11.4, "b": 18.6}, kind="percent")
    assert capsys.readouterr().out == "regression check g: 2 values within ±1.5 percent of the smoke reference\n"
    recorded = json.loads((refs / "outputs" / "smoke" / regression.VALUES_FILE).read_text())
    assert recorded == {"g": {"kind": "percent", "values": {"a": 11.4, "b": 18.6}}}


def test_a_value_outside_tolerance_fails_naming_it(refs):
    with pytest.raises(regression.RegressionError, match=r"1 of 2 values outside ±1.5 percent(.|\n)*b: 21.6000"):
        regression.check("smoke", "g", {"a": 10.0, "b": 21.6}, kind="percent")


def test_missing_reference_and_bad_input_fail(refs):
    with pytest.raises(regression.RegressionError, match=r"no stored reference for \['c'\]"):
        regression.check("smoke", "g", {"a": 10.0, "c": 1.0}, kind="percent")
    with pytest.raises(regression.RegressionError, match="no stored reference for the group"):
        regression.check("smoke", "new group", {"a": 1.0}, kind="percent")
    with pytest.raises(regression.RegressionError, match="not a finite number"):
        regression.check("smoke", "g", {"a": float("nan")}, kind="percent")
    with pytest.raises(ValueError, match="kind must be one of"):
        regression.check("smoke", "g", {"a": 10.0}, kind="furlongs")


def test_a_profile_without_reference_only_records(refs, capsys):
    regression.check("cpu", "g", {"a": 1.0}, kind="nats")
    assert "no stored reference for profile 'cpu'" in capsys.readouterr().out
    assert (refs / "outputs" / "cpu" / regression.VALUES_FILE).exists()


def test_check_table_names_rows_and_columns(refs):
    table = pd.DataFrame({"row": ["x"], "column": ["y"], "value": [3.0]})
    regression.check_table("cpu", "t", table, kind="nats")
    recorded = json.loads((refs / "outputs" / "cpu" / regression.VALUES_FILE).read_text())
    assert recorded["t"]["values"] == {"x | y": 3.0}


def test_update_stores_the_last_run_and_keeps_tolerances(refs):
    regression.check("smoke", "g", {"a": 10.5, "b": 19.0}, kind="percent")
    regression.update("smoke")
    stored = regression.load_reference("smoke")
    assert stored["values"]["g"] == {"a": 10.5, "b": 19.0} and stored["tolerances"] == {"g": 1.5}


def test_update_with_merge_keeps_the_groups_this_run_did_not_record(refs):
    """A run of some notebooks (``measure --only``) stores its groups and leaves the others as they were;
    without ``merge`` a group the run did not record is dropped."""
    regression.check("cpu", "h", {"c": 1.0}, kind="nats")                 # another profile: not recorded in smoke
    (refs / "outputs" / "smoke").mkdir(parents=True)
    (refs / "outputs" / "smoke" / regression.VALUES_FILE).write_text(
        json.dumps({"new": {"kind": "nats", "values": {"x": 2.0}}}))
    regression.update("smoke", merge=True)
    stored = regression.load_reference("smoke")
    assert stored["values"] == {"g": {"a": 10.0, "b": 20.0}, "new": {"x": 2.0}}
    assert stored["kinds"] == {"g": "percent", "new": "nats"} and stored["tolerances"] == {"g": 1.5}
    regression.update("smoke")
    assert regression.load_reference("smoke")["values"] == {"new": {"x": 2.0}}


def test_measuring_some_notebooks_replaces_their_unstable_cells_and_keeps_the_others():
    """After ``measure --only 13``: notebook 13's differing cells are those of this measurement (one that no
    longer differs is dropped), other notebooks' stay as measured before."""
    old = {"env": ["06_table2.ipynb#3", "13_jnf.ipynb#7"], "other": ["13_jnf.ipynb#9"]}
    new = {"env": [], "other": ["13_jnf.ipynb#9", "13_jnf.ipynb#12"]}
    assert regression.merge_unstable(old, new, ["13"]) == {"env": ["06_table2.ipynb#3"],
                                                            "other": ["13_jnf.ipynb#12", "13_jnf.ipynb#9"]}
    assert regression.merge_unstable(old, new, ["06"]) == {"env": ["13_jnf.ipynb#7"],
                                                            "other": ["13_jnf.ipynb#12", "13_jnf.ipynb#9"]}


def test_tolerance_is_safety_times_the_largest_deviation_and_at_least_the_floor():
    runs = {"here": {"g": {"kind": "percent", "values": {"a": 10.0, "b": 5.0}},
                     "h": {"kind": "nats", "values": {"x": -100.0}}},
            "other": {"g": {"kind": "percent", "values": {"a": 11.2, "b": 4.9}},
                      "h": {"kind": "nats", "values": {"x": -100.0}}}}
    deviations, tolerances = regression.tolerances_from_runs(runs, "here")
    assert deviations == pytest.approx({"g": 1.2, "h": 0.0})
    # rounded up to a whole number of the kind's floor
    assert regression.SAFETY * 1.2 <= tolerances["g"] < regression.SAFETY * 1.2 + regression.FLOORS["percent"]
    assert tolerances["h"] == regression.FLOORS["nats"]


def test_checked_outputs_are_what_nbval_compares(tmp_path):
    nb = nbformat.v4.new_notebook()
    checked = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)")
    checked.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    plain = nbformat.v4.new_code_cell("print(2)")
    plain.outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    nb.cells = [checked, plain]
    nbformat.write(nb, tmp_path / "n.ipynb")
    assert regression.checked_outputs(tmp_path / "n.ipynb") == {0: "[stdout] 1\n"}
    # papermill's executed copy carries an injected parameters cell: the indices still name the source's cells
    injected = nbformat.v4.new_code_cell('profile = "smoke"', metadata={"tags": ["injected-parameters"]})
    nb.cells = [injected, checked, plain]
    nbformat.write(nb, tmp_path / "executed.ipynb")
    assert regression.checked_outputs(tmp_path / "executed.ipynb") == {0: "[stdout] 1\n"}
    # one cell's writes to a stream, however the kernel split them into outputs, are one text (nbval coalesces)
    split = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1); print(3)")
    split.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                     nbformat.v4.new_output("execute_result", data={"text/plain": "x"}),
                     nbformat.v4.new_output("stream", name="stdout", text="3\n")]
    merged = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1); print(3)")
    merged.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n3\n"),
                      nbformat.v4.new_output("execute_result", data={"text/plain": "x"})]
    nb.cells = [split, merged]
    nbformat.write(nb, tmp_path / "split.ipynb")
    outputs = regression.checked_outputs(tmp_path / "split.ipynb")
    assert outputs[0] == outputs[1] == "[stdout] 1\n3\nx"


def test_compare_leaves_out_cells_that_only_print_the_regression_line():
    assert regression._only_regression_lines("[stdout] regression check g: 2 values within ±1 percent of the smoke reference\n")
    assert not regression._only_regression_lines("[stdout] regression check g: 2 values within ±1\nJNF: joint\n")
    assert not regression._only_regression_lines("")


def _run_notebook_01(outputs, references, extra_env):
    env = {**os.environ, **extra_env, "MMVAE_OUTPUTS": str(outputs), "MMVAE_REFERENCES": str(references)}
    return subprocess.run([sys.executable, "-m", "mmvae_lib.paper", "--profile", "smoke", "--only", "01"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_notebook_gives_the_same_checked_outputs_in_differing_environments_and_a_wrong_reference_fails(tmp_path):
    """Notebook 01 (which trains two classifiers) run twice: in this environment, and with 2 OpenMP
    threads, another MKL mode and unrelated variables. The checked cells print the same text and the
    trained numbers are identical, bit for bit; against the stored reference they pass, and against a
    reference with one value moved beyond its tolerance they fail."""
    stored = regression.load_reference("smoke")
    group = "01 classifier test accuracy"
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "smoke.json").write_text(json.dumps(stored))
    plain = _run_notebook_01(tmp_path / "a", refs, {})
    assert plain.returncode == 0, plain.stderr[-3000:]
    other = _run_notebook_01(tmp_path / "b", refs, {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2",
                                                    "MKL_CBWR": "COMPATIBLE", "PYTHONHASHSEED": "7",
                                                    "AN_UNRELATED_VARIABLE": "x" * 5000})
    assert other.returncode == 0, other.stderr[-3000:]
    assert regression.differing_checked_cells(tmp_path / "a", tmp_path / "b", "smoke") == []
    values_a = regression.recorded_values(tmp_path / "a", "smoke")[group]
    assert values_a == regression.recorded_values(tmp_path / "b", "smoke")[group]

    wrong = json.loads(json.dumps(stored))
    name = next(iter(wrong["values"][group]))
    wrong["values"][group][name] += 3 * wrong["tolerances"][group]
    (refs / "smoke.json").write_text(json.dumps(wrong))
    failed = _run_notebook_01(tmp_path / "c", refs, {})
    assert failed.returncode != 0
    assert "RegressionError" in failed.stderr + failed.stdout and name in failed.stderr + failed.stdout


def test_update_mode_takes_this_runs_values_as_the_reference(refs, monkeypatch, capsys):
    """While `make notebooks` stores the notebooks (MMVAE_REGRESSION_UPDATE=1), a changed value is the new
    reference: the check passes and prints the line nbval will compare; a group without a measured
    tolerance still fails."""
    monkeypatch.setenv(regression.UPDATE_MODE, "1")
    regression.check("smoke", "g", {"a": 50.0, "b": -3.0}, kind="percent")
    assert capsys.readouterr().out == "regression check g: 2 values within ±1.5 percent of the smoke reference\n"
    with pytest.raises(regression.RegressionError, match="make tolerances"):
        regression.check("smoke", "new group", {"a": 1.0}, kind="percent")


def test_another_machines_deviation_widens_only_the_groups_it_exceeds():
    """A real CPU's comparison counts like an emulated environment: tolerance = SAFETY × the largest
    deviation, rounded up to the floor; a group it stays within keeps its tolerance."""
    reference = {"kinds": {"g": "percent", "h": "nats"},
                 "values": {"g": {"a": 70.3125, "b": 86.7}, "h": {"x": -100.0}},
                 "tolerances": {"g": 1.0, "h": 0.05},
                 "measurement": {"largest_deviation": {"g": 0.39, "h": 0.001}}}
    recorded = {"g": {"kind": "percent", "values": {"a": 67.578125, "b": 86.7, "new": 3.0}},
                "h": {"kind": "nats", "values": {"x": -100.01}}, "other": {"kind": "nats", "values": {"y": 1.0}}}
    deviations = regression.machine_deviations(recorded, reference)
    assert deviations == pytest.approx({"g": 2.734375, "h": 0.01})
    reference["measurement"]["other_machines"] = {"Xeon": {"largest_deviation": deviations}}
    tolerances = regression.tolerances_with_machines(reference)
    assert tolerances == {"g": 5.5, "h": 0.05}
    # the judge's value on that machine now passes; it failed before
    assert abs(67.578125 - 70.3125) <= tolerances["g"] and abs(67.578125 - 70.3125) > reference["tolerances"]["g"]


def test_remeasuring_drops_the_other_machines_comparisons_of_those_groups():
    machines = {"Xeon": {"cpu": "x", "largest_deviation": {"06 judges": 2.7, "13 coherence": 0.3}},
                "EPYC": {"cpu": "e", "largest_deviation": {"13 coherence": 0.2}}}
    measured = {"13 coherence": {"kind": "percent", "values": {}}}
    assert regression.drop_remeasured(machines, measured, ["13"]) == {
        "Xeon": {"cpu": "x", "largest_deviation": {"06 judges": 2.7}}}
    assert regression.drop_remeasured(machines, measured, None) == {}


def test_compare_records_the_machine_and_reports_notebooks_to_re_execute(refs, monkeypatch):
    """``compare`` on a machine whose run lies 2 points off: recorded under its label with the CPU's name,
    the tolerance widened, and notebook "g"'s prefix returned for re-execution."""
    def run_here(profile, root, env, only):
        return {"g": {"kind": "percent", "values": {"a": 12.0, "b": 20.0}}}
    monkeypatch.setattr(regression, "run_notebooks", run_here)
    monkeypatch.setattr(regression, "differing_checked_cells_of_stored", lambda root, profile: [])
    path, changed = regression.compare_machine("smoke", "test CPU")
    reference = json.loads(path.read_text())
    machine = reference["measurement"]["other_machines"]["test CPU"]
    assert machine["largest_deviation"] == {"g": 2.0} and machine["cpu"] == regression.cpu_name()
    assert reference["tolerances"]["g"] == 4.0 and changed == ["g"]
    regression.check("smoke", "g", {"a": 12.0, "b": 20.0}, kind="percent")   # now within tolerance


def test_compare_without_a_reference_says_how_to_make_one(refs, monkeypatch):
    monkeypatch.setattr(regression, "run_notebooks", lambda *a: pytest.fail("must not run the notebooks"))
    with pytest.raises(FileNotFoundError, match="make tolerances"):
        regression.compare_machine("cpu", "test CPU")


def test_checked_outputs_leave_out_what_nbval_is_told_to(tmp_path):
    """The trainer's line per call (a checkpoint name, whose fingerprint differs between machines) is left
    out of checked outputs, by the sanitize file that `make test` hands to nbval and by the regression module."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nrun()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "train: loaded the finished run outputs/smoke/checkpoints/mmvae_s0_cb225cea4e.pt (epoch 1 of 1)\n"
        "profile smoke\ntrain: started outputs/x_0123456789.pt afresh; x_9876543210.pt holds another run\n"))]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "n.ipynb")
    assert regression.checked_outputs(tmp_path / "n.ipynb") == {0: "[stdout] profile smoke\n"}
    from mmvae_lib.paths import REPO_ROOT
    assert f"--nbval-sanitize-with {regression.SANITIZE_FILE.relative_to(REPO_ROOT)}" in \
        (REPO_ROOT / "Makefile").read_text()
