"""Reconstruct audio through a spectrogram autoencoder, or sample new audio from a variational one."""

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from ...audio.io import prepare_audio
from ...audio.spectrogram import SpectrogramConverter, denormalize_range
from ...models import MelAutoencoderModel, SpectrogramAutoencoderModel

OUTPUT_TYPES = ("np", "pt", "spectrogram")


@dataclass
class AudioAutoencoderPipelineOutput(BaseOutput):
    """
    Args:
        audios (`np.ndarray` or `torch.Tensor` of shape `[batch, samples]`): reconstructed (same length as the
            input) or sampled audio; ``None`` for ``output_type="spectrogram"``.
        sampling_rate (`int`): the rate of ``audios`` (the converter's).
        spectrograms (`np.ndarray` or `torch.Tensor` of shape `[batch, bins, frames]`): the decoded spectrograms in
            the converter's scale (dB for ``scale="db"``).
    """

    audios: Optional[Union[np.ndarray, torch.Tensor]]
    sampling_rate: int
    spectrograms: Union[np.ndarray, torch.Tensor]


class AudioAutoencoderPipeline(DiffusionPipeline):
    """Audio -> normalised spectrogram windows -> autoencoder -> spectrogram -> audio; or prior samples -> audio.

    Audio longer than one model window is cut into consecutive windows of ``num_frames`` frames of one STFT (the last
    one ending at the clip's end), each normalised on its own as in training, decoded, and inverted as one signal
    (no seams from separate inversions).

    Args:
        model ([`SpectrogramAutoencoderModel`] or [`MelAutoencoderModel`]): the autoencoder.
        converter ([`SpectrogramConverter`]): produces the model's ``[bins, frames]`` with ``per_clip`` or ``fixed``
            normalisation.

    Example:

    ```python
    >>> import torch
    >>> from audiogen_hf import AudioAutoencoderPipeline, SpectrogramConverter
    >>> from audiogen_hf import SpectrogramAutoencoderConfig, SpectrogramAutoencoderModel

    >>> model = SpectrogramAutoencoderModel(SpectrogramAutoencoderConfig(num_bins=65, num_frames=32, channels=[4, 8],
    ...                                                                  latent_dim=8, variational=True))
    >>> converter = SpectrogramConverter(sampling_rate=16000, n_fft=128, hop_length=32, mode="linear", power=1.0,
    ...                                  normalization="per_clip")
    >>> pipe = AudioAutoencoderPipeline(model=model, converter=converter)
    >>> pipe.set_progress_bar_config(disable=True)
    >>> audio = 0.1 * torch.randn(2, 4000, generator=torch.Generator().manual_seed(0))
    >>> pipe(audio, sampling_rate=16000).audios.shape  # reconstruction: same length
    (2, 4000)
    >>> pipe(num_samples=3, generator=torch.Generator().manual_seed(0)).spectrograms.shape  # prior samples
    (3, 65, 32)

    ```
    """

    window_batch_size = 64  # model windows decoded per forward pass (the progress bar counts these batches)

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
        """Reconstruct ``audio``, or (without it) sample ``num_samples`` clips from the prior.

        Args:
            audio (`np.ndarray` or `torch.Tensor`, *optional*): mono ``[samples]`` or a batch ``[batch, samples]``;
                float in [-1, 1] or integer PCM.
            sampling_rate (`int`): the rate of ``audio`` (required with ``audio``); it is resampled to the
                converter's rate.
            num_samples (`int`, *optional*, defaults to 1): clips to sample when no ``audio`` is given (variational
                models).
            generator (`torch.Generator`, *optional*): for the prior samples.
            phase (`str`, *optional*, defaults to `"griffin_lim"`): ``"griffin_lim"`` estimates the phase (as for
                sampled audio); ``"input"`` reuses the input's STFT phase (linear converters), so only the
                magnitude's reconstruction error is heard.
            griffin_lim_iters (`int`, *optional*): Griffin-Lim iterations (default: the converter's).
            output_type (`str`, *optional*, defaults to `"np"`): ``"np"``, ``"pt"`` or ``"spectrogram"`` (no audio
                synthesis: ``audios`` is ``None`` and ``spectrograms`` stay torch tensors).
            return_dict (`bool`, *optional*, defaults to `True`): a [`AudioAutoencoderPipelineOutput`] or a tuple.

        Returns:
            [`AudioAutoencoderPipelineOutput`] or a tuple of its non-``None`` fields.
        """
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")
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
        latents = self.model.prior_latents(num_samples, generator)
        decoded = self.model.decode(latents).spectrograms.float()
        return denormalize_range(decoded, *self.converter.config.norm_range)

    def _reconstruct(self, audio, sampling_rate: Optional[int], keep_phase: bool):
        converter = self.converter
        if keep_phase and converter.config.mode != "linear":
            raise ValueError("phase='input' needs a linear converter; mel spectrograms cannot carry the STFT phase")
        audio = prepare_audio(audio, sampling_rate, converter.config.sampling_rate, device=self._execution_device)
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
        decoded = torch.cat([self.model(chunk.to(self.model.dtype)).reconstruction.float()
                             for chunk in self.progress_bar(normalised.split(self.window_batch_size))])
        decoded = converter.denormalize(decoded, stats).view(batch, len(starts), bins, window)
        rebuilt = torch.empty_like(scaled)
        for index, start in enumerate(starts):
            rebuilt[..., start : start + window] = decoded[:, index]
        return rebuilt[..., :frames], audio.shape[-1], analysed.phase
