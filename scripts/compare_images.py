"""Compare two folders of spectrogram PNGs: per-slice PSNR (16-bit scale) and its average, audio SNR and spectral
convergence, and side-by-side pictures (original | reconstructed | difference x 50).

    python scripts/compare_images.py --reference outputs/images --estimate outputs/regenerated \
        --pictures_dir outputs/compare [--track NAME] [--json report.json]
"""

import argparse
import json

from audiogen_hf.evaluation.image_compare import compare_spectrogram_images, save_comparison_pictures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True, help="folder of the original images")
    parser.add_argument("--estimate", required=True, help="folder of the reconstructed/generated images")
    parser.add_argument("--track", default=None)
    parser.add_argument("--pictures_dir", default=None, help="write one comparison picture per slice here")
    parser.add_argument("--json", default=None, help="write the report as JSON here")
    args = parser.parse_args(argv)
    comparison = compare_spectrogram_images(args.reference, args.estimate, track=args.track)
    print(comparison.report())
    if args.pictures_dir:
        pictures = save_comparison_pictures(args.pictures_dir, args.reference, args.estimate, track=args.track)
        print(f"{len(pictures)} pictures in {args.pictures_dir}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(comparison.to_dict(), handle, indent=2)  # inf is written as Infinity
    return comparison


if __name__ == "__main__":
    main()
