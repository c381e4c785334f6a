"""Decode a folder of spectrogram PNGs (made by build_image_dataset.py / encode_file) back to one audio file.

    python scripts/images_to_audio.py --image_dir outputs/images --output out.wav [--track NAME]

The same as `audiogen images decode` (audiogen_hf/cli/images.py).
"""

import sys

from audiogen_hf.cli.images import decode


def main(argv=None):
    return decode(sys.argv[1:] if argv is None else argv, "images_to_audio.py")


if __name__ == "__main__":
    main()
