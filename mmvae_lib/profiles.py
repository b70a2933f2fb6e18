"""The one knob that scales a run: ``smoke`` (CI, seconds), ``cpu`` (the offline default, 2 CPU cores) and
``full`` (the papers' settings, for a GPU with the real data).

Every size a notebook or script uses comes from a :class:`Profile`, one section per experiment; nothing
else in the project hard-codes a run size. ``full`` follows ``../shared/reference/paper-facts.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class MNISTSVHNSettings:
    """The MMVAE paper's MNIST-SVHN experiment (notebooks 01 and 03-06)."""

    # data
    source: str                 # "auto", "real" or "standin" (see mmvae_lib.experiments.mnist_svhn.data)
    dm: int                     # pairing multiplicity: each kept image appears dm times
    max_per_class: int          # cap on instances per class and dataset (the paper: 10,000)
    # training
    objective: str              # the MMVAE's objective, a key of mmvae_lib.objectives.OBJECTIVES
    k: int                      # its importance samples per expert
    epochs: int
    batch_size: int
    seeds: tuple[int, ...]      # one model is trained per seed; tables report mean ± std over them
    # evaluation
    classifier_epochs: int      # LeNet digit classifiers used by coherence, and the latent classifier
    llik_k: int                 # importance samples per datapoint for Table 3
    llik_points: int            # test datapoints scored for Table 3
    eval_points: int            # test pairs used by coherence and latent accuracy
    # coherence during training (see mmvae_lib.experiments.mnist_svhn.experiment.coherence_probe)
    curve_points: int           # test pairs (and prior samples) scored after every epoch of MMVAE and MVAE
    extended_epochs: int        # 0, or an extra MMVAE run (first seed) this long, to see where training leads


@dataclass(frozen=True)
class CUBSettings:
    """The MMVAE paper's CUB image–caption experiment (notebooks 07 and 08). ``full`` follows the released
    command ``main.py --model cubISft --learn-prior --K 50 --obj dreg --looser --epochs 50 --batch-size 64
    --latent-dim 64 --llik_scaling 0.002`` (iffsid/mmvae README; the paper's text says 128 latent dimensions)."""

    # data
    source: str                 # "auto", "real" or "standin" (see mmvae_lib.experiments.cub.data)
    images_per_class: int       # stand-in images per species (real CUB: 11,788 images / 200 species ≈ 59)
    train_images: int           # training images the models see, each with its 10 captions (a fixed random
                                # subset where the data has more; real CUB has 8,855)
    # models and training
    latent_dim: int
    objective: str              # the MMVAE's objective (a key of mmvae_lib.objectives.OBJECTIVES)
    k: int                      # its importance samples per expert
    epochs: int
    batch_size: int
    seeds: tuple[int, ...]      # one model of each kind per seed
    # Table 4: the CCA correlation (mmvae_lib.experiments.cub.correlation)
    judge_seeds: tuple[int, ...]  # FastText + CCA fits, each scoring every model: their spread is reported
    fasttext_epochs: int        # the released code: 10
    fasttext_bucket: int        # hashed character n-grams (gensim's default 2,000,000: 2.4 GB of vectors)
    cca_components: int         # the released code: 40
    eval_points: int            # test pairs for the cross correlations (the paper: the whole test set)
    joint_samples: int          # prior samples for the joint correlation (the paper: 1,000)


@dataclass(frozen=True)
class TheorySizes:
    """Notebook 02: the paper's §3 and Appendices B-D measured on a linear-Gaussian model."""

    n_points: int                  # datapoints drawn from the linear-Gaussian model (§2, §3)
    k_grid: tuple[int, ...]        # K for the bounds (§2)
    bound_reps: int                # independent estimates averaged per K (§2)
    train_steps: int               # full-batch Adam steps per fitted model (§2, §3)
    train_k: int                   # K of the importance-weighted objectives when fitting (§2, §3)
    snr_k_grid: tuple[int, ...]    # K for the gradient SNR (§5)
    snr_reps: int                  # gradient draws per SNR (§5)
    cost_m_grid: tuple[int, ...]   # numbers of modalities timed (§4)
    cost_k: int                    # samples per expert when timing (§4)
    cost_batch: int                # datapoints per timed step (§4)
    cost_obs_dim: int              # dimensions of each modality when timing (§4)
    cost_reps: int                 # timed steps per setting; the fastest is reported (§4)


@dataclass(frozen=True)
class OwnModalitiesSettings:
    """Notebook 14: the library on a user's own pair of modalities."""

    epochs: int
    batch_size: int
    eval_points: int


