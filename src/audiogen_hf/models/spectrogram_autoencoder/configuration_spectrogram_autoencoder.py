"""Configuration of the GTZAN 2-D convolutional spectrogram autoencoder."""

from transformers import PretrainedConfig

from ..configuration_utils import check_fields


class SpectrogramAutoencoderConfig(PretrainedConfig):
    """
    Args:
        num_bins, num_frames: input spectrogram shape ``[num_bins, num_frames]`` (n_fft 512 -> 257 bins; 256 frames
            of hop 256 at 22.05 kHz are ~3 s). Any shape works: it is padded to a multiple of ``2 ** len(channels)``
            inside the model and the output cropped back.
        channels: output channels of each stride-2 ``Conv2d + ReLU + BatchNorm`` encoder block (mirrored by the
            ``ConvTranspose2d`` decoder).
        latent_dim: size of the dense bottleneck vector.
        variational: Gaussian latent (mean and log-variance) with a KL term, so spectrograms can be sampled.
        kl_weight: weight of the KL term (mean over latent dimensions) against the MSE (mean over bins).
        kl_warmup_steps: the KL weight rises linearly from 0 over this many training batches (0: no warm-up).

    Example:

    ```python
    >>> from audiogen_hf.models import SpectrogramAutoencoderConfig

    >>> config = SpectrogramAutoencoderConfig(variational=True, kl_warmup_steps=1000)
    >>> config.latent_dim
    128
    >>> SpectrogramAutoencoderConfig(num_bins=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: SpectrogramAutoencoderConfig: invalid ...

    ```
    """

    model_type = "spectrogram_autoencoder"

    def __init__(
        self,
        num_bins: int = 257,
        num_frames: int = 256,
        channels: tuple = (32, 64, 128, 128),
        latent_dim: int = 128,
        variational: bool = False,
        kl_weight: float = 1e-3,
        kl_warmup_steps: int = 0,
        **kwargs,
    ):
        channels = list(channels)
        checks = [
            (isinstance(num_bins, int) and num_bins > 0, "num_bins", num_bins, "an integer > 0"),
            (isinstance(num_frames, int) and num_frames > 0, "num_frames", num_frames, "an integer > 0"),
            (len(channels) > 0 and all(isinstance(c, int) and c > 0 for c in channels), "channels", channels,
             "a non-empty list of integers > 0"),
            (isinstance(latent_dim, int) and latent_dim > 0, "latent_dim", latent_dim, "an integer > 0"),
            (kl_weight >= 0, "kl_weight", kl_weight, ">= 0"),
            (isinstance(kl_warmup_steps, int) and kl_warmup_steps >= 0, "kl_warmup_steps", kl_warmup_steps,
             "an integer >= 0"),
        ]
        check_fields("SpectrogramAutoencoderConfig", checks)
        self.num_bins = num_bins
        self.num_frames = num_frames
        self.channels = channels
        self.latent_dim = latent_dim
        self.variational = variational
        self.kl_weight = kl_weight
        self.kl_warmup_steps = kl_warmup_steps
        super().__init__(**kwargs)
