"""An offline stand-in for CUB image–caption: synthetic birds described by compositional attributes.

What the paper's CUB experiment tests (§4.3) is whether a model links an image to the *words* for what it
shows: colours and shapes of body parts, composed freely, described by different annotators in different
words, and generalising to species never seen in training (the split is class-disjoint). The stand-in
keeps exactly that, and says what it is:

- **Species and attributes.** 200 species, each a prototype over attribute groups taken from CUB's own
  (:data:`ATTRIBUTES`: the colour of crown, throat, breast, belly, back, wings, tail, bill, legs and eyes
  from CUB's 15 colour names; size; bill shape and length; wing, breast and head patterns; tail shape; a
  second "accent" colour for the markings). Colours of neighbouring parts are correlated within a species
  (upperparts, underparts) as in real birds. Each image takes its species' attributes, each one redrawn
  with probability :data:`VARIATION` (individual variation, sex, age), and a setting (branch, sky, grass,
  water, ground) that the species prefers.
- **Images.** Each image is rendered from its attributes (:func:`render`): a bird of that size, facing
  left or right, slightly shifted and tilted, its parts painted in their colours with the patterns drawn,
  on a background of its setting, with colour jitter and pixel noise; 64×64 RGB.
- **Captions.** Ten per image, written from the image's attributes by :mod:`.standin_captions` with varied
  templates, synonyms, word order and omissions, and a little annotator noise.
- **Split.** 150 training and 50 test species, drawn with the seed: class-disjoint, as in the paper.
- **Features.** The real pipeline encodes images with ResNet-101's ImageNet weights, which cannot be had
  offline. The stand-in's 2048-d features come from :class:`RandomConvFeatures`: a fixed, *untrained*
  convolutional network with weights drawn from the seed, global-average pooled like ResNet's last layer.
  They are not ImageNet or ResNet features and carry no knowledge of birds beyond the pixels.

Everything is drawn from generators seeded by ``seed`` in a fixed order, so a seed gives the same data bit
for bit on one machine (:data:`GENERATOR_VERSION` belongs in every cache key).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

GENERATOR_VERSION = 1
N_SPECIES, N_TEST_SPECIES = 200, 50          # CUB: 200 species, 50 of them held out (Reed et al.'s split)
IMAGE_SIZE = 64
VARIATION = 0.08                              # chance that an image redraws one attribute from the population
FEATURE_DIM = 2048

# CUB's 15 colour names (attributes.txt) and the RGB this stand-in paints them with
COLOURS = ("blue", "brown", "iridescent", "purple", "rufous", "grey", "yellow", "olive", "green", "pink",
           "orange", "black", "white", "red", "buff")
RGB = torch.tensor([
    (0.20, 0.35, 0.80), (0.45, 0.30, 0.16), (0.08, 0.45, 0.50), (0.45, 0.20, 0.58), (0.70, 0.32, 0.12),
    (0.56, 0.56, 0.58), (0.95, 0.84, 0.15), (0.50, 0.50, 0.20), (0.20, 0.60, 0.22), (0.95, 0.62, 0.72),
    (0.96, 0.55, 0.10), (0.08, 0.08, 0.09), (0.95, 0.95, 0.93), (0.86, 0.12, 0.10), (0.90, 0.78, 0.55)])


def _weights(**w) -> Tensor:
    return torch.tensor([w.get(c, 0.0) for c in COLOURS], dtype=torch.float64)


# how often a colour is drawn, roughly following how often annotators name it in CUB's captions
UPPER = _weights(black=14, brown=11, grey=9, olive=3, blue=3, green=2, rufous=3, yellow=4, red=2, white=3,
                 iridescent=1.5, purple=1, buff=2, orange=1.5, pink=0.5)
UNDER = _weights(white=14, buff=6, yellow=7, grey=6, brown=4, black=2, orange=2, red=2, rufous=2, pink=1,
                 olive=1, blue=1, green=0.5)
ANY = _weights(black=10, white=10, brown=7, yellow=6, grey=6, orange=3, red=3, blue=3, green=1.5, buff=2,
               rufous=2, olive=1.5, iridescent=1, purple=1, pink=1)
BILL = _weights(black=10, grey=3, orange=2, yellow=2, brown=2, pink=1, red=0.5, white=0.5, buff=0.5)
LEG = _weights(black=6, grey=4, brown=3, orange=3, pink=3, yellow=1, red=0.5, buff=0.5)
EYE = _weights(black=12, brown=3, red=2, yellow=2, white=1, orange=0.5)

# attribute group → its values (colour groups take COLOURS)
ATTRIBUTES = {
    "size": ("small", "medium", "large"),
    "crown": COLOURS, "throat": COLOURS, "breast": COLOURS, "belly": COLOURS, "back": COLOURS,
    "wing": COLOURS, "tail": COLOURS, "bill": COLOURS, "leg": COLOURS, "eye": COLOURS, "accent": COLOURS,
    "bill_shape": ("cone", "pointed", "hooked", "curved", "needle", "flat"),
    "bill_length": ("short", "medium", "long"),
    "wing_pattern": ("solid", "spotted", "striped", "multi-colored"),
    "breast_pattern": ("solid", "spotted", "striped"),
    "head_pattern": ("plain", "eyebrow", "eyering", "crested", "masked"),
    "tail_shape": ("rounded", "pointed", "forked", "long"),
}
SETTINGS = ("branch", "sky", "grass", "water", "ground")
# the population prior of each group, for individual variation (and for the species' uncorrelated draws)
PRIORS = {name: (UPPER if name in ("crown", "back", "wing", "tail") else UNDER if name in ("throat", "breast", "belly")
                 else BILL if name == "bill" else LEG if name == "leg" else EYE if name == "eye" else ANY)
          if values is COLOURS else torch.ones(len(values), dtype=torch.float64)
          for name, values in ATTRIBUTES.items()}
PRIORS["wing_pattern"] = torch.tensor([4.0, 1.5, 2.5, 1.5], dtype=torch.float64)
PRIORS["breast_pattern"] = torch.tensor([5.0, 1.5, 1.5], dtype=torch.float64)
PRIORS["head_pattern"] = torch.tensor([4.0, 1.5, 1.5, 1.0, 1.0], dtype=torch.float64)


def _draw(prior: Tensor, n: int, g: torch.Generator) -> Tensor:
    return torch.multinomial(prior, n, replacement=True, generator=g)


def _mix(choice: Tensor, options: list[Tensor]) -> Tensor:
    """Per row, ``options[choice[row]][row]``."""
    return torch.stack(options).gather(0, choice[None]).squeeze(0)


def species_prototypes(g: torch.Generator, n: int = N_SPECIES) -> dict[str, Tensor]:
    """Each species' attributes ``{group: (n,) value ids}``: an upperparts, an underparts and an accent
    colour; each part takes one of them (or a free draw) with probabilities that make neighbouring parts
    alike; the other groups drawn from their priors; plus each species' preferred setting."""
    upper, under, accent = _draw(UPPER, n, g), _draw(UNDER, n, g), _draw(ANY, n, g)
    black = torch.full((n,), COLOURS.index("black"))

    def part(prior: Tensor, options: list[Tensor], p: list[float]) -> Tensor:
        choice = _draw(torch.tensor(p + [1 - sum(p)], dtype=torch.float64), n, g)
        return _mix(choice, options + [_draw(prior, n, g)])

    proto = {"accent": accent}
    proto["back"] = part(UPPER, [upper], [0.85])
    proto["crown"] = part(UPPER, [upper, accent], [0.5, 0.3])
    proto["wing"] = part(UPPER, [upper, black], [0.6, 0.15])
    proto["tail"] = part(UPPER, [proto["wing"], upper], [0.5, 0.3])
    proto["throat"] = part(UNDER, [under, accent], [0.6, 0.2])
    proto["breast"] = part(UNDER, [under, accent], [0.65, 0.2])
    proto["belly"] = part(UNDER, [under], [0.85])
    for name in ("bill", "leg", "eye", "size", "bill_shape", "bill_length", "wing_pattern", "breast_pattern",
                 "head_pattern", "tail_shape"):
        proto[name] = _draw(PRIORS[name], n, g)
    proto["habitat"] = torch.randint(len(SETTINGS), (n,), generator=g)
    return proto


