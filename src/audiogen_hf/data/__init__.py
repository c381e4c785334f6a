"""Datasets on `datasets`: MUSDB18, GTZAN and music-folder loaders, clip windowing and caching, the offline corpus."""

from .clips import cache_spectrograms, window_clips, window_starts
from .gtzan import GENRES, fault_filtered_split, load_gtzan
from .mnist import FASHION_MNIST_CLASSES, IDXFormatError, fetch_fashion_mnist, load_mnist, read_idx
from .musdb import STEMS, load_musdb, official_validation_tracks, validation_tracks
from .music import load_music
