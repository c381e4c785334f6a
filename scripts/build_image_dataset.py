"""Turn a folder of audio into an `imagefolder` dataset: 16-bit spectrogram PNGs + metadata.jsonl with one caption
per slice (CLAP tags + BPM, a narrative from an audio-language model, or none).

    python scripts/build_image_dataset.py --input_dir data/corpus/musdb/test --output_dir outputs/images \
        --captions tags --tagger_model laion/clap-htsat-unfused --artist Muldjord --size 1024
    python scripts/build_image_dataset.py          # asks for input, output, artist and title (interactive)

Load the result with `datasets.load_dataset("imagefolder", data_dir=OUTPUT_DIR)`.
"""

import argparse
import sys

from audiogen_hf.audio.spectrogram_images import SpectrogramImageConfig
from audiogen_hf.captioning import DEFAULT_CLAP_MODEL, DEFAULT_NARRATIVE_MODEL, ClapTagger, NarrativeCaptioner
from audiogen_hf.data.image_dataset import build_image_dataset


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input_dir", help="folder of audio files (searched recursively)")
    parser.add_argument("--output_dir", help="where the PNGs and metadata.jsonl go")
    parser.add_argument("--artist", help="caption prefix 'In the style of <artist> - <title>.'")
    parser.add_argument("--title")
    parser.add_argument("--size", type=int, default=None, help="resize slices to SIZE x SIZE (Lanczos); lossy")
    parser.add_argument("--n_fft", type=int, default=2048)
    parser.add_argument("--hop_length", type=int, default=512)
    parser.add_argument("--sampling_rate", type=int, default=None, help="resample first (default: keep each file's)")
    parser.add_argument("--channels", default="all", help="'all' (one image set per channel), 'mix' or an index")
    parser.add_argument("--captions", choices=("tags", "narrative", "none"), default="tags")
    parser.add_argument("--tagger_model", default=DEFAULT_CLAP_MODEL, help="CLAP model id or folder")
    parser.add_argument("--narrative_model", default=DEFAULT_NARRATIVE_MODEL, help="Qwen2-Audio model id or folder")
    parser.add_argument("--no_bpm", action="store_true", help="skip the tempo estimate")
    parser.add_argument("--no_progress", action="store_true")
    args = parser.parse_args(argv)
    if args.input_dir is None or args.output_dir is None:
        if not sys.stdin.isatty():
            parser.error("--input_dir and --output_dir are required when not run interactively")
        args.input_dir = args.input_dir or input("Folder of audio files: ").strip()
        args.output_dir = args.output_dir or input("Output folder for the dataset: ").strip()
        args.artist = args.artist or input("Artist (Enter for none): ").strip() or None
        args.title = args.title or input("Title (Enter for none): ").strip() or None
    return args


def main(argv=None):
    args = parse_args(argv)
    channels = int(args.channels) if args.channels.isdigit() else args.channels
    config = SpectrogramImageConfig(n_fft=args.n_fft, hop_length=args.hop_length, size=args.size,
                                    sampling_rate=args.sampling_rate)
    report = build_image_dataset(
        args.input_dir, args.output_dir, config, captions=args.captions,
        tagger=ClapTagger(args.tagger_model) if args.captions == "tags" else None,
        narrator=NarrativeCaptioner(args.narrative_model) if args.captions == "narrative" else None,
        artist=args.artist, title=args.title, channels=channels, with_bpm=not args.no_bpm,
        progress=not args.no_progress)
    print(report.summary())
    return report


if __name__ == "__main__":
    main()
