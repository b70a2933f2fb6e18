"""Mixed precision: a training stage's networks in bfloat16, everything that must stay exact in float32.

``Stage(..., precision="bf16")`` runs the stage's forward pass under ``torch.autocast`` with bfloat16: the
networks' matrix products and convolutions then compute in bf16 (8 bits of mantissa), which doubles the peak
of the matrix units on GPUs and on CPUs with AVX-512 BF16 or AMX. What must stay exact stays in float32:

- every network's output is cast back to float32 where it leaves the network
  (:meth:`mmvae_lib.models.MultimodalVAE.encode` and ``decode``), so the log-densities, the log-sum-exps and
  the bound's reductions downstream compute in float32 (autocast leaves element-wise operations on float32
  tensors alone);
- the flows' log-determinants and inverses (:mod:`mmvae_lib.models.flows`) and DCCA's eigendecompositions
  (:mod:`mmvae_lib.models.projectors`) run with autocast off (:func:`exact`);
- the backward pass runs outside autocast (as PyTorch recommends), the weights and Adam's state stay float32.

Where the device has no bfloat16 arithmetic (a CPU without AVX-512 BF16 or AMX: emulated, slower than float32),
:func:`effective` falls back to float32 and says so once. The precision is in the checkpoint's fingerprint
only when it is not float32, so float32 runs keep their checkpoints.
"""
from __future__ import annotations

import contextlib
import functools

import torch

PRECISIONS = ("fp32", "bf16")


@functools.lru_cache(maxsize=None)
def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU does bfloat16 arithmetic in hardware (AVX-512 BF16 or AMX)."""
    try:
        with open(cpuinfo) as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def bf16_supported(device: torch.device | str) -> bool:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


_SAID: set = set()


def effective(precision: str, device: torch.device | str, *, say=print) -> str:
    """The precision a stage asking for ``precision`` runs in on ``device``: bf16 only where the device has
    bfloat16 arithmetic, else fp32 (said once per device)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16" and not bf16_supported(device):
        if str(device) not in _SAID:
            _SAID.add(str(device))
            say(f"precision: bf16 asked for, but {device} has no bfloat16 arithmetic (on a CPU: AVX-512 BF16 or "
                f"AMX); training in fp32")
        return "fp32"
    return precision


def autocast(precision: str, device: torch.device | str):
    """The context a stage's forward pass runs in: bf16 autocast, or nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def exact(like: torch.Tensor):
    """Autocast off (float32 inside) for a computation that must stay exact, on ``like``'s device."""
    return torch.autocast(like.device.type, enabled=False)


def widened(tensor):
    """``tensor`` in float32 if autocast made it bf16 (or fp16); any other tensor (float32, float64, integers)
    as it is."""
    return tensor.float() if isinstance(tensor, torch.Tensor) and tensor.dtype in (torch.bfloat16, torch.float16) \
        else tensor
