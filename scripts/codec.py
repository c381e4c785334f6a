"""Compress audio to a .agc file with the hierarchical neural codec, or decompress one back to audio.

    python scripts/codec.py compress IN.wav OUT.agc --model DIR [--num_quantizers 1]
    python scripts/codec.py decompress OUT.agc OUT.wav --model DIR

DIR is a codec model folder (model.save_pretrained) or an AudioCodecPipeline folder. Long files show a progress bar.
"""

import argparse
import json

from audiogen_hf.models.hierarchical_codec.files import compress_file, decompress_file, load_codec


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["compress", "decompress"])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--model", required=True, help="codec model or pipeline folder")
    parser.add_argument("--num_quantizers", type=int, default=None, help="quantizers per level (the bitrate)")
    parser.add_argument("--no_progress", action="store_true")
    args = parser.parse_args(argv)
    model = load_codec(args.model)
    if args.command == "compress":
        report = compress_file(model, args.input, args.output, args.num_quantizers, progress=not args.no_progress)
    else:
        report = decompress_file(model, args.input, args.output, progress=not args.no_progress)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
