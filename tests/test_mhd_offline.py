"""mmvae_lib.experiments.mhd.offline: the synthetic-speech MHD stand-in pairs a traced stroke, its rendering and a
spoken word of the same digit; every accent and variant speaks; a build is deterministic, cached, normalised with
the training split's constants, and named as a stand-in."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("espeakng_loader", reason="espeak-ng for the offline MHD: pip install -e '.[notebooks]'")

from mmvae_lib.experiments.mhd import data, offline, speech, trajectories  # noqa: E402
from mmvae_lib.experiments.mnist_svhn.standin import mnist_standin  # noqa: E402


def test_the_speaker_pool_is_seeded_and_every_accent_and_variant_speaks():
    pool = offline.speakers()
    assert pool == offline.speakers() and len(pool) == offline.SPEAKERS and len(set(pool)) == len(pool)
    assert pool != offline.speakers(seed=offline.POOL_SEED + 1)
    for voice in pool:
        assert offline.PITCH[0] <= voice.pitch <= offline.PITCH[1] and offline.RATE[0] <= voice.rate <= offline.RATE[1]
    for accent in offline.ACCENTS:                      # a name espeak-ng does not know raises ValueError
        assert len(speech.Voice(f"{accent}+{offline.VARIANTS[len(accent) % len(offline.VARIANTS)]}").speak("two")[0])


def test_items_pair_a_stroke_its_image_and_a_recording_of_the_same_digit():
    digits, labels = mnist_standin("test")
    pick = [0, 150, 420, 999]                            # digits 0, 1, 4, 9 (the stand-in is ordered by class)
    waves = [[np.full(4000, 0.1 * (1 + s + 2 * d), dtype=np.float32) for d in range(10)] for s in range(2)]
    items = offline.build_items(digits[pick, 0].numpy(), labels[pick].numpy(), seed=5, waves=waves)
    assert items["images"].shape == (4, 1, 28, 28) and items["trajectories"].shape == (4, 200)
    assert items["sounds"].shape == (4, 128, 32)
    draws = offline.draw_items(labels[pick].numpy(), 5, speakers=2)
    for i, label in enumerate(labels[pick].tolist()):
        path, image = items["trajectories"][i], items["images"][i, 0]
        x, y = np.round(path[:100]).astype(int), np.round(path[100:]).astype(int)
        assert (image[y, x] > 0.3).mean() > 0.95        # the image is the trajectory's stroke
        assert np.allclose(image, trajectories.render(path, draws["width"][i]))
        expected = offline.sound(waves[draws["speaker"][i]][label], draws["onset"][i], draws["gain"][i],
                                 draws["noise_seed"][i])
        assert np.array_equal(items["sounds"][i], expected)  # the drawn speaker's word for this digit
    assert not np.array_equal(items["sounds"][0], items["sounds"][1])


@pytest.fixture()
def small_build(monkeypatch):
    """The build on 20 train and 10 test digits with a pool of two speakers."""
    from mmvae_lib.experiments.polymnist import data as poly

    def few(split, source, root=None):
        images, labels = mnist_standin(split)
        keep = torch.arange(0, len(labels), len(labels) // (20 if split == "train" else 10))
        return images[keep], labels[keep]

    monkeypatch.setattr(poly, "mnist_digits", few)
    monkeypatch.setattr(offline, "SPEAKERS", 2)


def test_a_build_is_deterministic_cached_normalised_by_train_and_named_a_stand_in(tmp_path, small_build):
    train = offline.build_offline("train", root=tmp_path / "a")
    test = offline.build_offline("test", root=tmp_path / "a")
    image, trajectory, sound = train.data.modalities
    assert image.shape[1:] == (1, 28, 28) and trajectory.shape[1:] == (200,) and sound.shape[1:] == data.SOUND_SHAPE
    assert float(trajectory.min()) == 0.0 and float(trajectory.max()) == 1.0
    assert float(sound.min()) == 0.0 and float(sound.max()) == 1.0
    assert test.normalisation == train.normalisation     # test scaled with the training split's constants
    assert offline.NAME in train.description and "stand-in" in train.description
    assert train.source["kind"] == "offline" and len(train) == 20 and len(test) == 10
    cached = list((tmp_path / "a" / "cache" / "mhd").glob("*.pt"))
    assert len(cached) == 2
    again = offline.build_offline("train", root=tmp_path / "b")          # built afresh elsewhere: the same bytes
    assert again.source["sha256"] == train.source["sha256"]
    assert offline.build_offline("train", root=tmp_path / "a").source["sha256"] == train.source["sha256"]
    with pytest.raises(ValueError, match="split must be one of"):
        offline.build_offline("valid", root=tmp_path / "a")
