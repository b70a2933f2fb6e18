"""The fast paths, and the switch that turns them off (``MMVAE_FAST=0`` in the environment).

Where a training step's time goes on a CPU (measured with ``torch.profiler`` and per-step page-fault
counts; see ``benchmarks/training_speed.py``): the networks, above all the SVHN decoder over the M·K·B
stratified samples, and the kernel's work of mapping memory. glibc serves every block above its mmap
threshold (at most 32 MiB) with fresh pages from the kernel and unmaps them on free, so each large
activation costs a page fault per 4 KiB every step; and freed memory at the top of the heap is given
back to the kernel beyond the trim threshold, to be faulted in again on the next step. The fast paths:

- :func:`tune_allocator` keeps freed memory in the process (a high trim threshold) and serves every
  block below 32 MiB from the heap (a fixed mmap threshold), so the step's memory is reused, not
  re-faulted. It changes no number.
- Decoding in chunks (:func:`decode_chunk`): :meth:`mmvae_lib.models.MultimodalVAE.log_likelihoods`
  decodes and scores the samples a few hundred latents at a time, so no activation reaches the mmap
  threshold and each chunk's activations stay in the core's cache. The numbers agree with one big call
  to float rounding (tested), not bit for bit: the convolutions block their sums by batch size.
- ``channels_last`` convolutions in the SVHN networks (:mod:`mmvae_lib.experiments.mnist_svhn.networks`),
  which oneDNN runs faster on this CPU; again equal to rounding.

In-place ReLUs are always on: they change no number.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import lru_cache

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20        # glibc's largest allowed mmap threshold on 64-bit systems
TRIM_THRESHOLD = 1 << 30         # keep up to 1 GiB of freed memory in the process

# latents per decoder call: the SVHN decoder's largest activation is 32 KiB per latent (32 x 16 x 16
# floats), so 256 of them fill 8 MiB, a few times the per-core L2 cache and far below the mmap threshold
_BYTES_PER_LATENT = 32 * 16 * 16 * 4
_DEFAULT_L2 = 1 << 20


def enabled() -> bool:
    """Whether the fast paths are on: unless ``MMVAE_FAST=0`` is set."""
    return os.environ.get("MMVAE_FAST", "1") != "0"


def tune_allocator() -> bool:
    """Set glibc's mmap and trim thresholds for this process (see the module docstring). Returns whether
    it could (not on other C libraries, or with the fast paths off). ``import mmvae_lib`` calls it: a
    deliberate change to the importing process's allocator, which ``MMVAE_FAST=0`` (set before the import)
    leaves alone, with the other fast paths."""
    if not enabled():
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


@lru_cache(maxsize=1)
def l2_cache_bytes() -> int:
    """This CPU's per-core L2 cache, from sysconf or sysfs (1 MiB where neither says)."""
    try:
        size = os.sysconf("SC_LEVEL2_CACHE_SIZE")
        if size > 0:
            return size
    except (ValueError, OSError, AttributeError):
        pass
    try:
        text = open("/sys/devices/system/cpu/cpu0/cache/index2/size").read().strip()
        return int(text[:-1]) * (1 << 10 if text.endswith("K") else 1 << 20) if text[-1] in "KM" else int(text)
    except (OSError, ValueError, IndexError):
        return _DEFAULT_L2


def decode_chunk() -> int | None:
    """Latents per decoder call when scoring samples: four L2 caches' worth of the largest decoder
    activation, between 128 and 1,024 (None with the fast paths off: one call for all). A property of the
    machine, so the same machine always chunks alike and its numbers stay the same."""
    if not enabled():
        return None
    return int(min(1024, max(128, 4 * l2_cache_bytes() // _BYTES_PER_LATENT)))
