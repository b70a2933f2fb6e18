"""What made a checkpoint: a plain-data description of everything that determines a run's trained weights,
its digest (the checkpoint's name), and what differs between two of them.

    describe_run(model, stages, data, seed)   →  {"recipe", "seed", "data", "model", "initial_state", "precision"}
    fingerprint(description)                  →  "3fa2c1d09e"  (in the checkpoint's name)
    differences(old, new)                     →  ["recipe[0].batch_size: 64 → 128", ...]

**Built from the objects, not from a list of fields.** :func:`describe` walks an object's own state: a
module's submodules, its parameters (shape, dtype, whether trained) and every other attribute it keeps (a
likelihood's family and scale, the posterior family, the scale function's name, the prior and whether it is
learnt, ``llik_scaling``, the modalities' specs, a layer's sizes); a dataclass's or any object's attributes;
containers element by element; a function by its qualified name. So an argument that a model stores changes
the fingerprint without anyone extending this module (``tests/test_fingerprint.py`` adds one). The weights
themselves enter as one digest (:func:`state_digest`: the initialisation, or the weights a later stage
starts from).

**The data by its contents.** :func:`data_digest` hashes every tensor, array, string and number a dataset
holds in its public attributes (attributes whose names start with ``_`` are caches, and are skipped); a
dataset may instead say what its contents are with a ``content_digest()`` method. Each tensor's digest is
kept while the tensor lives and is unchanged (its in-place version counter), so a dataset is hashed once
per process: SHA-1 reads about 1.5 GB/s here, 0.5 s for the full PolyMNIST (README, "Checkpoints").

**What cannot be seen.** Code is not hashed: an edited ``forward``, loss or data pipeline gives the same
fingerprint. Pass ``retrain=True`` to :func:`mmvae_lib.training.train` (or set ``MMVAE_RETRAIN``) after such
an edit. A tensor changed in place through a NumPy view keeps its version counter, and so its cached digest.
"""
from __future__ import annotations

import enum
import functools
import hashlib
import json
import os
import re
import types
import weakref
from collections.abc import Mapping
from pathlib import PurePath

import numpy as np
import torch
from torch import nn

FORMAT = 2          # the description's format: a change retrains every checkpoint once
HEX = 10            # hex digits of the fingerprint in checkpoint names

# attributes every nn.Module keeps for its own bookkeeping (hooks, registries): not part of a model's configuration
_MODULE_INTERNALS = frozenset(vars(nn.Module())) | {"training"}
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _qualified_name(obj) -> str:
    return f"{getattr(obj, '__module__', None) or '?'}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def _type_name(obj) -> str:
    return _qualified_name(type(obj))


