"""Code audio through the hierarchical neural codec: audio -> codes (chunked) -> audio, with the real bitrate."""

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from ...models.hierarchical_codec import HierarchicalCodecFeatureExtractor, HierarchicalCodecModel, bitstream


@dataclass
class AudioCodecPipelineOutput(BaseOutput):
    """
    audios: the reconstructions ``[batch, channels, samples]`` (np or torch per ``output_type``) at
        ``sampling_rate``, each the length of its input (a list when the inputs' lengths differ).
    sampling_rate: the codec's rate.
    audio_codes: one ``LongTensor`` per level ``[batch, quantizers, frames_level]`` (the padded batch).
    bitrate: per item, bits per second of its ``.agc`` bitstream (header included), as ``compress`` writes it.
    compression_ratio: per item, 16-bit PCM bytes of the input (at the codec's rate) / bitstream bytes.
    """

    audios: Union[np.ndarray, torch.Tensor, list]
    sampling_rate: int
    audio_codes: tuple
    bitrate: list
    compression_ratio: list


class AudioCodecPipeline(DiffusionPipeline):
    """Components: ``model`` (``HierarchicalCodecModel``) and ``feature_extractor``
    (``HierarchicalCodecFeatureExtractor`` with the model's channels, rate and hop).

    Example:

    ```python
    >>> from audiogen_hf.models import HierarchicalCodecConfig, HierarchicalCodecFeatureExtractor
    >>> from audiogen_hf.models import HierarchicalCodecModel
    >>> from audiogen_hf.pipelines import AudioCodecPipeline

    >>> model = HierarchicalCodecModel(HierarchicalCodecConfig())
    >>> pipe = AudioCodecPipeline(model, HierarchicalCodecFeatureExtractor.from_model_config(model.config))
    >>> out = pipe(audio, sampling_rate=48000, num_quantizers=1)    # mono or stereo, resampled to 44.1 kHz
    >>> out.audios.shape, out.bitrate                                # [1, 2, samples], ~1.6 kbps
    ```
    """

    def __init__(self, model: HierarchicalCodecModel, feature_extractor: HierarchicalCodecFeatureExtractor):
        super().__init__()
        c, f = model.config, feature_extractor
        if (f.feature_size, f.sampling_rate, f.hop_length) != (c.audio_channels, c.sampling_rate, c.hop_length):
            raise ValueError(f"AudioCodecPipeline: the feature extractor (channels {f.feature_size}, rate "
                             f"{f.sampling_rate}, hop {f.hop_length}) does not match the model (channels "
                             f"{c.audio_channels}, rate {c.sampling_rate}, hop {c.hop_length}); build it with "
                             "HierarchicalCodecFeatureExtractor.from_model_config(model.config)")
        self.register_modules(model=model, feature_extractor=feature_extractor)

    @torch.no_grad()
    def __call__(
        self,
        audio: Union[np.ndarray, torch.Tensor, list],
        sampling_rate: Optional[int] = None,
        num_quantizers: Optional[int] = None,
        output_type: str = "np",
        return_dict: bool = True,
    ):
        """Encode and decode ``audio``: one clip (``[samples]`` mono or ``[channels, samples]``), a batch
        ``[batch, channels, samples]`` or a list of clips, at ``sampling_rate`` (resampled to the codec's rate).

        ``num_quantizers``: quantizers per level (default all): the bitrate. ``output_type``: ``"np"`` or ``"pt"``.
        Long audio is coded in chunks (``model.config.chunk_length_s``), under a progress bar.
        """
        if output_type not in ("np", "pt"):
            raise ValueError(f"output_type must be 'np' or 'pt', got {output_type!r}")
        if sampling_rate is None:
            raise ValueError(f"pass sampling_rate (the codec works at {self.feature_extractor.sampling_rate} Hz)")
        if isinstance(audio, (np.ndarray, torch.Tensor)) and audio.ndim == 3:
            audio = list(audio)
        features = self.feature_extractor(audio, sampling_rate=sampling_rate, resample=True, return_tensors="pt")
        model, device = self.model, self._execution_device
        model.eval()
        values, mask = features["input_values"].to(device), features["padding_mask"].to(device)
        lengths = mask.sum(-1).tolist()
        chunks = model.num_chunks(values.shape[-1])
        with self.progress_bar(total=2 * chunks) as progress:
            pieces = []
            for piece in model.encode_chunks(values, mask, num_quantizers):
                pieces.append(piece)
                progress.update()
            codes = tuple(torch.cat([p[level] for p in pieces], dim=-1) for level in range(len(pieces[0])))
            decoded = []
            for piece in model.decode_chunks(codes):
                decoded.append(piece.float())
                progress.update()
        decoded = torch.cat(decoded, dim=-1)
        audios = [decoded[index, :, :length] for index, length in enumerate(lengths)]
        sizes = [len(self._bitstream(codes, index, length)) for index, length in enumerate(lengths)]
        c = model.config
        bitrate = [size * 8 * c.sampling_rate / length for size, length in zip(sizes, lengths)]
        ratio = [length * c.audio_channels * 2 / size for size, length in zip(sizes, lengths)]
        if len(set(lengths)) == 1:
            audios = torch.stack(audios)
            audios = audios.cpu().numpy() if output_type == "np" else audios
        else:
            audios = [a.cpu().numpy() if output_type == "np" else a for a in audios]
        output = AudioCodecPipelineOutput(audios=audios, sampling_rate=c.sampling_rate, audio_codes=codes,
                                          bitrate=bitrate, compression_ratio=ratio)
        return output if return_dict else output.to_tuple()

    def _bitstream(self, codes: tuple, index: int, length: int) -> bytes:
        """Item ``index``'s ``.agc`` bytes, exactly as ``model.compress`` writes them."""
        c = self.model.config
        frames = -(-length // c.hop_length)
        item = [level[index, :, : frames * per].cpu().numpy()
                for level, per in zip(codes, self.model.frames_per_coarse_frame())]
        return bitstream.write(c.sampling_rate, c.audio_channels, length, c.level_hops,
                               [c.codebook_size] * c.num_levels, item)
