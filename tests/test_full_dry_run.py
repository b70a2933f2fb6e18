"""The `full` profile, end to end on the CPU: every notebook executed through papermill on files in the real on-disk
formats (tests/real_formats.py, the loaders' own fixtures: MNIST IDX, SVHN .mat, CUB with Reed et al.'s
captions and a ResNet-101 weights file, the PolyMNIST archive), every stage of every run capped at two epochs of
a few steps at the stage's full batch size, and every evaluation at the smoke profile's sizes (MMVAE_DRY_RUN), so
that what a first GPU run would hit (a missing key, a shape only the real data has, a budget never computed)
fails here first. Every output of the dry run says that it is one; its checkpoints give the grid's cost."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from mmvae_lib import jobs, paper
from mmvae_lib.training import trainer
from real_formats import write_all

DRY_RUN_STEPS = 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_every_full_notebook_runs_on_the_real_formats_and_the_dry_run_gives_the_grid_s_cost(tmp_path, monkeypatch):
    write_all(tmp_path / "data")
    monkeypatch.setenv("MMVAE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.setenv(trainer.DRY_RUN_VARIABLE, str(DRY_RUN_STEPS))
    manifest = paper.run("full", progress=False)
    assert set(manifest["wall_time_s"]) == {b.name for b in paper.notebooks()}
    assert manifest["dry_run"].startswith("DRY RUN")
    settings = manifest["settings"]
    assert [settings[key]["source"] for key in ("mnist_svhn", "cub", "polymnist", "translated_polymnist", "mhd")] == ["real"] * 5
    assert settings["mnist_svhn"]["llik_k"] < 1_000 and settings["mnist_svhn"]["dm"] == 20   # evaluation shrunk only

    out = tmp_path / "outputs" / "full"
    described = [json.loads(p.read_text()) for p in (out / "checkpoints").rglob("*.json")]
    assert described and all(d["dry_run"] == {"epochs": 2, "steps_per_epoch": DRY_RUN_STEPS} for d in described)
    for table in ("05_table1_latent_accuracy", "06_table3_likelihoods", "08_table4_cub_correlation",
                  "10_polymnist_coherence_vs_subsets", "12_coherence", "13_polymnist_jnf_coherence_vs_subsets",
                  "15_mhd_coherence", "16_translated_polymnist_coherence_vs_subsets"):
        assert pd.read_csv(out / "tables" / f"{table}.csv")["run"].str.startswith("DRY RUN").all(), table

    # the cost: every run of the real grid (every seed) that writes a checkpoint, stage by stage, timed on its
    # first seed's dry run
    monkeypatch.delenv(trainer.DRY_RUN_VARIABLE)
    monkeypatch.setenv("MMVAE_DATA", str(tmp_path / "no data"))     # the published sizes, as `jobs cost` on a laptop
    grid = [job for job in jobs.grid("full") if job.checkpoint]
    assert all(str(jobs.status(job, "full")) == "not started" for job in grid)    # a dry run is never "trained"
    table = jobs.cost(grid, "full")
    assert set(table["run"]) == {job.key for job in grid}
    assert len(table) == sum(len(job.stages) for job in grid)
    assert table["timed_as"].str.endswith("/s0").all() and "mnist_svhn/mmvae/s4" in set(table["run"])
    assert (table["cpu_seconds_per_step"] > 0).all() and (table["gflop_per_step"] > 0).all()
    assert (table["batch_size"] >= 32).all()            # the stages' own batch sizes, not the fixtures' few items
