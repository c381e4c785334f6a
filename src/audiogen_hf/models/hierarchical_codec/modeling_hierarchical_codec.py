"""The hierarchical neural audio codec: a multi-rate convolutional encoder with music feature branches,
hierarchical residual vector quantisation and a decoder that reads the codes only.

From the seed's "Neural Audio Codec" (44.1 kHz stereo, three levels at compression ratios 8 / 16 / 32, harmonic /
rhythmic / timbral branches, 2 quantizers x 256 entries per level with EMA codebooks, commitment and codebook
losses, straight-through gradients, progressive upsampling with music conditioning, about 4.4 M parameters). One
correction: the seed's decoder also read unquantised encoder features through skip connections; here what the
codes carry is the whole message, so ``compress`` writes everything ``decompress`` needs.

Shapes (defaults, ``H`` = hop of a level; ``T`` padded to a multiple of the coarsest hop, 1600):
    input_values        [batch, 2, T]                 44.1 kHz stereo in [-1, 1]
    trunk               [batch, 128, T / 50]          strided convolutions first (5, 5, 2): cheap at full rate
    level l latents     [batch, 64, T / H_l]          H = 400, 800, 1600 (ratios 8, 16, 32 of the trunk hop)
    audio_codes         (level 1, level 2, level 3), each [batch, quantizers, T / H_l], values < 256
    audio_values        [batch, 2, samples]           trimmed to the input length

Hierarchy: levels are quantised coarse to fine. The coarsest level quantises its latents with a 2-stage residual
VQ; each finer level predicts its latents from the decoded coarser level (a learned x2 upsampler that the decoder
shares) and quantises only what the prediction missed. The decoder rebuilds the finest level's latents from all
codes, is conditioned (FiLM) on the coarsest ("timbral") level, and upsamples progressively with transposed
convolutions and residual units back to the waveform.
"""

import math
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence, Union

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from ..modeling_utils import AutoMapMixin
from . import bitstream
from .configuration_hierarchical_codec import HierarchicalCodecConfig

LEAK = 0.1


@dataclass
class HierarchicalCodecEncoderOutput(ModelOutput):
    """
    audio_codes: one ``LongTensor`` per level (finest first), ``[batch, quantizers, frames_level]``.
    quantized_representation: the decoded latents of each level ``[batch, codebook_dim, frames_level]`` (what
        ``decode`` rebuilds from the codes).
    commitment_loss, codebook_loss: the VQ losses (averaged over valid frames, summed over quantizers and levels).
    """

    audio_codes: Optional[tuple] = None
    quantized_representation: Optional[tuple] = None
    commitment_loss: Optional[torch.FloatTensor] = None
    codebook_loss: Optional[torch.FloatTensor] = None


@dataclass
class HierarchicalCodecDecoderOutput(ModelOutput):
    """audio_values: ``[batch, audio_channels, samples]``."""

    audio_values: Optional[torch.FloatTensor] = None


@dataclass
class HierarchicalCodecOutput(ModelOutput):
    """
    loss: ``commitment_loss_weight x commitment + codebook_loss_weight x codebook + reconstruction_loss_weight x
        reconstruction``.
    audio_values: the reconstruction ``[batch, audio_channels, samples]``, the input's length.
    audio_codes: one ``LongTensor`` per level ``[batch, quantizers, frames_level]``.
    commitment_loss, codebook_loss: VQ losses; reconstruction_loss: L1 between input and reconstruction (valid
        samples).
    """

    loss: Optional[torch.FloatTensor] = None
    audio_values: Optional[torch.FloatTensor] = None
    audio_codes: Optional[tuple] = None
    commitment_loss: Optional[torch.FloatTensor] = None
    codebook_loss: Optional[torch.FloatTensor] = None
    reconstruction_loss: Optional[torch.FloatTensor] = None


def _tag(conv: nn.Module, input_hop: int) -> nn.Module:
    """Remember the samples per input frame of ``conv``: the receptive field is computed from these tags."""
    conv.input_hop = input_hop
    return conv


def _down(in_channels: int, out_channels: int, stride: int, input_hop: int) -> nn.Conv1d:
    """Length ``n * stride`` -> ``n`` (kernel ``2 * stride``); stride 1 is a kernel-3 convolution."""
    if stride == 1:
        return _tag(nn.Conv1d(in_channels, out_channels, 3, padding=1), input_hop)
    return _tag(nn.Conv1d(in_channels, out_channels, 2 * stride, stride=stride, padding=math.ceil(stride / 2)),
                input_hop)


