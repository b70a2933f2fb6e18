"""mmvae_lib.metrics.frechet: the Fréchet distance against its closed form, PNG-like quantisation, and the
standard FID's guard rails (the weights' checksum, the optional torch-fidelity)."""
import numpy as np
import pytest
import scipy.linalg
import torch

from mmvae_lib.metrics import frechet
from mmvae_lib.paths import file_digest


class ChannelMeans(torch.nn.Module):
    """Features: each image's mean per channel and its overall standard deviation (4 numbers)."""

    num_features = 4

    def forward(self, x):
        x = x.float() / 255
        return torch.cat([x.mean((2, 3)), x.flatten(1).std(1, keepdim=True)], 1)


def _closed_form(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_frechet_distance_matches_the_closed_form_and_keeps_the_real_features():
    """FD = |mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r S_g)^1/2) on the features of the quantised images, for
    two generated sets scored one after the other against the same real set; zero for the real set itself."""
    g = torch.Generator().manual_seed(0)
    real = torch.rand(300, 3, 8, 8, generator=g)
    brighter = (torch.rand(200, 3, 8, 8, generator=g) * 0.8 + 0.3)
    darker = torch.rand(250, 3, 8, 8, generator=g) * 0.5
    distance = frechet.FrechetDistance(frechet.feature_metric(ChannelMeans()), real, batch_size=64)
    features = lambda x: ChannelMeans()(frechet.to_uint8(x)).double().numpy()
    for generated in (brighter, darker):
        assert distance(generated) == pytest.approx(_closed_form(features(real), features(generated)), rel=1e-5)
    assert abs(distance(real)) < 1e-8


def test_to_uint8_rounds_like_a_png_file():
    """Clamped to [0, 1], ×255, rounded half up (torchvision save_image)."""
    x = torch.tensor([-0.2, 0.0, 0.5 / 255, 0.49 / 255, 0.5, 1.0, 1.7])
    assert frechet.to_uint8(x).tolist() == [0, 0, 1, 0, 128, 255, 255]


def test_inception_weights_are_refused_unless_their_checksum_matches(tmp_path, monkeypatch):
    """No path and no $MMVAE_INCEPTION_WEIGHTS: None (the offline distance). A file with another sha256 is
    refused by name, from the argument or the environment; a missing file too."""
    monkeypatch.delenv(frechet.INCEPTION_ENV, raising=False)
    assert frechet.inception_weights() is None
    fake = tmp_path / frechet.INCEPTION_FILE
    fake.write_bytes(b"not the weights")
    with pytest.raises(frechet.WeightsChecksumError, match=f"expected {frechet.INCEPTION_SHA256}"):
        frechet.inception_weights(fake)
    monkeypatch.setenv(frechet.INCEPTION_ENV, str(fake))
    with pytest.raises(frechet.WeightsChecksumError, match="refusing"):
        frechet.inception_metric()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        frechet.inception_weights(tmp_path / "absent.pth")
    assert frechet.inception_weights(fake, sha256=file_digest(fake)) == fake


def test_standard_fid_without_torch_fidelity_says_how_to_install_it(tmp_path, monkeypatch):
    """With weights that pass the check but no torch-fidelity, the error names the optional extra."""
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"x")
    real_find_spec = frechet.importlib.util.find_spec
    monkeypatch.setattr(frechet.importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch_fidelity" else real_find_spec(name, *a))
    with pytest.raises(ModuleNotFoundError, match=r"pip install -e '\.\[fid\]'"):
        frechet.inception_metric(weights, sha256=file_digest(weights))


def test_the_frechet_distance_of_features_matches_its_closed_form():
    """Gaussians N(0, I) and N(1, 4 I) in three dimensions: ‖μ‖² = 3, tr(I + 4I − 2·2I) = 3, so 6."""
    from mmvae_lib.metrics.frechet import frechet_distance

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(40_000, 3, generator=g), torch.randn(40_000, 3, generator=g) * 2 + 1
    assert frechet_distance(a, b) == pytest.approx(6.0, abs=0.1)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="two sets"):
        frechet_distance(a, b[:, :2])
