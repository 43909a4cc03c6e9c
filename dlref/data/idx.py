"""IDX — the file format MNIST ships in: what is in a file, checked before torchvision reads it.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes, then the
values, big-endian, in C order: MNIST's images are ``0x00000803`` (uint8 ``(N, 28, 28)``), its labels ``0x00000801``
(uint8 ``(N,)``). A damaged file ends in a bare ``AssertionError`` or a reshape error deep inside torchvision;
``header`` reads only the header and the file's size and says in one sentence what is wrong. ``write_idx`` writes a
tensor in the format (the tests' small MNIST-like folders). Torch twin:
``torchvision.datasets.mnist.read_sn3_pascalvincent_tensor`` (``tests/test_idx.py`` checks that both agree).
"""

import struct
from pathlib import Path

import torch
from torchvision.datasets.mnist import SN3_PASCALVINCENT_TYPEMAP as IDX_TYPES  # type code -> dtype, as torchvision

GZIP_MAGIC = b"\x1f\x8b"
_REMEDY = "move it away (or delete it) and download it again"


class IDXError(ValueError):
    """A file that is not a valid IDX file, or not the IDX file that was expected."""


def header(path) -> tuple[torch.dtype, tuple[int, ...]]:
    """``(dtype, shape)`` that an IDX file declares, after checking that its size matches them."""
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
        raise IDXError(f"{path} is not an IDX file: expected a magic number 0x0000TTNN with type code TT in "
                       f"{', '.join(f'{t:02x}' for t in IDX_TYPES)}, found 0x{magic.hex()}; {_REMEDY}.")
    dtype = IDX_TYPES[magic[2]]
    if len(sizes) < 4 * ndim:
        raise IDXError(f"{path} is truncated: expected a {4 + 4 * ndim}-byte header for {ndim} dimensions, "
                       f"found {size} bytes; {_REMEDY}.")
    shape = struct.unpack(f">{ndim}I", sizes)
    expected = 4 + 4 * ndim + dtype.itemsize * int(torch.Size(shape).numel())
    if size != expected:
        what = "truncated" if size < expected else "followed by extra bytes"
        raise IDXError(f"{path} is {what}: expected {expected} bytes for shape {shape} of {dtype}, found {size}; "
                       f"{_REMEDY}.")
    return dtype, shape


def write_idx(path, X: torch.Tensor) -> Path:
    """Write ``X`` to ``path`` as an IDX file, the format ``torchvision.datasets.MNIST`` reads."""
    codes = {dtype: code for code, dtype in IDX_TYPES.items()}
    if X.dtype not in codes:
        raise TypeError(f"write_idx expected a tensor of dtype {', '.join(str(d) for d in codes)}, found {X.dtype}; "
                        "convert it first, e.g. X.to(torch.uint8).")
    if X.dim() > 255:
        raise ValueError(f"write_idx expected at most 255 dimensions, found {X.dim()}; reshape the tensor.")
    values = X.detach().cpu().reshape(-1).numpy()  # flat, in C order
    header_bytes = bytes([0, 0, codes[X.dtype], X.dim()]) + struct.pack(f">{X.dim()}I", *X.shape)
    path = Path(path)
    path.write_bytes(header_bytes + values.astype(values.dtype.newbyteorder(">")).tobytes())  # values big-endian
    return path
