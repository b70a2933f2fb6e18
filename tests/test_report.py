"""mmvae_lib.report: the README's and the book's generated parts are what the committed outputs give; claims
are read from a run's manifest (recorded with paper.claim, or older bare verdicts) with their notebooks; a run
ends with a summary of what changed."""
import json

import nbformat
import pandas as pd
import pytest

from mmvae_lib import paper, report


def test_the_committed_readme_and_book_match_the_committed_outputs():
    """Every generated block of the README and the book equals what `python -m mmvae_lib.report --profile cpu`
    writes from outputs/cpu: no number in them was copied by hand, or left behind by a later run."""
    assert report.write("cpu", check=True) == []
    text = report.README.read_text()
    assert "<!-- report:claims -->" in text and "<!-- report:costs -->" in text
    assert len(text.splitlines()) <= 160


def test_every_claim_of_the_committed_run_is_in_the_table_with_its_notebook():
    """Every structured claim, and every older bare verdict of a notebook that has not run since (a notebook that
    records structured claims now has replaced its bare ones)."""
    manifest = report.load_manifest("cpu")
    found = report.claims(manifest, report.notebook_texts("cpu"))
    structured = manifest.get("claims", {})
    rerun = {c["notebook"] for c in structured.values()}
    bare = [k for k, v in manifest["records"].items() if "claim" in k and isinstance(v, bool)]
    older = [c for c in found if c.notebook not in rerun]
    assert len(found) == len(structured) + len(older) and len(older) <= len(bare)
    assert {c.notebook for c in older} and not {c.notebook for c in older} & rerun
    assert all(c.notebook.isdigit() for c in found)
    table = report.blocks("cpu")["claims"]
    labels = ("holds", "**does not hold**", "**fails**", "*undecided*")
    assert sum(table.count(f"\n| {label} |") for label in labels) == len(found)
    assert f"{sum(c.holds for c in found)} of {len(found)} claims hold" in table


def _run(root, claims=None, records=None, times=None):
    folder = root / "cpu"
    (folder / "notebooks").mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('claims = {"the mixture is coherent": True}')]
    nbformat.write(nb, folder / "notebooks" / "06_tables.ipynb")
    (folder / "manifest.json").write_text(json.dumps({
        "profile": "cpu", "git_commit": "abcdef1234", "claims": claims or {}, "records": records or {},
        "wall_time_s": times or {"06_tables.ipynb": 120.0}, "notebook_commits": {"06_tables.ipynb": "abcdef1234"},
        "notebook_devices": {"06_tables.ipynb": "cpu: a CPU"}}))
    return folder


def test_claims_come_from_paper_claim_and_from_older_bare_verdicts(tmp_path):
    folder = _run(tmp_path, records={"claim: the mixture is coherent": False, "11 claim: flows close the gap": True,
                                     "data": "not a claim", "claim_an_old_check_no_notebook_makes": True})
    found = report.claims(report.load_manifest("cpu", tmp_path), report.notebook_texts("cpu", tmp_path))
    assert found == [report.Claim("06", "the mixture is coherent", False), report.Claim("11", "flows close the gap", True)]
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["claims"] = {"13 JNF rises": {"notebook": "13", "claim": "JNF rises", "holds": True, "ours": "16 → 18 %",
                                           "paper": "67 → 92 %"}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    found = report.claims(report.load_manifest("cpu", tmp_path), {})
    assert report.Claim("13", "JNF rises", True, "16 → 18 %", "67 → 92 %") in found
    manifest["claims"]["11 flows close the gap"] = {"notebook": "11", "claim": "flows close the gap", "holds": False}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    found = report.claims(report.load_manifest("cpu", tmp_path), {})   # notebook 11 rerun: its old verdict is gone
    assert [c for c in found if c.notebook == "11"] == [report.Claim("11", "flows close the gap", False)]
    table = report.claims_table(found, "nb/{name}", {"13": "13_jnf.ipynb"})
    assert "| holds | JNF rises | 67 → 92 % | 16 → 18 % | [13](nb/13_jnf.ipynb) |" in table


def test_paper_claim_records_a_structured_claim(tmp_path, monkeypatch):
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    paper.claim("cpu", "06", "MMVAE above MVAE", True, ours="34 vs 21 %", paper="86 vs 13 %")
    stored = json.loads((tmp_path / "cpu" / "manifest.json").read_text())["claims"]
    assert stored == {"06 MMVAE above MVAE": {"notebook": "06", "claim": "MMVAE above MVAE", "holds": True,
                                              "ours": "34 vs 21 %", "paper": "86 vs 13 %",
                                              "session": paper.SESSION}}
    monkeypatch.setattr(paper, "SESSION", "a later execution")     # the notebook run again, its claim reworded
    paper.claim("cpu", "06", "MMVAE above MVAE, reworded", True)
    paper.claim("cpu", "06", "and another", False)
    stored = json.loads((tmp_path / "cpu" / "manifest.json").read_text())["claims"]
    assert sorted(stored) == ["06 MMVAE above MVAE, reworded", "06 and another"]
    with pytest.raises(ValueError, match="two-digit number"):
        paper.claim("cpu", "6", "x", True)


def test_fill_replaces_only_the_named_blocks():
    text = "a\n<!-- report:x -->\nold\n<!-- /report:x -->\nb\n"
    assert report.fill(text, {"x": "new\n"}) == "a\n<!-- report:x -->\nnew\n<!-- /report:x -->\nb\n"
    with pytest.raises(KeyError, match="no generated block 'x'"):
        report.fill(text, {"y": ""})


def test_results_tables_show_ours_with_the_spread_and_the_papers_number():
    table = pd.DataFrame({"row": ["MMVAE", "MMVAE", "MVAE"], "column": ["Joint", "Cross", "Joint"],
                          "paper": [42.1, 86.4, float("nan")], "value": [20.9, 34.35, 14.85],
                          "std": [0.14, 0.85, float("nan")], "n_seeds": [2, 2, 1]})
    assert report.results_table(table).splitlines() == [
        "| | Joint | Cross |", "|---|---|---|", "| MMVAE | 20.9 ± 0.1 (42.1) | 34.4 ± 0.8 (86.4) |", "| MVAE | 14.8 |  |"]


def test_the_run_summary_counts_verdicts_names_changes_times_and_disk(tmp_path):
    folder = _run(tmp_path, claims={"06 the mixture is coherent": {
        "notebook": "06", "claim": "the mixture is coherent", "holds": True}})
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "m.pt").write_bytes(b"x" * 2_000_000)
    before = [report.Claim("06", "the mixture is coherent", False)]
    summary = report.run_summary("cpu", before, ["06_tables.ipynb"], tmp_path)
    assert "Claims: 1 of 1 hold" in summary
    assert "changed: 06 the mixture is coherent: now holds" in summary
    folder = _run(tmp_path, claims={"06 the mixture is coherent": {
        "notebook": "06", "claim": "the mixture is coherent", "holds": False, "verdict": "undecided"}})
    before = [report.Claim("06", "the mixture is coherent", False, verdict="fails")]    # fails -> undecided: a change
    assert "now undecided" in report.run_summary("cpu", before, ["06_tables.ipynb"], tmp_path)
    assert "Wall time: 06 2.0 min; 2.0 min in all" in summary
    assert "Checkpoints: 0.00 GB" in summary and str(folder / "checkpoints") in summary