class SubPixelUp(nn.Module):
    """Length ``n`` -> ``n * stride``: a transposed convolution written as a sub-pixel (polyphase) one, a kernel-3
    ``Conv1d`` giving ``stride`` output phases per input frame, interleaved. It covers what a ``ConvTranspose1d``
    of kernel ``2 * stride`` computes, at the input's rate, where oneDNN runs it as one large matrix product (a
    narrow ``ConvTranspose1d`` near the full rate ran ~20x slower here)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, input_hop: int):
        super().__init__()
        self.stride, self.out_channels = stride, out_channels
        self.conv = _tag(nn.Conv1d(in_channels, out_channels * stride, 3, padding=1), input_hop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, frames = x.shape
        y = self.conv(x).view(batch, self.out_channels, self.stride, frames)
        return y.transpose(2, 3).reshape(batch, self.out_channels, frames * self.stride)


def _up(in_channels: int, out_channels: int, stride: int, input_hop: int) -> nn.Module:
    """Length ``n`` -> ``n * stride``; stride 1 is a kernel-3 convolution."""
    if stride == 1:
        return _tag(nn.Conv1d(in_channels, out_channels, 3, padding=1), input_hop)
    return SubPixelUp(in_channels, out_channels, stride, input_hop)


class ResidualUnit(nn.Module):
    """``x + Conv1x1(act(Conv_k,dilation(act(x))))``, length-preserving."""

    def __init__(self, channels: int, kernel_size: int, hop: int, dilation: int = 1):
        super().__init__()
        self.conv1 = _tag(nn.Conv1d(channels, channels, kernel_size, dilation=dilation,
                                    padding=dilation * (kernel_size - 1) // 2), hop)
        self.conv2 = _tag(nn.Conv1d(channels, channels, 1), hop)
        self.conv2.is_residual_output = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.leaky_relu(self.conv1(F.leaky_relu(x, LEAK)), LEAK))


class MusicBranch(nn.Module):
    """A level's music feature branch on ``[batch, channels, frames]`` features, then the latent projection.

    - ``rhythmic``: the features and their frame-to-frame change (a learned novelty / onset cue), short kernels.
    - ``harmonic``: dilated residual units (kernel 3, dilations 1, 3, 9) for long-context, periodic structure.
    - ``timbral``: the features with their local mean and spread over 5 frames (a spectral-envelope summary).
    """

    def __init__(self, kind: str, channels: int, latent_dim: int, kernel_size: int, hop: int):
        super().__init__()
        self.kind = kind
        if kind == "rhythmic":
            self.mix = _tag(nn.Conv1d(2 * channels, channels, 1), hop)
            self.units = nn.Sequential(ResidualUnit(channels, 3, hop))
        elif kind == "harmonic":
            self.mix = None
            self.units = nn.Sequential(*[ResidualUnit(channels, 3, hop, d) for d in (1, 3, 9)])
        else:
            self.mix = _tag(nn.Conv1d(3 * channels, channels, 1), hop)
            self.units = nn.Sequential(ResidualUnit(channels, kernel_size, hop))
        self.project = _tag(nn.Conv1d(channels, latent_dim, 3, padding=1), hop)
        self.hop = hop

    def extra_context(self) -> int:
        """Samples of context this branch adds beyond its convolutions (the shift, the pooling window)."""
        return {"rhythmic": 1, "harmonic": 0, "timbral": 2}[self.kind] * self.hop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "rhythmic":
            previous = F.pad(x, (1, 0))[..., :-1]
            x = self.mix(torch.cat([x, x - previous], dim=1))
        elif self.kind == "timbral":
            mean = F.avg_pool1d(x, 5, stride=1, padding=2, count_include_pad=False)
            square = F.avg_pool1d(x * x, 5, stride=1, padding=2, count_include_pad=False)
            spread = (square - mean * mean).clamp_min(0).add(1e-6).sqrt()
            x = self.mix(torch.cat([x, mean, spread], dim=1))
        return self.project(F.leaky_relu(self.units(x), LEAK))


class VectorQuantizer(nn.Module):
    """One codebook ``[codebook_size, codebook_dim]``: nearest-neighbour codes, EMA (or loss-trained) code vectors,
    dead-code restarts from the batch's latents, initialisation from the first training batch."""

    def __init__(self, config: HierarchicalCodecConfig):
        super().__init__()
        size, dim = config.codebook_size, config.codebook_dim
        self.ema = config.codebook_update == "ema"
        self.decay, self.threshold, self.eps = config.ema_decay, config.dead_code_threshold, 1e-5
        if self.ema:
            self.register_buffer("embed", torch.empty(size, dim))
            self.register_buffer("embed_avg", torch.empty(size, dim))
            self.register_buffer("cluster_size", torch.empty(size))
        else:
            self.embed = nn.Parameter(torch.empty(size, dim))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest code of each row of ``x`` ``[n, dim]`` (squared Euclidean distance, float32)."""
        embed = self.embed.float()
        distances = embed.pow(2).sum(1)[None] - 2 * x.float() @ embed.t()
        return distances.argmin(dim=1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        return F.embedding(codes, self.embed)

    @staticmethod
    def _sample(x: torch.Tensor, count: int, fallback: torch.Tensor) -> torch.Tensor:
        """``count`` random rows of ``x`` (rank 0's on every rank), or ``fallback`` when this rank has none."""
        rows = x[torch.randint(0, x.shape[0], (count,), device=x.device)] if x.shape[0] else fallback.clone()
        _broadcast(rows)
        return rows

    @torch.no_grad()
    def update(self, x: torch.Tensor, codes: torch.Tensor):
        """EMA step with the latents ``x`` ``[n, dim]`` assigned to ``codes``; the first call sets the codebook from
        the data; codes whose EMA usage falls below the threshold restart at random latents of ``x``."""
        x, size = x.float(), self.embed.shape[0]
        if not bool(self.initialized):
            rows = self._sample(x, size, self.embed.data.float())
            self.embed.data.copy_(rows)
            if self.ema:
                self.embed_avg.copy_(rows)
                self.cluster_size.fill_(1.0)
            self.initialized.fill_(True)
            return
        if not self.ema:
            return
        counts = torch.bincount(codes, minlength=size).float()
        sums = torch.zeros_like(self.embed_avg, dtype=torch.float32).index_add_(0, codes, x)
        _all_reduce(counts, sums)
        self.cluster_size.mul_(self.decay).add_(counts.to(self.cluster_size.dtype), alpha=1 - self.decay)
        self.embed_avg.mul_(self.decay).add_(sums.to(self.embed_avg.dtype), alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + size * self.eps) * total
        self.embed.copy_(self.embed_avg / smoothed[:, None])
        dead = self.cluster_size < self.threshold
        if self.threshold > 0 and bool(dead.any()):  # the same on every rank: the statistics were all-reduced
            rows = self._sample(x, int(dead.sum()), self.embed[dead].float())
            self.embed[dead] = rows.to(self.embed.dtype)
            self.embed_avg[dead] = rows.to(self.embed.dtype) * self.threshold
            self.cluster_size[dead] = self.threshold


def _all_reduce(*tensors: torch.Tensor):
    """Sum EMA statistics over processes, so every rank keeps the same codebooks."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        for tensor in tensors:
            dist.all_reduce(tensor)


def _broadcast(tensor: torch.Tensor):
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.broadcast(tensor, 0)


class LevelQuantizer(nn.Module):
    """Residual VQ of one level: ``num_quantizers`` codebooks, each quantising what the previous ones left."""

    def __init__(self, config: HierarchicalCodecConfig):
        super().__init__()
        self.quantizers = nn.ModuleList([VectorQuantizer(config) for _ in range(config.num_quantizers)])
        self.ema = config.codebook_update == "ema"

    def forward(self, latents: torch.Tensor, used: torch.Tensor, valid: torch.Tensor, update: bool):
        """``latents`` ``[batch, dim, frames]``; ``used`` ``[batch]`` quantizers per item; ``valid``
        ``[batch, frames]``.
        Returns the quantised sum, codes ``[batch, max(used), frames]``, commitment and codebook losses."""
        batch, dim, frames = latents.shape
        residual = latents.transpose(1, 2).reshape(-1, dim)
        quantized = torch.zeros_like(residual)
        codes = []
        commitment = codebook = latents.new_zeros((), dtype=torch.float32)
        for index, quantizer in enumerate(self.quantizers[: int(used.max())]):
            active = (used > index)[:, None].expand(batch, frames).reshape(-1)  # quantizer dropout
            keep = active & valid.reshape(-1)  # padding frames take no part in the EMA statistics and the losses
            code = quantizer.codes(residual.detach())
            vector = quantizer.lookup(code).to(residual.dtype)
            if update:
                quantizer.update(residual.detach()[keep], code[keep])
            weight = keep.to(residual.dtype)[:, None]
            count = weight.sum().clamp_min(1.0) * dim
            commitment = commitment + ((residual - vector.detach()).pow(2) * weight).sum().float() / count
            codebook = codebook + ((residual.detach() - vector).pow(2) * weight).sum().float() / count
            vector = vector * active.to(residual.dtype)[:, None]
            quantized = quantized + vector
            residual = residual - vector
            codes.append(code.view(batch, frames))
        quantized = quantized.view(batch, frames, dim).transpose(1, 2)
        return quantized, torch.stack(codes, dim=1), commitment, codebook

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``[batch, q, frames]`` (``q`` <= quantizers) -> the quantised sum ``[batch, dim, frames]``."""
        total = sum(self.quantizers[index].lookup(codes[:, index]) for index in range(codes.shape[1]))
        return total.transpose(1, 2)


class LevelPredictor(nn.Module):
    """Predicts a level's latents from the decoded next-coarser level (upsampling by ``factor``)."""

    def __init__(self, latent_dim: int, channels: int, factor: int, kernel_size: int, coarse_hop: int):
        super().__init__()
        fine_hop = coarse_hop // factor
        self.up = _up(latent_dim, channels, factor, coarse_hop)
        self.unit = ResidualUnit(channels, kernel_size, fine_hop)
        self.out = _tag(nn.Conv1d(channels, latent_dim, 3, padding=1), fine_hop)

    def forward(self, coarse: torch.Tensor) -> torch.Tensor:
        return self.out(F.leaky_relu(self.unit(self.up(coarse)), LEAK))


class FiLM(nn.Module):
    """Music conditioning: per-channel scale and shift from the coarsest level, repeated to the stage's rate."""

    def __init__(self, latent_dim: int, channels: int, coarse_hop: int):
        super().__init__()
        self.project = _tag(nn.Conv1d(latent_dim, 2 * channels, 1), coarse_hop)
        self.coarse_hop = coarse_hop

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        scale, shift = self.project(condition).chunk(2, dim=1)
        repeat = x.shape[-1] // condition.shape[-1]
        scale, shift = scale.repeat_interleave(repeat, dim=-1), shift.repeat_interleave(repeat, dim=-1)
        return x * (1 + scale) + shift


class HierarchicalEncoder(nn.Module):
    """Trunk (strided convolutions first, then residual units) and a pyramid of level features with branches."""

    def __init__(self, config: HierarchicalCodecConfig):
        super().__init__()
        kernel, hop, previous = config.residual_kernel_size, 1, config.audio_channels
        trunk = []
        for stride, channels in zip(config.encoder_strides, config.encoder_channels):
            trunk += [_down(previous, channels, stride, hop), nn.LeakyReLU(LEAK)]
            previous, hop = channels, hop * stride
        # residual units only at the trunk rate: the full-rate work is the first strided convolution
        self.trunk = nn.Sequential(*trunk, ResidualUnit(previous, kernel, hop, 1),
                                   ResidualUnit(previous, kernel, hop, 3))
        self.downs, self.branches = nn.ModuleList(), nn.ModuleList()
        ratio_before = 1
        for ratio, kind in zip(config.level_ratios, config.level_branches):
            self.downs.append(_down(previous, config.level_channels, ratio // ratio_before, hop))
            previous, hop, ratio_before = config.level_channels, hop * ratio // ratio_before, ratio
            self.branches.append(MusicBranch(kind, config.level_channels, config.codebook_dim, kernel, hop))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[batch, channels, T]`` -> latents of each level, finest first."""
        x = self.trunk(x)
        latents = []
        for down, branch in zip(self.downs, self.branches):
            x = F.leaky_relu(down(F.leaky_relu(x, LEAK)), LEAK)
            latents.append(branch(x))
        return latents


class HierarchicalDecoder(nn.Module):
    """Finest-level latents (conditioned on the coarsest) -> waveform: residual units at the level rate, a x8
    upsampling to the trunk rate with residual units and FiLM, then sub-pixel transposed upsampling mirroring the
    encoder's strides down to the waveform (no residual units above the trunk rate: cheap at full rate)."""

    def __init__(self, config: HierarchicalCodecConfig):
        super().__init__()
        kernel, channels, dim = config.residual_kernel_size, config.level_channels, config.codebook_dim
        hop, coarse_hop = config.level_hops[0], config.level_hops[-1]
        self.input = _tag(nn.Conv1d(dim, channels, 7, padding=3), hop)
        self.film_in = FiLM(dim, channels, coarse_hop)
        self.units = nn.Sequential(ResidualUnit(channels, kernel, hop, 1), ResidualUnit(channels, kernel, hop, 3))
        widths = list(config.encoder_channels)[::-1]
        self.up_trunk = _up(channels, widths[0], config.level_ratios[0], hop)
        hop = config.trunk_hop
        self.units_trunk = nn.Sequential(ResidualUnit(widths[0], kernel, hop, 1),
                                         ResidualUnit(widths[0], kernel, hop, 3))
        self.film_trunk = FiLM(dim, widths[0], coarse_hop)
        ups, previous = [], widths[0]
        outputs = widths[1:] + [config.audio_channels]
        for stride, width in zip(reversed(config.encoder_strides), outputs):
            ups.append(_up(previous, width, stride, hop))
            previous, hop = width, hop // stride
        self.ups = nn.ModuleList(ups)
        last = ups[-1].conv if isinstance(ups[-1], SubPixelUp) else ups[-1]
        last.is_waveform_output = True

    def forward(self, finest: torch.Tensor, coarsest: torch.Tensor) -> torch.Tensor:
        x = self.units(self.film_in(self.input(finest), coarsest))
        x = self.film_trunk(self.units_trunk(self.up_trunk(F.leaky_relu(x, LEAK))), coarsest)
        for up in self.ups:
            x = up(F.leaky_relu(x, LEAK))
        return torch.tanh(x)


def _receptive_field(modules: Sequence[nn.Module]) -> int:
    """An upper bound of the one-sided receptive field, in samples, of ``modules`` applied in sequence: each tagged
    convolution's reach to one side at its input rate, plus the branches' shifts / pools and FiLM's repeat, added
    up (parallel paths are added too, so the bound is loose but safe)."""
    total = 0
    for root in modules:
        for module in root.modules():
            hop = getattr(module, "input_hop", None)
            if isinstance(module, nn.Conv1d) and hop is not None:
                span = (module.kernel_size[0] - 1) * module.dilation[0]
                pad, stride = module.padding[0], module.stride[0]
                total += max(pad, span - pad + stride - 1) * hop
            elif isinstance(module, MusicBranch):
                total += module.extra_context()
            elif isinstance(module, FiLM):
                total += module.coarse_hop
    return total


class HierarchicalCodecPreTrainedModel(AutoMapMixin, PreTrainedModel):
    config_class = HierarchicalCodecConfig
    base_model_prefix = "hierarchical_codec"
    main_input_name = "input_values"

    @torch.no_grad()
    def _init_weights(self, module):
        if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
            init.kaiming_normal_(module.weight, a=LEAK, nonlinearity="leaky_relu")
            if getattr(module, "is_residual_output", False) or getattr(module, "is_waveform_output", False):
                # residual units start close to the identity (but not at it: every weight gets gradients), and the
                # waveform starts small rather than saturating the output tanh
                module.weight.mul_(0.1)
            init.zeros_(module.bias)
        elif isinstance(module, VectorQuantizer):
            init.normal_(module.embed, std=self.config.initializer_range)
            if module.ema:
                init.copy_(module.embed_avg, module.embed)
                init.ones_(module.cluster_size)
            init.zeros_(module.initialized)


class HierarchicalCodecModel(HierarchicalCodecPreTrainedModel):
    """The seed's hierarchical neural audio codec (see the module docstring for the architecture).

    Args:
        config (`HierarchicalCodecConfig`): the model's configuration.

    Example:

    ```python
    >>> import torch
    >>> from audiogen_hf.models import HierarchicalCodecConfig, HierarchicalCodecModel

    >>> model = HierarchicalCodecModel(HierarchicalCodecConfig()).eval()
    >>> audio = torch.randn(1, 2, 44100).clamp(-1, 1)          # 1 s of 44.1 kHz stereo
    >>> encoded = model.encode(audio)
    >>> [tuple(codes.shape) for codes in encoded.audio_codes]  # 110.25 / 55.1 / 27.6 frames per second
    [(1, 2, 112), (1, 2, 56), (1, 2, 28)]
    >>> model.decode(encoded.audio_codes, length=audio.shape[-1]).audio_values.shape
    torch.Size([1, 2, 44100])
    ```
    """

    def __init__(self, config: HierarchicalCodecConfig):
        super().__init__(config)
        kernel, dim, levels = config.residual_kernel_size, config.codebook_dim, config.num_levels
        self.encoder = HierarchicalEncoder(config)
        self.quantizers = nn.ModuleList([LevelQuantizer(config) for _ in range(levels)])
        hops, ratios = config.level_hops, config.level_ratios
        # predictors[l] predicts level l from level l + 1 (finest first; the coarsest level has none)
        self.predictors = nn.ModuleList([
            LevelPredictor(dim, config.level_channels, ratios[i + 1] // ratios[i], kernel, hops[i + 1])
            for i in range(levels - 1)])
        self.decoder = HierarchicalDecoder(config)
        self.post_init()

    # ----------------------------------------------------------------------------------------------- geometry
    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    def frames_per_coarse_frame(self) -> list[int]:
        """Frames of each level per coarsest-level frame."""
        ratios = self.config.level_ratios
        return [ratios[-1] // ratio for ratio in ratios]

    def encoder_receptive_field(self) -> int:
        """Upper bound of the samples each side of a frame that can change its codes."""
        return _receptive_field([self.encoder, *self.predictors])

    def decoder_receptive_field(self) -> int:
        """Upper bound of the samples each side of an output sample whose codes can change it."""
        return _receptive_field([*self.predictors, self.decoder])

    def _context_frames(self, receptive_field: int) -> int:
        if self.config.chunk_context_s is not None:
            samples = self.config.chunk_context_s * self.config.sampling_rate
        else:
            samples = receptive_field
        return math.ceil(samples / self.hop_length)

    def _chunk_frames(self, chunk_length: Optional[float]) -> Optional[int]:
        seconds = self.config.chunk_length_s if chunk_length is None else chunk_length
        if seconds is None or seconds <= 0:
            return None
        return max(1, round(seconds * self.config.sampling_rate / self.hop_length))

    @staticmethod
    def _windows(total: int, chunk: int, context: int) -> list[tuple[int, int, int, int]]:
        """``(keep_start, keep_stop, window_start, window_stop)`` in coarsest frames, covering ``[0, total)``."""
        return [(start, min(start + chunk, total), max(0, start - context), min(total, start + chunk + context))
                for start in range(0, total, chunk)]

    # ----------------------------------------------------------------------------------------------- checks
    def _check_audio(self, input_values: torch.Tensor, padding_mask: Optional[torch.Tensor]):
        channels = self.config.audio_channels
        if not isinstance(input_values, torch.Tensor) or input_values.dim() != 3:
            shape = tuple(input_values.shape) if isinstance(input_values, torch.Tensor) else type(input_values)
            raise ValueError(f"input_values must be a [batch, {channels} channels, samples] tensor, got {shape}; "
                             "HierarchicalCodecFeatureExtractor builds it from mono or stereo arrays")
        if input_values.shape[1] != channels:
            raise ValueError(f"this codec codes {channels} channel(s) but input_values has {input_values.shape[1]} "
                             f"(shape {tuple(input_values.shape)}); the feature extractor converts mono and stereo")
        if input_values.shape[-1] == 0 or input_values.shape[0] == 0:
            raise ValueError(f"input_values is empty (shape {tuple(input_values.shape)}); there is nothing to encode")
        if not torch.isfinite(input_values).all():
            raise ValueError("input_values contains NaN or infinite samples; clean or drop this audio")
        if padding_mask is not None and tuple(padding_mask.shape) != (input_values.shape[0], input_values.shape[-1]):
            expected = (input_values.shape[0], input_values.shape[-1])
            raise ValueError(f"padding_mask must be [batch, samples] = {expected}, got {tuple(padding_mask.shape)}")

    def _check_quantizers(self, num_quantizers: Optional[int]) -> int:
        maximum = self.config.num_quantizers
        if num_quantizers is None:
            return maximum
        if not isinstance(num_quantizers, int) or not 1 <= num_quantizers <= maximum:
            raise ValueError(f"num_quantizers must be an integer in [1, {maximum}] (quantizers per level), "
                             f"got {num_quantizers!r}")
        return num_quantizers

    def _check_codes(self, audio_codes: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        levels, size = self.config.num_levels, self.config.codebook_size
        if not isinstance(audio_codes, (list, tuple)):
            raise ValueError(f"audio_codes must be a list of {levels} tensors (one per level, finest first), got "
                             f"{type(audio_codes).__name__}")
        if len(audio_codes) != levels:
            raise ValueError(f"audio_codes must be a list of {levels} tensors (one per level, finest first), got "
                             f"{type(audio_codes).__name__} of length {len(audio_codes)}")
        codes = [torch.as_tensor(c) for c in audio_codes]
        coarse = codes[-1].shape[-1] if codes[-1].dim() == 3 else -1
        for level, (c, per) in enumerate(zip(codes, self.frames_per_coarse_frame())):
            if c.dim() != 3 or c.shape[0] != codes[0].shape[0] or not 1 <= c.shape[1] <= self.config.num_quantizers \
                    or c.shape[-1] != coarse * per:
                raise ValueError(f"audio_codes[{level}] must be [batch, 1..{self.config.num_quantizers} quantizers, "
                                 f"{per} x coarsest frames], got {tuple(c.shape)}")
            if c.dtype.is_floating_point or c.numel() and (c.min() < 0 or c.max() >= size):
                raise ValueError(f"audio_codes[{level}] must hold integer codes in [0, {size}); got dtype {c.dtype}")
        return [c.long().to(self.device) for c in codes]

    # ----------------------------------------------------------------------------------------------- core
    def _quantize(self, latents: list[torch.Tensor], used: torch.Tensor, valid: list[torch.Tensor],
                  update_codebooks: Optional[bool] = None):
        """Coarse to fine: each level quantises its latents minus the prediction from the decoded coarser level."""
        allowed = self.training if update_codebooks is None else bool(update_codebooks)
        update = allowed and (self.config.codebook_update == "ema" or not all(
            bool(q.initialized) for level in self.quantizers for q in level.quantizers))
        levels = len(latents)
        decoded, codes = [None] * levels, [None] * levels
        commitment = codebook = latents[0].new_zeros((), dtype=torch.float32)
        for level in reversed(range(levels)):
            prediction = self.predictors[level](decoded[level + 1]) if level < levels - 1 else None
            target = latents[level] if prediction is None else latents[level] - prediction.detach()
            quantized, codes[level], commit, book = self.quantizers[level](target, used, valid[level], update)
            # straight-through: the value is prediction + quantised residual; gradients reach the encoder (through
            # the residual) and the predictor (a decoder part, through its own output)
            straight = target + (quantized - target).detach()
            decoded[level] = straight if prediction is None else prediction + straight
            commitment, codebook = commitment + commit, codebook + book
        return decoded, codes, commitment, codebook

    def _decode_latents(self, decoded: list[torch.Tensor]) -> torch.Tensor:
        return self.decoder(decoded[0], decoded[-1])

    def _frame_masks(self, padding_mask: Optional[torch.Tensor], batch: int, length: int) -> list[torch.Tensor]:
        masks = []
        for hop in self.config.level_hops:
            frames = length // hop
            if padding_mask is None:
                masks.append(torch.ones(batch, frames, dtype=torch.bool, device=self.device))
            else:
                masks.append(padding_mask.bool().view(batch, frames, hop).any(-1))
        return masks

    def _pad(self, input_values: torch.Tensor, padding_mask: Optional[torch.Tensor]):
        length = input_values.shape[-1]
        extra = -length % self.hop_length
        x = F.pad(input_values.to(device=self.device, dtype=self.dtype), (0, extra))
        if padding_mask is not None:
            padding_mask = F.pad(padding_mask.to(self.device), (0, extra))
            x = x * padding_mask[:, None].to(x.dtype)
        return x, padding_mask

    def _used(self, batch: int, num_quantizers: int) -> torch.Tensor:
        used = torch.full((batch,), num_quantizers, dtype=torch.long, device=self.device)
        if self.training and self.config.quantizer_dropout > 0 and num_quantizers > 1:
            drop = torch.rand(batch, device=self.device) < self.config.quantizer_dropout
            used = torch.where(drop, torch.randint(1, num_quantizers + 1, (batch,), device=self.device), used)
        return used

    def _encode_padded(self, x: torch.Tensor, padding_mask: Optional[torch.Tensor], num_quantizers: int,
                       update_codebooks: Optional[bool] = None):
        latents = self.encoder(x)
        valid = self._frame_masks(padding_mask, x.shape[0], x.shape[-1])
        return self._quantize(latents, self._used(x.shape[0], num_quantizers), valid, update_codebooks)

    # ----------------------------------------------------------------------------------------------- public API
    def encode(
        self,
        input_values: torch.Tensor,
        padding_mask: Optional[torch.Tensor] = None,
        num_quantizers: Optional[int] = None,
        chunk_length_s: Optional[float] = None,
        return_dict: Optional[bool] = None,
    ) -> Union[tuple, HierarchicalCodecEncoderOutput]:
        """Encode ``input_values`` ``[batch, audio_channels, samples]`` (padded with zeros to a multiple of
        ``hop_length``) into one code tensor per level.

        Args:
            padding_mask: ``[batch, samples]``, 1 for real samples (from the feature extractor); padding is zeroed.
            num_quantizers: quantizers per level, ``1..config.num_quantizers`` (default all): the bitrate.
            chunk_length_s: in eval mode, audio longer than this (default ``config.chunk_length_s``) is encoded in
                chunks with ``encoder_receptive_field()`` of context each side (bounded memory); ``0`` disables.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        chunk = self._chunk_frames(chunk_length_s)
        if self.training or chunk is None or math.ceil(input_values.shape[-1] / self.hop_length) <= chunk:
            num_quantizers = self._check_quantizers(num_quantizers)
            self._check_audio(input_values, padding_mask)
            x, mask = self._pad(input_values, padding_mask)
            decoded, codes, commitment, codebook = self._encode_padded(x, mask, num_quantizers)
            output = HierarchicalCodecEncoderOutput(tuple(codes), tuple(decoded), commitment, codebook)
        else:
            chunks = list(self.encode_chunks(input_values, padding_mask, num_quantizers, chunk_length_s))
            codes = tuple(torch.cat([chunk[level] for chunk in chunks], dim=-1)
                          for level in range(self.config.num_levels))
            output = HierarchicalCodecEncoderOutput(audio_codes=codes)
        return output if return_dict else output.to_tuple()

    def num_chunks(self, length: int, chunk_length_s: Optional[float] = None) -> int:
        """How many chunks ``encode_chunks`` / ``decode_chunks`` use for ``length`` samples."""
        frames, chunk = math.ceil(length / self.hop_length), self._chunk_frames(chunk_length_s)
        return 1 if chunk is None else max(1, math.ceil(frames / chunk))

    @torch.no_grad()
    def encode_chunks(
        self,
        input_values: Union[torch.Tensor, Callable[[int, int], torch.Tensor]],
        padding_mask: Optional[torch.Tensor] = None,
        num_quantizers: Optional[int] = None,
        chunk_length_s: Optional[float] = None,
        length: Optional[int] = None,
    ) -> Iterator[tuple]:
        """Yield the codes of consecutive chunks (one tensor per level each), encoded with the receptive field as
        context on both sides: concatenated along frames they equal ``encode`` of the whole clip (up to float
        rounding that can flip a near-tied code). ``input_values`` may live on the CPU; only one chunk (plus
        context) is moved to the model's device at a time.

        ``input_values`` may also be a reader ``read(start, stop) -> [batch, channels, samples]`` of a clip of
        ``length`` samples (e.g. reading a file window by window): memory then stays bounded by the chunk size."""
        num_quantizers = self._check_quantizers(num_quantizers)
        if callable(input_values):
            if length is None or length <= 0:
                raise ValueError(f"encode_chunks with a reader needs the clip's length > 0, got {length}")
            read = input_values
        else:
            self._check_audio(input_values, padding_mask)
            length = input_values.shape[-1]

            def read(start, stop):
                return input_values[..., start:stop]
        total = math.ceil(length / self.hop_length)
        chunk = self._chunk_frames(chunk_length_s) or total
        context = self._context_frames(self.encoder_receptive_field())
        per, hop = self.frames_per_coarse_frame(), self.hop_length
        for keep_start, keep_stop, start, stop in self._windows(total, chunk, context):
            window = read(start * hop, min(stop * hop, length))
            mask = None if padding_mask is None else padding_mask[..., start * hop: stop * hop]
            if callable(input_values):
                self._check_audio(window, mask)
            x, mask = self._pad(window, mask)
            _, codes, _, _ = self._encode_padded(x, mask, num_quantizers)
            yield tuple(c[..., (keep_start - start) * p: (keep_stop - start) * p] for c, p in zip(codes, per))

    def decode(
        self,
        audio_codes: Sequence[torch.Tensor],
        padding_mask: Optional[torch.Tensor] = None,
        length: Optional[int] = None,
        chunk_length_s: Optional[float] = None,
        return_dict: Optional[bool] = None,
    ) -> Union[tuple, HierarchicalCodecDecoderOutput]:
        """Decode one code tensor per level (``[batch, q, frames_level]``, ``q`` <= ``num_quantizers``, the same
        frames as ``encode`` gave) to ``audio_values`` ``[batch, audio_channels, samples]``, trimmed to ``length``
        samples (or to ``padding_mask``'s length); without either, all ``frames x hop_length`` samples.
        Long code sequences are decoded in chunks as in ``encode`` (eval mode)."""
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if length is None and padding_mask is not None:
            length = padding_mask.shape[-1]
        chunk = self._chunk_frames(chunk_length_s)
        codes = self._check_codes(audio_codes)
        if self.training or chunk is None or codes[-1].shape[-1] <= chunk:
            audio = self._decode_codes(codes)
        else:
            audio = torch.cat(list(self.decode_chunks(codes, chunk_length_s)), dim=-1)
        if length is not None:
            audio = audio[..., :length]
        output = HierarchicalCodecDecoderOutput(audio_values=audio)
        return output if return_dict else output.to_tuple()

    def _decode_codes(self, codes: list[torch.Tensor]) -> torch.Tensor:
        levels = len(codes)
        decoded = [None] * levels
        for level in reversed(range(levels)):
            residual = self.quantizers[level].decode(codes[level]).to(self.dtype)
            decoded[level] = residual if level == levels - 1 else self.predictors[level](decoded[level + 1]) + residual
        return self._decode_latents(decoded)

    @torch.no_grad()
    def decode_chunks(self, audio_codes: Sequence[torch.Tensor], chunk_length_s: Optional[float] = None
                      ) -> Iterator[torch.Tensor]:
        """Yield consecutive pieces of the decoded audio ``[batch, channels, samples]`` (not trimmed), each decoded
        from its codes plus ``decoder_receptive_field()`` of context each side."""
        codes = self._check_codes(audio_codes)
        total = codes[-1].shape[-1]
        chunk = self._chunk_frames(chunk_length_s) or total
        context = self._context_frames(self.decoder_receptive_field())
        per, hop = self.frames_per_coarse_frame(), self.hop_length
        for keep_start, keep_stop, start, stop in self._windows(total, chunk, context):
            window = [c[..., start * p: stop * p] for c, p in zip(codes, per)]
            audio = self._decode_codes(window)
            yield audio[..., (keep_start - start) * hop: (keep_stop - start) * hop]

    @torch.no_grad()
    def compress(self, audio: Union[torch.Tensor, Callable], num_quantizers: Optional[int] = None,
                 chunk_length_s: Optional[float] = None, progress: bool = False, length: Optional[int] = None
                 ) -> bytes:
        """One clip ``[channels, samples]`` (or ``[1, channels, samples]``) at ``config.sampling_rate`` -> the
        ``.agc`` bytes: header + codes bit-packed at ``log2(codebook_size)`` bits (see ``bitstream``). Long audio is
        encoded chunk by chunk (``progress`` shows a tqdm bar); ``audio`` may stay on the CPU, or be a reader
        ``read(start, stop) -> [1, channels, samples]`` of ``length`` samples (see ``encode_chunks``)."""
        if callable(audio):
            if length is None:
                raise ValueError("compress with a reader needs length (samples)")
            source = audio
        else:
            audio = torch.as_tensor(audio)
            if audio.dim() == 2:
                audio = audio[None]
            if audio.dim() != 3 or audio.shape[0] != 1:
                raise ValueError(f"compress takes one clip [channels, samples], got shape {tuple(audio.shape)}")
            source, length = audio, audio.shape[-1]
        was_training = self.training
        self.eval()
        try:
            chunks = self.encode_chunks(source, None, num_quantizers, chunk_length_s, length=length)
            if progress:
                from tqdm.auto import tqdm

                chunks = tqdm(chunks, total=self.num_chunks(length, chunk_length_s), desc="compress", unit="chunk")
            pieces = list(chunks)
        finally:
            self.train(was_training)
        codes = [torch.cat([p[level] for p in pieces], dim=-1)[0].cpu().numpy() for level in range(len(pieces[0]))]
        c = self.config
        return bitstream.write(c.sampling_rate, c.audio_channels, length, c.level_hops,
                               [c.codebook_size] * c.num_levels, codes)

    def _check_bitstream(self, stream: "bitstream.Bitstream"):
        c = self.config
        mine = (c.sampling_rate, c.audio_channels, c.level_hops, [c.codebook_size] * c.num_levels)
        theirs = (stream.sampling_rate, stream.channels, [lv.hop for lv in stream.levels],
                  [lv.codebook_size for lv in stream.levels])
        if mine != theirs:
            raise ValueError("this bitstream was written by another codec configuration (rate, channels, level hops, "
                             f"codebook sizes {theirs}) than this model's {mine}; decompress it with that model")
        if any(lv.quantizers > c.num_quantizers for lv in stream.levels):
            used = [lv.quantizers for lv in stream.levels]
            raise ValueError(f"the bitstream uses {used} quantizers per level; this model has {c.num_quantizers}")

    @torch.no_grad()
    def decompress(self, data: bytes, chunk_length_s: Optional[float] = None, progress: bool = False
                   ) -> torch.Tensor:
        """``.agc`` bytes -> audio ``[channels, samples]`` (float32, CPU), the original length. Truncated, corrupt
        or foreign bytes raise ``bitstream.BitstreamError``; a bitstream of another configuration a ``ValueError``."""
        stream = bitstream.read(data)
        audio = torch.empty(stream.channels, stream.length)
        position = 0
        for piece in self.decompress_chunks(stream, chunk_length_s, progress):  # memory: the output + one chunk
            audio[:, position: position + piece.shape[-1]] = piece
            position += piece.shape[-1]
        return audio

    @torch.no_grad()
    def decompress_chunks(self, data: Union[bytes, "bitstream.Bitstream"], chunk_length_s: Optional[float] = None,
                          progress: bool = False) -> Iterator[torch.Tensor]:
        """Yield the decoded audio of a bitstream piece by piece (``[channels, samples]`` float32 on the CPU, the
        last piece trimmed to the original length), to write long audio without holding it all."""
        stream = data if isinstance(data, bitstream.Bitstream) else bitstream.read(data)
        self._check_bitstream(stream)
        codes = [torch.from_numpy(level)[None] for level in stream.codes]
        was_training = self.training
        self.eval()
        try:
            chunks = self.decode_chunks(codes, chunk_length_s)
            if progress:
                from tqdm.auto import tqdm

                chunks = tqdm(chunks, total=self.num_chunks(stream.length, chunk_length_s), desc="decompress",
                              unit="chunk")
            position = 0
            for piece in chunks:
                piece = piece[0, :, : max(0, stream.length - position)].float().cpu()
                position += piece.shape[-1]
                if piece.shape[-1]:
                    yield piece
        finally:
            self.train(was_training)

    def forward(
        self,
        input_values: torch.Tensor,
        padding_mask: Optional[torch.Tensor] = None,
        num_quantizers: Optional[int] = None,
        return_dict: Optional[bool] = None,
        update_codebooks: Optional[bool] = None,
    ) -> Union[tuple, HierarchicalCodecOutput]:
        """Encode, quantise and decode ``input_values`` ``[batch, audio_channels, samples]`` in one pass (no
        chunking); returns the reconstruction (the input's length), the codes and the losses. In training mode the
        EMA codebooks update and quantizer dropout picks fewer quantizers for some items; ``update_codebooks=False``
        keeps the codebooks as they are (e.g. a GAN's discriminator step re-running the generator)."""
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        num_quantizers = self._check_quantizers(num_quantizers)
        self._check_audio(input_values, padding_mask)
        length = input_values.shape[-1]
        x, mask = self._pad(input_values, padding_mask)
        decoded, codes, commitment, codebook = self._encode_padded(x, mask, num_quantizers, update_codebooks)
        audio = self._decode_latents(decoded)[..., :length]
        target = x[..., :length]
        if mask is None:
            reconstruction = F.l1_loss(audio.float(), target.float())
        else:
            weight = mask[:, None, :length].to(torch.float32)
            reconstruction = ((audio.float() - target.float()).abs() * weight).sum() / (
                weight.sum() * audio.shape[1]).clamp_min(1.0)
        c = self.config
        loss = (c.commitment_loss_weight * commitment + c.codebook_loss_weight * codebook
                + c.reconstruction_loss_weight * reconstruction)
        output = HierarchicalCodecOutput(loss, audio, tuple(codes), commitment, codebook, reconstruction)
        return output if return_dict else output.to_tuple()
