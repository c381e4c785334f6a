"""Continue a music clip with the Jam Assistant: audio -> mel frames -> LSTM continuation -> Griffin-Lim audio."""

import math
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from ...audio.io import prepare_audio
from ...audio.spectrogram import SpectrogramConverter
from ...models.mel_lstm import MelLSTMModel

OUTPUT_TYPES = ("np", "pt", "spectrogram")


@dataclass
class MelContinuationPipelineOutput(BaseOutput):
    """
    Args:
        audios (`np.ndarray` or `torch.Tensor` of shape `[batch, samples]`): the prompt followed by its continuation;
            ``None`` for ``output_type="spectrogram"``.
        sampling_rate (`int`): the rate of ``audios`` (the converter's).
        spectrograms (`np.ndarray` or `torch.Tensor` of shape `[batch, n_mels, frames]`): the mels of prompt +
            continuation in the converter's scale (dB for a ``scale="db"`` converter).
    """

    audios: Optional[Union[np.ndarray, torch.Tensor]]
    sampling_rate: int
    spectrograms: Union[np.ndarray, torch.Tensor]


class MelContinuationPipeline(DiffusionPipeline):
    """Continue music: the prompt's mel frames are fed to the LSTM, which predicts the frames that follow one by one;
    the prompt + continuation mels become audio through the converter's fast Griffin-Lim, and the prompt's own
    samples are kept as they were.

    Args:
        model ([`MelLSTMModel`]): the next-frame predictor.
        converter ([`SpectrogramConverter`]): mel mode with the model's ``n_mels`` and ``sampling_rate``; for a
            ``target_log`` model dB scale with ``fixed`` normalisation over the model's ``db_range``, else linear
            (``scale="none"``, ``normalization="none"``).

    Example:

    ```python
    >>> import torch
    >>> from audiogen_hf import MelContinuationPipeline, MelLSTMConfig, MelLSTMModel, SpectrogramConverter

    >>> model = MelLSTMModel(MelLSTMConfig(n_mels=32, hidden_size=32, num_layers=1, sampling_rate=16000))
    >>> converter = SpectrogramConverter(sampling_rate=16000, n_fft=512, hop_length=128, n_mels=32,
    ...                                  normalization="fixed", norm_range=model.config.db_range)
    >>> pipe = MelContinuationPipeline(model=model, converter=converter)
    >>> pipe.set_progress_bar_config(disable=True)
    >>> prompt = 0.1 * torch.randn(16000, generator=torch.Generator().manual_seed(0))  # 1 s of audio
    >>> out = pipe(prompt, sampling_rate=16000, duration_s=0.5)
    >>> out.audios.shape, out.sampling_rate  # the prompt + 0.5 s (63 frames of hop 128)
    ((1, 24064), 16000)

    ```
    """

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
        max_peak: Optional[float] = 0.99,
        output_type: str = "np",
        return_dict: bool = True,
    ):
        """Continue mono prompt ``audio`` by ``duration_s`` seconds or ``num_frames`` mel frames.

        Args:
            audio (`np.ndarray` or `torch.Tensor`): mono ``[samples]`` or a batch ``[batch, samples]``; float in
                [-1, 1] or integer PCM.
            sampling_rate (`int`): the rate of ``audio`` (required); it is resampled to the converter's rate.
            duration_s (`float`, *optional*): how much to add, in seconds (rounded up to whole frames).
            num_frames (`int`, *optional*): how much to add, in mel frames (pass this or ``duration_s``).
            noise_scale (`float`, *optional*, defaults to 0): std of the noise added to each generated frame before
                it is fed back (0: deterministic).
            generator (`torch.Generator`, *optional*): for that noise and the Gaussian head's sampling.
            temperature (`float`, *optional*): sampling temperature of a Gaussian-head model (default: its
                ``config.sampling_temperature``; 0: the deterministic mean rollout).
            level_control (`float`, *optional*): pull of the continuation's level back to the prompt's (default:
                ``config.level_control``).
            griffin_lim_iters (`int`, *optional*): Griffin-Lim iterations (default: the converter's).
            max_peak (`float`, *optional*, defaults to 0.99): the continuation's audio is scaled down (one gain per
                clip) where its largest sample would exceed this, so it never clips when written; ``None``: as
                synthesized.
            output_type (`str`, *optional*, defaults to `"np"`): ``"np"``, ``"pt"`` or ``"spectrogram"`` (no audio
                synthesis: ``audios`` is ``None`` and ``spectrograms`` stay torch tensors).
            return_dict (`bool`, *optional*, defaults to `True`): a [`MelContinuationPipelineOutput`] or a tuple.

        Returns:
            [`MelContinuationPipelineOutput`] or a tuple ``(audios, sampling_rate, spectrograms)``.
        """
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")
        if max_peak is not None and not max_peak > 0:
            raise ValueError(f"max_peak must be > 0 (or None: no limit), got {max_peak}")
        if (duration_s is None) == (num_frames is None):
            raise ValueError("pass exactly one of duration_s and num_frames")
        converter, model, device = self.converter, self.model, self._execution_device
        rate = converter.config.sampling_rate
        audio = prepare_audio(audio, sampling_rate, rate, device=device)
        if num_frames is None:
            if duration_s <= 0:
                raise ValueError(f"duration_s must be > 0, got {duration_s}")
            num_frames = math.ceil(duration_s * rate / converter.config.hop_length)
        if not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f"num_frames must be an integer >= 1, got {num_frames!r}")

        model.eval()
        prompt = converter.audio_to_spectrogram(audio).spectrogram.transpose(-1, -2)  # [batch, frames, n_mels]
        frame, state = model.start_generation(prompt, noise_scale, generator, temperature, level_control)
        frames = []
        with self.progress_bar(total=num_frames) as progress:
            for _ in range(num_frames):
                frames.append(frame)
                frame, state = model.generation_step(frame, state, noise_scale, generator)
                progress.update()
        mels = torch.cat([prompt, torch.cat(frames, dim=1).float()], dim=1).transpose(-1, -2)
        audios = None
        if output_type != "spectrogram":
            total = audio.shape[-1] + num_frames * converter.config.hop_length
            synthesized = converter.spectrogram_to_audio(mels, length=total, griffin_lim_iters=griffin_lim_iters)
            # The prompt is kept as it was; Griffin-Lim supplies only what follows it.
            continuation = synthesized[:, audio.shape[-1]:]
            if max_peak is not None:
                peak = continuation.abs().amax(dim=-1, keepdim=True)
                continuation = continuation * (max_peak / peak.clamp_min(1e-12)).clamp(max=1.0)
            audios = torch.cat([audio, continuation], dim=-1)
        spectrograms = converter.denormalize(mels)
        if output_type == "np":
            audios, spectrograms = audios.cpu().numpy(), spectrograms.cpu().numpy()
        output = MelContinuationPipelineOutput(audios=audios, sampling_rate=rate, spectrograms=spectrograms)
        return output if return_dict else output.to_tuple()
