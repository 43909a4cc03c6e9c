"""dlref.data.images: your own pictures brought to MNIST's form, the way MNIST itself was made."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from dlref.data import MNIST_MEAN, MNIST_STD, normalize
from dlref.data.images import ImageError, digit, find_images, read_digits, read_image, to_mnist
from dlref.lightning import MNISTDataModule

ROWS, COLS = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")


def centre_of_mass(image: torch.Tensor) -> tuple[float, float]:
    m = image.float()
    return float((m * ROWS).sum() / m.sum()), float((m * COLS).sum() / m.sum())


def box(image: torch.Tensor) -> tuple[int, int]:
    """Height and width of the rows and columns that hold ink."""
    return int(image.any(dim=1).sum()), int(image.any(dim=0).sum())


def seven(size=(200, 260), mode="L", paper=255, ink=0, width=18) -> Image.Image:
    image = Image.new(mode, size, paper)
    ImageDraw.Draw(image).line([(40, 50), (160, 50), (90, 230)], fill=ink, width=width)
    return image


def test_mnist_own_digits_come_back_almost_unchanged(mnist):
    # MNIST's digits already have the form: a 20-pixel box, centred by mass. Redoing it moves the faint
    # edge pixels (<= NOISE, 25 of 255) and, for a few digits, shifts or rescales by a pixel.
    X = mnist.test_images[:1000]
    Y = torch.stack([to_mnist(x) for x in X])
    worst = (Y.int() - X.int()).abs().amax(dim=(1, 2))
    assert (worst <= 25).float().mean() >= 0.97  # measured: 98.5% of these 1,000
    assert sum(max(box(y)) == 20 for y in Y) >= 995  # measured: 999 (one is 19 pixels high)
    centres = torch.tensor([centre_of_mass(y) for y in Y])
    assert torch.allclose(centres.mean(0), torch.tensor([14.0, 14.0]), atol=0.1)
    assert (centres - 14).abs().max() <= 0.5  # a whole-pixel shift puts it within half a pixel


def test_light_paper_is_inverted_and_a_large_picture_with_a_margin_is_the_same_digit(mnist, tmp_path):
    x = mnist.test_images[0]
    assert (to_mnist(255 - x).int() - to_mnist(x).int()).abs().max() <= 1
    big = Image.new("L", (400, 360), 0)
    big.paste(Image.fromarray(x.numpy()).resize((280, 280), Image.BILINEAR), (30, 50))  # off centre
    big.save(tmp_path / "big.png")
    assert (to_mnist(tmp_path / "big.png").float() - to_mnist(x).float()).abs().mean() < 10  # of 255


def unevenly_lit() -> Image.Image:
    """Blue ink on cream paper, lit from the right: the paper's level drifts by 45 of 255 across the picture."""
    ink = np.array(seven())[..., None] < 128
    light = np.linspace(-30, 15, 200)[None, :, None]
    rgb = np.where(ink, np.array([40, 50, 140]) + light * 0.3, np.array([235, 225, 200]) + light)
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


@pytest.mark.parametrize("name,image", [
    ("unevenly_lit_photo.jpg", unevenly_lit()),  # the paper's dark edge must not widen the crop
    ("grey.png", seven()),
    ("rgb.jpg", seven(mode="RGB", paper=(240, 230, 200), ink=(30, 40, 150))),  # blue ink on cream paper
    ("rgba_black_ink_on_transparent.png", seven(mode="RGBA", paper=(0, 0, 0, 0), ink=(0, 0, 0, 255))),
    ("rgba_white_ink_on_transparent.png", seven(mode="RGBA", paper=(255, 255, 255, 0), ink=(255, 255, 255, 255))),
    ("sixteen_bit.png", seven(mode="I;16", paper=60000, ink=1000)),
    ("grey.bmp", seven()),  # torchvision.io does not decode BMP: PIL does
    ("palette.gif", seven(mode="RGB", paper=(255, 255, 255), ink=(200, 0, 0)).convert("P")),
    ("white_on_black.png", seven(paper=0, ink=255)),
])
def test_every_kind_of_picture_gives_the_same_mnist_digit(name, image, tmp_path):
    image.save(tmp_path / name)
    assert read_image(tmp_path / name).shape == (260, 200)
    x = to_mnist(tmp_path / name)
    assert x.dtype == torch.uint8 and x.shape == (28, 28) and box(x) == (20, 13)
    assert np.allclose(centre_of_mass(x), (14, 14), atol=0.5)
    reference = to_mnist(np.array(seven()))
    assert (x.float() - reference.float()).abs().mean() < 6  # JPEG, colour and grey levels differ a little


def test_digit_is_the_datamodules_input_for_a_file_or_an_array(mnist, tmp_path):
    x = mnist.test_images[7]
    Image.fromarray(x.numpy()).save(tmp_path / "seven.png")
    X = digit(tmp_path / "seven.png")
    assert X.shape == (1, 1, 28, 28) and X.dtype == torch.float32
    assert torch.equal(X, MNISTDataModule().transform(to_mnist(x)[None]))  # the same mean and std as training
    assert torch.equal(X, normalize(to_mnist(x)[None], MNIST_MEAN, MNIST_STD))
    assert torch.equal(digit(x), X) and torch.equal(digit(x.numpy()), X)
    assert torch.allclose(digit(x.float() / 255), X, atol=0.02)  # float 0..1: at most a level of rounding
    with Image.open(tmp_path / "seven.png") as image, warnings.catch_warnings():
        warnings.simplefilter("error")  # the README's np.asarray(Image.open(f)) is read-only: no torch warning
        assert torch.equal(digit(np.asarray(image)), X)


