"""MHD (Multimodal Handwritten Digits; Vasco, Yin, Melo & Paiva, 2022): a digit's image, its pen trajectory and a
spoken recording of it, one of the JNF paper's benchmarks.

**The real files** are ``mhd_train.pt`` and ``mhd_test.pt`` (looked for under ``<data>/MHD/``, then ``<data>/``),
each a saved 6-tuple, as the authors' loader reads it:

- labels ``(N,)``, the digit;
- images ``(N, 1, 28, 28)`` in [0, 1];
- trajectories ``(N, 200)``: 100 x then 100 y coordinates, min–max normalised;
- sounds ``(N, 4, 32, 32)``: a 128-mel × 32-frame dB spectrogram stored in four slabs of 32 mel bins, which the
  authors' loader concatenates along the mel axis and transposes to ``(1, 32, 128)`` (frames × mels), as
  :func:`unstack_sounds` does;
- the trajectories' and the sounds' normalisation constants, two dicts.

:func:`read_mhd` loads it with ``torch.load(..., weights_only=True)``, which unpickles nothing but tensors and
plain containers: a file that holds other objects (e.g. numpy values in the dicts) is refused with what to do
(:func:`convert`, which the user runs on a file they trust), never unpickled blindly. Every field is checked.
"""
from __future__ import annotations

import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from mmvae_lib.datasets import TensorDataset
from mmvae_lib.paths import data_dir, file_digest

SPLITS = ("train", "test")
SOURCES = ("auto", "real", "offline")
FOLDERS = ("MHD", ".")
MODALITIES = ("image", "trajectory", "sound")
TRAJECTORY_POINTS = 100
SOUND_SHAPE = (1, 32, 128)          # frames × mel bins, as the networks read it


@dataclass(eq=False)
class MHD:
    """One split: ``data`` the modalities [image (N, 1, 28, 28), trajectory (N, 200), sound (N, 1, 32, 128)],
    float32, with the labels; ``normalisation`` the file's two dicts; ``source`` what produced it."""

    split: str
    data: TensorDataset
    normalisation: dict
    source: dict

    def __len__(self) -> int:
        return len(self.data)

    @property
    def labels(self) -> Tensor:
        return self.data.labels

    @property
    def description(self) -> str:
        return f"{self.source['description']}; {self.split}: {len(self):,} items"

    def take(self, n: int, seed: int = 0) -> "MHD":
        """At most ``n`` items: all of them when there are no more, else a subset drawn with ``seed`` (in the
        data's order)."""
        if n >= len(self):
            return self
        keep = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n].sort().values
        data = TensorDataset([x[keep] for x in self.data.modalities], key=f"{self.data.key}-take{n}-s{seed}",
                             labels=self.labels[keep], names=self.data.names)
        return MHD(self.split, data, self.normalisation, self.source)


def unstack_sounds(sounds: Tensor) -> Tensor:
    """``(N, 4, 32, 32)`` slabs → ``(N, 1, 32, 128)``: the four slabs joined along the mel axis (slab s holds mel
    bins 32·s .. 32·s + 31), then frames × mels."""
    n = len(sounds)
    return sounds.reshape(n, 4 * sounds.shape[2], sounds.shape[3]).transpose(1, 2).unsqueeze(1).contiguous()


