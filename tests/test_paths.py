"""mmvae_lib.paths: the roots follow their environment variables; files are written atomically."""
import os

import pytest
import torch

from mmvae_lib import paths


def test_roots_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MMVAE_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "o"))
    assert paths.data_dir() == tmp_path / "d" and paths.data_dir("x") == paths.Path("x")
    assert paths.outputs_root() == tmp_path / "o"


def test_save_atomic_writes_through_a_temporary_file_and_leaves_none(tmp_path, monkeypatch):
    """The folder is created; what is read back is what was saved; no temporary file is left; a failed save
    leaves the previous file intact and no half-written one."""
    path = tmp_path / "new" / "state.pt"
    paths.save_atomic({"a": torch.arange(3)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.arange(3))
    assert os.listdir(path.parent) == ["state.pt"]

    def broken(obj, f):
        open(f, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        paths.save_atomic({"a": torch.zeros(3)}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.arange(3))
    assert os.listdir(path.parent) == ["state.pt"]


def test_save_cache_says_why_it_could_not_write_and_goes_on(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    paths.save_cache({"a": 1}, blocker / "cache.pt")
    assert "Could not write the cache file" in capsys.readouterr().out


def test_file_digest_is_hashlibs_over_the_whole_file(tmp_path):
    """Over more than one 1 MiB chunk: the digest of all the bytes, for sha256 (default) and md5."""
    import hashlib

    data = os.urandom((1 << 20) + 12345)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert paths.file_digest(path) == hashlib.sha256(data).hexdigest()
    assert paths.file_digest(path, "md5") == hashlib.md5(data).hexdigest()
