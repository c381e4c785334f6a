"""``audiogen images encode | decode | compare | dataset | push``: 16-bit spectrogram images of music.

    audiogen images encode song.wav -o images/ [--size 1024] [--channels all|mix|0]
    audiogen images decode images/ -o song.wav [--track NAME]
    audiogen images compare --reference images/ --estimate regenerated/ [--pictures_dir DIR] [--json FILE]
    audiogen images dataset --input_dir music/ --output_dir dataset/ --captions tags|narrative|none
    audiogen images push dataset/ --repo_id owner/name [--license cc-by-sa-3.0]
"""

import argparse
import json
import sys

from .common import UserError, parser

ACTIONS = ("encode", "decode", "compare", "dataset", "push")


def _image_config(args):
    from ..audio.spectrogram_images import SpectrogramImageConfig

    return SpectrogramImageConfig(n_fft=args.n_fft, hop_length=args.hop_length, size=args.size,
                                  sampling_rate=args.sampling_rate)


def _config_options(p):
    p.add_argument("--size", type=int, default=None, help="resize slices to SIZE x SIZE (Lanczos); lossy")
    p.add_argument("--n_fft", type=int, default=2048)
    p.add_argument("--hop_length", type=int, default=512)
    p.add_argument("--sampling_rate", type=int, default=None, help="resample first (default: keep the file's)")
    p.add_argument("--channels", default="all", help="'all' (one image set per channel), 'mix' or an index")


def encode(argv, prog):
    from ..audio.spectrogram_images import encode_file

    p = parser(prog, "Encode one audio file into 16-bit spectrogram PNGs (metadata in a tEXt chunk).")
    p.add_argument("input", help="audio file")
    p.add_argument("-o", "--output_dir", required=True)
    p.add_argument("--track", default=None, help="track name (default: the file name)")
    _config_options(p)
    args = p.parse_args(argv)
    from .common import read_audio

    read_audio(args.input, min_seconds=0.05)  # one clear line for a missing, corrupt or silent file
    channels = int(args.channels) if args.channels.isdigit() else args.channels
    paths = encode_file(args.input, args.output_dir, _image_config(args), track=args.track, channels=channels)
    print(f"{len(paths)} images in {args.output_dir}")
    return paths


def decode(argv, prog):
    from ..audio import save_audio
    from ..audio.spectrogram_images import images_to_audio

    p = parser(prog, "Decode a folder of spectrogram PNGs back to one audio file.")
    p.add_argument("image_dir", nargs="?", help="folder of spectrogram PNGs")
    p.add_argument("--image_dir", dest="image_dir_option", default=None, help=argparse.SUPPRESS)
    p.add_argument("-o", "--output", required=True, help="wav/flac path")
    p.add_argument("--track", default=None, help="which track, when the folder holds several")
    p.add_argument("--subtype", default="PCM_24", help="soundfile subtype (PCM_16 limits the SNR to ~80 dB)")
    args = p.parse_args(argv)
    image_dir = args.image_dir or args.image_dir_option
    if image_dir is None:
        raise UserError(f"give the folder of images (see {prog} --help)")
    audio, rate = images_to_audio(image_dir, track=args.track)
    path = save_audio(args.output, audio.clamp(-1, 1), rate, subtype=args.subtype)
    print(f"{path}: {audio.shape[0]} channels, {audio.shape[1] / rate:.2f} s at {rate} Hz")
    return path


