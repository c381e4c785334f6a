"""Configuration of the MUSDB 1-D residual mel autoencoder."""

from transformers import PretrainedConfig

from ..configuration_utils import check_fields


class MelAutoencoderConfig(PretrainedConfig):
    """
    Args:
        n_mels, num_frames: input ``[n_mels, num_frames]`` normalised log-mels (seed: 128 x 256, ~5 s at 16 kHz).
        hidden_channels: width of the ``Conv1d`` stacks (mel bands are the input channels).
        num_downsamples: stride-2 time reductions (latent frames = ``num_frames / 2 ** num_downsamples``, padded).
        num_residual_blocks: residual blocks at each resolution, in the encoder and mirrored in the decoder.
        latent_channels: channels of the latent sequence ``[latent_channels, latent frames]`` (seed: 128).
        dropout: inside the residual blocks.
        mel_l1_weight: loss = MSE + ``mel_l1_weight`` x L1 on the normalised mels.
        variational, kl_weight, kl_warmup_steps: Gaussian latent with a KL term (mean over latent dimensions)
            whose weight rises linearly from 0 over ``kl_warmup_steps`` training batches.

    Example:

    ```python
    >>> from audiogen_hf.models import MelAutoencoderConfig

    >>> config = MelAutoencoderConfig(n_mels=64, num_frames=128)
    >>> config.latent_channels
    128
    >>> MelAutoencoderConfig(n_mels=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: MelAutoencoderConfig: invalid ...

    ```
    """

    model_type = "mel_autoencoder"

    def __init__(
        self,
        n_mels: int = 128,
        num_frames: int = 256,
        hidden_channels: int = 256,
        num_downsamples: int = 2,
        num_residual_blocks: int = 2,
        latent_channels: int = 128,
        dropout: float = 0.1,
        mel_l1_weight: float = 1.0,
        variational: bool = False,
        kl_weight: float = 1e-3,
        kl_warmup_steps: int = 0,
        **kwargs,
    ):
        checks = [(isinstance(v, int) and v > 0, n, v, "an integer > 0") for n, v in (
            ("n_mels", n_mels), ("num_frames", num_frames), ("hidden_channels", hidden_channels),
            ("latent_channels", latent_channels))]
        checks += [
            (isinstance(num_downsamples, int) and num_downsamples >= 0, "num_downsamples", num_downsamples,
             "an integer >= 0"),
            (isinstance(num_residual_blocks, int) and num_residual_blocks >= 0, "num_residual_blocks",
             num_residual_blocks, "an integer >= 0"),
            (0.0 <= dropout < 1.0, "dropout", dropout, "in [0, 1)"),
            (mel_l1_weight >= 0, "mel_l1_weight", mel_l1_weight, ">= 0"),
            (kl_weight >= 0, "kl_weight", kl_weight, ">= 0"),
            (isinstance(kl_warmup_steps, int) and kl_warmup_steps >= 0, "kl_warmup_steps", kl_warmup_steps,
             "an integer >= 0"),
        ]
        check_fields("MelAutoencoderConfig", checks)
        self.n_mels = n_mels
        self.num_frames = num_frames
        self.hidden_channels = hidden_channels
        self.num_downsamples = num_downsamples
        self.num_residual_blocks = num_residual_blocks
        self.latent_channels = latent_channels
        self.dropout = dropout
        self.mel_l1_weight = mel_l1_weight
        self.variational = variational
        self.kl_weight = kl_weight
        self.kl_warmup_steps = kl_warmup_steps
        super().__init__(**kwargs)
