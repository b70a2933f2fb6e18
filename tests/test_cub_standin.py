"""mmvae_lib.experiments.cub.standin and standin_captions: the offline synthetic birds."""
import random

import pytest
import torch

from mmvae_lib.experiments.cub import standin
from mmvae_lib.experiments.cub.standin_captions import COLOUR_WORDS, MODIFIERS, write_captions
from mmvae_lib.experiments.cub.text import tokenize


@pytest.fixture(scope="module")
def generated():
    return standin.generate(0, 1)


def test_same_seed_same_data_other_seed_other_data(generated, one_thread):
    """The stand-in is deterministic per seed (images, captions, features, split), and another seed gives
    other species and another split."""
    again = standin.generate(0, 1)
    for name in ("train", "test"):
        assert torch.equal(generated[name].images, again[name].images)
        assert generated[name].captions == again[name].captions
        assert torch.equal(generated[name].features, again[name].features)
        assert torch.equal(generated[name].species, again[name].species)
    other = standin.generate(1, 1)
    assert not torch.equal(other["train"].species, generated["train"].species)


def test_split_is_class_disjoint_150_50_with_ten_captions_per_image(generated):
    """150 training and 50 test species, none in both; each image has ten captions; features are 2048-d,
    non-negative, averaging 0.5 on the training images."""
    train, test = generated["train"], generated["test"]
    assert len(set(train.species.tolist())) == 150 and len(set(test.species.tolist())) == 50
    assert not set(train.species.tolist()) & set(test.species.tolist())
    assert train.images.shape == (150, 3, 64, 64) and train.images.dtype == torch.uint8
    assert all(len(c) == 10 for c in train.captions + test.captions)
    assert train.features.shape == (150, 2048) and (train.features >= 0).all()
    assert abs(train.features.mean().item() - 0.5) < 1e-4


def test_images_show_their_attributes():
    """Rendering is driven by the attributes: the same draws with another wing colour change the image, and
    only where the wing is (a minority of the pixels)."""
    g = torch.Generator().manual_seed(0)
    proto = standin.species_prototypes(g)
    attrs = standin.individuals(proto, torch.arange(4), g)
    recoloured = dict(attrs, wing=(attrs["wing"] + 1) % len(standin.COLOURS))
    a = standin.render(attrs, torch.Generator().manual_seed(5))
    b = standin.render(recoloured, torch.Generator().manual_seed(5))
    changed = (a.int() - b.int()).abs().amax(1) > 30                  # (N, H, W)
    assert changed.any((1, 2)).all() and changed.float().mean() < 0.2


def test_captions_describe_the_image_in_varied_words():
    """Captions end with " .", are lowercase, mention some of the image's colours (without annotator noise,
    only the image's), and an image's ten captions differ."""
    g = torch.Generator().manual_seed(0)
    proto = standin.species_prototypes(g)
    attrs = standin.individuals(proto, torch.arange(50), g)
    captions = write_captions(attrs, random.Random(0))
    assert all(c.endswith(" .") and c == c.lower() for caps in captions for c in caps)
    assert all(len(set(caps)) > 5 for caps in captions)
    colour_tokens = {t for words in COLOUR_WORDS.values() for w in words for t in w.split()}
    import mmvae_lib.experiments.cub.standin_captions as writer
    noisy, writer.NOISY_COLOUR, writer.TYPO = writer.NOISY_COLOUR, 0.0, 0.0
    try:
        clean = write_captions(attrs, random.Random(1))
    finally:
        writer.NOISY_COLOUR, writer.TYPO = noisy, 0.004
    for i, caps in enumerate(clean):
        true = {standin.COLOURS[attrs[g_][i]] for g_ in ("crown", "throat", "breast", "belly", "back", "wing",
                                                          "tail", "bill", "leg", "eye", "accent")}
        # the words of the true colours' terms, the modifiers ("light", "dark", ...); breast spots are brown
        allowed = {t for name in true for w in COLOUR_WORDS[name] for t in w.split()} | set(MODIFIERS) | {"brown", "black", "colored"}
        wrong = [t for c in caps for t in tokenize(c) if t in colour_tokens and t not in allowed]
        assert not wrong, (caps, wrong)


def test_bad_size_is_refused():
    with pytest.raises(ValueError, match="images_per_class must be an integer >= 1"):
        standin.generate(0, 0)
