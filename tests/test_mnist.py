"""MNIST-format IDX loading: the real Fashion-MNIST files (Debian package), and broken files give clear errors."""

import gzip
import struct

import numpy as np
import pytest

from audiogen_hf.data.mnist import FASHION_MNIST_CLASSES, IDXFormatError, load_mnist, read_idx


def write_idx(path, array: np.ndarray, compress: bool = False, magic: bytes = None) -> None:
    header = (magic or bytes([0, 0, 0x08, array.ndim])) + b"".join(struct.pack(">I", n) for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def test_fashion_mnist_loads_with_its_real_sizes_and_class_names(fashion_mnist_root):
    test = load_mnist(fashion_mnist_root, split="test")
    assert len(test) == 10_000
    assert test.features["label"].names == FASHION_MNIST_CLASSES
    batch = test.with_format("numpy")[:500]
    images, labels = batch["image"], batch["label"]
    assert images.shape == (500, 28, 28) and test.features["image"].dtype == "uint8"
    assert set(labels.tolist()) == set(range(10))
    assert 40 < images.mean() < 120 and images.max() == 255  # real photos of clothes: dark background, bright items


@pytest.mark.parametrize("compress", [False, True])
def test_raw_and_gzip_idx_files_read_the_same(tmp_path, compress):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (7, 28, 28)), rng.integers(0, 3, 7)
    suffix = ".gz" if compress else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, compress)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, compress)
    dataset = load_mnist(tmp_path, split="train")
    assert dataset.features["label"].names == ["0", "1", "2"]
    assert (dataset.with_format("numpy")[:]["image"] == images).all()
    assert (np.asarray(dataset["label"]) == labels).all()


def test_wrong_magic_number_is_a_clear_error(tmp_path):
    write_idx(tmp_path / "bad", np.zeros((2, 4, 4)), magic=b"\x50\x4b\x03\x04")  # a zip file's magic
    with pytest.raises(IDXFormatError, match="not an IDX file .*504b0304"):
        read_idx(tmp_path / "bad")


def test_truncated_file_is_a_clear_error(tmp_path):
    write_idx(tmp_path / "full", np.zeros((5, 28, 28)))
    (tmp_path / "cut").write_bytes((tmp_path / "full").read_bytes()[:-100])
    with pytest.raises(IDXFormatError, match="truncated: header shape \\(5, 28, 28\\) needs 3920 bytes"):
        read_idx(tmp_path / "cut")
    (tmp_path / "cut.gz").write_bytes(gzip.compress((tmp_path / "full").read_bytes())[:-20])
    with pytest.raises(IDXFormatError, match="gzip stream is truncated"):
        read_idx(tmp_path / "cut.gz")


def test_missing_files_say_where_fashion_mnist_comes_from(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_mnist(tmp_path, split="test")
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist(tmp_path, split="validation")


def test_images_and_labels_of_different_lengths_are_refused(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 28, 28)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3))
    with pytest.raises(IDXFormatError, match="4 images but .* 3 labels"):
        load_mnist(tmp_path, split="test")
