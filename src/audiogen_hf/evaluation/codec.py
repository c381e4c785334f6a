"""Codec quality: mel distance (DAC's 7-scale log10-mel L1), multi-resolution STFT distance, SI-SDR, codebook
perplexity, and Opus (ffmpeg libopus) round trips at a given bitrate for reference.

Audio is ``[..., channels, samples]`` float in [-1, 1]; every metric is computed per item and channel and averaged.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ..losses.spectral import MultiResolutionSTFTLoss, MultiScaleMelLoss
from .metrics import si_sdr_db

_MEL = {}
_STFT = {}


def mel_distance(reference: torch.Tensor, estimate: torch.Tensor, sampling_rate: int = 44100) -> float:
    """DAC's mel distance: the L1 of log10 mel magnitudes (clamped at 1e-5), summed over the 7 scales (windows
    32..2048, hop window / 4, 5..320 mels). Lower is better; ~0.9 is Opus at 24 kbps on music."""
    loss = _MEL.setdefault(sampling_rate, MultiScaleMelLoss(sampling_rate))
    with torch.no_grad():
        return float(loss(estimate.float(), reference.float()))


def stft_distance(reference: torch.Tensor, estimate: torch.Tensor, sampling_rate: int = 44100) -> float:
    """Multi-resolution STFT distance (spectral convergence + log-magnitude L1, FFT 2048/1024/512)."""
    loss = _STFT.setdefault(sampling_rate, MultiResolutionSTFTLoss(sampling_rate))
    with torch.no_grad():
        return float(loss(estimate.float(), reference.float()))


def si_sdr(reference: torch.Tensor, estimate: torch.Tensor) -> float:
    """Scale-invariant SDR in dB (``metrics.si_sdr_db``) per channel, averaged; capped at 120 dB, so a perfect
    reconstruction gives a finite mean."""
    r = reference.double().reshape(-1, reference.shape[-1])
    e = estimate.double().reshape(-1, estimate.shape[-1])
    return float(si_sdr_db(r, e).clamp(max=120.0).mean())


def perplexity(codes: torch.Tensor, codebook_size: int) -> float:
    """``exp(entropy)`` of the code histogram: the number of equally used codes it is worth (max ``codebook_size``)."""
    counts = torch.bincount(codes.flatten().long().cpu(), minlength=codebook_size).double()
    p = counts / counts.sum().clamp_min(1)
    return float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum()))


def quality(reference: torch.Tensor, estimate: torch.Tensor, sampling_rate: int) -> dict:
    """Mel distance, STFT distance and SI-SDR of ``estimate`` against ``reference`` (same shape)."""
    n = min(reference.shape[-1], estimate.shape[-1])
    reference, estimate = reference[..., :n], estimate[..., :n]
    return {"mel_distance": mel_distance(reference, estimate, sampling_rate),
            "stft_distance": stft_distance(reference, estimate, sampling_rate),
            "si_sdr": si_sdr(reference, estimate)}


def opus_available() -> bool:
    if shutil.which("ffmpeg") is None:
        return False
    out = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    return "libopus" in out


def opus_roundtrip(audio: torch.Tensor, sampling_rate: int, bitrate_kbps: float) -> tuple[torch.Tensor, dict]:
    """Encode ``audio`` ``[channels, samples]`` with ffmpeg's libopus at ``bitrate_kbps`` (Ogg container, default
    settings), decode back to ``sampling_rate``; returns the decoded audio (the input's length) and the real size:
    ``bytes``, ``bitrate_kbps`` (file bits / duration, container included) and ``compression_ratio`` against 16-bit
    PCM."""
    if not opus_available():
        raise RuntimeError("Opus reference needs ffmpeg with libopus: apt-get install -y ffmpeg")
    channels, samples = audio.shape
    with tempfile.TemporaryDirectory() as tmp:
        src, enc, dec = Path(tmp, "in.wav"), Path(tmp, "out.opus"), Path(tmp, "out.wav")
        sf.write(src, audio.clamp(-1, 1).T.cpu().numpy(), sampling_rate, subtype="PCM_16")
        bits = max(int(round(bitrate_kbps * 1000)), 500)
        for command in (["ffmpeg", "-y", "-loglevel", "error", "-i", str(src), "-c:a", "libopus", "-b:a", str(bits),
                         str(enc)],
                        ["ffmpeg", "-y", "-loglevel", "error", "-i", str(enc), "-ar", str(sampling_rate), "-ac",
                         str(channels), str(dec)]):
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode:
                raise RuntimeError(f"ffmpeg failed ({' '.join(command)}): {result.stderr.strip()}")
        decoded, _ = sf.read(dec, dtype="float32", always_2d=True)
        size = enc.stat().st_size
    decoded = torch.from_numpy(np.ascontiguousarray(decoded.T))
    if decoded.shape[-1] < samples:
        decoded = torch.nn.functional.pad(decoded, (0, samples - decoded.shape[-1]))
    seconds = samples / sampling_rate
    return decoded[:, :samples], {"bytes": size, "bitrate_kbps": size * 8 / seconds / 1000,
                                  "compression_ratio": samples * channels * 2 / size}


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def audio_files(inputs) -> list[Path]:
    """Files named in ``inputs``, folders expanded (recursively) to their audio files, sorted."""
    files = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path} is neither an audio file nor a folder")
    if not files:
        raise FileNotFoundError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {list(map(str, inputs))}")
    return files


def evaluate_codec(model, files, num_quantizers=None, seconds: float = 10.0, offset: float = 0.0,
                   opus: bool = True, progress: bool = True) -> list[dict]:
    """Per file and bitrate: the codec's real kbps (``.agc`` bytes, header included), ratio against 16-bit PCM,
    mel distance, STFT distance and SI-SDR; with ``opus``, the same for libopus at the codec's real bitrate and at
    twice it. ``seconds`` of each file from ``offset`` (``None``: the whole file) at the codec's rate and channels.
    Returns one row per (file, system, bitrate)."""
    from tqdm.auto import tqdm

    from ..audio.io import load_audio
    from ..models.hierarchical_codec import bitstream

    config = model.config
    rate = config.sampling_rate
    levels = list(num_quantizers or range(1, config.num_quantizers + 1))
    rows = []
    for path in tqdm(list(files), desc="evaluate", disable=not progress):
        audio, _ = load_audio(path, sampling_rate=rate, channels=config.audio_channels, offset=offset,
                              duration=seconds)
        if audio.shape[-1] < config.hop_length:
            raise ValueError(f"{path}: {audio.shape[-1]} samples is shorter than the codec's hop "
                             f"({config.hop_length}); pick longer clips or a smaller --offset")
        clip = {"file": Path(path).name, "seconds": audio.shape[-1] / rate}
        for q in levels:
            data = model.compress(audio, num_quantizers=q)
            decoded = model.decompress(data)
            report = bitstream.stats(data)
            kbps = report.bitrate / 1000
            rows.append({**clip, "system": f"codec q={q}", "bitrate_kbps": kbps, "compression_ratio": report.ratio,
                         **quality(audio, decoded, rate)})
            for factor in (1, 2) if opus else ():
                heard, info = opus_roundtrip(audio, rate, kbps * factor)
                rows.append({**clip, "system": f"opus {factor}x q={q}", "target_kbps": kbps * factor,
                             "bitrate_kbps": info["bitrate_kbps"], "compression_ratio": info["compression_ratio"],
                             **quality(audio, heard, rate)})
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean of every metric per system (over files), in the order systems first appear."""
    systems = list(dict.fromkeys(r["system"] for r in rows))
    keys = ("bitrate_kbps", "compression_ratio", "mel_distance", "stft_distance", "si_sdr")
    return [{"system": s, "files": sum(r["system"] == s for r in rows),
             **{k: float(np.mean([r[k] for r in rows if r["system"] == s])) for k in keys}} for s in systems]


def format_table(rows: list[dict]) -> str:
    """A markdown table of ``rows`` (per-file rows or ``summarise`` output)."""
    columns = [c for c in ("file", "system", "files", "bitrate_kbps", "compression_ratio", "mel_distance",
                           "stft_distance", "si_sdr") if c in rows[0]]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in columns)
                     + " |")
    return "\n".join(lines)


def save_rate_quality_plot(path, rows: list[dict]) -> Path:
    """Mel distance and SI-SDR against real kbps: the codec's points and Opus's, each file a marker, means joined."""
    from .plots import _pyplot, _save

    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for family, marker in (("codec", "o"), ("opus", "s")):
        points = [r for r in rows if r["system"].startswith(family)]
        if not points:
            continue
        summary = sorted((s for s in summarise(points)), key=lambda s: s["bitrate_kbps"])
        for axis, metric in zip(axes, ("mel_distance", "si_sdr")):
            axis.scatter([r["bitrate_kbps"] for r in points], [r[metric] for r in points], marker=marker, alpha=0.3)
            axis.plot([s["bitrate_kbps"] for s in summary], [s[metric] for s in summary], marker=marker, label=family)
    for axis, label in zip(axes, ("mel distance (DAC 7-scale, lower is better)", "SI-SDR (dB, higher is better)")):
        axis.set(xlabel="bitrate (kbps)", ylabel=label, xscale="log")
        axis.legend()
    return _save(figure, path)