def test_thin_strokes_on_a_large_picture_keep_full_ink():
    # A paint brush of 4 pixels on a 1000-pixel canvas shrinks to a fifth of a pixel: stretched back to full ink.
    image = Image.new("L", (1000, 1000), 255)
    ImageDraw.Draw(image).line([(200, 250), (800, 250), (450, 900)], fill=0, width=4)
    x = to_mnist(image)
    assert int(x.max()) == 255 and box(x)[0] == 20


def test_arrays_in_numpy_and_pil_layouts_and_masks_are_the_same_digit(tmp_path):
    reference = to_mnist(np.array(seven()))
    rgb = seven(mode="RGB", paper=(255, 255, 255), ink=(0, 0, 0))
    assert torch.equal(to_mnist(np.array(rgb)), reference)  # (H, W, 3), as numpy and PIL lay it out
    assert torch.equal(to_mnist(np.array(rgb.convert("RGBA"))), reference)  # (H, W, 4)
    assert torch.equal(to_mnist(rgb), reference)  # a PIL image itself
    mask = np.array(seven()) > 128  # bool: True is white paper
    assert (to_mnist(mask).float() - reference.float()).abs().mean() < 6
    assert torch.equal(to_mnist(mask.astype(int)), to_mnist(mask))  # a 0/1 integer mask reads the same


def test_a_photo_turned_by_its_exif_orientation_is_read_upright(tmp_path):
    upright = seven(mode="RGB", paper=(255, 255, 255), ink=(0, 0, 0))
    upright.save(tmp_path / "upright.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the pixels are stored turned; a viewer rotates them 90° clockwise
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "phone.jpg", exif=exif)
    assert read_image(tmp_path / "phone.jpg").shape == read_image(tmp_path / "upright.jpg").shape == (260, 200)
    assert (to_mnist(tmp_path / "phone.jpg").float() - to_mnist(tmp_path / "upright.jpg").float()).abs().mean() < 3


def test_find_images_reads_files_folders_and_globs_each_once(tmp_path):
    for name in ("b.png", "a.jpg", "c.bmp"):
        seven().save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a digit")
    assert [p.name for p in find_images(tmp_path)] == ["a.jpg", "b.png", "c.bmp"]  # a folder: its images only
    assert [p.name for p in find_images(str(tmp_path / "*.png"))] == ["b.png"]
    assert [p.name for p in find_images(str(tmp_path / "*"))] == ["a.jpg", "b.png", "c.bmp"]  # a glob: images too
    seven().save(tmp_path / "digit[1].png")  # an existing name with glob characters is that file
    assert [p.name for p in find_images(str(tmp_path / "digit[1].png"))] == ["digit[1].png"]
    (tmp_path / "digit[1].png").unlink()
    assert [p.name for p in find_images([str(tmp_path / "b.png"), str(tmp_path)])] == ["b.png", "a.jpg", "c.bmp"]
    images, paths = read_digits(str(tmp_path / "*.[pj]*g"))
    assert images.shape == (2, 28, 28) and images.dtype == torch.uint8 and [p.name for p in paths] == ["a.jpg", "b.png"]


BAD = [
    ("a file that is not an image", lambda d: (d / "x.png").write_text("hello") and d / "x.png",
     r"expected an image \(PNG, JPEG, BMP, GIF, WebP or TIFF\), found .*x.png, which neither"),
    ("an empty picture", lambda d: Image.new("L", (50, 40), 200).save(d / "blank.png") or d / "blank.png",
     r"found no ink.*at most 0% of black to white \(a blank image\)"),
    ("a faint smudge", lambda d: seven(paper=200, ink=190).save(d / "faint.png") or d / "faint.png", "found no ink"),
    ("a path that does not exist", lambda d: d / "nope.png", "found no file or folder at .*nope.png"),
    ("a folder with no images", lambda d: (d / "empty").mkdir() or d / "empty", "expected image files .* found none"),
    ("a glob that matches nothing", lambda d: str(d / "*.png"), "matching .* found none; check the pattern"),
    ("an empty list", lambda d: [], "found an empty list"),
    ("a stack of pictures", lambda d: np.zeros((2, 28, 28), np.uint8),
     r"shape \(H, W\) or \(H, W, 3 or 4\), found shape \(2, 28, 28\)"),
    ("already normalised", lambda d: digit(np.array(seven()))[0, 0], r"pixels in 0..1 .* found values -0.424"),
]


@pytest.mark.parametrize("name,make,pattern", BAD, ids=[row[0] for row in BAD])
def test_a_bad_input_is_one_sentence(name, make, pattern, tmp_path):
    source = make(tmp_path)
    with pytest.raises(ImageError, match=pattern) as error:
        read_digits(source) if isinstance(source, (str, list)) or not hasattr(source, "shape") else to_mnist(source)
    message = str(error.value)
    assert message.count("; ") >= 1 and "\n" not in message and "Traceback" not in message
