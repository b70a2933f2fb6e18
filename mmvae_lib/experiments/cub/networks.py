"""The CUB networks of the released MMVAE code (feature variant: iffsid/mmvae ``src/models/vae_cub_image_ft.py``
and ``vae_cub_sent_ft.py``), and the CUB models.

- **Sentence encoder**: word embedding (V → 128) laid out as a one-channel 32×128 "image"; five convolutions
  32→64→128 (kernel 4, stride 2: 32×128 → 4×16), then 256→512 (kernel (1, 4), stride (1, 2): → 4×4), each
  followed by a normalisation and ReLU; two convolution heads (kernel 4) give loc and raw scale ``(B, D)``.
- **Sentence decoder**: the mirror image with transposed convolutions, ending in one channel 32×128 (ReLU),
  read as 32 vectors of 128; the output logits ``(N, 32, V)`` are those vectors times the **embedding
  matrix** (weights tied to the encoder's embedding, as the released code ties them) plus a bias.
- **Image-feature encoder / decoder**: MLPs 2048 → 1024 → 512 → 256 (ELU) → two heads, and D → 256 → 512 →
  1024 (ELU) → 2048, the mean of the Laplace likelihood on the features.

One deliberate difference: the released code puts BatchNorm after each convolution. Here it is GroupNorm
with one group (a per-sample normalisation over channels and positions, with a learnt scale and shift per
channel), because a sample's log weight must not depend on the other samples it is decoded with: the
library scores each datapoint's bound on its own and decodes the M·K·B stratified samples in chunks whose
size is a property of the machine (:mod:`mmvae_lib.speed`); with BatchNorm the numbers would change with
the chunk size and between training and evaluation mode.

A second difference follows from it: the tied embedding starts at standard deviation 1/√128 instead of
``nn.Embedding``'s 1. With GroupNorm and the unit initialisation the first logits have a standard deviation
near 7 (a first caption loss of some 370 nats), and within 50 steps the decoder learns to switch its final ReLU
off for every input: its output is then the bias alone, the same caption whatever z, and no gradient ever
reaches the convolutions again (measured on the stand-in captions, a caption-only VAE: 2 % of the final ReLU's
outputs alive at step 50; the trained ``cpu`` models had none alive). With BatchNorm, as released, 13 % stay
alive; with the smaller initialisation and GroupNorm about half do, and the logits start near 1.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmvae_lib.models import MMVAE, MVAE, Likelihood, Modality, Prior
from mmvae_lib.experiments.cub.text import MAX_LENGTH, PAD

FEATURE_DIM = 2048            # ResNet-101's pooled features (and the offline stand-in's, same size)
EMBEDDING_DIM = 128           # word embedding of the sentence networks
FEATURE_SCALE = 0.01          # the Laplace likelihood's fixed scale on image features (released code)
LLIK_SCALING = (0.002, 1.0)   # image features, caption: the released command's --llik_scaling 0.002
_SCALE_EPS = 1e-6


def _norm(channels: int) -> nn.Module:
    return nn.GroupNorm(1, channels)


def _block(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, _norm(channels), nn.ReLU(inplace=True)]


class SentenceEncoder(nn.Module):
    """Token ids ``(B, 32)`` → (loc, raw scale), each ``(B, D)``."""

    def __init__(self, vocabulary: int, latent_dim: int, embedding_dim: int = EMBEDDING_DIM):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding_dim)
        nn.init.normal_(self.embedding.weight, std=embedding_dim ** -0.5)   # see the module docstring
        wide = dict(kernel_size=(1, 4), stride=(1, 2), padding=(0, 1))
        self.body = nn.Sequential(
            *_block(nn.Conv2d(1, 32, 4, 2, 1), 32),          # 32 × 16 × 64
            *_block(nn.Conv2d(32, 64, 4, 2, 1), 64),         # 64 × 8 × 32
            *_block(nn.Conv2d(64, 128, 4, 2, 1), 128),       # 128 × 4 × 16
            *_block(nn.Conv2d(128, 256, **wide), 256),       # 256 × 4 × 8
            *_block(nn.Conv2d(256, 512, **wide), 512))       # 512 × 4 × 4
        self.loc = nn.Conv2d(512, latent_dim, 4)
        self.raw_scale = nn.Conv2d(512, latent_dim, 4)

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(self.embedding(tokens).unsqueeze(1))    # (B, 1, 32, 128) → (B, 512, 4, 4)
        return self.loc(h).flatten(1), self.raw_scale(h).flatten(1)


class SentenceDecoder(nn.Module):
    """Latents ``(N, D)`` → logits ``(N, 32, V)``, the output layer tied to ``embedding``."""

    def __init__(self, embedding: nn.Embedding, latent_dim: int):
        super().__init__()
        wide = dict(kernel_size=(1, 4), stride=(1, 2), padding=(0, 1))
        self.body = nn.Sequential(
            *_block(nn.ConvTranspose2d(latent_dim, 512, 4, 1, 0), 512),   # 512 × 4 × 4
            *_block(nn.ConvTranspose2d(512, 256, **wide), 256),           # 256 × 4 × 8
            *_block(nn.ConvTranspose2d(256, 128, **wide), 128),           # 128 × 4 × 16
            *_block(nn.ConvTranspose2d(128, 64, 4, 2, 1), 64),            # 64 × 8 × 32
            *_block(nn.ConvTranspose2d(64, 32, 4, 2, 1), 32),             # 32 × 16 × 64
            nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.ReLU(inplace=True))    # 1 × 32 × 128
        self.embedding = embedding                                        # shared with the encoder
        self.bias = nn.Parameter(torch.zeros(embedding.num_embeddings))

    def forward(self, z: Tensor) -> Tensor:
        h = self.body(z[:, :, None, None]).squeeze(1)                     # (N, 32, 128)
        return h @ self.embedding.weight.T + self.bias                    # (N, 32, V)


class FeatureEncoder(nn.Module):
    """Image features ``(B, 2048)`` → (loc, raw scale), each ``(B, D)``."""

    def __init__(self, latent_dim: int, feature_dim: int = FEATURE_DIM):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(feature_dim, 1024), nn.ELU(inplace=True), nn.Linear(1024, 512),
                                  nn.ELU(inplace=True), nn.Linear(512, 256), nn.ELU(inplace=True))
        self.loc = nn.Linear(256, latent_dim)
        self.raw_scale = nn.Linear(256, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.loc(h), self.raw_scale(h)


class FeatureDecoder(nn.Module):
    """Latents ``(N, D)`` → the mean of the image features ``(N, 2048)``."""

    def __init__(self, latent_dim: int, feature_dim: int = FEATURE_DIM):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, 256), nn.ELU(inplace=True), nn.Linear(256, 512),
                                 nn.ELU(inplace=True), nn.Linear(512, 1024), nn.ELU(inplace=True),
                                 nn.Linear(1024, feature_dim))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


def modalities(vocabulary: int, feature_dim: int = FEATURE_DIM) -> tuple[Modality, Modality]:
    """What the encoders take: [image features (any finite values), caption (token ids)]."""
    return (Modality("image", (feature_dim,)),
            Modality("caption", (MAX_LENGTH,), kind="tokens", vocabulary=vocabulary))


def likelihoods() -> tuple[Likelihood, Likelihood]:
    """Laplace of scale 0.01 on the features; Categorical on the caption with the padding unscored."""
    return Likelihood("laplace", FEATURE_SCALE), Likelihood("categorical", ignore_index=PAD)


def cub_model(kind: str, vocabulary: int, latent_dim: int, feature_dim: int = FEATURE_DIM):
    """A CUB model over [image features, caption]: ``kind`` "mmvae" or "mvae".

    Both use Normal posteriors with softplus scales (the released code's sentence and feature encoders) and
    the likelihoods and scalings of the released command. MMVAE: prior Normal(0, σ) with a learnable
    scale (``--learn-prior``; the library's parametrisation softmax(θ)·D, which starts at 1, where the
    released code's softplus(θ) starts at ln 2). MVAE: the product of experts with a standard-Normal prior
    expert, as in the MVAE.
    """
    encoders = [FeatureEncoder(latent_dim, feature_dim), SentenceEncoder(vocabulary, latent_dim)]
    decoders = [FeatureDecoder(latent_dim, feature_dim), SentenceDecoder(encoders[1].embedding, latent_dim)]
    common = dict(latent_dim=latent_dim, llik_scaling=LLIK_SCALING, modalities=modalities(vocabulary, feature_dim))
    if kind == "mmvae":
        return MMVAE(encoders, decoders, likelihoods(), posterior="normal", scale="softplus",
                     prior=Prior(latent_dim, "normal", learnable=True), **common)
    if kind == "mvae":
        return MVAE(encoders, decoders, likelihoods(), **common)
    raise ValueError(f"kind must be 'mmvae' or 'mvae', got {kind!r}")
