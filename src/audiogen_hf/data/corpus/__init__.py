"""Offline real-music corpus built from Debian packages (see :mod:`.build` for the layouts and sizes).

One module per job: :mod:`.debian` fetches packages (:func:`fetch_debian_package`, public for other data
builders), :mod:`.sources` knows what is in them (catalogue, licences, genres, works and splits, dedup),
:mod:`.midi` renders General MIDI songs to stems, :mod:`.musdb`, :mod:`.gtzan` and :mod:`.music` write the three
layouts, :mod:`.build` ties them together behind :func:`build_corpus`.
"""

from .build import PRESETS, CorpusArguments, build_corpus
from .debian import fetch_debian_package

__all__ = ["PRESETS", "CorpusArguments", "build_corpus", "fetch_debian_package"]
