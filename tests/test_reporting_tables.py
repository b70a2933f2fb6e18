"""mmvae_lib.reporting and mmvae_lib.paper_numbers: paper-versus-ours tables."""
import math

import pandas as pd
import pytest

from mmvae_lib.experiments.cub import paper_numbers as cub_paper_numbers
from mmvae_lib.experiments.mnist_svhn import paper_numbers
from mmvae_lib.reporting import tables as reporting


def test_mean_std_and_paper_column():
    """Each row holds the mean and sample std over seeds, the number of seeds, the paper's number (empty
    where the paper has none) and the data that produced it."""
    table = reporting.paper_vs_ours({("SVHN", "MMVAE"): [60.0, 70.0], ("SVHN", "extra"): [5.0]},
                                    paper_numbers.TABLE1_LATENT_ACCURACY, "offline stand-in")
    assert list(table.columns) == reporting.COLUMNS
    first, second = table.iloc[0], table.iloc[1]
    assert (first.paper, first.value, first.n_seeds) == (68.0, 65.0, 2)
    assert first["std"] == pytest.approx(math.sqrt(50.0))
    assert math.isnan(second.paper) and second["std"] == 0.0 and second.data == "offline stand-in"


def test_saved_csv_round_trips(tmp_path, monkeypatch):
    """save_table writes outputs/<profile>/tables/<name>.csv with the table's columns."""
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    table = reporting.paper_vs_ours({("MMVAE", "Joint"): [40.0, 44.0]}, paper_numbers.TABLE2_COHERENCE, "real")
    path = reporting.save_table(table, "unit", "06_table2_coherence")
    assert path == tmp_path / "unit" / "tables" / "06_table2_coherence.csv"
    with pytest.raises(ValueError, match="NN_<what>"):
        reporting.save_table(table, "unit", "table2_coherence")
    back = pd.read_csv(path)
    assert back.loc[0, "value"] == 42.0 and back.loc[0, "paper"] == 42.1
    assert "42.00 ± 2.83" in reporting.show(table)
    one_seed = reporting.show(reporting.paper_vs_ours({("MMVAE", "Joint"): [40.0]}, {}, "real"))
    assert "40.00" in one_seed and "±" not in one_seed          # one seed has no spread: no "± 0.00"


def test_every_number_must_say_its_data():
    """A table without a data label, or a cell without values, is refused."""
    with pytest.raises(ValueError, match="data must say"):
        reporting.paper_vs_ours({("a", "b"): [1.0]}, {}, "")
    with pytest.raises(ValueError, match="no values"):
        reporting.paper_vs_ours({("a", "b"): []}, {}, "real")


def test_paper_tables_have_the_published_values():
    """Spot checks of the published numbers (Tables 1-4)."""
    assert paper_numbers.TABLE1_LATENT_ACCURACY[("SVHN", "single-VAE")] == 20.7
    assert paper_numbers.TABLE2_COHERENCE[("MMVAE", "Cross M→S")] == 86.4
    assert paper_numbers.TABLE3_LIKELIHOODS[("m=SVHN, n=MNIST MVAE", "log p(x_m | x_n)")] == -12747.50
    assert cub_paper_numbers.TABLE4_CUB_CORRELATION[("MMVAE", "Ground truth")] == 0.273
    assert cub_paper_numbers.TABLE4_CUB_CORRELATION[("MVAE", "Cross S→I")] == -0.013
