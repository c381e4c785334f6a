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


def si_sdr(reference: torch.Tensor, estimate: torch.Tensor, eps: float = 1e-8) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (zero-mean, per channel, averaged)."""
    r = reference.double().reshape(-1, reference.shape[-1])
    e = estimate.double().reshape(-1, estimate.shape[-1])
    r, e = r - r.mean(-1, keepdim=True), e - e.mean(-1, keepdim=True)
    target = (e * r).sum(-1, keepdim=True) / (r.square().sum(-1, keepdim=True) + eps) * r
    ratio = target.square().sum(-1) / ((e - target).square().sum(-1) + eps)
    return float((10 * torch.log10(ratio + eps)).mean())


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
