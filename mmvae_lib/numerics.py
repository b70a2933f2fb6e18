"""Reproducible numerics: the same seed gives the same numbers in any process on the same machine.

Three things make a float computation differ between two processes that run the same code on the same
machine, and this module pins each of them:

- **MKL's code path.** torch's CPU matrix products go through Intel MKL, which by default picks its
  kernels at run time (CPU branch, the alignment of the buffers it is handed, dynamic threading). Its
  Conditional Numerical Reproducibility mode ``AUTO,STRICT`` fixes the branch this CPU supports and
  makes the result independent of memory alignment. MKL reads the mode once, when it initialises (the
  first matrix product of the process), so :func:`pin_mkl` runs when ``mmvae_lib`` is imported: it sets
  ``MKL_CBWR`` for this process and its children, and, where torch's MKL exports its service function,
  sets the mode directly and reads it back.
- **The number of threads.** A reduction split across threads sums in another order: 1 and 2 threads
  give different weights after one training step (measured). :func:`reproducible` fixes the count
  (one thread by default); the experiments get their speed from running independent jobs (models,
  seeds) in parallel worker processes of one thread each (:mod:`mmvae_lib.workers`), so the number of
  free cores changes how long a run takes, never its numbers.
- **Non-deterministic kernels.** :func:`reproducible` asks torch for deterministic algorithms (on a GPU
  this also needs cuBLAS's fixed workspace, set here before CUDA starts).

Not guaranteed, and why: another CPU (another instruction set or cache size makes MKL, oneDNN and
ATen pick other kernels), another version of torch, MKL or oneDNN, and a GPU against a CPU. Trained
numbers then differ in their last bits, and training amplifies that; the notebooks compare such numbers
against stored references with a measured tolerance (:mod:`mmvae_lib.regression`).
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

_MKL_CBWR_ALL = -1            # ask for the whole setting (branch and STRICT bit)
_MKL_CODES = {"AUTO": 2, "AUTO,STRICT": 2 | 0x10000, "COMPATIBLE": 3, "COMPATIBLE,STRICT": 3 | 0x10000}
_MKL_NAMES = {code: name for name, code in _MKL_CODES.items()} | {1: "off (MKL's default)"}

# The mode pinned. ``MMVAE_MKL_CBWR`` pins another one: only to stand in for another CPU when measuring
# tolerances (mmvae_lib.regression), since MKL takes its compatible path there. ``MMVAE_MKL_CBWR=off`` leaves
# MKL as the process has it (mmvae_lib then changes nothing of MKL's, and promises no bit-for-bit numbers).
MKL_MODE = os.environ.get("MMVAE_MKL_CBWR", "AUTO,STRICT")
if MKL_MODE not in _MKL_CODES and MKL_MODE != "off":
    raise ValueError(f"MMVAE_MKL_CBWR must be one of {sorted(_MKL_CODES)} or off, got {MKL_MODE!r}")
_MKL_MODE_CODE = _MKL_CODES.get(MKL_MODE)

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")   # deterministic cuBLAS; read when CUDA starts


def _mkl_service():
    """torch's MKL service functions (get, set) through ctypes, or None where they are not exported
    (a build without MKL, or one that links MKL under other names)."""
    import torch

    candidates = [Path(torch.__file__).parent / "lib" / name for name in ("libtorch_cpu.so", "libtorch_cpu.dylib")]
    for path in candidates:
        if not path.exists():
            continue
        try:
            lib = ctypes.CDLL(str(path))
            get, set_ = lib.mkl_serv_cbwr_get, lib.mkl_serv_cbwr_set
        except (OSError, AttributeError):
            continue
        get.argtypes, get.restype = [ctypes.c_int], ctypes.c_int
        set_.argtypes, set_.restype = [ctypes.c_int], ctypes.c_int
        return get, set_
    return None


def pin_mkl() -> str:
    """Put MKL in Conditional Numerical Reproducibility mode ``AUTO,STRICT`` and return the mode MKL
    reports (or what was requested, where it cannot be read back).

    Must run before the process's first matrix product; ``import mmvae_lib`` calls it. If MKL already
    started in another mode (something multiplied matrices before ``mmvae_lib`` was imported), the mode
    cannot change any more: the mode returned says so, and :func:`reproducible` raises.

    This changes a process-wide setting of the importing program, deliberately: without it two processes on
    one machine need not give the same numbers. ``MMVAE_MKL_CBWR=off`` (set before the import) leaves MKL alone.
    """
    if MKL_MODE == "off":
        return f"{mkl_mode()} (left as it was: MMVAE_MKL_CBWR=off)"
    os.environ["MKL_CBWR"] = MKL_MODE          # for this process's MKL and for child processes
    service = _mkl_service()
    if service is None:
        return f"{MKL_MODE} (requested through MKL_CBWR; this torch build does not report it)"
    get, set_ = service
    if get(_MKL_CBWR_ALL) != _MKL_MODE_CODE:
        set_(_MKL_MODE_CODE)                     # fails (returns -8) once MKL has started
    return mkl_mode()


def mkl_mode() -> str:
    """The reproducibility mode MKL reports, e.g. ``"AUTO,STRICT"``."""
    service = _mkl_service()
    if service is None:
        return "unknown (this torch build does not report it)"
    code = service[0](_MKL_CBWR_ALL)
    return _MKL_NAMES.get(code, f"code {code}")


@dataclass(frozen=True)
class Settings:
    """What :func:`reproducible` pinned, printed at the top of every notebook."""

    mkl: str
    threads: int
    deterministic: bool
    device: str

    def __str__(self) -> str:
        return (f"numerics: MKL mode {self.mkl}, {self.threads} torch thread(s), deterministic algorithms "
                f"{'on' if self.deterministic else 'off'}, device {self.device}")


def reproducible(threads: int = 1) -> Settings:
    """Pin everything that can change a number between two processes on this machine: MKL's mode (checked),
    ``threads`` torch threads (inter-op too) and deterministic algorithms. Call it before computing;
    notebooks, scripts and worker processes do. Returns the settings, to print beside the results.

    Raises RuntimeError if MKL started in another mode before ``mmvae_lib`` was imported (import
    ``mmvae_lib`` first, or start a new process).
    """
    import torch

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    mode = pin_mkl()
    if MKL_MODE != "off" and mode != MKL_MODE and not mode.startswith(MKL_MODE + " ("):
        raise RuntimeError(
            f"MKL is in mode {mode!r}, not {MKL_MODE!r}: a matrix product ran before mmvae_lib was imported, "
            "and MKL's mode cannot change after its first use. Import mmvae_lib before anything computes "
            "with torch (or restart the kernel).")
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        pass                                    # allowed once per process, before any inter-op work
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "cpu"
    return Settings(mkl=mode, threads=torch.get_num_threads(), deterministic=True, device=device)
