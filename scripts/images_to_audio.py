"""Decode a folder of spectrogram PNGs (made by build_image_dataset.py / encode_file) back to one audio file.

    python scripts/images_to_audio.py --image_dir outputs/images --output out.wav [--track NAME]
"""

import argparse

from audiogen_hf.audio import save_audio
from audiogen_hf.audio.spectrogram_images import images_to_audio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image_dir", required=True)
    parser.add_argument("--output", required=True, help="wav/flac path")
    parser.add_argument("--track", default=None, help="which track, when the folder holds several")
    parser.add_argument("--subtype", default="PCM_24", help="soundfile subtype (PCM_16 limits the SNR to ~80 dB)")
    args = parser.parse_args(argv)
    audio, rate = images_to_audio(args.image_dir, track=args.track)
    path = save_audio(args.output, audio.clamp(-1, 1), rate, subtype=args.subtype)
    print(f"{path}: {audio.shape[0]} channels, {audio.shape[1] / rate:.2f} s at {rate} Hz")
    return path


if __name__ == "__main__":
    main()
