"""MNIST-format image sets: the IDX files of MNIST, Fashion-MNIST and friends (``.gz`` or raw), or a Hub id.

MNIST itself cannot be downloaded on an offline machine; Fashion-MNIST (same format: 60 000 train / 10 000 test real
28 x 28 grey images, 10 classes, MIT licence) ships as the Debian package ``dataset-fashion-mnist``, which
:func:`fetch_fashion_mnist` fetches like the corpus's other Debian sources (``apt-get download`` + ``dpkg-deb -x``).
"""

import gzip
import json
import logging
import shutil
from pathlib import Path
from typing import Optional, Union

import numpy as np

logger = logging.getLogger(__name__)

FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_DIR = "usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot"]
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MISSING_HINT = (
    "MNIST itself cannot be downloaded on an offline machine; Fashion-MNIST (same IDX format) ships as the Debian "
    "package dataset-fashion-mnist: `make corpus` puts it in data/corpus/fashion_mnist, or run "
    "`python -c \"from audiogen_hf.data import fetch_fashion_mnist; fetch_fashion_mnist('data/fashion_mnist')\"`. "
    "With network access, a Hub id such as 'ylecun/mnist' or 'zalando-datasets/fashion_mnist' works too."
)


class IDXFormatError(ValueError):
    """An IDX file that is not one (wrong magic number) or is shorter than its header says (truncated)."""