def individuals(proto: dict[str, Tensor], species: Tensor, g: torch.Generator) -> dict[str, Tensor]:
    """The attributes of images of ``species`` ``(N,)``: their species' values, each group redrawn from
    its prior with probability :data:`VARIATION`; the setting is the species' habitat 60 % of the time."""
    n = len(species)
    out = {}
    for name in ATTRIBUTES:
        own = proto[name][species]
        redraw = torch.rand(n, generator=g) < VARIATION
        out[name] = torch.where(redraw, _draw(PRIORS[name], n, g), own)
    habitat = proto["habitat"][species]
    out["setting"] = torch.where(torch.rand(n, generator=g) < 0.6, habitat,
                                 torch.randint(len(SETTINGS), (n,), generator=g))
    return out


def class_split(g: torch.Generator, n: int = N_SPECIES, n_test: int = N_TEST_SPECIES) -> dict[str, Tensor]:
    """Species ids of the training and test split, disjoint, each sorted."""
    order = torch.randperm(n, generator=g)
    return {"train": order[n_test:].sort().values, "test": order[:n_test].sort().values}


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------

def _ellipse(x, y, cx, cy, a, b, angle=0.0):
    c, s = math.cos(angle), math.sin(angle)
    u, v = (x - cx) * c + (y - cy) * s, -(x - cx) * s + (y - cy) * c
    return (u / a) ** 2 + (v / b) ** 2 <= 1, u


