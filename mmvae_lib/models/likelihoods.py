"""Likelihoods p(x_m | z): what a decoder's output means.

A decoder maps latents ``(N, D)`` to the parameters of its likelihood, ``(N, *event)`` (for Categorical
``(N, *event, V)`` logits). :class:`Likelihood` turns those parameters into log-densities of data
``(B, *event)``, means and samples. Laplace and Normal have a fixed scale (the paper fixes 0.75 on images).
A Categorical likelihood may leave one category unscored (``ignore_index``): the padding of token sequences,
whose positions then add nothing to log p(x | z).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_PROB_EPS = 1e-6  # Bernoulli probabilities are clamped to [eps, 1 - eps]


def _laplace(params: Tensor, x: Tensor, scale: float) -> Tensor:
    return -math.log(2.0 * scale) - (x - params).abs() / scale


class _LaplaceLogProb(torch.autograd.Function):
    """Σ_event log Laplace(x; loc, s) = −n log 2s − ‖loc − x‖₁ / s, with its gradient −sign(loc − x) / s
    written by hand: one pass over the decoded samples forward and two backward, where the elementwise
    formula above takes about a dozen. It is the hot spot of MoE training (M·K·B decoded images)."""

    @staticmethod
    def forward(ctx, loc: Tensor, x: Tensor, scale: float, event_dims: int) -> Tensor:
        diff = loc - x                                                    # (..., B, *event)
        ctx.save_for_backward(diff)
        ctx.scale, ctx.event_dims, ctx.loc_shape, ctx.x_shape = scale, event_dims, loc.shape, x.shape
        flat = diff.flatten(-event_dims)
        return -flat.shape[-1] * math.log(2.0 * scale) - torch.linalg.vector_norm(flat, 1, dim=-1) / scale

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        (diff,) = ctx.saved_tensors
        per_point = (grad / -ctx.scale).reshape(*grad.shape, *[1] * ctx.event_dims)
        grad_diff = torch.sign(diff).mul_(per_point)
        grad_loc = grad_diff.sum_to_size(ctx.loc_shape) if ctx.needs_input_grad[0] else None
        grad_x = (-grad_diff).sum_to_size(ctx.x_shape) if ctx.needs_input_grad[1] else None
        return grad_loc, grad_x, None, None


def _normal(params: Tensor, x: Tensor, scale: float) -> Tensor:
    return -math.log(scale) - _HALF_LOG_2PI - 0.5 * ((x - params) / scale) ** 2


def _bernoulli(params: Tensor, x: Tensor, scale: float) -> Tensor:
    p = params.clamp(_PROB_EPS, 1 - _PROB_EPS)
    return x * torch.log(p) + (1 - x) * torch.log1p(-p)


def _categorical(params: Tensor, x: Tensor, scale: float) -> Tensor:
    log_probs = torch.log_softmax(params, dim=-1)                   # (..., *event, V)
    index = x.long().expand(log_probs.shape[:-1]).unsqueeze(-1)     # (..., *event, 1)
    return log_probs.gather(-1, index).squeeze(-1)


_LOG_PROBS = {"laplace": _laplace, "normal": _normal, "bernoulli": _bernoulli, "categorical": _categorical}


@dataclass(frozen=True)
class Likelihood:
    """One modality's likelihood: ``kind`` in laplace, normal, bernoulli, categorical; ``scale`` is the
    fixed scale of laplace and normal (ignored otherwise). ``ignore_index`` (categorical only): a category
    whose positions in the data are not scored, e.g. the padding token of captions, so that
    log p(x | z) = Σ_{t: x_t ≠ ignore_index} log p(x_t | z)."""

    kind: str = "laplace"
    scale: float = 0.75
    ignore_index: int | None = None

    def __post_init__(self):
        if self.kind not in _LOG_PROBS:
            raise ValueError(f"likelihood kind must be one of {sorted(_LOG_PROBS)}, got {self.kind!r}")
        if self.kind in ("laplace", "normal") and not self.scale > 0:
            raise ValueError(f"likelihood scale must be positive, got {self.scale!r}")
        if self.ignore_index is not None and (self.kind != "categorical" or isinstance(self.ignore_index, bool)
                                              or not isinstance(self.ignore_index, int) or self.ignore_index < 0):
            raise ValueError(f"ignore_index is a category id >= 0 of a categorical likelihood, got "
                             f"ignore_index={self.ignore_index!r} with kind={self.kind!r}")

    def check(self, params: Tensor, x: Tensor) -> None:
        """Raise ValueError unless ``params`` ``(..., B, *event[, V])`` and targets ``x`` ``(B, *event)`` fit: the
        same trailing shape (no silent broadcasting), and for a Categorical integer ids in [0, V − 1]."""
        trailing = params.shape[:-1] if self.kind == "categorical" else params.shape
        if x.dim() == 0 or len(trailing) < x.dim() or tuple(trailing[len(trailing) - x.dim():]) != tuple(x.shape):
            what = "logits (..., B, *event, V)" if self.kind == "categorical" else "parameters (..., B, *event)"
            raise ValueError(f"the decoder's {what} of shape {tuple(params.shape)} do not fit targets of shape "
                             f"{tuple(x.shape)}")
        if self.kind == "categorical":
            if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
                raise ValueError(f"categorical targets must be integer ids, got {x.dtype}")
            if x.numel():
                low, high = x.aminmax()
                ignored = self.ignore_index is not None and bool((x == self.ignore_index).any())
                if low < 0 or high >= params.shape[-1] and not (ignored and int(high) == self.ignore_index):
                    raise ValueError(f"categorical targets must be ids in [0, {params.shape[-1] - 1}] (the decoder's "
                                     f"{params.shape[-1]} categories), got ids in [{int(low)}, {int(high)}]")

    def log_prob(self, params: Tensor, x: Tensor) -> Tensor:
        """log p(x | z) summed over the event axes: params ``(..., B, *event[, V])``, x ``(B, *event)`` →
        ``(..., B)``. Positions where x equals ``ignore_index`` add 0. Shapes and Categorical ids are
        checked (:meth:`check`)."""
        self.check(params, x)
        event_dims = x.dim() - 1
        if self.kind == "laplace" and event_dims > 0:
            return _LaplaceLogProb.apply(params, x, self.scale, event_dims)
        elementwise = _LOG_PROBS[self.kind](params, x, self.scale)
        if self.ignore_index is not None:
            elementwise = elementwise.masked_fill(x == self.ignore_index, 0.0)
        return elementwise.flatten(-event_dims).sum(-1) if event_dims else elementwise

    def mean(self, params: Tensor) -> Tensor:
        """The likelihood's mean (for Categorical, the most probable category)."""
        if self.kind == "categorical":
            return params.argmax(-1)
        if self.kind == "bernoulli":
            return params.clamp(_PROB_EPS, 1 - _PROB_EPS)
        return params

    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One draw from the likelihood, with the generator given."""
        if self.kind == "categorical":
            flat = torch.softmax(params, -1).reshape(-1, params.shape[-1])
            draws = torch.multinomial(flat, 1, generator=generator)
            return draws.reshape(params.shape[:-1])
        if self.kind == "bernoulli":
            return torch.bernoulli(self.mean(params), generator=generator)
        noise = torch.rand(params.shape, generator=generator, device=params.device, dtype=params.dtype)
        if self.kind == "normal":
            return params + self.scale * torch.special.ndtri(noise.clamp(1e-7, 1 - 1e-7))
        u = (noise * 2 - 1).clamp(-1 + 1e-7, 1 - 1e-7)  # laplace, by inverse CDF
        return params - self.scale * u.sign() * torch.log1p(-u.abs())