def mhd_file(split: str, root=None) -> Path:
    """Where ``mhd_<split>.pt`` is: the first of ``<data>/MHD/``, ``<data>/`` that holds it."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    for folder in FOLDERS:
        path = data_dir(root) / folder / f"mhd_{split}.pt"
        if path.exists():
            return path
    raise FileNotFoundError(f"No mhd_{split}.pt under {data_dir(root) / 'MHD'} or {data_dir(root)}: put the MHD "
                            f"files there, or use the offline stand-in")


def _refused(path: Path, reason: str) -> ValueError:
    return ValueError(f"{path} is not an MHD file as the authors save it: {reason}")


def read_mhd(split: str, root=None) -> MHD:
    """The real MHD ``split``, every field checked (module docstring)."""
    path = mhd_file(split, root)
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path} holds objects other than tensors and plain containers ({first}), which are not unpickled "
            f"here. If you trust the file, rewrite it with plain types: python -m mmvae_lib.experiments.mhd.data "
            f"convert {path}") from None
    if not isinstance(content, (tuple, list)) or len(content) != 6:
        raise _refused(path, f"expected a 6-tuple (labels, images, trajectories, sounds, two dicts), got "
                             f"{type(content).__name__}{f' of {len(content)}' if isinstance(content, (tuple, list)) else ''}")
    labels, images, trajectories, sounds, traj_norm, sound_norm = content
    for name, value in (("labels", labels), ("images", images), ("trajectories", trajectories), ("sounds", sounds)):
        if not isinstance(value, Tensor):
            raise _refused(path, f"its {name} must be a tensor, got {type(value).__name__}")
    n = len(labels)
    expected = {"labels": (labels, (n,)), "images": (images, (n, 1, 28, 28)),
                "trajectories": (trajectories, (n, 2 * TRAJECTORY_POINTS)), "sounds": (sounds, (n, 4, 32, 32))}
    for name, (value, shape) in expected.items():
        if tuple(value.shape) != shape:
            raise _refused(path, f"its {name} must have shape {shape}, got {tuple(value.shape)}")
        if name != "labels" and not (value.is_floating_point() and torch.isfinite(value).all()):
            raise _refused(path, f"its {name} must be finite floats")
    if labels.is_floating_point() and not torch.equal(labels, labels.round()):
        raise _refused(path, "its labels must be whole digits")
    labels = labels.long()
    if n == 0 or labels.min() < 0 or labels.max() > 9:
        raise _refused(path, f"its labels must be digits 0-9 (and at least one), got {labels.unique().tolist()[:12]}")
    if images.min() < 0 or images.max() > 1:
        raise _refused(path, f"its images must lie in [0, 1], got [{images.min():.3g}, {images.max():.3g}]")
    for name, value in (("trajectory", traj_norm), ("sound", sound_norm)):
        if not isinstance(value, dict):
            raise _refused(path, f"its {name} normalisation must be a dict, got {type(value).__name__}")
    digest = file_digest(path)
    source = {"kind": "real", "sha256": digest, "path": str(path),
              "description": f"MHD ({path.name}, sha256 {digest[:12]}…)"}
    data = TensorDataset([images.float(), trajectories.float(), unstack_sounds(sounds.float())],
                         key=f"mhd-{split}-{digest[:16]}", labels=labels, names=list(MODALITIES))
    return MHD(split, data, {"trajectory": traj_norm, "sound": sound_norm}, source)


def load_mhd(split: str, *, source: str = "auto", digits: str = "auto", seed: int = 0, root=None,
             verbose: bool = False) -> MHD:
    """MHD's ``split`` from ``source``: ``"real"`` (:func:`read_mhd`), ``"offline"`` (the synthetic-speech
    stand-in, :func:`mmvae_lib.experiments.mhd.offline.build_offline` with ``digits`` and ``seed``) or
    ``"auto"`` (the real files where they are, else the stand-in, saying so)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "real" or (source == "auto" and _real_files_present(root)):
        return read_mhd(split, root)
    from mmvae_lib.experiments.mhd import offline

    if source == "auto" and verbose:
        print(f"No mhd_{split}.pt under {data_dir(root) / 'MHD'}: using the {offline.NAME}")
    return offline.build_offline(split, seed=seed, digits=digits, root=root)


def _real_files_present(root=None) -> bool:
    try:
        return all(mhd_file(split, root).exists() for split in SPLITS)
    except FileNotFoundError:
        return False


def _plain(value):
    """``value`` with numpy arrays and scalars made tensors and Python numbers, containers kept."""
    import numpy as np

    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def convert(path: str | Path, out: str | Path | None = None) -> Path:
    """Rewrite an MHD file that a plain load refuses (numpy values in it) with tensors and Python numbers only:
    this unpickles the file fully, so run it only on a file you trust. Writes ``out`` (default: beside it, with
    ``.plain.pt``) and returns it; put that file in place of the original."""
    path = Path(path)
    content = torch.load(path, map_location="cpu", weights_only=False)
    out = Path(out) if out is not None else path.with_suffix(".plain.pt")
    torch.save(_plain(content), out)
    return out


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "convert":
        raise SystemExit("usage: python -m mmvae_lib.experiments.mhd.data convert FILE   (a file you trust)")
    print(f"written {convert(args[1])}: check it, then put it in place of {args[1]}")


if __name__ == "__main__":
    main()