def describe(obj, *, _path: frozenset = frozenset()):
    """``obj`` as plain JSON data: what it is and what it holds, recursively (see the module docstring).
    Parameters and persistent buffers appear by shape and dtype (their values are in :func:`state_digest`);
    other tensors and arrays by a digest of their contents."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else repr(obj)     # JSON has no NaN or inf
    if isinstance(obj, (np.generic,)):
        return describe(obj.item())
    if isinstance(obj, (torch.dtype, torch.device, torch.Size, PurePath)):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return f"{_type_name(obj)}.{obj.name}"
    if isinstance(obj, nn.Parameter):
        return {"parameter": list(obj.shape), "dtype": str(obj.dtype), "trained": obj.requires_grad}
    if isinstance(obj, torch.Tensor):
        return {"tensor": list(obj.shape), "dtype": str(obj.dtype), "sha1": tensor_digest(obj)}
    if isinstance(obj, np.ndarray):
        return {"array": list(obj.shape), "dtype": str(obj.dtype), "sha1": _buffer_digest(obj)}
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
        return {"callable": _qualified_name(obj)}
    if id(obj) in _path:                                  # a reference back up the tree
        return {"cycle": _type_name(obj)}
    inner = _path | {id(obj)}
    if isinstance(obj, (list, tuple)):
        return [describe(x, _path=inner) for x in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((describe(x, _path=inner) for x in obj), key=lambda d: json.dumps(d, sort_keys=True))
    if isinstance(obj, Mapping):
        return {str(k): describe(v, _path=inner) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, functools.partial):
        return {"partial": describe(obj.func, _path=inner), "args": describe(obj.args, _path=inner),
                "keywords": describe(obj.keywords, _path=inner)}
    if isinstance(obj, types.MethodType):
        return {"method": _qualified_name(obj.__func__), "of": describe(obj.__self__, _path=inner)}
    if isinstance(obj, nn.Module):
        return _describe_module(obj, inner)
    state = _attributes(obj)
    if state is None:                                     # no attributes to read: its repr, without addresses
        text = repr(obj)
        return {"object": _type_name(obj)} if _ADDRESS.search(text) else {"object": _type_name(obj), "repr": text}
    return {"object": _type_name(obj), **{k: describe(v, _path=inner) for k, v in sorted(state.items())}}


def _attributes(obj) -> dict | None:
    """An object's own state: its ``__dict__`` and ``__slots__`` values (dataclasses included)."""
    state = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                state[slot] = getattr(obj, slot)
    return state if state or hasattr(obj, "__dict__") else None


def _describe_module(module: nn.Module, path: frozenset) -> dict:
    described = {"module": _type_name(module)}
    for name, value in sorted(vars(module).items()):
        if name not in _MODULE_INTERNALS:
            described[name] = describe(value, _path=path)
    parameters = {name: describe(p) for name, p in module._parameters.items() if p is not None}
    buffers = {name: ({"tensor": list(b.shape), "dtype": str(b.dtype)} if name not in module._non_persistent_buffers_set
                      else describe(b))                   # a non-persistent buffer is not in the state digest
               for name, b in module._buffers.items() if b is not None}
    children = {name: describe(child, _path=path) for name, child in module._modules.items()}
    for key, value in (("parameters", parameters), ("buffers", buffers), ("children", children)):
        if value:
            described[key] = value
    return described


# --- digests ----------------------------------------------------------------------------------------------

