"""Turn a folder of audio into an `imagefolder` dataset: 16-bit spectrogram PNGs + metadata.jsonl with one caption
per slice (CLAP tags + BPM, a narrative from an audio-language model, or none).

    python scripts/build_image_dataset.py --input_dir data/corpus/musdb/test --output_dir outputs/images \
        --captions tags --tagger_model laion/clap-htsat-unfused --artist Muldjord --size 1024
    python scripts/build_image_dataset.py          # asks for input, output, artist and title (interactive)

Load the result with `datasets.load_dataset("imagefolder", data_dir=OUTPUT_DIR)`.

The same as `audiogen images dataset` (audiogen_hf/cli/images.py).
"""

import sys

from audiogen_hf.cli.images import dataset, parse_dataset_args


def parse_args(argv=None):
    return parse_dataset_args(sys.argv[1:] if argv is None else argv, "build_image_dataset.py")


def main(argv=None):
    return dataset(sys.argv[1:] if argv is None else argv, "build_image_dataset.py")


if __name__ == "__main__":
    main()
