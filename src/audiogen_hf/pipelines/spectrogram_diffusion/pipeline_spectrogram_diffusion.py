"""Genre-conditioned diffusion of music spectrograms: a diffusers ``UNet2DModel`` denoises ``[n_mels, frames]``
log-mel "images", the ``SpectrogramConverter`` turns them into audio (Griffin-Lim).

diffusers' own audio-diffusion pipeline (deprecated since 0.25) was unconditional and used librosa; this one is
conditioned on genre (``num_class_embeds`` = number of genres + 1, the last embedding being the null genre for
classifier-free guidance), keeps the genre names in its config, and makes variations of a given clip (``audio`` +
``strength``: start from the clip's noised spectrogram, as image-to-image does).

Shapes: spectrograms ``[batch, n_mels, frames]`` in the converter's dB scale; audios ``[batch, samples]``.
"""

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from ...audio.io import resample
from ...audio.spectrogram import SpectrogramConverter


@dataclass
class MelDiffusionPipelineOutput(BaseOutput):
    """
    audios: ``[batch, samples]`` (np or torch; None for ``output_type="spectrogram"``).
    sampling_rate: rate of ``audios`` (the converter's).
    spectrograms: ``[batch, n_mels, frames]`` generated spectrograms in the converter's dB scale.
    """

    audios: Optional[Union[np.ndarray, torch.Tensor]]
    sampling_rate: int
    spectrograms: Union[np.ndarray, torch.Tensor]


