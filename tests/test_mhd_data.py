"""mmvae_lib.experiments.mhd.data: the real MHD files (a saved 6-tuple) read on fixture files in that exact
format, without unpickling arbitrary objects; every field checked; the sound slabs unstacked as the authors'
loader does."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmvae_lib.experiments.mhd import data


def write_mhd(root, split="train", n=12, seed=0, **replace):
    """An ``mhd_<split>.pt`` in the authors' format: (labels, images, trajectories, sounds, two dicts)."""
    g = torch.Generator().manual_seed(seed)
    fields = {"labels": torch.arange(n) % 10, "images": torch.rand(n, 1, 28, 28, generator=g),
              "trajectories": torch.rand(n, 200, generator=g), "sounds": torch.randn(n, 4, 32, 32, generator=g),
              "traj_norm": {"min": 0.0, "max": 1.0}, "sound_norm": {"mean": -30.0, "std": 12.0}}
    fields.update(replace)
    path = root / "MHD" / f"mhd_{split}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(tuple(fields.values()), path)
    return path, fields


def test_the_real_file_is_read_checked_and_its_sound_unstacked(tmp_path):
    _, fields = write_mhd(tmp_path)
    mhd = data.read_mhd("train", tmp_path)
    image, trajectory, sound = mhd.data.get(torch.arange(len(mhd)))[:3]
    assert torch.equal(image, fields["images"]) and torch.equal(trajectory, fields["trajectories"])
    assert sound.shape == (12, 1, 32, 128) and torch.equal(mhd.labels, fields["labels"])
    # the authors' loader: the four slabs joined along dim 0 (mel bins), a channel, then frames × mels
    expected = torch.cat(list(fields["sounds"][5]), dim=0).unsqueeze(0).permute(0, 2, 1)
    assert torch.equal(sound[5], expected)
    assert mhd.normalisation == {"trajectory": fields["traj_norm"], "sound": fields["sound_norm"]}
    assert mhd.source["kind"] == "real" and mhd.data.key.startswith("mhd-train-") and "MHD (mhd_train.pt" in \
        mhd.description


@pytest.mark.parametrize("replace, message", [
    ({"images": torch.rand(12, 1, 28, 27)}, "images must have shape"),
    ({"images": 2 * torch.rand(12, 1, 28, 28) + 0.5}, r"images must lie in \[0, 1\]"),
    ({"labels": torch.arange(12) + 5}, "labels must be digits 0-9"),
    ({"sounds": torch.full((12, 4, 32, 32), float("nan"))}, "sounds must be finite floats"),
    ({"traj_norm": [0.0, 1.0]}, "trajectory normalisation must be a dict"),
])
def test_a_field_out_of_format_is_named(tmp_path, replace, message):
    write_mhd(tmp_path, **replace)
    with pytest.raises(ValueError, match=message):
        data.read_mhd("train", tmp_path)


def test_a_file_with_other_objects_is_not_unpickled_and_convert_says_how(tmp_path):
    path, _ = write_mhd(tmp_path, traj_norm={"min": np.float64(0.0), "max": np.array([1.0, 2.0])})
    with pytest.raises(ValueError, match="python -m mmvae_lib.experiments.mhd.data convert"):
        data.read_mhd("train", tmp_path)
    plain = data.convert(path)                               # the user, trusting the file
    plain.replace(path)
    mhd = data.read_mhd("train", tmp_path)
    assert mhd.normalisation["trajectory"]["min"] == 0.0
    assert torch.equal(mhd.normalisation["trajectory"]["max"], torch.tensor([1.0, 2.0], dtype=torch.float64))


def test_a_missing_file_or_a_wrong_tuple_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No mhd_test.pt"):
        data.read_mhd("test", tmp_path)
    path = tmp_path / "mhd_test.pt"
    torch.save((torch.zeros(3), torch.zeros(3)), path)
    with pytest.raises(ValueError, match="expected a 6-tuple"):
        data.read_mhd("test", tmp_path)
