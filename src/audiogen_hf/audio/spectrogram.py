"""The spectrogram converter: a config-serialised component that turns audio into (log, normalised) linear or
mel spectrograms and back, batched in torch.

Like diffusers' ``Mel`` it is a ``ConfigMixin`` + ``SchedulerMixin``, which is what lets a ``DiffusionPipeline``
save it to and load it from its own sub-folder (``spectrogram_config.json``), so a pipeline folder fully
describes its audio parameters.

Shapes: audio ``[..., samples]`` -> spectrogram ``[..., bins, frames]`` (``bins`` = ``n_fft // 2 + 1`` or ``n_mels``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
import torchaudio
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils import BaseOutput

from ..configuration_utils import check_field

MODES = ("linear", "mel")
SCALES = ("none", "log", "db")
NORMALIZATIONS = ("none", "per_clip", "fixed")
_MEL_GROUP = 16  # mel bands projected together: the filterbank is ~1.5 % non-zero, so project band by band


def to_db(spec: torch.Tensor, power: bool = True, amin: Optional[float] = None) -> torch.Tensor:
    """Linear -> dB: ``10 log10`` of a power (``power=True``) or ``20 log10`` of a magnitude, floored at ``amin``
    (default 1e-10 for power, 1e-5 for magnitude, librosa's). No ``top_db`` floor: see
    ``SpectrogramConverter.scale``."""
    amin = (1e-10 if power else 1e-5) if amin is None else amin
    return (10.0 if power else 20.0) * spec.clamp_min(amin).log10()


def from_db(db: torch.Tensor, power: bool = True) -> torch.Tensor:
    """dB -> linear power (``power=True``) or magnitude: the inverse of ``to_db`` above its floor."""
    return torch.pow(10.0, db / (10.0 if power else 20.0))


def normalize_range(values: torch.Tensor, low, high, clip: bool = True) -> torch.Tensor:
    """Map ``[low, high]`` to ``[0, 1]`` (clipped unless ``clip=False``); ``low``/``high`` may be tensors."""
    normalised = (values - low) / (high - low)
    return normalised.clamp(0, 1) if clip else normalised


def denormalize_range(normalised: torch.Tensor, low, high) -> torch.Tensor:
    """Map ``[0, 1]`` back to ``[low, high]``: the inverse of ``normalize_range``."""
    return normalised * (high - low) + low


@dataclass
class SpectrogramOutput(BaseOutput):
    """
    spectrogram: ``[..., bins, frames]``, scaled and normalised as configured.
    stats: ``[..., 2, 1, 1]`` min and max of each scaled clip (``per_clip`` normalisation only); pass them back to
        ``spectrogram_to_audio`` to undo the normalisation.
    phase: ``[..., n_fft // 2 + 1, frames]`` STFT phase in radians, when asked for.
    """

    spectrogram: torch.Tensor
    stats: Optional[torch.Tensor] = None
    phase: Optional[torch.Tensor] = None


class SpectrogramConverter(ConfigMixin, SchedulerMixin):
    """Audio <-> spectrogram with the analysis parameters stored in its config.

    Args:
        sampling_rate: audio rate in Hz the parameters refer to.
        n_fft, hop_length, win_length: STFT size, hop and periodic-Hann window length (``None``: ``n_fft``).
        mode: ``"linear"`` (STFT bins) or ``"mel"`` (Slaney mel filterbank, librosa's default).
        n_mels, f_min, f_max: mel filterbank (``f_max`` ``None``: Nyquist).
        power: 1 for magnitude, 2 for power.
        scale: ``"none"``, ``"log"`` (natural log) or ``"db"`` (librosa's ``power_to_db``/``amplitude_to_db``, ref 1).
        top_db: floor the dB scale this far below each clip's maximum (``None``: no floor).
        normalization: ``"none"``; ``"per_clip"`` min-max to [0, 1] with the min/max returned as ``stats``;
            ``"fixed"`` maps ``norm_range`` to [0, 1] and clips (dB are relative to 1, so music peaks near +30 dB).
        griffin_lim_iters, griffin_lim_momentum: phase reconstruction when no phase is given (fast Griffin-Lim).
    """

    config_name = "spectrogram_config.json"

    @register_to_config
    def __init__(
        self,
        sampling_rate: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        win_length: Optional[int] = None,
        mode: str = "mel",
        n_mels: int = 128,
        f_min: float = 0.0,
        f_max: Optional[float] = None,
        power: float = 2.0,
        scale: str = "db",
        top_db: Optional[float] = 80.0,
        normalization: str = "none",
        norm_range: tuple = (-80.0, 40.0),
        griffin_lim_iters: int = 32,
        griffin_lim_momentum: float = 0.99,
    ):
        win_length = n_fft if win_length is None else win_length
        f_max = sampling_rate / 2 if f_max is None else f_max
        for name, value in (("sampling_rate", sampling_rate), ("n_fft", n_fft), ("hop_length", hop_length),
                            ("win_length", win_length), ("n_mels", n_mels), ("griffin_lim_iters", griffin_lim_iters)):
            _check(isinstance(value, int) and not isinstance(value, bool), name, value, "an integer")
        _check(isinstance(norm_range, (tuple, list)) and len(norm_range) == 2, "norm_range", norm_range,
               "a pair (low, high)")
        _check(sampling_rate > 0, "sampling_rate", sampling_rate, "> 0")
        _check(n_fft >= 2, "n_fft", n_fft, ">= 2")
        _check(hop_length > 0, "hop_length", hop_length, "> 0")
        _check(0 < win_length <= n_fft, "win_length", win_length, f"in (0, n_fft={n_fft}]")
        _check(hop_length <= win_length // 2, "hop_length", hop_length,
               f"<= win_length // 2 = {win_length // 2}, so that overlapping windows cover every sample")
        _check(mode in MODES, "mode", mode, f"one of {MODES}")
        _check(scale in SCALES, "scale", scale, f"one of {SCALES}")
        _check(normalization in NORMALIZATIONS, "normalization", normalization, f"one of {NORMALIZATIONS}")
        _check(power in (1.0, 2.0), "power", power, "1.0 (magnitude) or 2.0 (power)")
        _check(top_db is None or top_db > 0, "top_db", top_db, "> 0 or None")
        _check(norm_range[0] < norm_range[1], "norm_range", norm_range, "(low, high) with low < high")
        _check(griffin_lim_iters >= 0, "griffin_lim_iters", griffin_lim_iters, ">= 0")
        _check(0 <= griffin_lim_momentum < 1, "griffin_lim_momentum", griffin_lim_momentum, "in [0, 1)")
        if mode == "mel":
            _check(0 < n_mels <= n_fft // 2 + 1, "n_mels", n_mels, f"in (0, n_fft // 2 + 1 = {n_fft // 2 + 1}]")
            _check(0 <= f_min < f_max <= sampling_rate / 2, "f_min/f_max", (f_min, f_max),
                   f"0 <= f_min < f_max <= sampling_rate / 2 = {sampling_rate / 2}")

        window = torch.hann_window(win_length)
        left = (n_fft - win_length) // 2
        self.window = F.pad(window, (left, n_fft - win_length - left))
        if mode == "mel":
            fb = torchaudio.functional.melscale_fbanks(
                n_fft // 2 + 1, f_min, f_max, n_mels, sampling_rate, norm="slaney", mel_scale="slaney"
            )
            empty = int((fb.sum(dim=0) == 0).sum())
            _check(empty == 0, "n_mels", n_mels, f"small enough that no mel filter is empty ({empty} are with "
                   f"n_fft={n_fft}); lower n_mels or raise n_fft")
            self._mel_inverse = torch.linalg.pinv(fb.T)  # [freqs, n_mels]: least-squares inverse of the projection
            self._mel_groups = []  # (first bin, last bin + 1, filters [bins, group]) for each band of mels
            for start in range(0, n_mels, _MEL_GROUP):
                block = fb[:, start : start + _MEL_GROUP]
                rows = block.abs().sum(dim=1).nonzero().flatten()
                lo, hi = (int(rows.min()), int(rows.max()) + 1) if len(rows) else (0, 1)
                self._mel_groups.append((lo, hi, block[lo:hi].contiguous()))

    @classmethod
    def from_config(cls, config=None, return_unused_kwargs=False, **kwargs):
        """``ConfigMixin.from_config``, also reading converters saved before ``sample_rate`` became
        ``sampling_rate`` (the one name used across the library)."""
        if isinstance(config, dict) and "sample_rate" in config and "sampling_rate" not in config:
            config = {("sampling_rate" if key == "sample_rate" else key): value for key, value in config.items()}
        return super().from_config(config, return_unused_kwargs=return_unused_kwargs, **kwargs)

    @property
    def num_bins(self) -> int:
        return self.config.n_mels if self.config.mode == "mel" else self.config.n_fft // 2 + 1

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for ``num_samples`` of audio (centred frames)."""
        n_fft = self.config.n_fft
        return (num_samples + 2 * (n_fft // 2) - n_fft) // self.config.hop_length + 1

    # ------------------------------------------------------------------ STFT
    def stft(self, audio: torch.Tensor) -> torch.Tensor:
        """Centred STFT (zero padding, like librosa >= 0.10): ``[..., samples]`` -> complex
        ``[..., frames, freqs]``."""
        n_fft, hop = self.config.n_fft, self.config.hop_length
        audio = _check_audio(audio, n_fft)
        # Framing + rfft beats torch.stft on CPU and keeps frames last-but-one, the layout the mel step wants.
        frames = F.pad(audio, (n_fft // 2, n_fft // 2)).unfold(-1, n_fft, hop)
        return torch.fft.rfft(frames * self.window.to(audio.device, audio.dtype), dim=-1)

    def istft(self, stft: torch.Tensor, length: Optional[int] = None) -> torch.Tensor:
        """Exact inverse of ``stft``: complex ``[..., frames, freqs]`` -> ``[..., samples]`` (``length`` trims/pads).

        irfft + a weighted overlap-add of our own: ``torch.istft``'s overlap-add costs 4x its inverse FFT on CPU.
        """
        n_fft = self.config.n_fft
        window = self.window.to(stft.device, stft.real.dtype)
        frames = torch.fft.irfft(stft, n=n_fft, dim=-1) * window
        envelope = self._overlap_add(window.square().expand(stft.shape[-2], n_fft))
        audio = self._overlap_add(frames) / envelope.clamp_min(1e-11)
        length = (stft.shape[-2] - 1) * self.config.hop_length if length is None else length
        audio = audio[..., n_fft // 2 : n_fft // 2 + length]  # drop the centring pad
        return F.pad(audio, (0, length - audio.shape[-1])) if audio.shape[-1] < length else audio

    def _overlap_add(self, frames: torch.Tensor) -> torch.Tensor:
        """Sum ``[..., frames, n_fft]`` at ``hop_length`` steps -> ``[..., (frames - 1) * hop + n_fft]``."""
        n_fft, hop = self.config.n_fft, self.config.hop_length
        count = frames.shape[-2]
        if n_fft % hop == 0:  # frames are whole hop-sized blocks: n_fft // hop shifted additions
            blocks = frames.reshape(*frames.shape[:-1], n_fft // hop, hop)
            out = frames.new_zeros(*frames.shape[:-2], count + n_fft // hop - 1, hop)
            for k in range(n_fft // hop):
                out[..., k : k + count, :] += blocks[..., k, :]
            return out.flatten(-2)
        lead = frames.shape[:-2]
        flat = frames.reshape(-1, count, n_fft).transpose(-1, -2)
        out = F.fold(flat, output_size=(1, (count - 1) * hop + n_fft), kernel_size=(1, n_fft), stride=(1, hop))
        return out.reshape(*lead, -1)

    def griffin_lim(self, magnitude: torch.Tensor, griffin_lim_iters: int,
                    length: Optional[int] = None) -> torch.Tensor:
        """Fast Griffin-Lim (Perraudin et al. 2013; torchaudio's ``griffinlim`` algorithm) from a zero-phase start.

        ``magnitude`` ``[..., freqs, frames]`` -> audio ``[..., samples]``; deterministic. Each iteration is
        ``stft(istft(x))`` computed in the padded frame domain: irfft, overlap-add, one multiply by the inverse window
        envelope (which also zeroes the centring pad), reframe, rfft. That is ~3x faster per iteration than
        torchaudio's ``griffinlim`` on CPU (``scripts/benchmarks/bench_spectrogram.py``).
        """
        n_fft, hop = self.config.n_fft, self.config.hop_length
        target = magnitude.transpose(-1, -2).contiguous()  # [..., frames, freqs]
        frames = target.shape[-2]
        length = (frames - 1) * hop if length is None else length
        window = self.window.to(target.device, target.dtype)
        envelope = self._overlap_add(window.square().expand(frames, n_fft))
        support = torch.zeros_like(envelope)
        support[n_fft // 2 : n_fft // 2 + length] = 1.0  # the signal is zero outside [0, length)
        inverse_envelope = support / envelope.clamp_min(1e-11)
        beta = self.config.griffin_lim_momentum / (1 + self.config.griffin_lim_momentum)

        stft, previous = target.to(torch.complex128 if target.dtype == torch.float64 else torch.complex64), None
        for _ in range(griffin_lim_iters):
            signal = self._overlap_add(torch.fft.irfft(stft, n=n_fft, dim=-1).mul_(window)).mul_(inverse_envelope)
            rebuilt = torch.fft.rfft(signal.unfold(-1, n_fft, hop) * window, dim=-1)
            accelerated = rebuilt if previous is None else torch.add(rebuilt, previous, alpha=-beta)
            previous = rebuilt
            real, imag = accelerated.real, accelerated.imag
            stft = accelerated * real.square().addcmul_(imag, imag).add_(1e-24).rsqrt_().mul_(target)
        return self.istft(stft, length=length)

    # --------------------------------------------------------- forward path
    def audio_to_spectrogram(self, audio: torch.Tensor, return_phase: bool = False) -> SpectrogramOutput:
        """``[..., samples]`` -> ``SpectrogramOutput`` with ``spectrogram`` ``[..., bins, frames]``."""
        stft = self.stft(audio)
        power = stft.real.square().addcmul_(stft.imag, stft.imag)  # [..., frames, freqs]
        if self.config.power == 1.0:
            power = power.sqrt()
        spec = self._project(power).transpose(-1, -2)
        scaled = self.scale(spec)
        normalised, stats = self.normalize(scaled)
        phase = stft.angle().transpose(-1, -2) if return_phase else None
        return SpectrogramOutput(spectrogram=normalised, stats=stats, phase=phase)

    def _project(self, spec: torch.Tensor) -> torch.Tensor:
        """Linear frequency ``[..., frames, freqs]`` -> ``[..., frames, bins]``."""
        if self.config.mode == "linear":
            return spec
        return torch.cat([spec[..., lo:hi] @ filters.to(spec) for lo, hi, filters in self._mel_groups], dim=-1)

    def scale(self, spec: torch.Tensor) -> torch.Tensor:
        """Linear ``[..., bins, frames]`` -> the configured log/dB scale, floored ``top_db`` below each clip's max."""
        c = self.config
        if c.scale == "none":
            return spec
        if c.scale == "log":
            return spec.clamp_min(1e-10 if c.power == 2.0 else 1e-5).log()
        scaled = to_db(spec, power=c.power == 2.0)
        if c.top_db is not None:
            peak = scaled.amax(dim=(-2, -1), keepdim=True)
            scaled = torch.maximum(scaled, peak - c.top_db)
        return scaled

    def unscale(self, scaled: torch.Tensor) -> torch.Tensor:
        """Inverse of ``scale`` (exact above the ``top_db`` floor)."""
        c = self.config
        if c.scale == "none":
            return scaled.clamp_min(0)
        if c.scale == "log":
            return scaled.exp()
        return from_db(scaled, power=c.power == 2.0)

    def normalize(self, scaled: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Min-max normalise ``[..., bins, frames]`` to [0, 1]; returns ``(normalised, stats or None)``."""
        c = self.config
        if c.normalization == "none":
            return scaled, None
        if c.normalization == "fixed":
            return normalize_range(scaled, *c.norm_range), None
        low = scaled.amin(dim=(-2, -1), keepdim=True)
        high = scaled.amax(dim=(-2, -1), keepdim=True)
        # A constant (e.g. silent) clip maps to zeros instead of dividing by zero.
        normalised = (scaled - low) / (high - low).clamp_min(1e-8)
        return normalised, torch.stack([low, high], dim=-3)

    def denormalize(self, normalised: torch.Tensor, stats: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Inverse of ``normalize``; ``per_clip`` needs the ``stats`` it returned."""
        c = self.config
        if c.normalization == "none":
            return normalised
        if c.normalization == "fixed":
            return denormalize_range(normalised, *c.norm_range)
        if stats is None:
            raise ValueError("normalization='per_clip' needs the stats returned by audio_to_spectrogram to invert")
        expected = tuple(normalised.shape[:-2]) + (2, 1, 1)
        if tuple(stats.shape) != expected:
            raise ValueError(f"stats have shape {tuple(stats.shape)} but this spectrogram needs {expected}: pass the "
                             "stats returned with it by audio_to_spectrogram")
        return denormalize_range(normalised, *stats.unbind(dim=-3))

    # -------------------------------------------------------- inverse path
    def spectrogram_to_audio(
        self,
        spectrogram: torch.Tensor,
        stats: Optional[torch.Tensor] = None,
        phase: Optional[torch.Tensor] = None,
        length: Optional[int] = None,
        griffin_lim_iters: Optional[int] = None,
    ) -> torch.Tensor:
        """``[..., bins, frames]`` -> audio ``[..., samples]``.

        With ``phase`` (linear mode) the inverse is an exact iSTFT; otherwise the phase is estimated with fast
        Griffin-Lim (momentum ``griffin_lim_momentum``, ``griffin_lim_iters`` iterations (default: the config's),
        deterministic zero-phase start). Mel spectrograms are first mapped back to linear frequency by
        least squares (the filterbank's pseudo-inverse), clamped at zero.
        """
        c = self.config
        if spectrogram.dim() < 2 or spectrogram.shape[-2] != self.num_bins:
            raise ValueError(f"expected [..., {self.num_bins} bins, frames], got shape {tuple(spectrogram.shape)}")
        if not torch.isfinite(spectrogram).all():
            raise ValueError("spectrogram contains NaN or infinite values")
        if phase is not None and c.mode == "mel":
            raise ValueError("exact inversion with phase needs mode='linear'; mel spectrograms drop detail")
        if griffin_lim_iters is not None and (not isinstance(griffin_lim_iters, int) or griffin_lim_iters < 0):
            raise ValueError(f"griffin_lim_iters must be an integer >= 0, got {griffin_lim_iters!r}")
        spec = self.unscale(self.denormalize(spectrogram, stats))
        if c.mode == "mel":
            spec = (self._mel_inverse.to(spec) @ spec).clamp_min(0)  # least squares, clamped non-negative
        magnitude = spec if c.power == 1.0 else spec.clamp_min(0).sqrt()
        if phase is not None:
            return self.istft(torch.polar(magnitude, phase).transpose(-1, -2), length=length)
        iterations = c.griffin_lim_iters if griffin_lim_iters is None else griffin_lim_iters
        return self.griffin_lim(magnitude, iterations, length=length)


def _check(ok: bool, field: str, value, allowed: str) -> None:
    check_field("SpectrogramConverter", ok, field, value, allowed)


def _check_audio(audio: torch.Tensor, n_fft: int) -> torch.Tensor:
    audio = torch.as_tensor(audio)
    if audio.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"audio must be float32 or float64 in [-1, 1], got {audio.dtype}; integer PCM must be scaled "
                        "(e.g. int16 / 32768), half precision converted with .float()")
    if audio.dim() == 0:
        raise ValueError("audio must have a samples axis, got a scalar")
    if audio.shape[-1] < n_fft:
        raise ValueError(
            f"audio has {audio.shape[-1]} samples, fewer than n_fft={n_fft}; pad it or use a smaller n_fft"
        )
    if not torch.isfinite(audio).all():
        raise ValueError("audio contains NaN or infinite samples")
    return audio