# what each pixel shows: 0 the background, then the regions painted (their colours per image in render)
REGIONS = ("background", "tail", "leg", "back", "breast", "belly", "marking", "wing", "accent", "crown", "throat",
           "black", "eye", "bill")
_REGION = {name: i for i, name in enumerate(REGIONS)}


def render(attrs: dict[str, Tensor], g: torch.Generator, size: int = IMAGE_SIZE, chunk: int = 256) -> Tensor:
    """Images of birds with attributes ``attrs`` (value ids ``(N,)`` per group, and ``setting``): uint8
    ``(N, 3, size, size)``, rendered ``chunk`` images at a time. The random draws of all images come first,
    in a fixed order, so the result does not depend on ``chunk``."""
    n = len(attrs["size"])
    draws = dict(scale=1 + 0.06 * torch.randn(n, generator=g), shift_x=0.10 * (2 * torch.rand(n, generator=g) - 1),
                 shift_y=0.08 * (2 * torch.rand(n, generator=g) - 1), tilt=0.15 * (2 * torch.rand(n, generator=g) - 1),
                 facing=torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0),
                 jitter=1 + 0.08 * torch.randn(n, len(REGIONS), 3, generator=g), tone=torch.rand(n, generator=g),
                 texture=torch.randn(n, 1, 6, 6, generator=g))
    noise_seed = int(torch.randint(2**62, (1,), generator=g))
    out = []
    for start in range(0, n, chunk):
        part = slice(start, start + chunk)
        noise = torch.Generator().manual_seed(noise_seed + start)
        out.append(_render_chunk({k: a[part] for k, a in attrs.items()}, {k: d[part] for k, d in draws.items()},
                                 noise, size))
    return torch.cat(out)


