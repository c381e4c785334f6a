"""Reconstruct audio through a spectrogram autoencoder, or sample new audio from a variational one."""

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from ...audio.io import resample
from ...audio.spectrogram import SpectrogramConverter
from ...models import MelAutoencoderModel, SpectrogramAutoencoderModel


@dataclass
class AudioAutoencoderPipelineOutput(BaseOutput):
    """
    audios: ``[batch, samples]`` reconstructed (same length as the input) or sampled audio (np or torch).
    sampling_rate: rate of ``audios``.
    spectrograms: ``[batch, bins, frames]`` the decoded spectrograms in the converter's scale (dB for ``scale="db"``).
    """

    audios: Optional[Union[np.ndarray, torch.Tensor]]
    sampling_rate: int
    spectrograms: Union[np.ndarray, torch.Tensor]


class AudioAutoencoderPipeline(DiffusionPipeline):
    """Components: ``model`` (``SpectrogramAutoencoderModel`` or ``MelAutoencoderModel``) and ``converter``
    (``SpectrogramConverter`` producing the model's ``[bins, frames]`` with ``per_clip`` or ``fixed`` normalisation).

    Audio longer than one model window is cut into consecutive windows of ``num_frames`` frames of one STFT (the last
    one ending at the clip's end), each normalised on its own as in training, decoded, and inverted as one signal
    (no seams from separate inversions).
    """

    def __init__(self, model: Union[SpectrogramAutoencoderModel, MelAutoencoderModel],
                 converter: SpectrogramConverter):
        super().__init__()
        bins, _ = model.spectrogram_shape
        c = converter.config
        if converter.num_bins != bins:
            raise ValueError(f"AudioAutoencoderPipeline: the converter gives {converter.num_bins} bins "
                             f"(mode={c.mode}, n_fft={c.n_fft}, n_mels={c.n_mels}) but the model expects {bins}")
        if c.normalization not in ("per_clip", "fixed"):
            raise ValueError("AudioAutoencoderPipeline: the model works on [0, 1] spectrograms; the converter needs "
                             f"normalization='per_clip' or 'fixed', not {c.normalization!r}")
        self.register_modules(model=model, converter=converter)

    @torch.no_grad()
    def __call__(
        self,
        audio: Optional[Union[np.ndarray, torch.Tensor]] = None,
        sampling_rate: Optional[int] = None,
        num_samples: int = 1,
        generator: Optional[torch.Generator] = None,
        phase: str = "griffin_lim",
        griffin_lim_iters: Optional[int] = None,
        output_type: str = "np",
        return_dict: bool = True,
    ):
        """With mono ``audio`` (``[samples]`` or ``[batch, samples]``, at ``sampling_rate``): its reconstruction.
        Without: ``num_samples`` clips decoded from latents drawn with ``generator`` (variational models).

        ``phase``: ``"griffin_lim"`` estimates the phase (as for sampled audio); ``"input"`` reuses the input's
        STFT phase (linear converters), so only the magnitude's reconstruction error is heard.
        ``output_type``: ``"np"``, ``"pt"`` or ``"spectrogram"`` (no audio synthesis).
        """
        if output_type not in ("np", "pt", "spectrogram"):
            raise ValueError(f"output_type must be 'np', 'pt' or 'spectrogram', got {output_type!r}")
        if phase not in ("griffin_lim", "input"):
            raise ValueError(f"phase must be 'griffin_lim' or 'input', got {phase!r}")
        self.model.eval()
        if audio is None:
            if phase == "input":
                raise ValueError("phase='input' needs input audio; sampled spectrograms have no phase")
            scaled, length, phases = self._sample(num_samples, generator), None, None
        else:
            scaled, length, phases = self._reconstruct(audio, sampling_rate, phase == "input")
        audios = None
        if output_type != "spectrogram":
            normalised, stats = self.converter.normalize(scaled)
            audios = self.converter.spectrogram_to_audio(normalised, stats, phase=phases, length=length,
                                                         griffin_lim_iters=griffin_lim_iters)
        if output_type == "np":
            audios, scaled = audios.cpu().numpy(), scaled.cpu().numpy()
        output = AudioAutoencoderPipelineOutput(audios=audios, sampling_rate=self.converter.config.sampling_rate,
                                                spectrograms=scaled)
        return output if return_dict else output.to_tuple()

    def _sample(self, num_samples: int, generator: Optional[torch.Generator]) -> torch.Tensor:
        """Decoded prior samples ``[num_samples, bins, frames]`` in the converter's scale; ``per_clip`` converters
        map them onto their ``norm_range``."""
        decoded = self.model.decode(self.model.prior_latents(num_samples, generator)).spectrograms.float()
        low, high = self.converter.config.norm_range
        return decoded * (high - low) + low

    def _reconstruct(self, audio, sampling_rate: Optional[int], keep_phase: bool):
        converter, rate = self.converter, self.converter.config.sampling_rate
        if keep_phase and converter.config.mode != "linear":
            raise ValueError("phase='input' needs a linear converter; mel spectrograms cannot carry the STFT phase")
        audio = torch.as_tensor(audio, dtype=torch.float32, device=self.device)
        audio = audio[None] if audio.dim() == 1 else audio
        if audio.dim() != 2:
            raise ValueError(f"audio must be mono [samples] or [batch, samples], got shape {tuple(audio.shape)}")
        if sampling_rate is None:
            raise ValueError(f"pass sampling_rate (the model works at {rate} Hz)")
        if sampling_rate != rate:
            audio = resample(audio, sampling_rate, rate)
        analysed = converter.audio_to_spectrogram(audio, return_phase=keep_phase)
        scaled = converter.denormalize(analysed.spectrogram, analysed.stats)  # [batch, bins, frames]
        batch, bins, frames = scaled.shape
        window = self.model.spectrogram_shape[1]
        if frames < window:  # pad a short clip with its floor (silence)
            floor = scaled.amin(dim=(-2, -1), keepdim=True)
            scaled = torch.cat([scaled, floor.expand(batch, bins, window - frames)], dim=-1)
        # consecutive windows; the last one ends at the clip's end (overlapping its neighbour, never padded)
        starts = list(range(0, scaled.shape[-1] - window + 1, window))
        if starts[-1] + window < scaled.shape[-1]:
            starts.append(scaled.shape[-1] - window)
        windows = torch.stack([scaled[..., s : s + window] for s in starts], dim=1).flatten(0, 1)
        normalised, stats = converter.normalize(windows)  # each window on its own, as in training
        decoded = self.model(normalised.to(self.model.dtype)).reconstruction.float()
        decoded = converter.denormalize(decoded, stats).view(batch, len(starts), bins, window)
        rebuilt = torch.empty_like(scaled)
        for index, start in enumerate(starts):
            rebuilt[..., start : start + window] = decoded[:, index]
        return rebuilt[..., :frames], audio.shape[-1], analysed.phase