def read_idx(path: Union[str, Path]) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw, told apart by content) into a numpy array of its declared shape.

    Raises ``IDXFormatError`` for a wrong magic number, an unknown type code or truncated data.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError) as exc:
            raise IDXFormatError(f"{path}: the gzip stream is truncated or corrupt ({exc}); re-download the file") \
                from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES or raw[3] == 0:
        raise IDXFormatError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'}; expected "
                             "00 00 <type 08-0e> <ndim>, e.g. 00000803 for images, 00000801 for labels)")
    dtype, ndim = np.dtype(IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXFormatError(f"{path}: truncated IDX header ({len(raw)} bytes, {ndim} dimensions need {header})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        what = "truncated" if len(raw) - header < expected else "longer than its header says"
        raise IDXFormatError(f"{path}: IDX data is {what}: header shape {shape} needs {expected} bytes, the file "
                             f"holds {len(raw) - header}; re-download the file")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def find_idx_files(root: Union[str, Path], split: str) -> tuple[Path, Path]:
    """(images, labels) IDX files of ``split`` in ``root``: ``train``/``t10k`` ``-images-idx3-ubyte`` (also
    ``-images.idx3-ubyte``), with or without ``.gz``."""
    root = Path(root)
    prefix = SPLIT_PREFIXES[split]
    found = []
    for kind, rank in (("images", 3), ("labels", 1)):
        candidates = sorted(p for pattern in (f"{prefix}-{kind}-idx{rank}-ubyte*", f"{prefix}-{kind}.idx{rank}-ubyte*")
                            for p in root.glob(pattern) if p.is_file())
        if not candidates:
            raise FileNotFoundError(f"no {prefix}-{kind}-idx{rank}-ubyte[.gz] in {root}. {MISSING_HINT}")
        found.append(candidates[0])
    return found[0], found[1]


def load_mnist(path_or_hub_id: Union[str, Path], split: str = "train", class_names: Optional[list] = None):
    """An MNIST-format set as a ``datasets.Dataset`` with ``image`` (``uint8`` 28 x 28 arrays, ``Array2D``) and
    ``label`` (``ClassLabel``) columns.

    Args:
        path_or_hub_id: a folder holding the IDX files (``train-images-idx3-ubyte.gz`` ...), or a Hub dataset id
            whose rows have an ``image`` and a ``label`` (``ylecun/mnist``, ``zalando-datasets/fashion_mnist``).
        split: ``"train"`` or ``"test"``.
        class_names: label names; default: the folder's ``manifest.json`` ``class_names`` (written by
            :func:`fetch_fashion_mnist`), the Hub set's own names, or ``"0"`` ... ``"9"``.
    """
    import datasets

    if split not in SPLIT_PREFIXES:
        raise ValueError(f"split must be one of {sorted(SPLIT_PREFIXES)}, got {split!r}")
    path = Path(path_or_hub_id).expanduser()
    if path.is_dir():
        images_path, labels_path = find_idx_files(path, split)
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1:
            raise IDXFormatError(f"{images_path} must hold [N, rows, cols] images and {labels_path} [N] labels, got "
                                 f"shapes {images.shape} and {labels.shape}")
        if len(images) != len(labels):
            raise IDXFormatError(f"{images_path} holds {len(images)} images but {labels_path} {len(labels)} labels")
        manifest = path / "manifest.json"
        if class_names is None and manifest.is_file():
            class_names = json.loads(manifest.read_text()).get("class_names")
        class_names = class_names or [str(i) for i in range(int(labels.max()) + 1)]
    elif path.exists() or str(path_or_hub_id).startswith((".", "/", "~")):
        raise FileNotFoundError(f"{path_or_hub_id} is not a folder of MNIST-format IDX files. {MISSING_HINT}")
    else:
        try:
            hub = datasets.load_dataset(str(path_or_hub_id), split=split)
        except Exception as exc:  # offline, unknown id, ...: say where the data can come from
            raise FileNotFoundError(f"could not load {path_or_hub_id!r} from the Hub ({exc}). {MISSING_HINT}") from exc
        label_feature = hub.features.get("label")
        class_names = class_names or getattr(label_feature, "names", None)
        images = np.stack([np.asarray(image.convert("L"), dtype=np.uint8) for image in hub["image"]])
        labels = np.asarray(hub["label"])
        class_names = class_names or [str(i) for i in range(int(labels.max()) + 1)]
    if labels.max() >= len(class_names):
        raise ValueError(f"labels go up to {labels.max()} but only {len(class_names)} class_names were given")
    return _arrow_dataset(images.astype(np.uint8), labels.astype(np.int64), list(class_names))


def _arrow_dataset(images: np.ndarray, labels: np.ndarray, class_names: list):
    """A ``Dataset`` built straight from the arrays' Arrow buffers (60 000 images in 0.2 s, not 8 s via from_dict)."""
    import datasets
    import pyarrow as pa
    from datasets.features.features import Array2DExtensionType

    count, height, width = images.shape
    rows = pa.ListArray.from_arrays(pa.array(np.arange(0, count * height * width + 1, width, dtype=np.int32)),
                                    pa.array(images.reshape(-1)))
    grid = pa.ListArray.from_arrays(pa.array(np.arange(0, count * height + 1, height, dtype=np.int32)), rows)
    column = pa.ExtensionArray.from_storage(Array2DExtensionType((height, width), "uint8"), grid)
    features = datasets.Features({"image": datasets.Array2D((height, width), "uint8"),
                                  "label": datasets.ClassLabel(names=class_names)})
    table = pa.table({"image": column, "label": pa.array(labels)})
    return datasets.Dataset(table, info=datasets.DatasetInfo(features=features))


def fetch_fashion_mnist(output_dir: Union[str, Path],
                        cache_dir: Union[str, Path] = "~/.cache/audiogen_hf/debs") -> Path:
    """Put Fashion-MNIST's four IDX ``.gz`` files and a ``manifest.json`` into ``output_dir`` (from the Debian package
    ``dataset-fashion-mnist``, downloaded once into ``cache_dir``); a no-op when they are already there."""
    output_dir = Path(output_dir).expanduser()
    manifest = output_dir / "manifest.json"
    if manifest.is_file():
        return output_dir
    from .corpus.debian import fetch_debian_package

    source = fetch_debian_package(FASHION_MNIST_PACKAGE, cache_dir) / FASHION_MNIST_DIR
    partial = output_dir.with_name(output_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    counts = {}
    for split, prefix in SPLIT_PREFIXES.items():
        for kind, rank in (("images", 3), ("labels", 1)):
            name = f"{prefix}-{kind}-idx{rank}-ubyte.gz"
            shutil.copyfile(source / name, partial / name)
        counts[split] = int(read_idx(partial / f"{prefix}-labels-idx1-ubyte.gz").shape[0])
    (partial / "manifest.json").write_text(json.dumps({
        "name": "Fashion-MNIST", "source_package": FASHION_MNIST_PACKAGE, "licence": "MIT",
        "format": "IDX (MNIST), 28 x 28 uint8 grey images", "class_names": FASHION_MNIST_CLASSES,
        "num_examples": counts}, indent=2) + "\n")
    if output_dir.exists():
        shutil.rmtree(output_dir)
    partial.rename(output_dir)
    logger.info("Fashion-MNIST (%s) written to %s", counts, output_dir)
    return output_dir
