"""Mel extraction and Griffin-Lim on real music: audiogen_hf's SpectrogramConverter vs librosa, in one run.

    python scripts/benchmarks/bench_spectrogram.py --corpus_dir data/corpus

Prints throughput ratios (ours / librosa) and spectral convergence side by side. Goals on 2 CPU cores: batched
mel extraction >= 5x librosa's throughput; within librosa's wall time for 32 Griffin-Lim iterations, spectral
convergence <= -28 dB.
"""

import argparse
import time
from pathlib import Path

import librosa
import numpy as np
import torch
import torchaudio

from audiogen_hf.audio import SpectrogramConverter, load_audio

SR, N_FFT, HOP, N_MELS = 22050, 2048, 512, 128


def best_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def real_clips(corpus_dir: Path, count: int, seconds: float) -> torch.Tensor:
    """``count`` mono clips of real music, ``[count, samples]``, from the corpus' MUSDB mixtures."""
    clips = []
    for path in sorted((corpus_dir / "musdb").rglob("mixture.wav")):
        audio, _ = load_audio(path, sample_rate=SR, channels=1)
        for start in range(0, audio.shape[1] - int(seconds * SR) + 1, int(seconds * SR)):
            clips.append(audio[0, start : start + int(seconds * SR)])
    if len(clips) < count:
        raise SystemExit(f"only {len(clips)} clips of {seconds}s in {corpus_dir}; build a larger corpus")
    return torch.stack(clips[:count])


def spectral_convergence_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    mag = lambda x: np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP))  # noqa: E731
    s, s_hat = mag(reference), mag(estimate)
    return float(20 * np.log10(np.linalg.norm(s - s_hat) / np.linalg.norm(s)))


def bench_mel(clips: torch.Tensor, repeats: int) -> None:
    seconds = clips.numel() / SR
    ours = SpectrogramConverter(sample_rate=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, scale="none")
    torchaudio_mel = torchaudio.transforms.MelSpectrogram(SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS,
                                                          norm="slaney", mel_scale="slaney", pad_mode="constant")
    array = clips.numpy()
    reference = librosa.feature.melspectrogram(y=array, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    error = np.abs(ours.audio_to_spectrogram(clips).spectrogram.numpy() - reference).max() / reference.max()
    t_librosa = best_time(lambda: librosa.feature.melspectrogram(y=array, sr=SR, n_fft=N_FFT, hop_length=HOP,
                                                                 n_mels=N_MELS), repeats)
    t_ours = best_time(lambda: ours.audio_to_spectrogram(clips), repeats)
    t_ta = best_time(lambda: torchaudio_mel(clips), repeats)
    t_fft = best_time(lambda: ours.stft(clips), repeats)
    print(f"\nMel extraction: batch of {clips.shape[0]} x {clips.shape[1] / SR:.0f} s real music, n_fft {N_FFT}, "
          f"hop {HOP}, {N_MELS} mels, {torch.get_num_threads()} torch threads")
    print(f"{'':28s}{'time ms':>10s}{'audio s/s':>12s}{'vs librosa':>12s}")
    for name, t in [("librosa melspectrogram", t_librosa), ("torchaudio MelSpectrogram", t_ta),
                    ("audiogen_hf converter", t_ours), ("  of which STFT (rfft)", t_fft)]:
        print(f"{name:28s}{t * 1e3:10.1f}{seconds / t:12.0f}{t_librosa / t:11.2f}x")
    print(f"max |ours - librosa| / max = {error:.1e}")


def bench_griffin_lim(clip: torch.Tensor, repeats: int) -> None:
    array = clip.numpy()
    magnitude = np.abs(librosa.stft(array, n_fft=N_FFT, hop_length=HOP))
    converter = SpectrogramConverter(sample_rate=SR, n_fft=N_FFT, hop_length=HOP, mode="linear", power=1.0,
                                     scale="none")
    spec = torch.from_numpy(magnitude)
    ours = lambda n: converter.spectrogram_to_audio(spec, length=len(array), n_iter=n)  # noqa: E731

    t_librosa = best_time(lambda: librosa.griffinlim(magnitude, n_iter=32, hop_length=HOP, n_fft=N_FFT,
                                                     length=len(array), random_state=0), max(1, repeats // 2))
    sc_librosa = spectral_convergence_db(array, librosa.griffinlim(magnitude, n_iter=32, hop_length=HOP, n_fft=N_FFT,
                                                                   length=len(array), random_state=0))
    t_32 = best_time(lambda: ours(32), repeats)
    budget_iters = int(32 * t_librosa / t_32 * 0.9)  # 10 % margin for timing noise
    t_budget = best_time(lambda: ours(budget_iters), max(1, repeats // 2))
    print(f"\nGriffin-Lim: one {len(array) / SR:.0f} s clip of real music, linear magnitude, n_fft {N_FFT}, hop {HOP}")
    print(f"{'':34s}{'iters':>6s}{'time s':>9s}{'SC dB':>9s}{'it/s vs librosa':>17s}")
    print(f"{'librosa griffinlim (momentum .99)':34s}{32:6d}{t_librosa:9.2f}{sc_librosa:9.2f}{1.0:16.1f}x")
    print(f"{'audiogen_hf (torchaudio FGLA)':34s}{32:6d}{t_32:9.2f}"
          f"{spectral_convergence_db(array, ours(32).numpy()):9.2f}{t_librosa / t_32:16.1f}x")
    print(f"{'audiogen_hf in librosa 32-it time':34s}{budget_iters:6d}{t_budget:9.2f}"
          f"{spectral_convergence_db(array, ours(budget_iters).numpy()):9.2f}"
          f"{budget_iters / t_budget / (32 / t_librosa):16.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus_dir", type=Path, default=Path("data/corpus"))
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    clips = real_clips(args.corpus_dir, args.clips, args.seconds)
    bench_mel(clips, args.repeats)
    bench_griffin_lim(clips[0], args.repeats)


if __name__ == "__main__":
    main()
