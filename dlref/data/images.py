"""Your own digits — image files brought to MNIST's form, the way MNIST itself was made.

    X = digit("my_7.png")            # (1, 1, 28, 28) float32, ready for model.predict(X)
    images, paths = read_digits(["my_digits/*.png"])    # (N, 28, 28) uint8, like MNIST's files

MNIST's digits were scaled to fit a 20×20 box keeping their aspect ratio (the anti-aliasing gives the grey levels),
then placed in a 28×28 field with their centre of mass at its centre. ``to_mnist`` treats a photo or drawing the same:

1. grey (``rgb_to_grayscale``); transparent pixels are paper;
2. ink bright on dark, as in MNIST: the paper's level is the median of the picture's border; light paper is inverted;
3. the paper removed: levels stretched so that paper is 0 and the brightest ink 1, and anything within ``NOISE`` of
   the paper (JPEG ringing, grain) set to 0;
4. cropped to the ink (the box of what is above ``INK``, widened to its faint edge), the longer side resized to 20
   pixels (antialiased, aspect kept), and stretched again so that the brightest pixel is full ink (thin strokes fade);
5. placed in 28×28 with the ink's centre of mass on pixel (14, 14), where MNIST's 60,000 training digits have it on
   average (0-based row and column);
6. stored as uint8, like MNIST's files, so ``normalize`` (the training set's mean and std) makes the network's input
   from them exactly as from the test set.

Files are read with ``torchvision.io.decode_image`` (PNG, JPEG, GIF, WebP); BMP and TIFF go through PIL, which
torchvision itself depends on. Every problem with an input is an ``ImageError``: one sentence naming the file.
"""

import glob
import math
import warnings
from pathlib import Path

import torch
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2 import functional as F

from .mnist import MNIST_MEAN, MNIST_STD, normalize

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")  # what a folder is searched for
BOX, SIDE, CENTRE = 20, 28, 14  # MNIST: the digit's box, the field, where its centre of mass goes
NOISE = 0.1  # on the stretched 0..1 scale; MNIST's own digits keep their 20-pixel box above it (all but 16)
INK = 0.3  # surely ink, even on paper lit unevenly: where the crop starts
CONTRAST = 0.1  # the least difference between ink and paper that counts as a digit (0..1 scale)


class ImageError(ValueError):
    """An input that is not a picture of a digit: missing, unreadable, blank, or a folder without images."""


