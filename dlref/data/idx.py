"""IDX — the file format MNIST ships in: what is in a file, checked before torchvision reads it.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim``
big-endian uint32 sizes, then the values, big-endian, in C order. MNIST's
images are ``0x00000803`` (uint8, 3-D: ``(N, 28, 28)``) and its labels
``0x00000801`` (uint8, 1-D: ``(N,)``).

``torchvision.datasets.MNIST`` reads these files, but a damaged one ends in a
bare ``AssertionError`` or a reshape error from deep inside it. ``header``
reads only the header and the file's size and says, in one sentence, what is
wrong; ``write_idx`` writes a tensor in the format (tests use it to make small
MNIST-like folders). Torch twin: ``torchvision.datasets.mnist.read_sn3_pascalvincent_tensor``
(``tests/test_idx.py`` checks both agree on the real files, and that it reads
what ``write_idx`` writes).
"""

import ctypes
import struct
import sys
from pathlib import Path
from typing import NamedTuple

import torch

# type code -> (dtype, bytes per value)
IDX_TYPES = {
    0x08: (torch.uint8, 1),
    0x09: (torch.int8, 1),
    0x0B: (torch.int16, 2),
    0x0C: (torch.int32, 4),
    0x0D: (torch.float32, 4),
    0x0E: (torch.float64, 8),
}
GZIP_MAGIC = b"\x1f\x8b"
_REMEDY = "move it away (or delete it) and download it again"


class IDXError(ValueError):
    """A file that is not a valid IDX file, or not the IDX file that was expected."""


class Header(NamedTuple):
    dtype: torch.dtype
    shape: tuple[int, ...]


def header(path) -> Header:
    """The dtype and shape an IDX file declares, after checking that its size matches them."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
            ndim = magic[3] if len(magic) == 4 else 0
            sizes = f.read(4 * ndim)
        size = path.stat().st_size
    except OSError as error:
        raise IDXError(f"could not read {path}: expected a readable file, found {error.strerror or error}; "
                       "check its permissions (e.g. chmod u+r FILE) or point the data folder elsewhere.") from None
    if not magic:
        raise IDXError(f"{path} is empty, expected an IDX file with a 4-byte magic number and data; {_REMEDY}.")
    if magic[:2] == GZIP_MAGIC:
        raise IDXError(f"{path} is gzip-compressed, expected the unpacked IDX file; unpack it with "
                       f"`gunzip -k`, or {_REMEDY}.")
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES:
        raise IDXError(
            f"{path} is not an IDX file: expected a magic number 0x0000TTNN with type code TT in "
            f"{', '.join(f'{t:02x}' for t in IDX_TYPES)}, found 0x{magic.hex()}; {_REMEDY}."
        )
    dtype, width = IDX_TYPES[magic[2]]
    if len(sizes) < 4 * ndim:
        raise IDXError(f"{path} is truncated: expected a {4 + 4 * ndim}-byte header for {ndim} dimensions, "
                       f"found {size} bytes; {_REMEDY}.")
    shape = struct.unpack(f">{ndim}I", sizes)
    expected = 4 + 4 * ndim + width * int(torch.Size(shape).numel())
    if size != expected:
        what = "truncated" if size < expected else "followed by extra bytes"
        raise IDXError(f"{path} is {what}: expected {expected} bytes for shape {shape} of {dtype}, found {size}; "
                       f"{_REMEDY}.")
    return Header(dtype, shape)


def write_idx(path, X: torch.Tensor) -> Path:
    """Write ``X`` to ``path`` as an IDX file, the format ``torchvision.datasets.MNIST`` reads."""
    codes = {dtype: code for code, (dtype, _) in IDX_TYPES.items()}
    if X.dtype not in codes:
        raise TypeError(
            f"write_idx expected a tensor of dtype {', '.join(str(d) for d in codes)}, found {X.dtype}; "
            "convert it first, e.g. X.to(torch.uint8)."
        )
    if X.dim() > 255:
        raise ValueError(f"write_idx expected at most 255 dimensions, found {X.dim()}; reshape the tensor.")
    data = bytes([0, 0, codes[X.dtype], X.dim()]) + struct.pack(f">{X.dim()}I", *X.shape)  # the header
    X = X.detach().cpu().reshape(-1).contiguous()
    if X.element_size() > 1 and sys.byteorder == "little":
        X = X.view(torch.uint8).view(-1, X.element_size()).flip(-1).contiguous()  # native -> big-endian
    if X.numel():
        data += ctypes.string_at(X.data_ptr(), X.numel() * X.element_size())  # the bytes, no Python loop
    path = Path(path)
    path.write_bytes(data)
    return path
