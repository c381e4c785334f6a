"""Configuration of the hierarchical neural audio codec (multi-rate residual VQ, 44.1 kHz stereo)."""

import math
from typing import Optional, Sequence

from transformers import PretrainedConfig

from ..configuration_utils import check_fields

BRANCHES = ("rhythmic", "harmonic", "timbral")
CODEBOOK_UPDATES = ("ema", "loss")


class HierarchicalCodecConfig(PretrainedConfig):
    """
    Args:
        sampling_rate (`int`, defaults to 44100): rate of the audio the codec encodes and decodes.
        audio_channels (`int`, defaults to 2): 1 (mono) or 2 (stereo, coded jointly).
        encoder_strides (`tuple[int]`, defaults to `(10, 5)`): strided convolutions of the shared trunk, applied
            first, so that full-rate work is one thin convolution; the trunk hop is their product (50 samples).
        encoder_channels (`tuple[int]`, defaults to `(32, 128)`): trunk width after each stride (the decoder
            mirrors them).
        level_ratios (`tuple[int]`, defaults to `(8, 16, 32)`): the seed's compression ratios: each level's hop in
            trunk frames, finest first, strictly increasing, each dividing the next. Level hops are
            ``trunk hop x ratio`` = 400 / 800 / 1600 samples at the defaults (110.25 / 55.1 / 27.6 frames per s).
        level_channels (`int`, defaults to 192): width of the level encoders and of the decoder at the level rates.
        level_branches (`tuple[str]`, defaults to `("rhythmic", "harmonic", "timbral")`): the music feature branch of
            each level (finest first): ``"rhythmic"`` (frame-to-frame novelty), ``"harmonic"`` (dilated, long
            context), ``"timbral"`` (local mean / spread of the features, a spectral-envelope summary).
        codebook_size (`int`, defaults to 256): entries per codebook (a power of two; codes are stored at
            ``log2(codebook_size)`` bits).
        num_quantizers (`int`, defaults to 2): residual quantizers per level (the full bitrate).
        codebook_dim (`int`, defaults to 64): dimension of the quantised latents and code vectors.
        codebook_update (`str`, defaults to `"ema"`): ``"ema"`` updates the code vectors by exponential moving
            averages of their assigned latents (training mode only); ``"loss"`` learns them by the codebook loss.
        ema_decay (`float`, defaults to 0.99): decay of the EMA statistics.
        dead_code_threshold (`float`, defaults to 2.0): EMA usage below which a code is restarted from a random
            latent of the batch (training mode, EMA codebooks; 0 disables).
        quantizer_dropout (`float`, defaults to 0.5): in training, the probability that an item uses a random number
            ``1..num_quantizers`` of quantizers per level, so that fewer quantizers still decode (variable bitrate).
        commitment_loss_weight, codebook_loss_weight, reconstruction_loss_weight (`float`): weights of the losses in
            ``loss`` (the reconstruction term is a time-domain L1; richer losses belong to the training objective).
        residual_kernel_size (`int`, defaults to 7): kernel of the residual units.
        chunk_length_s (`float`, *optional*, defaults to 10.0): longer audio is encoded / decoded in chunks of this
            length (rounded to the coarsest hop) with context on both sides; ``None`` processes clips whole.
        chunk_context_s (`float`, *optional*): context each side of a chunk; ``None`` takes the receptive field.
        initializer_range (`float`, defaults to 0.02): std of the code vectors' initialisation.
    """

    model_type = "hierarchical_codec"

    def __init__(
        self,
        sampling_rate: int = 44100,
        audio_channels: int = 2,
        encoder_strides: Sequence[int] = (10, 5),
        encoder_channels: Sequence[int] = (32, 128),
        level_ratios: Sequence[int] = (8, 16, 32),
        level_channels: int = 192,
        level_branches: Sequence[str] = BRANCHES,
        codebook_size: int = 256,
        num_quantizers: int = 2,
        codebook_dim: int = 64,
        codebook_update: str = "ema",
        ema_decay: float = 0.99,
        dead_code_threshold: float = 2.0,
        quantizer_dropout: float = 0.5,
        commitment_loss_weight: float = 0.25,
        codebook_loss_weight: float = 1.0,
        reconstruction_loss_weight: float = 1.0,
        residual_kernel_size: int = 7,
        chunk_length_s: Optional[float] = 10.0,
        chunk_context_s: Optional[float] = None,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        encoder_strides, encoder_channels = list(encoder_strides), list(encoder_channels)
        level_ratios, level_branches = list(level_ratios), list(level_branches)

        def positive_ints(values):
            return len(values) > 0 and all(isinstance(v, int) and v > 0 for v in values)

        checks = [(isinstance(v, int) and v > 0, n, v, "an integer > 0") for n, v in (
            ("sampling_rate", sampling_rate), ("level_channels", level_channels), ("codebook_dim", codebook_dim),
            ("num_quantizers", num_quantizers))]
        checks += [
            (audio_channels in (1, 2), "audio_channels", audio_channels, "1 (mono) or 2 (stereo)"),
            (positive_ints(encoder_strides) and all(s >= 2 for s in encoder_strides), "encoder_strides",
             encoder_strides, "a non-empty list of integers >= 2"),
            (positive_ints(encoder_channels) and len(encoder_channels) == len(encoder_strides), "encoder_channels",
             encoder_channels, f"{len(encoder_strides)} integers > 0 (one per encoder stride)"),
            (positive_ints(level_ratios) and all(b > a and b % a == 0 for a, b in zip(level_ratios, level_ratios[1:])),
             "level_ratios", level_ratios, "integers > 0, strictly increasing, each dividing the next"),
            (len(level_branches) == len(level_ratios) and all(b in BRANCHES for b in level_branches),
             "level_branches", level_branches, f"one of {BRANCHES} per level ({len(level_ratios)})"),
            (isinstance(codebook_size, int) and codebook_size >= 2 and codebook_size & (codebook_size - 1) == 0
             and codebook_size <= 65536, "codebook_size", codebook_size, "a power of two in [2, 65536]"),
            (codebook_update in CODEBOOK_UPDATES, "codebook_update", codebook_update, f"one of {CODEBOOK_UPDATES}"),
            (0.0 < ema_decay < 1.0, "ema_decay", ema_decay, "in (0, 1)"),
            (dead_code_threshold >= 0, "dead_code_threshold", dead_code_threshold, ">= 0"),
            (0.0 <= quantizer_dropout <= 1.0, "quantizer_dropout", quantizer_dropout, "in [0, 1]"),
            (isinstance(residual_kernel_size, int) and residual_kernel_size >= 1 and residual_kernel_size % 2 == 1,
             "residual_kernel_size", residual_kernel_size, "an odd integer >= 1"),
            (chunk_length_s is None or chunk_length_s > 0, "chunk_length_s", chunk_length_s, "> 0 or None"),
            (chunk_context_s is None or chunk_context_s >= 0, "chunk_context_s", chunk_context_s, ">= 0 or None"),
            (initializer_range > 0, "initializer_range", initializer_range, "> 0"),
        ]
        checks += [(w >= 0, n, w, ">= 0") for n, w in (
            ("commitment_loss_weight", commitment_loss_weight), ("codebook_loss_weight", codebook_loss_weight),
            ("reconstruction_loss_weight", reconstruction_loss_weight))]
        check_fields("HierarchicalCodecConfig", checks)
        self.sampling_rate = sampling_rate
        self.audio_channels = audio_channels
        self.encoder_strides = encoder_strides
        self.encoder_channels = encoder_channels
        self.level_ratios = level_ratios
        self.level_channels = level_channels
        self.level_branches = level_branches
        self.codebook_size = codebook_size
        self.num_quantizers = num_quantizers
        self.codebook_dim = codebook_dim
        self.codebook_update = codebook_update
        self.ema_decay = ema_decay
        self.dead_code_threshold = dead_code_threshold
        self.quantizer_dropout = quantizer_dropout
        self.commitment_loss_weight = commitment_loss_weight
        self.codebook_loss_weight = codebook_loss_weight
        self.reconstruction_loss_weight = reconstruction_loss_weight
        self.residual_kernel_size = residual_kernel_size
        self.chunk_length_s = chunk_length_s
        self.chunk_context_s = chunk_context_s
        self.initializer_range = initializer_range
        super().__init__(**kwargs)

    @property
    def trunk_hop(self) -> int:
        """Samples per trunk frame (product of ``encoder_strides``)."""
        return math.prod(self.encoder_strides)

    @property
    def level_hops(self) -> list[int]:
        """Samples per frame of each level, finest first."""
        return [self.trunk_hop * ratio for ratio in self.level_ratios]

    @property
    def hop_length(self) -> int:
        """Samples per frame of the coarsest level: inputs are padded to a multiple of it."""
        return self.level_hops[-1]

    @property
    def num_levels(self) -> int:
        return len(self.level_ratios)

    @property
    def bits_per_code(self) -> int:
        return int(math.log2(self.codebook_size))

    def frame_rates(self) -> list[float]:
        """Frames per second of each level."""
        return [self.sampling_rate / hop for hop in self.level_hops]

    def bitrate(self, num_quantizers: Optional[int] = None) -> float:
        """Payload bits per second with ``num_quantizers`` quantizers per level (default all), no header."""
        quantizers = self.num_quantizers if num_quantizers is None else num_quantizers
        return sum(self.frame_rates()) * quantizers * self.bits_per_code
