#!/usr/bin/env python
"""Build the offline real-music corpus (MUSDB18-HQ, GTZAN and plain music/ layouts) from Debian packages.

Examples:
    python scripts/build_corpus.py --size small --output_dir data/corpus       # tests and the demo, < 1 min
    nice -n 10 python scripts/build_corpus.py --size full --output_dir data/corpus_full   # hours of music

Interrupted? Run the same command again: finished files are kept and the build resumes.
"""

import logging

from transformers import HfArgumentParser

from audiogen_hf.data.corpus import CorpusArguments, build_corpus

logger = logging.getLogger("build_corpus")


def main() -> None:
    (args,) = HfArgumentParser(CorpusArguments).parse_args_into_dataclasses()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = build_corpus(args)
    musdb, gtzan, music = result["musdb"], result["gtzan"], result["music"]
    logger.info(
        "%s: %d MUSDB tracks (%.1f min train / %.1f min test; %d validation tracks), %d GTZAN clips in genres %s, "
        "%d music/ tracks (%.2f h train / %.2f h test); skipped files: %s",
        args.output_dir, len(musdb["tracks"]), musdb["duration_s"]["train"] / 60, musdb["duration_s"]["test"] / 60,
        len(musdb["validation_tracks"]), len(gtzan["clips"]),
        ", ".join(f"{g} ({n})" for g, n in gtzan["clips_per_genre"].items()), len(music["tracks"]),
        music["duration_s"]["train"] / 3600, music["duration_s"]["test"] / 3600,
        {k: v["count"] for k, v in result["manifest"]["files"]["skipped"].items()} or "none",
    )


if __name__ == "__main__":
    main()
