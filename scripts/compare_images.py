"""Compare two folders of spectrogram PNGs: per-slice PSNR (16-bit scale) and its average, audio SNR and spectral
convergence, and side-by-side pictures (original | reconstructed | difference x 50).

    python scripts/compare_images.py --reference outputs/images --estimate outputs/regenerated \
        --pictures_dir outputs/compare [--track NAME] [--json report.json]

The same as `audiogen images compare` (audiogen_hf/cli/images.py).
"""

import sys

from audiogen_hf.cli.images import compare


def main(argv=None):
    return compare(sys.argv[1:] if argv is None else argv, "compare_images.py")


if __name__ == "__main__":
    main()
