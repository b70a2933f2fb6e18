"""The MHD networks and models, as the JNF authors ran MHD on MultiVae (``AgatheSenellart/nips_experiments``,
``comparison_on_MHD/architectures.py`` and ``config.py``, commit 817b129; the sound and trajectory networks are
the Nexus ones, ``miguelsvasco/nexus_pytorch``, ``evaluation/multimodal/nexus/model/model_snd_components.py``).
Latent size 64. Encoders return ``(loc, raw_scale)``, each ``(B, D)``; decoders map ``(N, D)`` to the modality.

- **Image** ``(1, 28, 28)``: encoder conv 1→C₁→C₂→C₃→C₄ (kernel 4, stride 2, padding 1; batch norm, ReLU):
  28 → 14 → 7 → 3 → 1, two linear heads C₄ → D (pythae's ``Encoder_Conv_VAE_MNIST``); decoder linear
  D → C₄·4·4, transposed convs C₄→C₃ (k3, s2, p1) to 7×7, C₃→C₂ and C₂→1 (k3, s2, p1, output padding 1) to
  14 and 28, batch norm and ReLU between, a sigmoid at the end. The authors' widths are
  C = (128, 256, 512, 1024) (``IMAGE_CHANNELS``); at those, one decoded image costs about 0.9 GFLOP forward,
  so the ``cpu`` profile narrows them (its ``image_channels``), and says so.
- **Sound** ``(1, 32, 128)`` (frames × mel bands), the Nexus sound CNN: conv 1→128 with a (1 × 128) kernel over
  the mel bands, then two convs (4 × 1) of stride 2 in time, 128→128→256 (no bias; batch norm, ReLU): 32 frames
  → 16 → 8; flatten 2,048 → two heads. Decoder: linear D → 2,048 (batch norm, ReLU), 256 × 8 × 1, transposed
  convs (4 × 1, stride 2 in time) 256→128→128 (batch norm, ReLU), a transposed conv (1 × 128) to 1 × 32 × 128,
  a sigmoid.
- **Trajectory** ``(200,)``: an MLP 200 → 512 → 512 → 512 (linear, batch norm, leaky ReLU), two heads;
  decoder D → 512 → 512 → 512 (the same blocks) → 200, a sigmoid.

Likelihoods: MultiVae's default for every modality, a Normal of scale 1 on the decoder's output, each rescaled
by the largest modality's size over its own (``uses_likelihood_rescaling``). The authors declared the image
as (3, 28, 28) when computing those factors, so theirs are 4,096/2,352 (image), 1 (sound) and 4,096/200
(trajectory); :data:`LIKELIHOOD_RESCALING` keeps the factors they ran with.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmvae_lib.models import MMVAE, MVAE, Likelihood, Modality, MoPoE, Prior

IMAGE_SHAPE, SOUND_SHAPE, TRAJECTORY_SHAPE = (1, 28, 28), (1, 32, 128), (200,)
IMAGE_CHANNELS = (128, 256, 512, 1024)        # the authors' image network widths
MODALITIES = (Modality("image", IMAGE_SHAPE, value_range=(0.0, 1.0)),
              Modality("trajectory", TRAJECTORY_SHAPE, value_range=(0.0, 1.0)),
              Modality("sound", SOUND_SHAPE))          # no range checked: the real files' is not documented
LIKELIHOOD_SCALE = 1.0                        # MultiVae's default Normal decoder distribution
LIKELIHOOD_RESCALING = (4096 / 2352, 4096 / 200, 1.0)   # image, trajectory, sound: as the authors ran them
HIDDEN = 512


class ImageEncoder(nn.Module):
    """conv 1→C₁→C₂→C₃→C₄ (k4, s2, p1; batch norm, ReLU): 28 → 14 → 7 → 3 → 1; heads C₄ → D."""

    def __init__(self, latent_dim: int = 64, channels: Sequence[int] = IMAGE_CHANNELS):
        super().__init__()
        layers, previous = [], 1
        for c in channels:
            layers += [nn.Conv2d(previous, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            previous = c
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.loc, self.raw_scale = nn.Linear(previous, latent_dim), nn.Linear(previous, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)                                              # (B, C₄)
        return self.loc(h), self.raw_scale(h)


class ImageDecoder(nn.Module):
    """linear D → C₄·4·4 → transposed convs to C₃×7×7, C₂×14×14, 1×28×28 (batch norm, ReLU between); sigmoid."""

    def __init__(self, latent_dim: int = 64, channels: Sequence[int] = IMAGE_CHANNELS):
        super().__init__()
        c1, c2, c3, c4 = channels
        self.top = c4
        self.linear = nn.Linear(latent_dim, c4 * 4 * 4)
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(c4, c3, 3, 2, 1), nn.BatchNorm2d(c3), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(c3, c2, 3, 2, 1, output_padding=1), nn.BatchNorm2d(c2), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(c2, 1, 3, 2, 1, output_padding=1), nn.Sigmoid())

    def forward(self, z: Tensor) -> Tensor:
        return self.deconv(self.linear(z).view(-1, self.top, 4, 4))     # (N, 1, 28, 28)


def _time_conv(cin: int, cout: int, transposed: bool = False) -> list[nn.Module]:
    conv = nn.ConvTranspose2d if transposed else nn.Conv2d
    return [conv(cin, cout, (4, 1), (2, 1), (1, 0), bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SoundEncoder(nn.Module):
    """The Nexus sound CNN: conv (1 × 128) over the mel bands 1→128, convs (4 × 1) of stride 2 in time
    128→128→256: 32 frames → 16 → 8; flatten 2,048 → heads."""

    def __init__(self, latent_dim: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 128, (1, 128), bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),   # (B, 128, 32, 1)
            *_time_conv(128, 128), *_time_conv(128, 256), nn.Flatten())                             # (B, 2048)
        self.loc, self.raw_scale = nn.Linear(2048, latent_dim), nn.Linear(2048, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.loc(h), self.raw_scale(h)


class SoundDecoder(nn.Module):
    """linear D → 2,048 (batch norm, ReLU) → 256 × 8 × 1 → transposed convs (4 × 1) to 128 × 16, 128 × 32, then
    (1 × 128) to 1 × 32 × 128; sigmoid."""

    def __init__(self, latent_dim: int = 64):
        super().__init__()
        self.linear = nn.Sequential(nn.Linear(latent_dim, 2048), nn.BatchNorm1d(2048), nn.ReLU(inplace=True))
        self.deconv = nn.Sequential(*_time_conv(256, 128, True), *_time_conv(128, 128, True),
                                    nn.ConvTranspose2d(128, 1, (1, 128)), nn.Sigmoid())

    def forward(self, z: Tensor) -> Tensor:
        return self.deconv(self.linear(z).view(-1, 256, 8, 1))        # (N, 1, 32, 128)


def _mlp(sizes: Sequence[int]) -> list[nn.Module]:
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.LeakyReLU()]
    return layers


class TrajectoryEncoder(nn.Module):
    """200 → 512 → 512 → 512 (linear, batch norm, leaky ReLU) → heads."""

    def __init__(self, latent_dim: int = 64):
        super().__init__()
        self.body = nn.Sequential(*_mlp((200, HIDDEN, HIDDEN, HIDDEN)))
        self.loc, self.raw_scale = nn.Linear(HIDDEN, latent_dim), nn.Linear(HIDDEN, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.loc(h), self.raw_scale(h)


class TrajectoryDecoder(nn.Module):
    """D → 512 → 512 → 512 (linear, batch norm, leaky ReLU) → 200, sigmoid."""

    def __init__(self, latent_dim: int = 64):
        super().__init__()
        self.net = nn.Sequential(*_mlp((latent_dim, HIDDEN, HIDDEN, HIDDEN)), nn.Linear(HIDDEN, 200), nn.Sigmoid())

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)                                            # (N, 200)


def encoders(latent_dim: int, image_channels: Sequence[int] = IMAGE_CHANNELS) -> list[nn.Module]:
    """One encoder per modality, in :data:`MODALITIES` order (image, trajectory, sound)."""
    return [ImageEncoder(latent_dim, image_channels), TrajectoryEncoder(latent_dim), SoundEncoder(latent_dim)]


def decoders(latent_dim: int, image_channels: Sequence[int] = IMAGE_CHANNELS) -> list[nn.Module]:
    return [ImageDecoder(latent_dim, image_channels), TrajectoryDecoder(latent_dim), SoundDecoder(latent_dim)]


def likelihoods() -> list[Likelihood]:
    return [Likelihood("normal", LIKELIHOOD_SCALE)] * len(MODALITIES)


KINDS = ("mmvae", "mvae", "mopoe")


def mhd_model(kind: str, latent_dim: int = 64, image_channels: Sequence[int] = IMAGE_CHANNELS):
    """A three-modality model on the MHD networks: ``kind`` in :data:`KINDS`. The MMVAE with Laplace posteriors
    and prior and the softmax scale (the authors' ``laplace_with_softmax``), its prior fixed; MVAE and MoPoE with
    Normal experts. Every model with the authors' likelihood rescaling."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    encs, decs = encoders(latent_dim, image_channels), decoders(latent_dim, image_channels)
    common = dict(latent_dim=latent_dim, llik_scaling=LIKELIHOOD_RESCALING, modalities=MODALITIES)
    if kind == "mmvae":
        return MMVAE(encs, decs, likelihoods(), posterior="laplace",
                     prior=Prior(latent_dim, "laplace", learnable=False), **common)
    return (MVAE if kind == "mvae" else MoPoE)(encs, decs, likelihoods(), **common)


def build_model(kind: str, seed: int, latent_dim: int = 64, image_channels: Sequence[int] = IMAGE_CHANNELS):
    """:func:`mhd_model` with weights drawn from ``seed``, the global generator untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return mhd_model(kind, latent_dim, image_channels)
