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


def best_times(functions: dict, repeats: int, rounds: int = 2) -> dict:
    """Best wall time of each function: ``rounds`` passes over the functions, each running one of them ``repeats``
    times in a row (consecutive runs keep each library's thread pool warm; several passes share machine drift)."""
    times = {name: float("inf") for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            fn()  # warm-up
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                times[name] = min(times[name], time.perf_counter() - start)
    return times


def real_clips(corpus_dir: Path, count: int, seconds: float) -> torch.Tensor:
    """``count`` mono clips of real music, ``[count, samples]``, from the corpus' MUSDB mixtures."""
    clips = []
    for path in sorted((corpus_dir / "musdb").rglob("mixture.wav")):
        audio, _ = load_audio(path, sampling_rate=SR, channels=1)
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
    ours = SpectrogramConverter(sampling_rate=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, scale="none")
    torchaudio_mel = torchaudio.transforms.MelSpectrogram(SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS,
                                                          norm="slaney", mel_scale="slaney", pad_mode="constant")
    array = clips.numpy()
    reference = librosa.feature.melspectrogram(y=array, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    error = np.abs(ours.audio_to_spectrogram(clips).spectrogram.numpy() - reference).max() / reference.max()
    times = best_times({
        "librosa melspectrogram": lambda: librosa.feature.melspectrogram(y=array, sr=SR, n_fft=N_FFT, hop_length=HOP,
                                                                         n_mels=N_MELS),
        "torchaudio MelSpectrogram": lambda: torchaudio_mel(clips),
        "audiogen_hf converter": lambda: ours.audio_to_spectrogram(clips),
        "  of which STFT (rfft)": lambda: ours.stft(clips),
    }, repeats)
    t_librosa = times["librosa melspectrogram"]
    print(f"\nMel extraction: batch of {clips.shape[0]} x {clips.shape[1] / SR:.0f} s real music, n_fft {N_FFT}, "
          f"hop {HOP}, {N_MELS} mels, {torch.get_num_threads()} torch threads")
    print(f"{'':28s}{'time ms':>10s}{'audio s/s':>12s}{'vs librosa':>12s}")
    for name, t in times.items():
        print(f"{name:28s}{t * 1e3:10.1f}{seconds / t:12.0f}{t_librosa / t:11.2f}x")
    print(f"max |ours - librosa| / max = {error:.1e}")


def bench_griffin_lim(clips: torch.Tensor, repeats: int) -> None:
    """Per clip: librosa's 32 iterations vs ours at 32 and at as many iterations as fit in librosa's time."""
    converter = SpectrogramConverter(sampling_rate=SR, n_fft=N_FFT, hop_length=HOP, mode="linear", power=1.0,
                                     scale="none")
    print(f"\nGriffin-Lim (momentum 0.99): {clips.shape[1] / SR:.0f} s clips of real music, linear magnitude, "
          f"n_fft {N_FFT}, hop {HOP}")
    print(f"{'clip':>4s}{'librosa 32 it':>22s}{'ours 32 it':>22s}{'ours in librosa time':>30s}")
    print(f"{'':4s}{'s':>10s}{'SC dB':>12s}{'s':>10s}{'SC dB':>12s}{'iters':>8s}{'s':>10s}{'SC dB':>12s}")
    results = []
    for index, clip in enumerate(clips):
        array = clip.numpy()
        magnitude = np.abs(librosa.stft(array, n_fft=N_FFT, hop_length=HOP))
        spec = torch.from_numpy(magnitude)
        ours = lambda n: converter.spectrogram_to_audio(spec, length=len(array), griffin_lim_iters=n)  # noqa: E731
        theirs = lambda: librosa.griffinlim(magnitude, n_iter=32, hop_length=HOP, n_fft=N_FFT,  # noqa: E731
                                            length=len(array), random_state=0)
        first = best_times({"librosa": theirs, "ours": lambda: ours(32)}, repeats)
        t_librosa, t_32 = first["librosa"], first["ours"]
        iters = int(32 * t_librosa / t_32 * 0.9)  # 10 % margin for timing noise
        t_budget = best_times({"ours": lambda: ours(iters)}, max(1, repeats // 2))["ours"]
        row = (t_librosa, spectral_convergence_db(array, theirs()), t_32,
               spectral_convergence_db(array, ours(32).numpy()),
               iters, t_budget, spectral_convergence_db(array, ours(iters).numpy()))
        results.append(row)
        over = "  (over librosa's time)" if row[5] > row[0] else ""
        print(f"{index:4d}{row[0]:10.2f}{row[1]:12.2f}{row[2]:10.2f}{row[3]:12.2f}{row[4]:8d}{row[5]:10.2f}{row[6]:12.2f}"
              + over)
    median = np.median(np.array(results), axis=0)
    print(f"{'med':>4s}{median[0]:10.2f}{median[1]:12.2f}{median[2]:10.2f}{median[3]:12.2f}{int(median[4]):8d}"
          f"{median[5]:10.2f}{median[6]:12.2f}")
    print(f"per-iteration speed vs librosa: {median[0] / median[2]:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus_dir", type=Path, default=Path("data/corpus"))
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--griffin_lim_clips", type=int, default=4)
    args = parser.parse_args()
    clips = real_clips(args.corpus_dir, args.clips, args.seconds)
    bench_mel(clips, args.repeats)
    if args.griffin_lim_clips > 0:
        step = max(1, len(clips) // args.griffin_lim_clips)  # spread over tracks: real recordings and renders
        bench_griffin_lim(clips[::step][: args.griffin_lim_clips], args.repeats)


if __name__ == "__main__":
    main()
