"""The correlation of two views through canonical correlation analysis: MMVAE paper eq. (4), Table 4.

Given paired observations (x, y), CCA finds projections W_x (d_x × k) and W_y (d_y × k) whose projected
variables are maximally correlated, component by component. A new pair is then scored by the cosine of its
mean-centred projections, paper eq. (4):

    corr(x̃, ỹ) = φ_x(x̃)ᵀ φ_y(ỹ) / (‖φ_x(x̃)‖ ‖φ_y(ỹ)‖),   φ_v(ṽ) = W_vᵀ ṽ − avg(W_vᵀ v_train).

CCA is the generalised eigenproblem [0, C_xy; C_yx, 0] w = ρ [C_xx, 0; 0, C_yy] w, w = (w_x; w_y), whose
largest eigenvalues are the canonical correlations ρ_1 ≥ ... ≥ ρ_k. The released code hands that
(d_x + d_y)-square problem to the general solver ``scipy.linalg.eig``. Here it is reduced, exactly, to the
symmetric eigenproblem of the smaller view (Hotelling's form): with C_yy = L Lᵀ (Cholesky),

    L⁻¹ C_yx C_xx⁻¹ C_xy L⁻ᵀ v = ρ² v,    w_y = L⁻ᵀ v,    w_x = C_xx⁻¹ C_xy w_y / ρ,

solved with scipy's Cholesky, triangular solves and ``eigh`` (LAPACK): a 300-square eigenproblem instead of
a 2348-square general one, with real eigenvalues by construction. A ridge, ``ridge`` times the mean
variance of each view, is added to C_xx and C_yy (the released code adds 1e-12), so the fit stays well
posed and does not overfit when a view has about as many dimensions as distinct observations (2048-d image
features of a few thousand training images, each seen with ten captions).

Views are arrays ``(N, d)``. One view may be shared by several pairs: ``x_index`` maps each pair to its row
of ``x`` (CUB pairs each image with ten captions), and the covariances are those of the pairs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CCA:
    """A fitted CCA: the training means of each view, the projections ``w_x`` ``(d_x, k)`` and ``w_y``
    ``(d_y, k)``, and the canonical correlations on the training pairs ``(k,)``, largest first."""

    mean_x: np.ndarray
    mean_y: np.ndarray
    w_x: np.ndarray
    w_y: np.ndarray
    correlations: np.ndarray

    def project_x(self, x) -> np.ndarray:
        """φ_x: the mean-centred projection of x ``(N, d_x)`` → ``(N, k)``."""
        return (_array(x) - self.mean_x) @ self.w_x

    def project_y(self, y) -> np.ndarray:
        return (_array(y) - self.mean_y) @ self.w_y

    def correlation(self, x, y) -> np.ndarray:
        """Eq. (4) for each pair ``(x[i], y[i])``: the cosine of the centred projections, ``(N,)``."""
        a, b = self.project_x(x), self.project_y(y)
        if a.shape[0] != b.shape[0]:
            raise ValueError(f"x and y need one row per pair, got {a.shape[0]} and {b.shape[0]} rows")
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        return (a * b).sum(1) / np.maximum(norms, 1e-12)


def _array(v) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"a view is a 2-d array (observations, dimensions), got shape {v.shape}")
    return v


def fit_cca(x, y, k: int = 40, *, ridge: float = 1e-4, x_index=None) -> CCA:
    """CCA with ``k`` components fitted on pairs ``(x[x_index[i]], y[i])`` (``x_index`` None: ``x[i]``).

    ``x`` ``(n_x, d_x)``, ``y`` ``(N, d_y)``; covariances centred and divided by N − 1; ``ridge`` × (mean
    variance of the view) added to each view's covariance diagonal. Returns :class:`CCA`.
    """
    from scipy.linalg import cho_factor, cho_solve, cholesky, eigh, solve_triangular

    x, y = _array(x), _array(y)
    n, d_x, d_y = y.shape[0], x.shape[1], y.shape[1]
    if x_index is None:
        if x.shape[0] != n:
            raise ValueError(f"x and y need one row per pair (or pass x_index), got {x.shape[0]} and {n} rows")
        x_index = np.arange(n)
    x_index = np.asarray(x_index.cpu() if hasattr(x_index, "cpu") else x_index, dtype=np.int64)
    if x_index.shape != (n,) or x_index.min() < 0 or x_index.max() >= x.shape[0]:
        raise ValueError(f"x_index needs one row index of x (0..{x.shape[0] - 1}) per pair of y ({n}), got shape "
                         f"{x_index.shape}")
    if n < 2:
        raise ValueError(f"CCA needs at least 2 pairs, got {n}")
    counts = np.bincount(x_index, minlength=x.shape[0]).astype(np.float64)          # pairs per row of x
    mean_x, mean_y = counts @ x / n, y.mean(0)
    xc, yc = x - mean_x, y - mean_y
    c_xx = xc.T @ (counts[:, None] * xc) / (n - 1)
    c_yy = yc.T @ yc / (n - 1)
    y_sums = np.zeros((x.shape[0], d_y))
    np.add.at(y_sums, x_index, yc)                                                   # Σ of y over each x's pairs
    c_xy = xc.T @ y_sums / (n - 1)
    c_xx[np.diag_indices(d_x)] += ridge * np.trace(c_xx) / d_x
    c_yy[np.diag_indices(d_y)] += ridge * np.trace(c_yy) / d_y
    # the eigenproblem of the smaller view: with L_y L_yᵀ = C_yy and M = L_y⁻¹ C_yx C_xx⁻¹ C_xy L_y⁻ᵀ,
    # M v = ρ² v, w_y = L_y⁻ᵀ v, w_x = C_xx⁻¹ C_xy w_y / ρ  (y the smaller view; else swap the roles)
    small, large, c_sl = (c_yy, c_xx, c_xy.T) if d_y <= d_x else (c_xx, c_yy, c_xy)
    if not 1 <= k <= small.shape[0]:
        raise ValueError(f"k must be between 1 and min(d_x, d_y) = {small.shape[0]}, got {k}")
    chol_small = cholesky(small, lower=True)
    large_factor = cho_factor(large, lower=True)
    large_solved = cho_solve(large_factor, c_sl.T)                                # C_ll⁻¹ C_ls  (d_l, d_s)
    middle = solve_triangular(chol_small, c_sl @ large_solved, lower=True)        # L_s⁻¹ C_sl C_ll⁻¹ C_ls
    middle = solve_triangular(chol_small, middle.T, lower=True).T                 # ... L_s⁻ᵀ
    values, v = eigh((middle + middle.T) / 2, subset_by_index=[small.shape[0] - k, small.shape[0] - 1])
    values, v = values[::-1].clip(min=0), v[:, ::-1]
    rho = np.sqrt(values)
    w_small = solve_triangular(chol_small, v, lower=True, trans="T")               # L_s⁻ᵀ v
    w_large = large_solved @ w_small / np.maximum(rho, 1e-12)
    w_x, w_y = (w_large, w_small) if d_y <= d_x else (w_small, w_large)
    return CCA(mean_x, mean_y, w_x, w_y, rho)
