"""mmvae_lib.metrics on the linear-Gaussian model, where the right answers are known."""
import pytest
import torch

from mmvae_lib.metrics import coherence, latents, marginal
from mmvae_lib.theory.linear_gaussian import LinearGaussian

LG = LinearGaussian.make()
XS = LG.sample(400, seed=4)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


class SignOfFirstLatent(torch.nn.Module):
    """A 'digit classifier' for modality n of the toy model: recovers z from x_n by least squares and
    returns class 1 when z_0 > 0, else 0 (as logits over 10 classes)."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        z = torch.linalg.lstsq(LG.W[self.n], (x - LG.b[self.n]).T).solution.T
        logits = torch.zeros(x.shape[0], 10, dtype=x.dtype)
        logits[torch.arange(x.shape[0]), (z[:, 0] > 0).long()] = 1.0
        return logits


def _labels():
    """The 'digit' of each datapoint: the class the classifiers give its exact posterior mean."""
    loc, _ = LG.posterior(XS)
    return (loc[:, 0] > 0).long()


def test_accuracies_micro_and_per_class():
    """Micro accuracy counts inputs, the per-class average weighs classes equally."""
    pred = torch.tensor([0, 0, 0, 1, 1, 1])
    labels = torch.tensor([0, 0, 0, 0, 1, 1])
    micro, per_class = coherence._accuracies(pred, labels)
    assert micro == pytest.approx(5 / 6) and per_class == pytest.approx((3 / 4 + 1) / 2)


def test_latent_accuracy_separable_and_random():
    """A linear classifier reaches ~100% on linearly separable latents and ~10% on random labels."""
    g = _gen(1)
    z = torch.randn(2000, 8, generator=g)
    y = (z @ torch.randn(8, 10, generator=g)).argmax(-1)                      # linearly separable classes
    good = latents.latent_accuracy(z[:1500], y[:1500], z[1500:], y[1500:], epochs=50, lr=1e-2)
    noise = latents.latent_accuracy(z[:1500], y[torch.randperm(2000, generator=g)][:1500], z[1500:],
                                    y[1500:], epochs=5)
    assert good > 0.9 and noise < 0.25


def test_encode_gives_one_sample_per_input():
    """encode returns (N, D) samples from the unimodal or the joint posterior, reproducibly."""
    mmvae = LG.mmvae()
    a = latents.encode(mmvae, XS, _gen(2), modality=1, batch_size=64)
    assert a.shape == (400, 3) and torch.equal(a, latents.encode(mmvae, XS, _gen(2), modality=1))
    joint = latents.encode(LG.mvae(), XS, _gen(3), batch_size=64)
    loc, scale = LG.posterior(XS)
    assert ((joint - loc) / scale).pow(2).mean().item() == pytest.approx(1.0, abs=0.15)


def test_cross_coherence_of_exact_experts_is_high():
    """Cross-generating from the exact unimodal posteriors of the toy model keeps the 'digit' (sign of
    z_0) most of the time; a model whose experts ignore their input is at chance."""
    classifiers = [SignOfFirstLatent(0), SignOfFirstLatent(1)]
    # (generator seeds differ from the data's seed 4: the same stream would reproduce the data's latents)
    good = coherence.cross_coherence(LG.mmvae(), XS, _labels(), classifiers, _gen(40), batch_size=64)
    assert set(good) == {(0, 1), (1, 0)}
    assert all(micro > 0.65 for micro, _ in good.values())                # 0.88 and 0.71 here
    blind = LG.mmvae()
    for enc in blind.encoders:
        enc.A.data.zero_()
        enc.a.data.zero_()
    bad = coherence.cross_coherence(blind, XS, _labels(), classifiers, _gen(41))
    assert all(0.35 < micro < 0.65 for micro, _ in bad.values())


def test_joint_coherence_counts_agreement():
    """Joint coherence is the fraction of prior samples on whose digit every classifier agrees: 1 for
    classifiers that agree by construction, ~1/2 for independent coin flips."""
    same = [SignOfFirstLatent(0), SignOfFirstLatent(1)]
    assert coherence.joint_coherence(LG.mmvae(), 1000, same, _gen(5)) > 0.95

    class Coin(torch.nn.Module):
        def __init__(self, seed):
            super().__init__()
            self.g = _gen(seed)

        def forward(self, x):
            return torch.rand(x.shape[0], 2, generator=self.g, dtype=x.dtype)

    value = coherence.joint_coherence(LG.mmvae(), 4000, [Coin(1), Coin(2)], _gen(5))
    assert 0.45 < value < 0.55


def test_likelihood_table_matches_exact_marginals():
    """Table 3's terms on the toy model (MVAE with exact experts, K = 500): with the exact posterior as
    proposal, log p(x_m | x_m) and log p(x_m, x_n) are within 0.05 nats of the closed forms; with another
    proposal (given x_n, or given both, narrower than p(z | x_m)) the estimate of log p(x_m) is an
    importance-sampled lower bound: below the truth, by less than 1 nat here."""
    values = marginal.likelihoods(LG.mvae(), XS, 500, _gen(60), progress=False)
    exact = [LG.log_marginal(XS, [m]).mean().item() for m in (0, 1)]
    joint = LG.log_marginal(XS).mean().item()
    for m in (0, 1):
        assert values[(m, "log p(x_m, x_n)")] == pytest.approx(joint, abs=0.05)
        assert values[(m, "log p(x_m | x_m)")] == pytest.approx(exact[m], abs=0.05)
        for term in ("log p(x_m | x_m, x_n)", "log p(x_m | x_n)"):
            assert exact[m] - 1.0 < values[(m, term)] < exact[m] + 0.01, term


def test_per_dimension_kl_matches_closed_form():
    """Per-dimension KL(q(z|x_m) || p(z)) and the symmetric KL between the posteriors equal the Gaussian
    closed forms averaged over the data."""
    kl_prior, kl_sym = latents.per_dimension_kl(LG.mmvae(), XS, batch_size=128)
    locs, scales = zip(*(LG.posterior(XS, [m]) for m in (0, 1)))

    def kl(l1, s1, l2, s2):
        return (torch.log(s2 / s1) + (s1 ** 2 + (l1 - l2) ** 2) / (2 * s2 ** 2) - 0.5).mean(0)

    one = torch.ones(3, dtype=torch.float64)
    for m in (0, 1):
        torch.testing.assert_close(kl_prior[m], kl(locs[m], scales[m], 0 * one, one))
    torch.testing.assert_close(kl_sym, kl(locs[0], scales[0], locs[1], scales[1])
                               + kl(locs[1], scales[1], locs[0], scales[0]))


def test_traversals_move_one_dimension_at_a_time():
    """Each traversal row changes only its own latent dimension: with the toy model's linear decoders,
    decoded outputs differ along W_n[:, d]; the middle step decodes the posterior mean."""
    mmvae = LG.mmvae()
    outs = latents.traversals(mmvae, XS[0][:1], 0, steps=5, span=2.0)
    assert [o.shape for o in outs] == [(3, 5, 6), (3, 5, 5)]
    mu = mmvae.posterior([XS[0][:1], None], [0]).experts.loc[0, 0]
    torch.testing.assert_close(outs[1][:, 2], (mu @ LG.W[1].T + LG.b[1]).expand(3, 5))
    step = outs[1][1, 1] - outs[1][1, 0]                                      # dimension 1, one step
    direction = LG.W[1][:, 1] / LG.W[1][:, 1].norm()
    torch.testing.assert_close(step / step.norm(), direction * torch.sign(step @ direction))


def test_digit_only_optima_are_per_digit_medians_and_means():
    """Two images per digit: values c and 3c (+ noise-free); the median of an even count is torch's lower
    middle value (c), the mean 2c. A missing digit is an error."""
    labels = torch.arange(10).repeat(2)
    images = torch.cat([torch.arange(10.0), 3 * torch.arange(10.0)]).view(20, 1, 1, 1).expand(20, 1, 2, 2)
    optima = coherence.digit_only_optima(images, labels)
    assert torch.equal(optima["median (Laplace)"][:, 0, 0, 0], torch.arange(10.0))
    assert torch.equal(optima["mean (Gaussian)"][:, 0, 0, 0], 2 * torch.arange(10.0))
    with pytest.raises(ValueError, match="every digit"):
        coherence.digit_only_optima(images[:9], labels[:9])


class _LabelEncoder(torch.nn.Module):
    """Encodes an item (B, 1) holding its digit as z = (digit + shift) mod 10, with scale ≈ 1e-6."""

    def __init__(self, shift: int):
        super().__init__()
        self.shift = shift
        self.unused = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return (x + self.shift) % 10, torch.full_like(x, -30.0)


class _ReadDigit(torch.nn.Module):
    """A 'digit classifier' reading the rounded value of a decoded item (N, 1) as its class."""

    def forward(self, x):
        return torch.nn.functional.one_hot(x[:, 0].round().long().clamp(0, 9), 10).float()


def _label_model(kind, shifts):
    from mmvae_lib.models import MMVAE, MVAE, Likelihood

    encoders = [_LabelEncoder(s) for s in shifts]
    decoders = [torch.nn.Identity() for _ in shifts]
    likelihoods = [Likelihood("normal", 1.0)] * len(shifts)
    if kind == "mmvae":
        return MMVAE(encoders, decoders, likelihoods, latent_dim=1, posterior="normal", scale="softplus")
    return MVAE(encoders, decoders, likelihoods, latent_dim=1)


def test_subset_coherence_known_answers():
    """Four modalities whose encoders put z at the digit, except modality 3's, which says digit + 1: given
    modality 0 every held-out target is right (100 %), given modality 3 none is (0 %); the MMVAE given {0, 3}
    picks one of the two experts per item (about 50 %); the MVAE's product given {0, 1} agrees with both
    (100 %). Observed modalities are never scored; coherence_by_size averages targets, then subsets."""
    labels = torch.arange(10).repeat(300)
    xs = [labels.float()[:, None] for _ in range(4)]
    judges = [_ReadDigit()] * 4
    mmvae = _label_model("mmvae", (0, 0, 0, 1))
    scores = coherence.subset_coherence(mmvae, xs, labels, judges, [(0,), (3,), (3, 0)], _gen(0))
    assert set(scores) == {((0,), 1), ((0,), 2), ((0,), 3), ((3,), 0), ((3,), 1), ((3,), 2), ((0, 3), 1), ((0, 3), 2)}
    assert all(scores[((0,), n)] == (1.0, 1.0) for n in (1, 2, 3))
    assert all(scores[((3,), n)] == (0.0, 0.0) for n in (0, 1, 2))
    assert all(abs(scores[((0, 3), n)][0] - 0.5) < 0.04 for n in (1, 2))
    by_size = coherence.coherence_by_size(scores)
    assert by_size[1] == 0.5 and by_size[2] == pytest.approx((scores[((0, 3), 1)][0] + scores[((0, 3), 2)][0]) / 2)
    mvae = _label_model("mvae", (0, 0, 0, 1))
    product = coherence.subset_coherence(mvae, xs, labels, judges, [(0, 1), (3,)], _gen(0))
    assert product[((0, 1), 2)] == (1.0, 1.0) and product[((3,), 0)] == (0.0, 0.0)
    with pytest.raises(ValueError, match="leave at least one out"):
        coherence.subset_coherence(mvae, xs, labels, judges, [(0, 1, 2, 3)], _gen(0))


def test_coherence_by_size_averages_targets_then_subsets():
    """Per subset the mean over its targets, then per size the mean over subsets; per_class uses the second
    number of each score."""
    scores = {((0,), 1): (1.0, 0.5), ((0,), 2): (0.0, 0.5), ((1,), 0): (1.0, 1.0), ((0, 1), 2): (0.25, 0.75)}
    assert coherence.coherence_by_size(scores) == {1: 0.75, 2: 0.25}
    assert coherence.coherence_by_size(scores, per_class=True) == {1: 0.75, 2: 0.75}