class MelDiffusionPipeline(DiffusionPipeline):
    """Components: ``unet`` (diffusers ``UNet2DModel``, 1 channel, ``sample_size`` ``(n_mels, frames)``; class-
    conditioned by genre through ``num_class_embeds = len(genres) + 1``, or unconditional), ``scheduler`` (any
    diffusers scheduler: DDPM, DDIM, ...) and ``converter`` (``SpectrogramConverter``, mel, dB, ``fixed``
    normalisation: the U-Net sees ``2 * normalised - 1``).

    Args:
        unet, scheduler, converter: the components.
        genres (`list[str]`, *optional*): the genre name of each class id (stored in ``model_index.json``).

    Example:

    ```python
    >>> import torch
    >>> from diffusers import DDIMScheduler, UNet2DModel
    >>> from audiogen_hf.audio import SpectrogramConverter
    >>> from audiogen_hf.pipelines import MelDiffusionPipeline
    >>> converter = SpectrogramConverter(n_fft=512, hop_length=256, mode="mel", n_mels=16, normalization="fixed")
    >>> unet = UNet2DModel(sample_size=(16, 32), in_channels=1, out_channels=1, block_out_channels=(8, 16),
    ...                    layers_per_block=1, down_block_types=("DownBlock2D",) * 2,
    ...                    up_block_types=("UpBlock2D",) * 2, norm_num_groups=4, num_class_embeds=3)
    >>> pipe = MelDiffusionPipeline(unet, DDIMScheduler(num_train_timesteps=100), converter,
    ...                                     genres=["metal", "electronic"])
    >>> pipe.set_progress_bar_config(disable=True)
    >>> out = pipe(genre="metal", num_samples=2, num_inference_steps=5, guidance_scale=2.0)
    >>> out.audios.shape, out.sampling_rate, out.spectrograms.shape
    ((2, 7936), 22050, (2, 16, 32))
    >>> variation = pipe(genre="electronic", audio=torch.randn(22050) * 0.1, sampling_rate=22050, strength=0.5)
    ```

    A trained one: ``MelDiffusionPipeline.from_pretrained("outputs/spectrogram_diffusion_gtzan/pipeline")``.
    """

    model_cpu_offload_seq = "unet"

    def __init__(self, unet, scheduler, converter: SpectrogramConverter, genres: Optional[list] = None):
        super().__init__()
        c = converter.config
        bins, _ = self._sample_size(unet)
        if converter.num_bins != bins:
            raise ValueError(f"MelDiffusionPipeline: the converter gives {converter.num_bins} bins but the "
                             f"U-Net's sample_size starts with {bins}")
        if c.normalization != "fixed":
            raise ValueError("MelDiffusionPipeline needs a converter with normalization='fixed' (one scale "
                             f"for every clip, so generated levels are absolute), not {c.normalization!r}")
        classes = getattr(unet.config, "num_class_embeds", None)
        if genres is not None and classes != len(genres) + 1:
            raise ValueError(f"{len(genres)} genres need a U-Net with num_class_embeds={len(genres) + 1} (the last is "
                             f"the null genre for guidance), got {classes}")
        self.register_modules(unet=unet, scheduler=scheduler, converter=converter)
        self.register_to_config(genres=list(genres) if genres is not None else None)

    @staticmethod
    def _sample_size(unet) -> tuple:
        size = unet.config.sample_size
        return (size, size) if isinstance(size, int) else tuple(size)

    @property
    def genres(self) -> list:
        return list(self.config.genres or [])

    def genre_ids(self, genre, num_samples: int) -> Optional[torch.Tensor]:
        """``None`` | name | id | list of them -> ``[num_samples]`` class ids (the null genre for ``None``)."""
        classes = getattr(self.unet.config, "num_class_embeds", None)
        if classes is None:
            if genre is not None:
                raise ValueError("this pipeline's U-Net is unconditional: pass genre=None")
            return None
        null = classes - 1
        items = [genre] * num_samples if genre is None or isinstance(genre, (str, int)) else list(genre)
        if len(items) != num_samples:
            raise ValueError(f"got {len(items)} genres for num_samples={num_samples}")
        ids = []
        for item in items:
            if item is None:
                ids.append(null)
            elif isinstance(item, str):
                if item not in self.genres:
                    raise ValueError(f"unknown genre {item!r}; known genres: {', '.join(self.genres)}")
                ids.append(self.genres.index(item))
            elif 0 <= int(item) < null:
                ids.append(int(item))
            else:
                raise ValueError(f"genre id {item} outside [0, {null - 1}] (known genres: {', '.join(self.genres)})")
        return torch.tensor(ids, device=self._execution_device)

    def _encode(self, audio, sampling_rate: Optional[int], num_samples: int) -> torch.Tensor:
        """Mono ``[samples]`` / ``[batch, samples]`` audio -> U-Net input ``[num_samples, 1, n_mels, frames]``."""
        if sampling_rate is None:
            raise ValueError("audio needs its sampling_rate")
        audio = torch.as_tensor(np.asarray(audio) if not torch.is_tensor(audio) else audio, dtype=torch.float32)
        if audio.dim() == 1:
            audio = audio[None]
        if audio.dim() != 2:
            raise ValueError(f"audio must be mono [samples] or [batch, samples], got shape {tuple(audio.shape)}")
        if not torch.isfinite(audio).all():
            raise ValueError("audio contains NaN or infinite values")
        rate = self.converter.config.sampling_rate
        if sampling_rate != rate:
            audio = resample(audio, sampling_rate, rate)
        _, frames = self._sample_size(self.unet)
        needed = (frames - 1) * self.converter.config.hop_length
        if audio.shape[-1] < needed // 2:
            raise ValueError(f"audio is too short: {audio.shape[-1] / rate:.2f} s, the model's clips are "
                             f"{needed / rate:.2f} s (at least half of that is needed; shorter audio is zero-padded)")
        audio = torch.nn.functional.pad(audio, (0, max(0, needed - audio.shape[-1])))[..., :needed]
        spec = self.converter.audio_to_spectrogram(audio).spectrogram[..., :frames]
        if len(spec) == 1:
            spec = spec.expand(num_samples, -1, -1)
        elif len(spec) != num_samples:
            raise ValueError(f"got {len(spec)} audio clips for num_samples={num_samples}")
        return (spec * 2 - 1)[:, None]

    @torch.no_grad()
    def __call__(
        self,
        genre: Optional[Union[str, int, list]] = None,
        num_samples: int = 1,
        num_inference_steps: int = 50,
        generator: Optional[torch.Generator] = None,
        guidance_scale: float = 1.0,
        audio: Optional[Union[np.ndarray, torch.Tensor]] = None,
        sampling_rate: Optional[int] = None,
        strength: float = 1.0,
        output_type: str = "np",
        return_dict: bool = True,
    ):
        """Generate ``num_samples`` clips of ``genre`` (a name, id, a list with one per sample, or None for no
        genre); ``guidance_scale`` > 1 steers towards the genre (classifier-free guidance). With ``audio`` (mono, at
        ``sampling_rate``): variations of it, starting from its spectrogram noised to ``strength`` (1: pure noise, the
        audio is ignored; small: close to the input). ``output_type``: ``"np"``, ``"pt"`` or ``"spectrogram"``
        (no Griffin-Lim).

        Returns:
            ``MelDiffusionPipelineOutput`` with ``audios`` ``[num_samples, samples]`` (None for
            ``"spectrogram"``), ``sampling_rate`` and ``spectrograms`` ``[num_samples, n_mels, frames]`` (dB); the
            tuple ``(audios, sampling_rate, spectrograms)`` when ``return_dict=False``.
        """
        if output_type not in ("np", "pt", "spectrogram"):
            raise ValueError(f"output_type must be 'np', 'pt' or 'spectrogram', got {output_type!r}")
        if not 0.0 < strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1] (1: start from pure noise), got {strength}")
        if guidance_scale < 1.0:
            raise ValueError(f"guidance_scale must be >= 1 (1: no guidance), got {guidance_scale}")
        if isinstance(genre, (list, tuple)) and num_samples == 1:
            num_samples = len(genre)
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        device, dtype = self._execution_device, self.unet.dtype
        labels = self.genre_ids(genre, num_samples)
        shape = (num_samples, 1, *self._sample_size(self.unet))
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        noise = randn_tensor(shape, generator=generator, device=device, dtype=dtype)
        if audio is not None and strength < 1.0:
            start = num_inference_steps - max(1, int(round(num_inference_steps * strength)))
            timesteps = timesteps[start:]
            clean = self._encode(audio, sampling_rate, num_samples).to(device, dtype)
            sample = self.scheduler.add_noise(clean, noise, timesteps[:1])
        else:
            sample = noise * getattr(self.scheduler, "init_noise_sigma", 1.0)
        null = None if labels is None else torch.full_like(labels, self.unet.config.num_class_embeds - 1)
        for t in self.progress_bar(timesteps):
            model_input = self.scheduler.scale_model_input(sample, t)
            if labels is None:
                eps = self.unet(model_input, t).sample
            elif guidance_scale == 1.0:
                eps = self.unet(model_input, t, class_labels=labels).sample
            else:
                both = self.unet(torch.cat([model_input, model_input]), t,
                                 class_labels=torch.cat([labels, null])).sample
                conditional, unconditional = both.chunk(2)
                eps = unconditional + guidance_scale * (conditional - unconditional)
            sample = self.scheduler.step(eps, t, sample, generator=generator).prev_sample
        normalised = ((sample.float()[:, 0] + 1) / 2).clamp(0, 1)
        spectrograms = self.converter.denormalize(normalised)
        audios = None
        if output_type != "spectrogram":
            audios = self.converter.spectrogram_to_audio(normalised.cpu())
            audios = audios / audios.abs().amax(dim=-1, keepdim=True).clamp_min(1.0)  # no clipping, levels kept
        if output_type == "np":
            audios, spectrograms = audios.numpy(), spectrograms.cpu().numpy()
        if not return_dict:
            return (audios, self.converter.config.sampling_rate, spectrograms)
        return MelDiffusionPipelineOutput(audios=audios, sampling_rate=self.converter.config.sampling_rate,
                                                  spectrograms=spectrograms)
