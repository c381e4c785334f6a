#!/usr/bin/env python
"""Build the offline real-music corpus (MUSDB18-HQ and GTZAN layouts) from Debian packages.

Example: python scripts/build_corpus.py --size small --output_dir data/corpus
"""

import logging

from transformers import HfArgumentParser

from audiogen_hf.data.corpus import CorpusArguments, build_corpus

logger = logging.getLogger("build_corpus")


def main() -> None:
    (args,) = HfArgumentParser(CorpusArguments).parse_args_into_dataclasses()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = build_corpus(args)
    musdb, gtzan = result["musdb"], result["gtzan"]
    for track in musdb["tracks"]:
        logger.info("musdb/%s/%s", track["subset"], track["name"])
    logger.info(
        "%s: %d MUSDB tracks (validation: %s), %d GTZAN clips in genres %s",
        args.output_dir, len(musdb["tracks"]), ", ".join(musdb["validation_tracks"]) or "none",
        len(gtzan["clips"]), ", ".join(gtzan["genres"]),
    )


if __name__ == "__main__":
    main()