def _buffer_digest(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    digest = hashlib.sha1(str((array.shape, array.dtype.str)).encode())
    if array.dtype.hasobject:
        digest.update(json.dumps([describe(x) for x in array.ravel().tolist()]).encode())
    else:
        digest.update(array.reshape(-1).view(np.uint8))
    return digest.hexdigest()


_TENSOR_DIGESTS: dict[int, tuple[weakref.ref, int, str]] = {}


def tensor_digest(tensor: torch.Tensor) -> str:
    """SHA-1 of a tensor's shape, dtype and values, computed once while the tensor lives unchanged (its
    version counter, which every in-place torch operation raises)."""
    key = id(tensor)
    cached = _TENSOR_DIGESTS.get(key)
    if cached is not None and cached[0]() is tensor and cached[1] == tensor._version:
        return cached[2]
    flat = tensor.detach().cpu().contiguous()
    digest = hashlib.sha1(str((tuple(flat.shape), str(flat.dtype))).encode())
    if flat.numel():
        digest.update(flat.reshape(-1).view(torch.uint8).numpy())
    value = digest.hexdigest()
    try:
        ref = weakref.ref(tensor, lambda _, key=key: _TENSOR_DIGESTS.pop(key, None))
    except TypeError:
        return value
    _TENSOR_DIGESTS[key] = (ref, tensor._version, value)
    return value


def state_digest(model: nn.Module) -> str:
    """A SHA-1 of the model's parameters and buffers, names and bytes: it changes when an initialisation
    changes, which the model's configuration does not show."""
    digest = hashlib.sha1()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        if flat.numel():
            digest.update(flat.view(torch.uint8).numpy())
    return digest.hexdigest()


def data_digest(data) -> str:
    """A digest of a dataset's contents: its ``content_digest()`` if it defines one, else every tensor, array,
    string and number in its public attributes, recursively (tensors hashed once: :func:`tensor_digest`)."""
    if hasattr(data, "content_digest"):
        return str(data.content_digest())
    return hashlib.sha1(json.dumps(_contents(data, frozenset()), sort_keys=True).encode()).hexdigest()


def _contents(obj, path: frozenset):
    if obj is None or isinstance(obj, (bool, int, float, str, np.generic, torch.dtype, torch.Size, PurePath)):
        return describe(obj)
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        return describe(obj)
    if id(obj) in path:
        return "cycle"
    inner = path | {id(obj)}
    if isinstance(obj, (list, tuple)):
        if obj and all(isinstance(x, str) for x in obj):  # captions, names: one hash, not one entry each
            return {"strings": len(obj), "sha1": hashlib.sha1("\x00".join(obj).encode()).hexdigest()}
        return [_contents(x, inner) for x in obj]
    if isinstance(obj, Mapping):
        return {str(k): _contents(v, inner) for k, v in obj.items()}
    if isinstance(obj, nn.Module):
        return {"module": _type_name(obj), "state": state_digest(obj)}
    state = _attributes(obj)
    if state is None:
        return {"object": _type_name(obj)}
    return {"object": _type_name(obj),
            **{k: _contents(v, inner) for k, v in sorted(state.items()) if not k.startswith("_")}}


# --- a run ----------------------------------------------------------------------------------------------

def precision() -> dict:
    """The numeric settings that change trained weights besides the parameters' dtypes (in the model's
    description): torch's default dtype and the float32 matrix-product precision (TF32 on GPUs)."""
    return {"default_dtype": str(torch.get_default_dtype()),
            "float32_matmul_precision": torch.get_float32_matmul_precision()}


def describe_run(model: nn.Module, stages, data, seed: int) -> dict:
    """Everything that determines the weights a run of ``stages`` on ``data`` trains from ``model`` (call it on
    the untrained model): the recipe, the seed, the data's key and contents, the model's configuration and
    architecture, its state before training and the precision."""
    return {"format": FORMAT, "recipe": [describe(stage) for stage in stages], "seed": seed,
            "data": {"type": _type_name(data), "key": getattr(data, "key", None), "contents": data_digest(data)},
            "model": describe(model), "initial_state": state_digest(model), "precision": precision()}


def fingerprint(description: dict) -> str:
    return hashlib.sha1(json.dumps(description, sort_keys=True).encode()).hexdigest()[:HEX]


def differences(old, new, *, limit: int = 4) -> list[str]:
    """What changed from ``old`` to ``new`` (two descriptions), as ``path: old → new``, at most ``limit``
    entries and a count of the rest."""
    found: list[str] = []
    _diff(old, new, "", found)
    return found if len(found) <= limit else found[:limit] + [f"and {len(found) - limit} more"]


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _diff(old, new, path: str, found: list) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            child = f"{path}.{key}" if path else key
            if key not in old:
                found.append(f"{child}: added ({_short(new[key])})")
            elif key not in new:
                found.append(f"{child}: removed (was {_short(old[key])})")
            else:
                _diff(old[key], new[key], child, found)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            _diff(a, b, f"{path}[{i}]", found)
    elif old != new:
        found.append(f"{path}: {_short(old)} → {_short(new)}")


def sibling_checkpoints(name: str | os.PathLike, path: str | os.PathLike) -> list:
    """Checkpoints ``<name>_<fingerprint>.pt`` other than ``path`` in ``name``'s folder, newest first."""
    from pathlib import Path

    name, path = Path(name), Path(path)
    if not name.parent.is_dir():
        return []
    pattern = re.compile(re.escape(name.name) + r"_[0-9a-f]{%d}\.pt" % HEX)
    found = [p for p in name.parent.iterdir() if pattern.fullmatch(p.name) and p != path]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
