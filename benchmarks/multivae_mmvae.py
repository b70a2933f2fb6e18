"""MultiVae's MMVAE (``pip install -e ".[bench]"``, MultiVae 1.0.3, Apache-2.0) with the paper's MNIST-SVHN
networks and this project's initial weights, for ``training_speed.py``.

MultiVae ships the paper's SVHN networks; its MNIST MLPs are 512 wide, so the paper's 784-400-20 encoder and
decoder are written here against its encoder/decoder interfaces. Its losses: ``dreg_looser`` (DReG on eq. 3)
and ``iwae_looser`` at K = 1 (the stratified MoE-ELBO), summed over the batch. Its joint likelihood,
``compute_joint_nll``, draws all K samples from one expert chosen at random and weights them by the mixture:
another quantity than the stratified estimate (the value column shows it).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mmvae_lib._torchvision import import_torchvision

import_torchvision()   # MultiVae imports torchvision; a CUDA wheel beside the CPU torch needs this first

from multivae.data.datasets.base import MultimodalBaseDataset  # noqa: E402
from multivae.models import MMVAE, MMVAEConfig  # noqa: E402
from multivae.models.base.base_config import BaseAEConfig  # noqa: E402
from multivae.models.nn.svhn import Decoder_VAE_SVHN, Encoder_VAE_SVHN  # noqa: E402
from pythae.models.base.base_utils import ModelOutput  # noqa: E402
from pythae.models.nn.base_architectures import BaseDecoder, BaseEncoder  # noqa: E402

MNIST_SHAPE, SVHN_SHAPE = (1, 28, 28), (3, 32, 32)


class _MNISTEncoder(BaseEncoder):
    def __init__(self, latent):
        BaseEncoder.__init__(self)
        self.hidden = nn.Sequential(nn.Linear(784, 400), nn.ReLU(inplace=True))
        self.loc, self.raw_scale = nn.Linear(400, latent), nn.Linear(400, latent)

    def forward(self, x):
        h = self.hidden(x.reshape(*x.shape[:-3], -1))
        return ModelOutput(embedding=self.loc(h), log_covariance=self.raw_scale(h))


class _MNISTDecoder(BaseDecoder):
    def __init__(self, latent):
        BaseDecoder.__init__(self)
        self.net = nn.Sequential(nn.Linear(latent, 400), nn.ReLU(inplace=True), nn.Linear(400, 784))

    def forward(self, z):
        out = torch.sigmoid(self.net(z)).clamp(1e-6, 1 - 1e-6)
        return ModelOutput(reconstruction=out.reshape(*z.shape[:-1], *MNIST_SHAPE))


class Implementation:
    """MultiVae's MMVAE holding the weights of ``ours`` (a ``mmvae_lib`` MMVAE), fed ``xs``."""

    def __init__(self, ours, xs, latent):
        svhn = BaseAEConfig(input_dim=SVHN_SHAPE, latent_dim=latent)
        config = MMVAEConfig(n_modalities=2, latent_dim=latent, input_dims={"mnist": MNIST_SHAPE, "svhn": SVHN_SHAPE},
                             uses_likelihood_rescaling=True, rescale_factors={"mnist": 3072 / 784, "svhn": 1.0},
                             decoders_dist={"mnist": "laplace", "svhn": "laplace"},
                             decoder_dist_params={"mnist": {"scale": 0.75}, "svhn": {"scale": 0.75}}, K=30,
                             prior_and_posterior_dist="laplace_with_softmax", learn_prior=True, loss="dreg_looser")
        self.model = MMVAE(config, {"mnist": _MNISTEncoder(latent), "svhn": Encoder_VAE_SVHN(svhn)},
                           {"mnist": _MNISTDecoder(latent), "svhn": Decoder_VAE_SVHN(svhn)})
        theirs = [self.model.encoders["mnist"], self.model.encoders["svhn"], self.model.decoders["mnist"],
                  self.model.decoders["svhn"]]
        with torch.no_grad():
            for mine, their in zip([*ours.encoders, *ours.decoders], theirs):
                for a, b in zip(mine.parameters(), their.parameters(), strict=True):
                    b.copy_(a.reshape(b.shape))
            self.model.prior_log_var.copy_(ours.prior.param.view_as(self.model.prior_log_var))
        self.inputs = MultimodalBaseDataset(data={"mnist": xs[0], "svhn": xs[1]})
        self.batch = xs[0].shape[0]

    def parameters(self):
        return list(self.model.parameters())

    def describe(self) -> str:
        import multivae

        return f"MultiVae {getattr(multivae, '__version__', '1.0.3')}, MMVAE"

    def run(self, task, optimiser, llik_xs, llik_k):
        if task in ("dreg30", "elbo1"):
            self.model.model_config.loss, self.model.model_config.K = (("dreg_looser", 30) if task == "dreg30"
                                                                       else ("iwae_looser", 1))
            self.model.train()
            optimiser.zero_grad()
            out = self.model(self.inputs)
            out.loss.backward()
            optimiser.step()
            return -out.loss.item() / self.batch
        if task == "llik":
            np.random.seed(0)
            data = MultimodalBaseDataset(data={"mnist": llik_xs[0], "svhn": llik_xs[1]})
            with torch.no_grad():
                return -self.model.compute_joint_nll(data, K=llik_k, batch_size_K=100).item() / len(llik_xs[0])
        if task == "floor30":
            from training_speed import floor

            encoders = [self.model.encoders["mnist"], self.model.encoders["svhn"]]
            decoders = [self.model.decoders["mnist"], self.model.decoders["svhn"]]
            xs = [self.inputs.data["mnist"], self.inputs.data["svhn"]]

            def tensors(out):
                return (out.embedding, out.log_covariance) if hasattr(out, "embedding") else out.reconstruction
            return floor(encoders, decoders, xs, optimiser, tensors)
        raise ValueError(f"unknown task {task!r}")
