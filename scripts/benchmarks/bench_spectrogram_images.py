"""Spectrogram images on real music: round-trip SNR at native size and resized (Lanczos), PSNR of the re-encoded
decoded audio against the original images, and encode/decode times.

    python scripts/benchmarks/bench_spectrogram_images.py --corpus_dir data/corpus [--seconds 20] [--size 1024]

Goal (issue): native round trip >= 85 dB SNR on real music (the 16-bit ceiling of this encoding is ~90 dB).
"""

import argparse
import time
from pathlib import Path

from audiogen_hf.audio import load_audio
from audiogen_hf.audio.spectrogram_images import SpectrogramImageConfig, audio_to_images, images_to_audio
from audiogen_hf.evaluation import audio_spectral_convergence_db, compare_spectrogram_images, snr_db


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus_dir", default="data/corpus")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--tracks", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(Path(args.corpus_dir, "musdb").rglob("mixture.wav"))
    paths = [p for p in paths if p.parent.name.startswith("Muldjord")] + [p for p in paths if
                                                                          not p.parent.name.startswith("Muldjord")]
    print(f"{'track':32s} {'setting':10s} {'images':>6s} {'SNR dB':>7s} {'SC dB':>7s} {'PSNR dB':>8s} "
          f"{'encode s':>8s} {'decode s':>8s}")
    for path in paths[: args.tracks]:
        audio, rate = load_audio(path, duration=args.seconds)
        for setting, size in (("native", None), (f"resize{args.size}", args.size)):
            config = SpectrogramImageConfig(size=size)
            start = time.perf_counter()
            images = audio_to_images(audio, rate, config, track="x")
            encoded = time.perf_counter()
            decoded, _ = images_to_audio(images)
            done = time.perf_counter()
            again = audio_to_images(decoded, rate, config, track="x")
            psnr = compare_spectrogram_images(images, again, audio=False).average_psnr
            snr = float(snr_db(audio, decoded, dim=None))
            print(f"{path.parent.name[:32]:32s} {setting:10s} {len(images):6d} {snr:7.2f} "
                  f"{audio_spectral_convergence_db(audio, decoded, rate):7.2f} {psnr:8.2f} {encoded - start:8.2f} "
                  f"{done - encoded:8.2f}")
    print(f"({args.seconds:g} s stereo 44.1 kHz per track; PSNR: re-encoding of the decoded audio vs the images)")


if __name__ == "__main__":
    main()
