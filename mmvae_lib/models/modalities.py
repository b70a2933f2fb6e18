"""What each modality's encoder takes, checked where data enters a model.

A network fails on bad input with an error about its own layers ("Kernel size can't be greater than actual
input size", "mat1 and mat2 must have the same dtype"), or worse, not at all: images in [0, 255] instead of
[0, 1] train to a bound of about −500,000 nats. A :class:`Modality` says what its encoder expects, and
:meth:`Modality.check` gives one error that names the modality, what was expected and what came.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

KINDS = ("float", "tokens", "ids", "any")


@dataclass(frozen=True)
class Modality:
    """One modality's inputs, ``(B, *shape)`` per batch.

    - ``kind="float"``: floating-point values in ``value_range`` (images in [0, 1]; ``None``: any finite value);
    - ``kind="tokens"``: integer ids in 0 .. ``vocabulary`` − 1 (a caption, a class label);
    - ``kind="ids"``: integer ids >= 0 whose upper bound is not declared (a Categorical likelihood checks
      it against its decoder's number of categories);
    - ``kind="any"``: no constraint but finite values (what a modality given only by its name gets).
    ``shape=None`` leaves the shape unchecked.
    """

    name: str
    shape: tuple[int, ...] | None = None
    kind: str = "float"
    value_range: tuple[float, float] | None = None
    vocabulary: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"modality {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "tokens" and (self.vocabulary is None or self.vocabulary < 1):
            raise ValueError(f"modality {self.name!r}: tokens need a vocabulary size >= 1, got {self.vocabulary!r}")
        if self.kind == "float" and self.vocabulary is not None:
            raise ValueError(f"modality {self.name!r}: a vocabulary size is for kind='tokens'")

    def describe(self) -> str:
        shape = "(B, " + ", ".join(map(str, self.shape)) + ")" if self.shape is not None else "(B, ...)"
        if self.kind == "tokens":
            return f"integer token ids in [0, {self.vocabulary - 1}] of shape {shape}"
        if self.kind == "ids":
            return f"integer ids >= 0 of shape {shape}"
        if self.kind == "any":
            return f"finite inputs of shape {shape}"
        values = f" with values in [{self.value_range[0]:g}, {self.value_range[1]:g}]" if self.value_range else ""
        return f"floating-point inputs of shape {shape}{values}"

    def check(self, x: Tensor) -> None:
        """Raise ValueError unless ``x`` is what this modality takes. One reduction over ``x`` (its min and
        max), which also finds NaN and infinite values."""
        expected = f"modality {self.name!r} expects {self.describe()}"
        if not isinstance(x, Tensor):
            raise ValueError(f"{expected}; got {type(x).__name__}")
        if self.shape is not None and tuple(x.shape[1:]) != tuple(self.shape):
            raise ValueError(f"{expected}; got shape {tuple(x.shape)}")
        if self.kind in ("tokens", "ids"):
            if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
                raise ValueError(f"{expected}; got {x.dtype}")
            low, high = x.aminmax() if x.numel() else (x.new_zeros(()), x.new_zeros(()))
            if low < 0 or self.kind == "tokens" and high >= self.vocabulary:
                raise ValueError(f"{expected}; got ids in [{int(low)}, {int(high)}]")
            return
        if not x.is_floating_point():
            if self.kind == "any":
                return
            hint = " (images stored as uint8: convert with x.float() / 255)" if x.dtype == torch.uint8 else ""
            raise ValueError(f"{expected}; got {x.dtype}{hint}")
        if x.numel() == 0:
            return
        low, high = x.detach().aminmax()
        if not (torch.isfinite(low) and torch.isfinite(high)):
            bad = "NaN" if bool(torch.isnan(x).any()) else "an infinite value"
            raise ValueError(f"input for modality {self.name!r} contains {bad}")
        if self.value_range is not None and (low < self.value_range[0] or high > self.value_range[1]):
            hint = " (divide by 255?)" if high > 1.5 and self.value_range[1] <= 1 else ""
            raise ValueError(f"{expected}; got values in [{float(low):g}, {float(high):g}]{hint}")


def as_modality(spec: Modality | str, likelihood=None) -> Modality:
    """A :class:`Modality`, from itself or from a bare name. A bare name takes what its ``likelihood``
    (a :class:`mmvae_lib.models.likelihoods.Likelihood`, if given) can score: values in [0, 1] for a
    Bernoulli, integer ids >= 0 for a Categorical, finite values otherwise. Declaring a Modality with
    its shape and range checks more, and is the recommended path."""
    if isinstance(spec, Modality):
        return spec
    if isinstance(spec, str):
        kind = getattr(likelihood, "kind", None)
        if kind == "bernoulli":
            return Modality(spec, kind="float", value_range=(0.0, 1.0))
        if kind == "categorical":
            return Modality(spec, kind="ids")
        return Modality(spec, kind="any")
    raise ValueError(f"a modality is a Modality or a name, got {spec!r}")