def _render_chunk(attrs, draws, noise_gen, size) -> Tensor:
    """Coordinates: the canvas spans [−1, 1]², y pointing down; the bird is drawn facing right in its own
    frame (body at the origin), scaled by its size, mirrored for half the images, shifted and tilted. Each
    pixel gets a region label (painter's order: later regions cover earlier ones), then its colour."""
    n = len(attrs["size"])
    lin = torch.linspace(-1, 1, size)
    v, u = torch.meshgrid(lin, lin, indexing="ij")                     # (H, W)
    scale = (torch.tensor([0.72, 0.88, 1.04])[attrs["size"]] * draws["scale"])[:, None, None]
    c, s = draws["tilt"].cos()[:, None, None], draws["tilt"].sin()[:, None, None]
    du, dv = u - draws["shift_x"][:, None, None], v - draws["shift_y"][:, None, None]
    x = (du * c + dv * s) / scale * draws["facing"][:, None, None]
    y = (-du * s + dv * c) / scale

    label = torch.zeros(n, size, size, dtype=torch.long)

    def paint(mask, region):
        label.masked_fill_(mask, _REGION[region])

    def where(group, value):                                           # (N, 1, 1): images with that value
        return (attrs[group] == ATTRIBUTES[group].index(value))[:, None, None]

    # tail: a band from the body's rear, backwards and slightly down; its shape sets its width and length
    length = torch.where(where("tail_shape", "long"), 0.62, 0.42)
    t = (-x - 0.30) / length
    centre = 0.04 + 0.30 * t * length
    width = torch.where(where("tail_shape", "pointed"), 0.11 * (1 - t) + 0.01,
                        torch.where(where("tail_shape", "rounded"), 0.10 + 0.05 * (1 - (2 * t - 1) ** 2), 0.09 + 0.05 * t))
    off = (y - centre).abs()
    notch = where("tail_shape", "forked") & (t > 0.65) & (off < 0.09 * (t - 0.55) / 0.45)
    paint((t >= 0) & (t <= 1) & (off < width) & ~notch, "tail")
    paint((((x - 0.02).abs() < 0.022) | ((x - 0.13).abs() < 0.022)) & (y > 0.25) & (y < 0.56), "leg")
    # body: back above, breast in front below, belly behind below; breast markings
    body, _ = _ellipse(x, y, 0.0, 0.05, 0.46, 0.29, -0.12)
    paint(body & (y < 0.0), "back")
    under = body & (y >= 0.0)
    paint(under & (x > -0.04), "breast")
    paint(under & (x <= -0.04), "belly")
    spots = (((x * 11) % 1 - 0.5) ** 2 + ((y * 11 + 0.3 * (x * 11).floor()) % 1 - 0.5) ** 2) < 0.07
    paint(under & ((where("breast_pattern", "spotted") & spots) | (where("breast_pattern", "striped") & ((x * 12) % 1 < 0.3))),
          "marking")
    # wing, with its pattern in the accent colour
    wing, wu = _ellipse(x, y, -0.10, 0.0, 0.33, 0.15, 0.25)
    paint(wing, "wing")
    pattern = (where("wing_pattern", "spotted") & ((((wu * 12) % 1 - 0.5) ** 2 + ((y * 12) % 1 - 0.5) ** 2) < 0.06)) \
        | (where("wing_pattern", "striped") & (((wu + 0.02).abs() < 0.03) | ((wu - 0.10).abs() < 0.03))) \
        | (where("wing_pattern", "multi-colored") & (wu < -0.13))
    paint(wing & pattern, "accent")
    # head: crown above, throat below; crest, eyebrow, mask, eye ring, eye
    hx, hy, r = 0.42, -0.25, 0.19
    head, _ = _ellipse(x, y, hx, hy, r, r)
    crest = where("head_pattern", "crested") & (y < hy - r + 0.04) & (y > hy - r - 0.16) & (x > hx - 0.17) \
        & (x < hx + 0.02) & ((x - (hx - 0.17)) / 0.19 > (hy - r + 0.04 - y) / 0.20)
    paint((head & (y < hy - 0.02)) | crest, "crown")
    paint(head & (y >= hy - 0.02), "throat")
    ex, ey = hx + 0.07, hy - 0.04
    eye_distance = ((x - ex) ** 2 + (y - ey) ** 2).sqrt()
    paint(head & where("head_pattern", "eyebrow") & ((y - (ey - 0.075)).abs() < 0.028) & ((x - ex).abs() < 0.12), "accent")
    paint(head & where("head_pattern", "masked") & ((y - ey).abs() < 0.045) & (x > hx - 0.12), "black")
    paint(where("head_pattern", "eyering") & (eye_distance < 0.075), "accent")
    paint(eye_distance < 0.048, "eye")
    paint(eye_distance < 0.022, "black")
    # bill: forward from the face; its length and shape set its profile
    bill_length = torch.tensor([0.13, 0.22, 0.36])[attrs["bill_length"]][:, None, None]
    base = torch.tensor([0.10, 0.07, 0.075, 0.05, 0.035, 0.075])[attrs["bill_shape"]][:, None, None]
    tb = (x - (hx + r - 0.03)) / bill_length
    droop = torch.where(where("bill_shape", "curved"), 0.30 * tb ** 2 * bill_length,
                        torch.where(where("bill_shape", "hooked"), 0.07 * ((tb - 0.7).clamp(min=0) / 0.3) ** 2, 0.0))
    profile = torch.where(where("bill_shape", "flat"), base * (0.9 - 0.3 * tb), base * (1 - tb))
    paint((tb >= 0) & (tb <= 1) & ((y - (hy + 0.03) - droop).abs() < profile + 0.01), "bill")

    # colours: one table per image (regions × RGB), jittered; the background is its setting's scene
    table = torch.empty(n, len(REGIONS), 3)
    for region in REGIONS[1:]:
        group = {"marking": None, "black": None}.get(region, region)
        table[:, _REGION[region]] = RGB[attrs[group]] if group is not None else \
            RGB[COLOURS.index("brown" if region == "marking" else "black")] * (0.6 if region == "marking" else 1.0)
    table = (table * draws["jitter"]).clamp(0, 1)
    image = table[torch.arange(n)[:, None, None], label].permute(0, 3, 1, 2)       # (N, 3, H, W)
    texture = F.interpolate(draws["texture"], size=(size, size), mode="bicubic", align_corners=False)[:, 0]
    background = _background(attrs["setting"], u, v, texture, draws["tone"], x, y)
    image = torch.where((label == 0)[:, None], background, image)
    sheen = torch.zeros(n, size, size, dtype=torch.bool)
    iridescent = COLOURS.index("iridescent")
    for region in ("back", "wing", "crown"):
        sheen |= (label == _REGION[region]) & (attrs[region] == iridescent)[:, None, None]
    shimmer = 0.12 * torch.sin(9 * u + 5 * v) * sheen                                # (N, H, W)
    image = image + shimmer[:, None] * torch.tensor([0.3, -1.0, 1.0])[None, :, None, None]
    image = image + 0.025 * torch.randn(image.shape, generator=noise_gen)
    return (image.clamp(0, 1) * 255).round().to(torch.uint8)