def compare(argv, prog):
    from ..evaluation.image_compare import compare_spectrogram_images, save_comparison_pictures

    p = parser(prog, "Per-slice PSNR (16-bit) and its average, audio SNR and spectral convergence of two folders, "
                     "and side-by-side pictures (original | reconstructed | difference x 50).")
    p.add_argument("--reference", required=True, help="folder of the original images")
    p.add_argument("--estimate", required=True, help="folder of the reconstructed/generated images")
    p.add_argument("--track", default=None)
    p.add_argument("--pictures_dir", default=None, help="write one comparison picture per slice here")
    p.add_argument("--json", default=None, help="write the report as JSON here")
    args = p.parse_args(argv)
    comparison = compare_spectrogram_images(args.reference, args.estimate, track=args.track)
    print(comparison.report())
    if args.pictures_dir:
        pictures = save_comparison_pictures(args.pictures_dir, args.reference, args.estimate, track=args.track)
        print(f"{len(pictures)} pictures in {args.pictures_dir}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(comparison.to_dict(), handle, indent=2)  # inf is written as Infinity
    return comparison


def dataset_parser(prog):
    from ..captioning import DEFAULT_CLAP_MODEL, DEFAULT_NARRATIVE_MODEL

    p = parser(prog, "Turn a folder of audio into an imagefolder dataset: 16-bit spectrogram PNGs + metadata.jsonl "
                     "with one caption per slice (CLAP tags + BPM, a narrative, or none). Without --input_dir / "
                     "--output_dir in a terminal it asks for them (and artist, title).")
    p.add_argument("--input_dir", help="folder of audio files (searched recursively)")
    p.add_argument("--output_dir", help="where the PNGs and metadata.jsonl go")
    p.add_argument("--artist", help="caption prefix 'In the style of <artist> - <title>.'")
    p.add_argument("--title")
    _config_options(p)
    p.add_argument("--captions", choices=("tags", "narrative", "none"), default="tags")
    p.add_argument("--tagger_model", default=DEFAULT_CLAP_MODEL, help="CLAP model id or folder")
    p.add_argument("--narrative_model", default=DEFAULT_NARRATIVE_MODEL, help="Qwen2-Audio model id or folder")
    p.add_argument("--no_bpm", action="store_true", help="skip the tempo estimate")
    p.add_argument("--no_progress", action="store_true")
    return p


def parse_dataset_args(argv, prog):
    """The dataset builder's options; in a terminal, asks for the folders (and artist, title) not given."""
    args = dataset_parser(prog).parse_args(argv)
    if args.input_dir is None or args.output_dir is None:
        if not sys.stdin.isatty():
            raise UserError("--input_dir and --output_dir are required when not run interactively")
        args.input_dir = args.input_dir or input("Folder of audio files: ").strip()
        args.output_dir = args.output_dir or input("Output folder for the dataset: ").strip()
        args.artist = args.artist or input("Artist (Enter for none): ").strip() or None
        args.title = args.title or input("Title (Enter for none): ").strip() or None
    return args


def dataset(argv, prog):
    from ..captioning import ClapTagger, NarrativeCaptioner
    from ..data.image_dataset import build_image_dataset

    args = parse_dataset_args(argv, prog)
    channels = int(args.channels) if args.channels.isdigit() else args.channels
    report = build_image_dataset(
        args.input_dir, args.output_dir, _image_config(args), captions=args.captions,
        tagger=ClapTagger(args.tagger_model) if args.captions == "tags" else None,
        narrator=NarrativeCaptioner(args.narrative_model) if args.captions == "narrative" else None,
        artist=args.artist, title=args.title, channels=channels, with_bpm=not args.no_bpm,
        progress=not args.no_progress)
    print(report.summary())
    return report


def push(argv, prog):
    from ..data.image_dataset import push_image_dataset

    p = parser(prog, "Push a built dataset folder to the Hub (datasets push_to_hub + a dataset card).")
    p.add_argument("dataset_dir")
    p.add_argument("--repo_id", required=True, help="owner/name of the dataset repository")
    p.add_argument("--license", default=None, help="e.g. cc-by-sa-3.0 (the music's licence)")
    p.add_argument("--private", action="store_true")
    args = p.parse_args(argv)
    repo_id = push_image_dataset(args.dataset_dir, args.repo_id, private=args.private or None, license=args.license)
    print(f"pushed {args.dataset_dir} to the Hub dataset {repo_id}")
    return repo_id


def main(argv, prog="audiogen images"):
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {prog} {{{','.join(ACTIONS)}}} [options]   ({prog} ACTION --help)\n\n" + __doc__)
        return 0
    if argv[0] not in ACTIONS:
        raise UserError(f"unknown images action {argv[0]!r}; choose one of {', '.join(ACTIONS)}")
    return globals()[argv[0]](argv[1:], f"{prog} {argv[0]}")
