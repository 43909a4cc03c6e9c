import re
import struct

import pytest
import torch
from torchvision.datasets import mnist as tv_mnist

from dlref.data.idx import IDXError, header, write_idx

NAMES = {"train-images-idx3-ubyte": (60000, 28, 28), "train-labels-idx1-ubyte": (60000,),
         "t10k-images-idx3-ubyte": (10000, 28, 28), "t10k-labels-idx1-ubyte": (10000,)}


def test_header_of_the_real_files_agrees_with_torchvisions_reader(mnist_root):
    for name, shape in NAMES.items():
        path = mnist_root / "MNIST" / "raw" / name
        dtype, found = header(path)
        twin = tv_mnist.read_sn3_pascalvincent_tensor(str(path))
        assert (dtype, found) == (torch.uint8, shape) == (twin.dtype, tuple(twin.shape))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), (1, 3)])
def test_torchvision_reads_back_what_write_idx_writes(tmp_path, dtype, shape):
    X = (torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 100).to(dtype)
    path = write_idx(tmp_path / "x", X)
    assert header(path) == (dtype, shape)
    Y = tv_mnist.read_sn3_pascalvincent_tensor(str(path))
    assert Y.dtype == dtype and torch.equal(Y, X)


def test_values_are_big_endian_as_the_format_says(tmp_path):
    X = torch.tensor([[258, -2, 32767]], dtype=torch.int16)
    data = write_idx(tmp_path / "x", X).read_bytes()
    assert data == bytes([0, 0, 0x0B, 2]) + struct.pack(">2I", 1, 3) + struct.pack(">3h", 258, -2, 32767)


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
    (b"\x1f\x8b\x08\x00" + bytes(20), "gzip-compressed.*gunzip"),
])
def test_damaged_files_raise_idx_error_naming_the_file(tmp_path, data, message):
    path = tmp_path / "damaged-labels-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(IDXError, match=re.escape(str(path)) + ".*" + message) as info:
        header(path)
    assert isinstance(info.value, ValueError)
    assert str(info.value).endswith("download it again.")


def test_truncated_and_padded_real_files_are_refused(mnist_root, tmp_path):
    data = (mnist_root / "MNIST" / "raw" / "train-labels-idx1-ubyte").read_bytes()
    (tmp_path / "short").write_bytes(data[:-100])
    (tmp_path / "long").write_bytes(data + b"\x00" * 3)
    with pytest.raises(IDXError, match="short is truncated: expected 60008 bytes .* found 59908"):
        header(tmp_path / "short")
    with pytest.raises(IDXError, match="long is followed by extra bytes: expected 60008 bytes .* found 60011"):
        header(tmp_path / "long")


def test_a_file_that_cannot_be_read_is_one_sentence(tmp_path):
    (tmp_path / "x").mkdir()  # open() fails with an OSError, as it does for a file without read permission
    with pytest.raises(IDXError, match="could not read .*x: expected a readable file, found .*chmod"):
        header(tmp_path / "x")
