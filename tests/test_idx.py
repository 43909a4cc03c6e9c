import gzip
import re
import shutil
import struct

import pytest
import torch

from dlref.data.idx import IDXError, read_idx, write_idx

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def raw(root, name):
    return root / "MNIST" / "raw" / name


def test_reads_the_real_files_shaped_by_their_headers(mnist_root):
    X = read_idx(raw(mnist_root, "train-images-idx3-ubyte"))
    t = read_idx(raw(mnist_root, "train-labels-idx1-ubyte"))
    assert X.shape == (60000, 28, 28) and X.dtype == torch.uint8
    assert t.shape == (60000,) and t.dtype == torch.uint8
    assert read_idx(raw(mnist_root, "t10k-images-idx3-ubyte")).shape == (10000, 28, 28)
    assert t.bincount().tolist() == TRAIN_COUNTS
    assert read_idx(raw(mnist_root, "t10k-labels-idx1-ubyte")).bincount().tolist() == TEST_COUNTS
    counts = torch.bincount(X.flatten(), minlength=256).double()  # exact statistics from the histogram
    values = torch.arange(256, dtype=torch.float64) / 255
    mean = (counts * values).sum() / counts.sum()
    std = ((counts * (values - mean) ** 2).sum() / (counts.sum() - 1)).sqrt()
    assert mean.item() == pytest.approx(0.1307, abs=5e-5) and std.item() == pytest.approx(0.3081, abs=5e-5)


def test_gzip_is_told_by_its_magic_bytes_not_its_suffix(mnist_root, tmp_path):
    plain = raw(mnist_root, "t10k-images-idx3-ubyte")
    packed = gzip.compress(plain.read_bytes(), compresslevel=1)
    (tmp_path / "images.gz").write_bytes(packed)
    (tmp_path / "images-no-suffix").write_bytes(packed)
    shutil.copy(plain, tmp_path / "plain.gz")  # a plain file with a misleading suffix
    expected = read_idx(plain)
    for name in ("images.gz", "images-no-suffix", "plain.gz"):
        assert torch.equal(read_idx(tmp_path / name), expected)


def test_values_are_big_endian_for_every_type_code(tmp_path):
    cases = [(0x08, "B", torch.uint8, [0, 7, 255]), (0x09, "b", torch.int8, [-128, 0, 127]),
             (0x0B, "h", torch.int16, [258, -2, 32767]), (0x0C, "i", torch.int32, [16909060, -1, 2**31 - 1]),
             (0x0D, "f", torch.float32, [1.5, -0.25, 3e38]), (0x0E, "d", torch.float64, [1e-300, -2.5, 1e300])]
    for code, fmt, dtype, values in cases:
        path = tmp_path / f"type-{code:02x}"
        path.write_bytes(bytes([0, 0, code, 2]) + struct.pack(">2I", 1, 3) + struct.pack(f">3{fmt}", *values))
        X = read_idx(path)
        assert X.dtype == dtype and X.shape == (1, 3)
        assert torch.equal(X, torch.tensor([values], dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), (0, 3), ()])
def test_write_idx_round_trips(tmp_path, dtype, shape):
    X = (torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 100).to(dtype)
    for compress in (False, True):
        path = write_idx(tmp_path / f"x-{compress}", X, compress=compress)
        assert path.read_bytes()[:2] == (b"\x1f\x8b" if compress else bytes([0, 0]))
        Y = read_idx(path)
        assert Y.dtype == dtype and Y.shape == X.shape and torch.equal(Y, X)


def test_write_idx_refuses_types_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="expected a tensor of dtype"):
        write_idx(tmp_path / "x", torch.zeros(3, dtype=torch.int64))


LABELS = bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + bytes([3, 1, 4, 1, 5])  # a valid 1-D uint8 file


@pytest.mark.parametrize("data,message", [
    (b"", "is empty"),
    (b"\x00\x00", "not an IDX file"),
    (b"PK\x03\x04" + LABELS[4:], "not an IDX file.*found 0x504b0304"),  # a zip, say
    (LABELS[:2] + b"\x0a" + LABELS[3:], "not an IDX file.*found 0x00000a01"),  # unknown type code 0x0a
    (LABELS[:6], "truncated: expected a 8-byte header"),
    (LABELS[:-1], r"truncated: expected 13 bytes for shape \(5,\) of torch.uint8, found 12"),
    (LABELS + b"\x00", "followed by extra bytes: expected 13 bytes.*found 14"),
    (gzip.compress(LABELS)[:-10], "cannot be decompressed"),
])
def test_damaged_files_raise_idx_error_naming_the_file(tmp_path, data, message):
    path = tmp_path / "damaged-labels-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(IDXError, match=re.escape(str(path)) + ".*" + message) as info:
        read_idx(path)
    assert isinstance(info.value, ValueError)
    assert str(info.value).endswith("download it again.")


def test_truncated_and_padded_real_files_are_refused(mnist_root, tmp_path):
    data = raw(mnist_root, "train-labels-idx1-ubyte").read_bytes()
    (tmp_path / "short").write_bytes(data[:-100])
    (tmp_path / "long").write_bytes(data + b"\x00" * 3)
    with pytest.raises(IDXError, match="short is truncated: expected 60008 bytes .* found 59908"):
        read_idx(tmp_path / "short")
    with pytest.raises(IDXError, match="long is followed by extra bytes: expected 60008 bytes .* found 60011"):
        read_idx(tmp_path / "long")
    assert read_idx(raw(mnist_root, "train-labels-idx1-ubyte")).tolist() == list(data[8:])