def _background(setting: Tensor, u: Tensor, v: Tensor, texture: Tensor, tone: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """The scene behind the bird, per image ``(N, 3, H, W)`` in [0, 1]: foliage with a branch under the
    feet, sky, grass, water or ground (:data:`SETTINGS`), each with low-frequency texture; each image's scene
    is computed for the images of that setting only."""
    n, size = len(setting), u.shape[-1]
    out = torch.empty(n, 3, size, size)

    def rgb(r, g_, b):
        return torch.tensor([r, g_, b])[None, :, None, None]

    down = ((v + 1) / 2)[None, None]                                   # 0 at the top, 1 at the bottom
    for index, name in enumerate(SETTINGS):
        rows = torch.nonzero(setting == index).flatten()
        if len(rows) == 0:
            continue
        t, tn = texture[rows, None] * 0.05, tone[rows, None, None, None]
        horizon = (v[None, None] > 0.1 + 0.1 * tn)
        if name == "branch":
            scene = rgb(0.35, 0.50, 0.30) + 0.12 * (tn - 0.5) + 2 * t
            band = ((y[rows] - 0.58 - 0.15 * x[rows]).abs() < 0.05)[:, None]
            scene = torch.where(band, rgb(0.38, 0.26, 0.15), scene)
        elif name == "sky":
            scene = rgb(0.55, 0.72, 0.92) * (1 - 0.25 * down) + rgb(0.15, 0.12, 0.05) * down * 0.5 + 0.1 * tn + t
        elif name == "grass":
            scene = torch.where(horizon, rgb(0.30, 0.55, 0.20) + 3 * t * torch.sin(40 * u).abs(), rgb(0.78, 0.84, 0.86) + t)
        elif name == "water":
            scene = rgb(0.25, 0.42, 0.55) + 0.05 * torch.sin(18 * v + 3 * texture[rows, None]) + 0.1 * (tn - 0.5)
        else:
            scene = torch.where(horizon, rgb(0.60, 0.48, 0.32) + 3 * t, rgb(0.72, 0.70, 0.62) + 0.1 * (tn - 0.5))
        out[rows] = scene.expand(len(rows), 3, size, size)
    return out.clamp(0, 1)


# ---------------------------------------------------------------------------------------------------------
# The stand-in's image features: an untrained random convolutional network (not ResNet, not ImageNet)
# ---------------------------------------------------------------------------------------------------------

class RandomConvFeatures(torch.nn.Module):
    """2048-d image features from a fixed, untrained convolutional network whose weights are drawn from
    ``seed`` (He-normal, no biases): 3→48 (5×5, stride 2), 48→128 and 128→256 (3×3, stride 2), ReLU after
    each, a 2×2 average pool, a 1×1 convolution 256→2048 with ReLU, and the global average over positions,
    like ResNet's pooled output. :func:`generate` divides them by one constant so that the training
    images' features average 0.5 (non-negative, like ResNet's pooled features). Inputs: uint8 images
    ``(N, 3, H, W)``, read as [0, 1] without normalisation (as the paper's pipeline fed ResNet)."""

    def __init__(self, seed: int, feature_dim: int = FEATURE_DIM):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        shapes = [(48, 3, 5, 5), (128, 48, 3, 3), (256, 128, 3, 3), (feature_dim, 256, 1, 1)]
        for i, shape in enumerate(shapes):
            fan_in = shape[1] * shape[2] * shape[3]
            self.register_buffer(f"w{i}", torch.randn(shape, generator=g) * math.sqrt(2.0 / fan_in))

    @torch.no_grad()
    def forward(self, images: Tensor, batch_size: int = 256) -> Tensor:
        out = []
        for start in range(0, len(images), batch_size):
            h = images[start:start + batch_size].float() / 255
            h = F.relu(F.conv2d(h, self.w0, stride=2, padding=2))
            h = F.relu(F.conv2d(h, self.w1, stride=2, padding=1))
            h = F.avg_pool2d(F.relu(F.conv2d(h, self.w2, stride=2, padding=1)), 2)
            out.append(F.relu(F.conv2d(h, self.w3)).mean((2, 3)))
        return torch.cat(out)


@dataclass
class StandinSplit:
    """One split of the stand-in: images uint8 ``(N, 3, 64, 64)``, species ``(N,)``, attributes
    ``{group: (N,)}`` (and ``setting``), captions (10 strings per image) and 2048-d features ``(N, 2048)``."""

    images: Tensor
    species: Tensor
    attributes: dict[str, Tensor]
    captions: list[list[str]]
    features: Tensor


def generate(seed: int, images_per_class: int) -> dict[str, StandinSplit]:
    """The stand-in's two splits: ``images_per_class`` images of each of the 200 species (150 for training,
    50 for test, drawn with ``seed``), rendered, captioned ten times and encoded by
    :class:`RandomConvFeatures` seeded with ``seed``. Deterministic in ``seed``."""
    from mmvae_lib.experiments.cub.standin_captions import write_captions  # imports this module

    if isinstance(images_per_class, bool) or not isinstance(images_per_class, int) or images_per_class < 1:
        raise ValueError(f"images_per_class must be an integer >= 1, got {images_per_class!r}")
    g = torch.Generator().manual_seed(seed)
    proto = species_prototypes(g)
    split = class_split(g)
    network = RandomConvFeatures(seed)
    out = {}
    for name in ("train", "test"):
        species = split[name].repeat_interleave(images_per_class)
        attrs = individuals(proto, species, g)
        images = render(attrs, g)
        captions = write_captions(attrs, random.Random(2 * seed + (name == "test")))
        out[name] = StandinSplit(images, species, attrs, captions, network(images))
    normaliser = out["train"].features.mean() / 0.5            # the training features average 0.5
    for split_data in out.values():
        split_data.features = split_data.features / normaliser
    return out
