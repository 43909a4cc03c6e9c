"""IDX — the file format MNIST ships in, read straight into a tensor.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim``
big-endian uint32 sizes, then the values, big-endian, in C order. MNIST's
images are ``0x00000803`` (uint8, 3-D: ``(N, 28, 28)``) and its labels
``0x00000801`` (uint8, 1-D: ``(N,)``). Files may be gzip-compressed (as they
are on the mirrors); ``read_idx`` tells by the gzip magic bytes, not the suffix.

The values are read with one ``torch.frombuffer``: no per-element Python work.
Torch twin: none in torch itself; ``torchvision.datasets.mnist.read_sn3_pascalvincent_tensor``.
"""

import ctypes
import gzip
import math
import struct
import sys
import zlib
from pathlib import Path

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
_REMEDY = "delete it and download it again"


class IDXError(ValueError):
    """A file that is not a valid IDX file, or not the IDX file that was expected."""


def _read_bytes(path: Path) -> bytearray:
    # A writable buffer, so torch.frombuffer shares it instead of warning.
    with open(path, "rb") as f:
        buf = bytearray(path.stat().st_size)
        n = f.readinto(buf)
        del buf[n:]
    if buf[:2] == GZIP_MAGIC:
        try:
            buf = bytearray(gzip.decompress(buf))
        except (EOFError, OSError, zlib.error) as e:
            raise IDXError(f"{path} starts like a gzip file but cannot be decompressed ({e}); {_REMEDY}.") from e
    return buf


def read_idx(path) -> torch.Tensor:
    """The array stored in the IDX file ``path`` (plain or gzip), shaped and typed by its header."""
    path = Path(path)
    buf = _read_bytes(path)
    if not buf:
        raise IDXError(f"{path} is empty, expected an IDX file with a 4-byte magic number and data; {_REMEDY}.")
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] not in IDX_TYPES:
        found = "0x" + buf[:4].hex()
        raise IDXError(
            f"{path} is not an IDX file: expected a magic number 0x0000TTNN with type code TT in "
            f"{', '.join(f'{t:02x}' for t in IDX_TYPES)}, found {found}; {_REMEDY}."
        )
    dtype, size = IDX_TYPES[buf[2]]
    ndim, header = buf[3], 4 + 4 * buf[3]
    if len(buf) < header:
        raise IDXError(
            f"{path} is truncated: expected a {header}-byte header for {ndim} dimensions, found {len(buf)} bytes; "
            f"{_REMEDY}."
        )
    shape = struct.unpack(f">{ndim}I", buf[4:header])
    count = math.prod(shape)
    expected = header + count * size
    if len(buf) != expected:
        what = "truncated" if len(buf) < expected else "followed by extra bytes"
        raise IDXError(
            f"{path} is {what}: expected {expected} bytes for shape {shape} of {dtype}, found {len(buf)}; "
            f"{_REMEDY}."
        )
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    X = torch.frombuffer(buf, dtype=torch.uint8, offset=header, count=count * size)
    if size > 1 and sys.byteorder == "little":
        X = X.view(count, size).flip(-1).contiguous()  # big-endian -> native, one copy
    return X.view(dtype).view(shape)


def write_idx(path, X: torch.Tensor, compress: bool = False) -> Path:
    """Write ``X`` to ``path`` as an IDX file (gzip-compressed if ``compress``); the inverse of ``read_idx``."""
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
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path
