"""mmvae_lib.metrics.cca: canonical correlations and the eq. (4) score, against cases with known answers."""
import numpy as np
import pytest
import torch

from mmvae_lib.metrics.cca import fit_cca


def _correlated_views(n=20_000, rhos=(0.9, 0.5), d_x=6, d_y=4, seed=0):
    """Gaussian views whose first len(rhos) coordinates are pairwise correlated with the given correlations,
    the rest independent noise, both mixed by random invertible matrices (CCA is invariant to them)."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, d_x)), rng.standard_normal((n, d_y))
    for i, rho in enumerate(rhos):
        y[:, i] = rho * x[:, i] + np.sqrt(1 - rho ** 2) * y[:, i]
    return x @ rng.standard_normal((d_x, d_x)) + 3.0, y @ rng.standard_normal((d_y, d_y)) - 1.0


def test_recovers_known_canonical_correlations():
    """Views built with canonical correlations 0.9 and 0.5 (then mixed linearly and shifted) give those
    correlations, and the others near 0."""
    x, y = _correlated_views()
    fit = fit_cca(x, y, k=4, ridge=0.0)
    np.testing.assert_allclose(fit.correlations[:2], [0.9, 0.5], atol=0.01)
    assert np.all(np.abs(fit.correlations[2:]) < 0.03)
    assert fit.w_x.shape == (6, 4) and fit.w_y.shape == (4, 4)
    # the canonical variates have exactly those correlations on the training pairs
    a, b = fit.project_x(x), fit.project_y(y)
    np.testing.assert_allclose([np.corrcoef(a[:, i], b[:, i])[0, 1] for i in range(2)], fit.correlations[:2], atol=1e-6)


def test_identical_views_correlate_perfectly_and_independent_ones_not():
    """Eq. (4) of a pair whose two views are the same vector is 1 (both projections coincide); for
    independent views the mean score on new pairs is near 0."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5_000, 8)) @ rng.standard_normal((8, 8))
    same = fit_cca(x, x.copy(), k=5, ridge=0.0)
    np.testing.assert_allclose(same.correlations, 1.0, atol=1e-6)
    new = rng.standard_normal((100, 8))
    np.testing.assert_allclose(same.correlation(new, new), 1.0, atol=1e-6)
    independent = fit_cca(rng.standard_normal((5_000, 8)), rng.standard_normal((5_000, 5)), k=5, ridge=0.0)
    scores = independent.correlation(rng.standard_normal((4_000, 8)), rng.standard_normal((4_000, 5)))
    assert abs(scores.mean()) < 0.03 and scores.min() >= -1 - 1e-9 and scores.max() <= 1 + 1e-9


def test_shared_view_index_equals_repeating_its_rows():
    """Fitting with x_index (one x row shared by several pairs, as a CUB image by its ten captions) is the fit
    on the repeated rows; tensors and arrays give the same fit; the view with more dimensions may be either."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 7))
    index = np.repeat(np.arange(300), 3)
    y = x[index, :3] @ rng.standard_normal((3, 3)) + rng.standard_normal((900, 3))
    shared = fit_cca(torch.from_numpy(x), torch.from_numpy(y), k=3, x_index=torch.from_numpy(index))
    repeated = fit_cca(x[index], y, k=3)
    np.testing.assert_allclose(shared.correlations, repeated.correlations, rtol=1e-10)
    np.testing.assert_allclose(shared.correlation(x[index], y), repeated.correlation(x[index], y), atol=1e-10)
    swapped = fit_cca(y, x[index], k=3)
    np.testing.assert_allclose(swapped.correlations, repeated.correlations, rtol=1e-8)
    np.testing.assert_allclose(swapped.correlation(y, x[index]), repeated.correlation(x[index], y), atol=1e-8)


def test_ridge_keeps_a_view_with_more_dimensions_than_observations_well_posed():
    """With fewer distinct observations than dimensions the covariance is singular; the ridge makes the fit
    finite, with correlations below 1."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((50, 200)), rng.standard_normal((50, 10))
    fit = fit_cca(x, y, k=10, ridge=1e-2)
    assert np.all(np.isfinite(fit.w_x)) and np.all(fit.correlations < 1)


def test_bad_arguments_are_refused():
    """k beyond the smaller view, mismatched rows, a bad index or a 1-d view get a clear error."""
    x, y = np.zeros((10, 4)), np.ones((10, 2))
    with pytest.raises(ValueError, match="k must be between 1 and min"):
        fit_cca(x, y, k=3)
    with pytest.raises(ValueError, match="one row per pair"):
        fit_cca(x, np.ones((9, 2)), k=1)
    with pytest.raises(ValueError, match="x_index"):
        fit_cca(x, y, k=1, x_index=np.arange(10) + 5)
    with pytest.raises(ValueError, match="2-d array"):
        fit_cca(np.zeros(10), y, k=1)
