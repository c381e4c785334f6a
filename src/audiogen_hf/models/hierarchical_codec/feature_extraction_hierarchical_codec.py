"""Feature extractor of the hierarchical codec: raw mono / stereo audio -> padded ``input_values`` + ``padding_mask``
(transformers' ``SequenceFeatureExtractor``, shaped like ``EncodecFeatureExtractor``)."""

import math
from typing import Optional, Union

import numpy as np
import torch
from transformers import BatchFeature, SequenceFeatureExtractor
from transformers.feature_extraction_utils import FeatureExtractionMixin  # noqa: F401  (diffusers looks it up here)
from transformers.utils import logging

from ...audio.io import resample as resample_audio

logger = logging.get_logger(__name__)


class HierarchicalCodecFeatureExtractor(SequenceFeatureExtractor):
    """Turns raw audio into the codec's ``input_values`` ``[batch, channels, samples]`` (samples padded with
    ``padding_value`` to a multiple of ``hop_length``, or to ``max_length``) and ``padding_mask`` ``[batch, samples]``
    (1 for real samples).

    Args:
        feature_size (`int`, defaults to 2): the codec's channels. Mono input to a stereo codec is duplicated to both
            channels; stereo input to a mono codec is averaged; more than two channels is refused.
        sampling_rate (`int`, defaults to 44100): the codec's rate. Audio at another rate is refused unless
            ``resample=True`` is passed (band-limited resampling with torchaudio).
        padding_value (`float`, defaults to 0.0): the value of padded samples.
        hop_length (`int`, defaults to 1600): padding multiple (the codec's coarsest hop, ``config.hop_length``).

    Example:

    ```python
    >>> import numpy as np
    >>> from audiogen_hf.models import HierarchicalCodecFeatureExtractor

    >>> extractor = HierarchicalCodecFeatureExtractor(feature_size=2, sampling_rate=44100, hop_length=1600)
    >>> batch = extractor([np.zeros(44100), np.zeros((2, 22050))], sampling_rate=44100, return_tensors="pt")
    >>> batch["input_values"].shape, batch["padding_mask"].shape   # mono duplicated, padded to 28 x 1600
    (torch.Size([2, 2, 44800]), torch.Size([2, 44800]))
    ```
    """

    model_input_names = ["input_values", "padding_mask"]

    def __init__(self, feature_size: int = 2, sampling_rate: int = 44100, padding_value: float = 0.0,
                 hop_length: int = 1600, **kwargs):
        if feature_size not in (1, 2):
            raise ValueError(f"HierarchicalCodecFeatureExtractor: feature_size (channels) must be 1 or 2, got "
                             f"{feature_size}")
        if not isinstance(hop_length, int) or hop_length < 1:
            raise ValueError(f"HierarchicalCodecFeatureExtractor: hop_length must be an integer >= 1, "
                             f"got {hop_length}")
        super().__init__(feature_size=feature_size, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs)
        self.hop_length = hop_length

    @classmethod
    def from_model_config(cls, config) -> "HierarchicalCodecFeatureExtractor":
        """The extractor matching a ``HierarchicalCodecConfig``."""
        return cls(feature_size=config.audio_channels, sampling_rate=config.sampling_rate,
                   hop_length=config.hop_length)

    def _channels(self, audio, index: int) -> np.ndarray:
        if isinstance(audio, torch.Tensor):
            audio = audio.detach().cpu().float().numpy()
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 1:
            audio = audio[None]
        if audio.ndim != 2:
            raise ValueError(f"audio {index}: expected [samples] (mono) or [channels, samples], got shape "
                             f"{audio.shape}")
        if audio.shape[0] > 2:
            hint = " (it looks like [samples, channels]: transpose it)" if audio.shape[1] <= 2 else ""
            raise ValueError(f"audio {index}: {audio.shape[0]} channels; the codec takes mono or stereo "
                             f"[channels, samples]{hint}")
        if audio.shape[1] == 0:
            raise ValueError(f"audio {index} is empty (shape {audio.shape}); there is nothing to encode")
        if not np.isfinite(audio).all():
            raise ValueError(f"audio {index} contains NaN or infinite samples; clean or drop it")
        if audio.shape[0] != self.feature_size:
            audio = np.repeat(audio, 2, axis=0) if self.feature_size == 2 else audio.mean(0, keepdims=True)
        return audio

    def __call__(
        self,
        raw_audio: Union[np.ndarray, torch.Tensor, list],
        sampling_rate: Optional[int] = None,
        padding: bool = True,
        max_length: Optional[int] = None,
        truncation: bool = False,
        resample: bool = False,
        return_tensors: Optional[str] = "pt",
    ) -> BatchFeature:
        """
        Args:
            raw_audio: one clip (``[samples]`` mono or ``[channels, samples]``) or a list of clips of any lengths.
            sampling_rate: the rate of ``raw_audio`` (pass it: a wrong rate is otherwise silent).
            padding: pad to a multiple of ``hop_length`` (and to the longest clip of the batch); ``False`` needs
                clips of one length.
            max_length, truncation: pad to ``max_length`` samples; with ``truncation`` cut longer clips to it.
            resample: resample audio at another ``sampling_rate`` instead of refusing it.
            return_tensors: ``"pt"`` (default), ``"np"`` or ``None`` (lists of arrays).
        """
        if sampling_rate is None:
            logger.warning(f"pass sampling_rate to {type(self).__name__}: the codec works at {self.sampling_rate} Hz "
                           "and audio at another rate would be coded wrongly without an error")
        elif sampling_rate != self.sampling_rate and not resample:
            raise ValueError(f"the audio is at {sampling_rate} Hz but the codec works at {self.sampling_rate} Hz: "
                             "resample it first, or pass resample=True")
        batched = isinstance(raw_audio, (list, tuple)) and len(raw_audio) > 0 and not np.isscalar(raw_audio[0])
        clips = [self._channels(a, i) for i, a in enumerate(raw_audio if batched else [raw_audio])]
        if not clips:
            raise ValueError("raw_audio is an empty list; there is nothing to encode")
        if sampling_rate is not None and sampling_rate != self.sampling_rate:
            clips = [resample_audio(torch.from_numpy(c), sampling_rate, self.sampling_rate).numpy() for c in clips]
        if truncation:
            if max_length is None:
                raise ValueError("truncation=True needs max_length")
            clips = [c[:, :max_length] for c in clips]
        lengths = [c.shape[1] for c in clips]
        if padding:
            target = max(lengths) if max_length is None else max(max_length, max(lengths))
            target = math.ceil(target / self.hop_length) * self.hop_length
        elif len(set(lengths)) > 1:
            raise ValueError(f"clips of different lengths {sorted(set(lengths))} need padding=True")
        else:
            target = lengths[0]
        values = np.full((len(clips), self.feature_size, target), self.padding_value, dtype=np.float32)
        mask = np.zeros((len(clips), target), dtype=np.int64)
        for index, clip in enumerate(clips):
            values[index, :, : clip.shape[1]] = clip
            mask[index, : clip.shape[1]] = 1
        features = {"input_values": values, "padding_mask": mask}
        if return_tensors is None:
            features = {key: list(value) for key, value in features.items()}
        return BatchFeature(features, tensor_type=return_tensors)
