"""mmvae_lib.plots: every figure function draws from rows as the measuring functions return them, and
save_figure writes a PNG under outputs/<profile>/figures/."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mmvae_lib.reporting.figures import save_figure  # noqa: E402
from mmvae_lib.theory import measurements as theory, plots  # noqa: E402


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    return tmp_path


def test_save_figure_writes_a_png_under_the_profile(outputs):
    """The PNG lands in outputs/<profile>/figures/<name>.png and starts with the PNG signature."""
    fig, _ = plt.subplots()
    path = save_figure(fig, "smoke", "02_theory_test")
    assert path == outputs / "smoke" / "figures" / "02_theory_test.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("sub/02_name", "02_name.png", "theory_test", "2_theory"):   # a folder, an extension, no notebook
        with pytest.raises(ValueError, match="NN_<what>"):
            save_figure(fig, "smoke", name)
    plt.close("all")


def test_theory_figures_draw_from_measured_rows():
    """Each notebook-02 figure is built from the rows of its measuring function (tiny sizes)."""
    sweep = pd.DataFrame(theory.precision_sweep([2.0], [-1.0], [1.0, 10.0]))
    points = torch.linspace(-3, 3, 31, dtype=torch.float64)[:, None]
    densities = {tau: theory.log_densities(theory.two_experts([2.0], [-1.0], tau), points) for tau in (1.0, 10.0)}
    experts_2d = {tau: theory.two_experts([1.0, 1.0], [-1.0, 0.0], tau) for tau in (1.0, 10.0)}
    bound_rows = pd.DataFrame([{"k": k, "bound": b, "value": -1.0 / k, "gap": 1.0 / k}
                               for b in ("a", "b") for k in (1, 10)])
    entropy_rows = pd.DataFrame([{"init": "wide", "objective": o, "expert": e, "entropy": 1.0}
                                 for o in ("moe_elbo", "moe_dreg_looser") for e in (1, 2)])
    cost_rows = pd.DataFrame([{"m": m, "objective": o, "decoded_per_point": m * m, "seconds_per_step": 0.1 * m}
                              for o in ("moe_elbo", "moe_elbo_linear") for m in (2, 4)])
    snr_rows = pd.DataFrame([{"objective": o, "k": k, "snr": 1.0 / k} for o in ("iwae", "dreg") for k in (1, 10)])
    figures = [
        plots.plot_precision_sweep(sweep),
        plots.plot_densities_1d(points, densities),
        plots.plot_densities_2d(experts_2d, theory.log_densities, n=21),
        plots.plot_bounds_against_k(bound_rows, log_p=0.0),
        plots.plot_entropy(entropy_rows, {"p(z | x_1)": 1.2}),
        plots.plot_cost(cost_rows),
        plots.plot_snr(snr_rows),
    ]
    assert all(isinstance(f, plt.Figure) and f.axes for f in figures)
    plt.close("all")