def find_images(sources) -> list[Path]:
    """Image files named by ``sources`` (a path, a folder, a glob, or a list of them), in order, each once."""
    found = {}
    for source in [sources] if isinstance(sources, (str, Path)) else sources:
        source = str(source)
        if Path(source).is_file():  # an existing name first, even one with [ ] in it
            matches = [Path(source)]
        elif any(c in source for c in "*?["):  # a pattern: the shell left it to us; its image files, as a folder's
            matches = [Path(p) for p in sorted(glob.glob(source, recursive=True))
                       if Path(p).is_file() and Path(p).suffix.lower() in SUFFIXES]
            if not matches:
                raise ImageError(f"expected image files ({', '.join(SUFFIXES)}) matching {source!r}, found none; check "
                                 "the pattern (quote it, e.g. --data.images 'my_digits/*.png', so the shell leaves it "
                                 "to dlref).")
        elif Path(source).is_dir():
            matches = sorted(p for p in Path(source).iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
            if not matches:
                raise ImageError(f"expected image files ({', '.join(SUFFIXES)}) in the folder {source}, found none; "
                                 "pass a folder that holds your digits, or the files themselves.")
        else:
            raise ImageError(f"expected an image file, a folder or a glob, found no file or folder at {source}; "
                             "check the path.")
        found.update(dict.fromkeys(matches))
    if not found:
        raise ImageError("expected at least one image, found an empty list; pass e.g. --data.images 'my_digits/*.png'.")
    return list(found)


def _decode(path: Path) -> torch.Tensor:
    """``(channels, H, W)`` uint8 or uint16, as stored (grey, grey + alpha, RGB or RGBA)."""
    try:
        with warnings.catch_warnings():
            # torchvision 0.29 announces that TorchCodec will take over its decoders; they are still the
            # public API of the pinned pair (constraints.txt). Move this call when the pin moves.
            warnings.filterwarnings("ignore", "The image decoding and encoding capabilities", DeprecationWarning)
            return decode_image(str(path), mode=ImageReadMode.UNCHANGED, apply_exif_orientation=True)  # a phone's
    except RuntimeError:  # a format torchvision.io does not decode (BMP, TIFF), or not an image at all
        pass
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return F.pil_to_tensor(ImageOps.exif_transpose(image).convert("RGBA"))
    except (UnidentifiedImageError, OSError, ValueError) as error:
        found = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        raise ImageError(f"expected an image (PNG, JPEG, BMP, GIF, WebP or TIFF), found {path}, which neither "
                         f"torchvision nor PIL can read ({found}); pass image files only.") from None


def read_image(path) -> torch.Tensor:
    """The picture in ``path`` as grey ``(H, W)`` float32 on the 0..1 scale, transparent parts made paper."""
    image = _decode(Path(path))
    image = image[0] if image.dim() == 4 else image  # an animated GIF: its first frame
    return _grey(F.to_dtype(image, torch.float32, scale=True))  # uint8 or uint16 → 0..1


def _grey(image: torch.Tensor) -> torch.Tensor:
    """``(channels, H, W)`` 0..1 (grey, grey + alpha, RGB or RGBA) as grey ``(H, W)``, transparent parts paper."""
    colour, alpha = (image[:-1], image[-1]) if len(image) in (2, 4) else (image, None)
    grey = F.rgb_to_grayscale(colour)[0] if len(colour) == 3 else colour[0]
    if alpha is not None and bool((alpha < 1).any()):
        # Strokes drawn on a transparent canvas: the paper behind them is whatever contrasts with the ink.
        ink = grey[alpha > 0.5]
        paper = 1.0 if len(ink) == 0 or float(ink.mean()) < 0.5 else 0.0
        grey = grey * alpha + paper * (1 - alpha)
    return grey


def _as_grey(image) -> torch.Tensor:
    """A path, a PIL image, or an array (uint8 0..255, float 0..1, or a 0/1 mask) of shape ``(H, W)`` or
    ``(H, W, 3 or 4)``, as grey ``(H, W)`` float32 0..1."""
    if isinstance(image, (str, Path)):
        return read_image(image)
    if hasattr(image, "getbands"):  # a PIL image
        return _grey(F.to_dtype(F.pil_to_tensor(image.convert("RGBA")), torch.float32, scale=True))
    # A copy: an array from np.asarray(Image.open(f)) is read-only, which torch.as_tensor would warn about.
    image = image if isinstance(image, torch.Tensor) else torch.tensor(image)
    if image.dim() == 3 and image.shape[-1] in (3, 4):  # (H, W, RGB or RGBA), as numpy and PIL lay it out
        return _grey(_unit_scale(image).permute(2, 0, 1))
    if image.dim() != 2:
        raise ImageError(f"expected an image of shape (H, W) or (H, W, 3 or 4), found shape {tuple(image.shape)}; "
                         "pass one picture, or a file path.")
    return _unit_scale(image)


def _unit_scale(image: torch.Tensor) -> torch.Tensor:
    """An array's pixels on the 0..1 scale: uint8 0..255, a bool or 0/1 integer mask, or float 0..1."""
    if image.numel() == 0:
        raise ImageError(f"expected a picture, found an empty array of shape {tuple(image.shape)}; pass a picture.")
    if not torch.is_floating_point(image):  # a bool or 0/1 mask (1 is white), or 0..255
        return image.float() if image.dtype == torch.bool or int(image.max()) <= 1 else image.float() / 255
    low, high = float(image.min()), float(image.max())
    if low < 0 or high > 1:
        raise ImageError(f"expected a float image with pixels in 0..1 (or uint8 0..255), found values {low:.3g}.."
                         f"{high:.3g}; pass raw pixels (an already normalised X goes to model.predict as it is).")
    return image.float()


def to_mnist(image) -> torch.Tensor:
    """A picture of one digit (a path, or an ``(H, W)`` array) as MNIST stores its digits: ``(28, 28)`` uint8."""
    grey = _as_grey(image)
    border = torch.cat([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    paper = float(border.median())
    if paper > 0.5:  # light paper, dark ink: MNIST's ink is bright on black
        grey, paper = 1 - grey, 1 - paper
    ink = float(grey.max()) - paper
    if ink < CONTRAST:
        where = f"{image}" if isinstance(image, (str, Path)) else "the image"
        raise ImageError(f"expected a digit in {where}, found no ink: its pixels differ from the paper's level by at "
                         f"most {ink:.0%} of black to white (a blank image); pass a picture with a digit drawn on it.")
    grey = ((grey - paper) / ink).clamp(0, 1)
    grey[grey <= NOISE] = 0
    # The box of what is surely ink, widened by one pixel at MNIST's scale for the anti-aliased edge, then
    # trimmed to what is above NOISE: paper lit unevenly far from the digit does not widen the crop.
    (top, left), (bottom, right) = (grey > INK).nonzero().aminmax(dim=0)
    edge = math.ceil(max(bottom - top + 1, right - left + 1) / BOX)
    crop = grey[max(top - edge, 0): bottom + edge + 1, max(left - edge, 0): right + edge + 1]
    rows, cols = crop.any(dim=1).nonzero().flatten(), crop.any(dim=0).nonzero().flatten()
    crop = crop[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]  # (h, w) around the ink
    h, w = crop.shape
    size = [max(1, round(BOX * h / max(h, w))), max(1, round(BOX * w / max(h, w)))]  # longer side 20
    box = F.resize(crop[None], size, antialias=True)[0].clamp(0, 1)
    box = box / box.max()  # thin strokes on a large picture fade when shrunk: their brightest pixel is full ink again
    # Centre of mass of the box, then the whole-pixel shift that puts it on (14, 14), kept inside the field.
    mass = box.sum()
    cy = float((box.sum(dim=1) * torch.arange(size[0])).sum() / mass)
    cx = float((box.sum(dim=0) * torch.arange(size[1])).sum() / mass)
    top = min(max(round(CENTRE - cy), 0), SIDE - size[0])
    left = min(max(round(CENTRE - cx), 0), SIDE - size[1])
    field = torch.zeros(SIDE, SIDE)
    field[top: top + size[0], left: left + size[1]] = box
    return (field * 255).round().to(torch.uint8)


def read_digits(sources) -> tuple[torch.Tensor, list[Path]]:
    """The digits in ``sources`` (paths, folders, globs) in MNIST's form: ``(N, 28, 28)`` uint8, and their paths."""
    paths = find_images(sources)
    return torch.stack([to_mnist(path) for path in paths]), paths


def digit(image, mean: float = MNIST_MEAN, std: float = MNIST_STD) -> torch.Tensor:
    """The network's input ``X`` for one digit (a path, or an ``(H, W)`` array): ``(1, 1, 28, 28)`` float32,
    brought to MNIST's form and normalised with the training set's ``mean`` and ``std``, as ``dlref predict``
    does. ``model.predict(X)`` then gives the logits ``(1, 10)``; ``.softmax(1)`` the probabilities."""
    return normalize(to_mnist(image)[None], mean, std)