def test_every_committed_table_and_figure_is_named_after_its_notebook():
    """One naming scheme for the outputs: NN_<what>, NN the notebook that wrote it (the glance figure is the
    report's own); a file of a notebook that no longer writes it would show here as a stray name."""
    from mmvae_lib.paths import artefact_name, output_dir

    books = {p.name[:2] for p in paper.notebooks()}
    for kind in ("tables", "figures"):
        for path in sorted(output_dir("cpu", kind, create=False).iterdir()):
            if path.name == report.GLANCE_FIGURE:
                continue
            assert artefact_name(path.stem) and path.name[:2] in books, path


def test_the_grid_s_cost_is_summed_from_the_cost_table_with_its_assumption(tmp_path, monkeypatch):
    """The README's grid-cost block: the runs, steps, CPU hours and GPU-hours per experiment of the profile's
    cost table (jobs cost), and its stated assumption; without a table it says the cost is not measured."""
    from mmvae_lib import jobs

    assert "has not been measured yet" in report.grid_cost("full", tmp_path)
    table = pd.DataFrame({"run": ["cub/mmvae/s0", "cub/mmvae/s0", "polymnist/mvae/s0"],
                          "timed_as": ["cub/mmvae/s0"] * 2 + ["polymnist/mvae/s0"], "stage": ["a", "b", "c"],
                          "steps": [1_000_000, 500_000, 2_000_000], "batch_size": [64, 64, 256],
                          "cpu_seconds_per_step": [1.0, 1.0, 2.0], "gflop_per_step": [1.0, 1.0, 1.0],
                          "memory_gb": [0.1, 0.1, 0.2], "cpu_hours": [10.0, 5.0, 20.0], "gpu_hours": [1.5, 1.0, 3.0]})
    table.attrs["assumption"] = "GPU: assumed"
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    jobs.write_cost(table, "full")
    text = report.grid_cost("full", tmp_path)
    assert text.startswith("The `full` grid's 2 training runs take 3.5 M optimiser steps (the judges and all evaluation")
    assert "35 hours on one CPU thread, an estimated **6 GPU-hours** (cub 2, polymnist 3). GPU: assumed." in text
    untimed = "Not in this table, added to the grid since it was timed: " + ", ".join(sorted(
        set(jobs.EXPERIMENTS) - {"cub", "polymnist"}))
    assert untimed in text          # every experiment of the grid with no row in the table is named


def test_the_step_floor_table_marks_the_steps_above_the_target(tmp_path):
    path = tmp_path / "floor.csv"
    pd.DataFrame({"case": ["fast", "slow"], "batch": [128, 32], "k": [1, 30], "step_ms": [100.0, 1234.5],
                  "floor_ms": [95.0, 1000.0], "step_over_floor": [100 / 95, 1.2345], "gflop_per_step": [1.0, 2.0],
                  "gflop_per_s": [10.0, 1.6], "machine": "cpu: Some CPU, 1 threads"}).to_csv(path, index=False)
    lines = report.step_floor_table(path).splitlines()
    assert lines[0].startswith("Measured on Some CPU, 1 threads") and "1 of 2 steps within 1.1x" in lines[0]
    assert lines[4] == "| fast | 128 | 1 | 100.0 | 95.0 | 1.05 | 1.00 | 10.0 |"
    assert lines[5] == "| slow | 32 | 30 | 1,234.5 | 1,000.0 | **1.23** | 2.00 | 1.6 |"
    assert "no measurement" in report.step_floor_table(tmp_path / "absent.csv")
