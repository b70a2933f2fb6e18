"""Models: latent distributions, likelihoods, what each modality takes, and the multimodal VAEs built from
a user's own encoders and decoders (MMVAE, MVAE, MoPoE, single-modality VAE; JNF and JNF-Shared with their
flows, HMC sampler and projectors)."""
from mmvae_lib.models.distributions import Factorised, Mixture, Prior, moe_log_prob, poe
from mmvae_lib.models.jnf import JNF, JointEncoder, MLPEncoder
from mmvae_lib.models.likelihoods import Likelihood
from mmvae_lib.models.modalities import Modality
from mmvae_lib.models.multimodal import MMVAE, MODELS, MVAE, VAE, MoPoE, MultimodalVAE

__all__ = ["Factorised", "Mixture", "Prior", "moe_log_prob", "poe", "Likelihood", "Modality", "MMVAE", "MVAE",
           "VAE", "MoPoE", "MultimodalVAE", "MODELS", "JNF", "JointEncoder", "MLPEncoder"]
