"""Offline real-music corpus built from Debian packages (see :mod:`.build` for the layouts and sizes).

One module per job: :mod:`.debian` fetches packages, :mod:`.sources` knows what is in them, :mod:`.midi`
renders General MIDI songs to stems, :mod:`.musdb` and :mod:`.gtzan` write the two layouts, :mod:`.build`
ties them together behind :func:`build_corpus`.
"""

from .build import PRESETS, CorpusArguments, build_corpus
from .debian import fetch_debian_package

__all__ = ["PRESETS", "CorpusArguments", "build_corpus", "fetch_debian_package"]
