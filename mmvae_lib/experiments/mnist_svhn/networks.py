"""The paper's MNIST (MLP) and SVHN (CNN) encoder/decoder pairs (paper Appendix F), and the MNIST-SVHN
models built from them.

Encoders return ``(loc, raw_scale)``, each ``(B, D)``; decoders map ``(N, D)`` to image means in
``(0, 1)``: MNIST ``(N, 1, 28, 28)``, SVHN ``(N, 3, 32, 32)``.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmvae_lib import speed
from mmvae_lib.models import MMVAE, MODELS, MVAE, VAE, Likelihood, Modality, MoPoE, Prior

MNIST_SHAPE = (1, 28, 28)
SVHN_SHAPE = (3, 32, 32)
_MNIST_PIXELS = 784
_HIDDEN = 400
_PROB_EPS = 1e-6


class MNISTEncoder(nn.Module):
    """784 → 400 (ReLU) → two linear heads (loc, raw scale)."""

    def __init__(self, latent_dim: int = 20):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(_MNIST_PIXELS, _HIDDEN), nn.ReLU(inplace=True))
        self.loc = nn.Linear(_HIDDEN, latent_dim)
        self.raw_scale = nn.Linear(_HIDDEN, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.loc(h), self.raw_scale(h)


class MNISTDecoder(nn.Module):
    """D → 400 (ReLU) → 784, sigmoid, clamped to [1e-6, 1 − 1e-6]."""

    def __init__(self, latent_dim: int = 20):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, _HIDDEN), nn.ReLU(inplace=True), nn.Linear(_HIDDEN, _MNIST_PIXELS))

    def forward(self, z: Tensor) -> Tensor:
        out = self.net(z).sigmoid().clamp(_PROB_EPS, 1 - _PROB_EPS)
        return out.view(-1, *MNIST_SHAPE)


def _conv(c_in, c_out):
    return [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.ReLU(inplace=True)]


def _deconv(c_in, c_out):
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.ReLU(inplace=True)]


def _memory_format() -> torch.memory_format:
    """channels_last for the convolutions when the fast paths are on (:mod:`mmvae_lib.speed`)."""
    return torch.channels_last if speed.enabled() else torch.contiguous_format


class SVHNEncoder(nn.Module):
    """conv 3→32→64→128 (kernel 4, stride 2, pad 1, ReLU): 32×32 → 4×4; two conv heads 128→D (kernel 4)."""

    def __init__(self, latent_dim: int = 20):
        super().__init__()
        self.body = nn.Sequential(*_conv(3, 32), *_conv(32, 64), *_conv(64, 128))
        self.loc = nn.Conv2d(128, latent_dim, 4)
        self.raw_scale = nn.Conv2d(128, latent_dim, 4)
        self.to(memory_format=_memory_format())

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x.contiguous(memory_format=_memory_format()))
        return self.loc(h).flatten(1), self.raw_scale(h).flatten(1)


class SVHNDecoder(nn.Module):
    """transposed conv D→128 (k4, s1, p0): 1×1 → 4×4; then 128→64→32→3 (k4, s2, p1) to 32×32; sigmoid."""

    def __init__(self, latent_dim: int = 20):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, 128, 4, 1, 0), nn.ReLU(inplace=True),
            *_deconv(128, 64), *_deconv(64, 32), nn.ConvTranspose2d(32, 3, 4, 2, 1))
        self.to(memory_format=_memory_format())

    def forward(self, z: Tensor) -> Tensor:
        h = z.view(*z.shape, 1, 1).contiguous(memory_format=_memory_format())
        return self.net(h).sigmoid()


# --- the MNIST-SVHN models -------------------------------------------------------------------------

# what each encoder takes: float images in [0, 1]
MNIST = Modality("mnist", MNIST_SHAPE, value_range=(0.0, 1.0))
SVHN = Modality("svhn", SVHN_SHAPE, value_range=(0.0, 1.0))

# name → (modality, encoder, decoder, likelihood scaling in the multimodal models: 3072/784 evens out the
# pixel counts)
MODALITIES = {
    "mnist": (MNIST, MNISTEncoder, MNISTDecoder, 3 * 32 * 32 / _MNIST_PIXELS),
    "svhn": (SVHN, SVHNEncoder, SVHNDecoder, 1.0),
}
LIKELIHOOD_SCALE = 0.75  # the paper's fixed Laplace scale on images


def mnist_svhn_model(kind: str, latent_dim: int = 20, modality: str | None = None):
    """A paper model: ``kind`` in :data:`mmvae_lib.models.MODELS`.

    - ``mmvae``: Laplace posteriors and prior (learnable prior scale), the paper's scale parametrisation;
    - ``mvae``: Normal experts with a standard-Normal prior expert, softplus scales;
    - ``vae``: one modality (``modality`` = "mnist" or "svhn"), Laplace as in the MMVAE, scaling 1.
    All use the same networks and a Laplace likelihood with scale 0.75 on pixels.
    """
    if kind not in MODELS:
        raise ValueError(f"kind must be one of {sorted(MODELS)}, got {kind!r}")
    likelihood = Likelihood("laplace", LIKELIHOOD_SCALE)
    if kind == "vae":
        if modality not in MODALITIES:
            raise ValueError(f"a single-modality VAE needs modality in {sorted(MODALITIES)}, got {modality!r}")
        spec, enc, dec, _ = MODALITIES[modality]
        return VAE(enc(latent_dim), dec(latent_dim), likelihood, latent_dim=latent_dim, modality=spec,
                   posterior="laplace", prior=Prior(latent_dim, "laplace", learnable=True))
    if modality is not None:
        raise ValueError(f"modality is only for kind='vae', got modality={modality!r} with kind={kind!r}")
    # every encoder, then every decoder: the order in which the seeded generator initialises the weights
    specs, encoder_types, decoder_types, scaling = zip(*MODALITIES.values())
    encoders = [encoder(latent_dim) for encoder in encoder_types]
    decoders = [decoder(latent_dim) for decoder in decoder_types]
    if kind == "mmvae":
        return MMVAE(encoders, decoders, [likelihood] * 2, latent_dim=latent_dim, posterior="laplace",
                     prior=Prior(latent_dim, "laplace", learnable=True), llik_scaling=scaling, modalities=specs)
    if kind == "mopoe":
        return MoPoE(encoders, decoders, [likelihood] * 2, latent_dim=latent_dim, llik_scaling=scaling,
                     modalities=specs)
    return MVAE(encoders, decoders, [likelihood] * 2, latent_dim=latent_dim, llik_scaling=scaling, modalities=specs)
