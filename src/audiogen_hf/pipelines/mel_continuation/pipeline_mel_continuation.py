"""Continue a music clip with the Jam Assistant: audio -> mel frames -> LSTM continuation -> Griffin-Lim audio."""

import math
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from ...audio.io import resample
from ...audio.spectrogram import SpectrogramConverter
from ...models.mel_lstm import MelLSTMModel


@dataclass
class MelContinuationPipelineOutput(BaseOutput):
    """
    audios: ``[batch, samples]`` prompt followed by its continuation (np or torch per ``output_type``); ``None`` for
        ``output_type="mel"``.
    sampling_rate: rate of ``audios``.
    mels: ``[batch, n_mels, frames]`` normalised mels of prompt + continuation.
    """

    audios: Optional[Union[np.ndarray, torch.Tensor]]
    sampling_rate: int
    mels: Union[np.ndarray, torch.Tensor]


class MelContinuationPipeline(DiffusionPipeline):
    """Components: ``model`` (``MelLSTMModel``) and ``converter`` (``SpectrogramConverter``, mel mode, dB scale,
    ``fixed`` normalisation over the model's ``db_range`` when ``model.config.target_log``)."""

    def __init__(self, model: MelLSTMModel, converter: SpectrogramConverter):
        super().__init__()
        c, m = converter.config, model.config
        problems = []
        if c.mode != "mel" or c.n_mels != m.n_mels:
            problems.append(f"converter must be mode='mel' with n_mels={m.n_mels} (got {c.mode}, {c.n_mels})")
        if c.sampling_rate != m.sampling_rate:
            problems.append(f"converter sampling_rate {c.sampling_rate} != model sampling_rate {m.sampling_rate}")
        if m.target_log and (c.scale != "db" or c.normalization != "fixed" or list(c.norm_range) != list(m.db_range)):
            problems.append(f"a target_log model needs scale='db', normalization='fixed', norm_range={m.db_range}")
        if not m.target_log and (c.scale != "none" or c.normalization != "none"):
            problems.append("a linear (target_log=False) model needs scale='none', normalization='none'")
        if problems:
            raise ValueError("MelContinuationPipeline: converter and model disagree: " + "; ".join(problems))
        self.register_modules(model=model, converter=converter)

    @torch.no_grad()
    def __call__(
        self,
        audio: Union[np.ndarray, torch.Tensor],
        sampling_rate: Optional[int] = None,
        duration_s: Optional[float] = None,
        num_frames: Optional[int] = None,
        noise_scale: float = 0.0,
        generator: Optional[torch.Generator] = None,
        temperature: Optional[float] = None,
        level_control: Optional[float] = None,
        griffin_lim_iters: Optional[int] = None,
        output_type: str = "np",
        return_dict: bool = True,
    ):
        """Continue mono prompt ``audio`` (``[samples]`` or ``[batch, samples]``) by ``duration_s`` seconds or
        ``num_frames`` mel frames. ``noise_scale``/``generator`` vary the continuation (0: deterministic);
        ``temperature`` / ``level_control`` (defaults: the model config's) as in ``MelLSTMModel.generate``.
        ``output_type``: ``"np"``, ``"pt"`` or ``"mel"`` (no audio synthesis)."""
        if output_type not in ("np", "pt", "mel"):
            raise ValueError(f"output_type must be 'np', 'pt' or 'mel', got {output_type!r}")
        if (duration_s is None) == (num_frames is None):
            raise ValueError("pass exactly one of duration_s and num_frames")
        converter = self.converter
        rate = converter.config.sampling_rate
        audio = torch.as_tensor(audio, dtype=torch.float32, device=self.device)
        if audio.dim() == 1:
            audio = audio[None]
        if audio.dim() != 2:
            raise ValueError(f"audio must be mono [samples] or [batch, samples], got shape {tuple(audio.shape)}")
        if sampling_rate is not None and sampling_rate != rate:
            audio = resample(audio, sampling_rate, rate)
        if num_frames is None:
            if duration_s <= 0:
                raise ValueError(f"duration_s must be > 0, got {duration_s}")
            num_frames = math.ceil(duration_s * rate / converter.config.hop_length)

        prompt = converter.audio_to_spectrogram(audio).spectrogram.transpose(-1, -2)  # [batch, frames, n_mels]
        continuation = self.model.generate(prompt, num_frames, noise_scale=noise_scale, generator=generator,
                                           temperature=temperature, level_control=level_control)
        mels = torch.cat([prompt, continuation], dim=1).transpose(-1, -2)
        audios = None
        if output_type != "mel":
            total = audio.shape[-1] + num_frames * converter.config.hop_length
            synthesized = converter.spectrogram_to_audio(mels, length=total, griffin_lim_iters=griffin_lim_iters)
            # The prompt is kept as it was; Griffin-Lim supplies only what follows it.
            audios = torch.cat([audio, synthesized[:, audio.shape[-1]:]], dim=-1)
        if output_type == "np":
            audios, mels = audios.cpu().numpy(), mels.cpu().numpy()
        output = MelContinuationPipelineOutput(audios=audios, sampling_rate=rate, mels=mels)
        return output if return_dict else output.to_tuple()
