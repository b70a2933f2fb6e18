"""Import torchvision where its compiled extension cannot load.

The torchvision wheels on PyPI are CUDA builds. Beside a CPU-only torch their extension fails to load, and
``import torchvision`` then dies with ``RuntimeError: operator torchvision::nms does not exist``, because
torchvision registers fake kernels for ``torchvision::nms`` and ``torchvision::qnms`` at import time.
Declaring those two operator schemas first lets the import succeed: datasets, transforms and ``make_grid``
work; compiled ops (``ops.nms``, ``roi_align``) and ``torchvision.io`` decoding do not, and nothing in this
project uses them.

:func:`import_torchvision` only declares the schemas when the plain import has failed for that reason, so
a normal CPU or CUDA install is left untouched.
"""
from __future__ import annotations

import sys
from types import ModuleType

import torch

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_fragment = None  # the Library object must stay alive for its definitions to stay registered


def _declare_missing_ops() -> None:
    global _fragment
    if _fragment is None:
        _fragment = torch.library.Library("torchvision", "FRAGMENT")
        for schema in _SCHEMAS:
            _fragment.define(schema)


def import_torchvision() -> ModuleType:
    """Return the ``torchvision`` module, working around a CUDA wheel beside a CPU-only torch."""
    try:
        import torchvision
        return torchvision
    except RuntimeError as err:
        if "torchvision::nms" not in str(err):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    _declare_missing_ops()
    import torchvision
    return torchvision