@dataclass(frozen=True)
class Profile:
    name: str
    mnist_svhn: MNISTSVHNSettings
    theory: TheorySizes
    cub: CUBSettings
    own_modalities: OwnModalitiesSettings

    def with_settings(self, section: str, **fields) -> "Profile":
        """This profile with some fields of one section replaced (tests, one-off runs)."""
        return replace(self, **{section: replace(getattr(self, section), **fields)})


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        mnist_svhn=MNISTSVHNSettings(
            source="standin", dm=1, max_per_class=60, objective="moe_elbo", k=1, epochs=1, batch_size=64,
            seeds=(0,), classifier_epochs=1, llik_k=8, llik_points=32, eval_points=256, curve_points=128,
            extended_epochs=2),
        theory=TheorySizes(
            n_points=128, k_grid=(1, 4, 16, 64, 256), bound_reps=4, train_steps=150, train_k=16,
            snr_k_grid=(1, 10, 100, 1000), snr_reps=100, cost_m_grid=(2, 4, 8), cost_k=4, cost_batch=64,
            cost_obs_dim=256, cost_reps=5),
        cub=CUBSettings(
            source="standin", images_per_class=1, train_images=50, latent_dim=16, objective="moe_elbo", k=1, epochs=1, batch_size=64,
            seeds=(0,), judge_seeds=(0,), fasttext_epochs=2, fasttext_bucket=20_000, cca_components=40,
            eval_points=200, joint_samples=200),
        own_modalities=OwnModalitiesSettings(epochs=1, batch_size=64, eval_points=256),
    ),
    "cpu": Profile(
        name="cpu",
        mnist_svhn=MNISTSVHNSettings(
            source="standin", dm=5, max_per_class=10_000, objective="moe_elbo", k=1, epochs=10, batch_size=128,
            seeds=(0, 1), classifier_epochs=10, llik_k=100, llik_points=500, eval_points=2_000,
            curve_points=1_000, extended_epochs=30),
        theory=TheorySizes(
            n_points=256, k_grid=(1, 4, 16, 64, 256, 1024, 4096), bound_reps=8, train_steps=600, train_k=64,
            snr_k_grid=(1, 10, 100, 1000), snr_reps=500, cost_m_grid=(2, 3, 4, 5, 6, 7, 8), cost_k=8,
            cost_batch=64, cost_obs_dim=512, cost_reps=10),
        cub=CUBSettings(
            source="standin", images_per_class=30, train_images=4_500, latent_dim=64, objective="moe_elbo", k=1, epochs=1, batch_size=64,
            seeds=(0,), judge_seeds=(0, 1, 2), fasttext_epochs=10, fasttext_bucket=200_000, cca_components=40,
            eval_points=2_000, joint_samples=1_000),
        own_modalities=OwnModalitiesSettings(epochs=10, batch_size=128, eval_points=1_000),
    ),
    "full": Profile(
        name="full",
        mnist_svhn=MNISTSVHNSettings(
            source="real", dm=20, max_per_class=10_000, objective="moe_dreg_looser", k=30, epochs=30,
            batch_size=128, seeds=(0, 1, 2, 3, 4), classifier_epochs=30, llik_k=1_000, llik_points=10_000,
            eval_points=10_000, curve_points=2_000, extended_epochs=0),
        theory=TheorySizes(
            n_points=512, k_grid=(1, 4, 16, 64, 256, 1024, 4096), bound_reps=16, train_steps=2000, train_k=64,
            snr_k_grid=(1, 10, 100, 1000, 5000), snr_reps=1000, cost_m_grid=(2, 3, 4, 5, 6, 7, 8), cost_k=8,
            cost_batch=128, cost_obs_dim=784, cost_reps=20),
        # the released command (see CUBSettings); Table 4 averages 5 models; cross correlations on the whole
        # test set (29,330 pairs), joint on 1,000 prior samples; FastText and CCA as the released analysis
        cub=CUBSettings(
            source="real", images_per_class=59, train_images=8_855, latent_dim=64, objective="moe_dreg_looser", k=50, epochs=50,
            batch_size=64, seeds=(0, 1, 2, 3, 4), judge_seeds=(0, 1, 2, 3, 4), fasttext_epochs=10,
            fasttext_bucket=2_000_000, cca_components=40, eval_points=29_330, joint_samples=1_000),
        own_modalities=OwnModalitiesSettings(epochs=30, batch_size=128, eval_points=1_000),
    ),
}


def get_profile(name: str | Profile) -> Profile:
    """The profile called ``name`` (or ``name`` itself)."""
    if isinstance(name, Profile):
        return name
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {name!r}")
    return PROFILES[name]
