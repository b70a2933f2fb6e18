"""The paper-standard PolyMNIST encoder and decoder, and the MMVAE, MVAE and MoPoE built from them.

Source: Sutter, Daunhawer & Vogt (2021), "Generalized multimodal ELBO", code ``thomassutter/MoPoE``,
``mmnist/networks/ConvNetworksImgCMNIST.py``; the same decoder is MultiVae's ``DecoderConvMMNIST``, which
the JNF authors' PolyMNIST benchmark uses (``AgatheSenellart/nips_experiments``,
``comparison_on_mmnist/config2.py``). One pair per modality, all five alike:

- encoder: conv 3→32→64→128 (kernel 3, stride 2, padding 1, ReLU): 28×28 → 14 → 7 → 4; flatten (2,048)
  → linear 512 (ReLU) → two linear heads 512 → D (location, raw scale);
- decoder: linear D → 2,048 (ReLU), reshaped to 128×4×4; transposed conv 128→64 (k3, s2, p1) to 7×7,
  64→32 (k3, s2, p1, output padding 1) to 14×14, 32→3 (same) to 28×28, ReLU between. **No sigmoid**: the
  output is the location of a Laplace likelihood with fixed scale 0.75 on pixels in [0, 1].

Encoders return ``(loc, raw_scale)``, each ``(B, D)``; decoders map ``(N, D)`` to ``(N, 3, 28, 28)``.
"""
from __future__ import annotations

from torch import Tensor, nn

from mmvae_lib.models import MMVAE, MVAE, Likelihood, Modality, MoPoE, Prior

IMAGE_SHAPE = (3, 28, 28)
N_MODALITIES = 5
HIDDEN = 512                 # the encoder's last hidden layer (the published runs' latent size, too)
LIKELIHOOD_SCALE = 0.75      # fixed Laplace scale on pixels (MoPoE and the JNF authors' benchmark)
MODALITY_NAMES = tuple(f"m{m}" for m in range(N_MODALITIES))
MODALITIES = tuple(Modality(name, IMAGE_SHAPE, value_range=(0.0, 1.0)) for name in MODALITY_NAMES)


class PolyMNISTEncoder(nn.Module):
    """conv 3→32→64→128 (k3, s2, p1, ReLU) → flatten 2,048 → 512 (ReLU) → heads 512 → D (loc, raw scale)."""

    def __init__(self, latent_dim: int = 512):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(64, 128, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Flatten(), nn.Linear(128 * 4 * 4, HIDDEN), nn.ReLU(inplace=True))
        self.loc = nn.Linear(HIDDEN, latent_dim)
        self.raw_scale = nn.Linear(HIDDEN, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)                                          # (B, 512)
        return self.loc(h), self.raw_scale(h)


class PolyMNISTDecoder(nn.Module):
    """linear D → 2,048 (ReLU) → 128×4×4 → transposed convs to 64×7×7, 32×14×14, 3×28×28; no sigmoid."""

    def __init__(self, latent_dim: int = 512):
        super().__init__()
        self.linear = nn.Sequential(nn.Linear(latent_dim, 128 * 4 * 4), nn.ReLU(inplace=True))
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 3, 2, 1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(64, 32, 3, 2, 1, output_padding=1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(32, 3, 3, 2, 1, output_padding=1))

    def forward(self, z: Tensor) -> Tensor:
        return self.deconv(self.linear(z).view(-1, 128, 4, 4))     # (N, 3, 28, 28)


KINDS = ("mmvae", "mvae", "mopoe")


def polymnist_model(kind: str, latent_dim: int = 512):
    """A five-modality model on the paper-standard networks: ``kind`` in :data:`KINDS`.

    - ``mmvae``: Laplace posteriors and prior, the MMVAE paper's softmax scale; the prior scale fixed (the
      JNF authors' benchmark sets ``learn_prior`` off for PolyMNIST, ``comparison_on_mmnist/mmvae.py``);
    - ``mvae``: Normal experts with a standard-Normal prior expert, softplus scales;
    - ``mopoe``: the mixture of the products of every non-empty subset of the Normal experts.
    Likelihoods: Laplace with scale 0.75 on every modality, no likelihood scaling (the images are alike).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    # every encoder, then every decoder: the order in which a seeded generator initialises the weights
    encoders = [PolyMNISTEncoder(latent_dim) for _ in range(N_MODALITIES)]
    decoders = [PolyMNISTDecoder(latent_dim) for _ in range(N_MODALITIES)]
    likelihoods = [Likelihood("laplace", LIKELIHOOD_SCALE)] * N_MODALITIES
    if kind == "mmvae":
        return MMVAE(encoders, decoders, likelihoods, latent_dim=latent_dim, posterior="laplace",
                     prior=Prior(latent_dim, "laplace", learnable=False), modalities=MODALITIES)
    model_type = MVAE if kind == "mvae" else MoPoE
    return model_type(encoders, decoders, likelihoods, latent_dim=latent_dim, modalities=MODALITIES)
