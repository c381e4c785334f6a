"""Tiny randomly initialised pipelines saved with save_pretrained, for the command-line and web-app tests."""

from pathlib import Path

import torch


def save_tiny_jam(folder: Path) -> Path:
    from audiogen_hf.audio import SpectrogramConverter
    from audiogen_hf.models import MelLSTMConfig, MelLSTMModel
    from audiogen_hf.pipelines import MelContinuationPipeline

    torch.manual_seed(0)
    model = MelLSTMModel(MelLSTMConfig(n_mels=16, hidden_size=16, num_layers=1, dropout=0.0, sampling_rate=8000))
    converter = SpectrogramConverter(sampling_rate=8000, n_fft=256, hop_length=128, n_mels=16, normalization="fixed",
                                     norm_range=(-80.0, 40.0), griffin_lim_iters=4)
    MelContinuationPipeline(model=model, converter=converter).save_pretrained(folder)
    return folder


def save_tiny_autoencoder(folder: Path, variational: bool = True) -> Path:
    """A linear-STFT (n_fft 64 -> 33 bins) variational autoencoder at 8 kHz over 20 frames."""
    from audiogen_hf.audio import SpectrogramConverter
    from audiogen_hf.models import SpectrogramAutoencoderConfig, SpectrogramAutoencoderModel
    from audiogen_hf.pipelines import AudioAutoencoderPipeline

    torch.manual_seed(0)
    model = SpectrogramAutoencoderModel(SpectrogramAutoencoderConfig(num_bins=33, num_frames=20, channels=[4, 8],
                                                                     latent_dim=6, variational=variational))
    converter = SpectrogramConverter(sampling_rate=8000, n_fft=64, hop_length=16, mode="linear", power=1.0,
                                     normalization="per_clip", griffin_lim_iters=4)
    AudioAutoencoderPipeline(model=model, converter=converter).save_pretrained(folder)
    return folder


def save_tiny_codec(folder: Path) -> Path:
    """A ~10k-parameter three-level codec at 22.05 kHz (0.5 s chunks)."""
    from audiogen_hf.models import HierarchicalCodecConfig, HierarchicalCodecFeatureExtractor, HierarchicalCodecModel
    from audiogen_hf.pipelines import AudioCodecPipeline

    torch.manual_seed(0)
    config = HierarchicalCodecConfig(sampling_rate=22050, encoder_strides=[2, 2], encoder_channels=[8, 16],
                                     level_ratios=[2, 4, 8], level_channels=16, codebook_size=16, codebook_dim=8,
                                     chunk_length_s=0.5)
    model = HierarchicalCodecModel(config).eval()
    AudioCodecPipeline(model, HierarchicalCodecFeatureExtractor.from_model_config(config)).save_pretrained(folder)
    return folder


def save_tiny_diffusion(folder: Path, genres=("metal", "electronic")) -> Path:
    """A genre-conditioned spectrogram diffusion pipeline at 22.05 kHz: 16 mels x 32 frames (0.36 s), DDPM schedule."""
    from diffusers import DDPMScheduler, UNet2DModel

    from audiogen_hf.audio import SpectrogramConverter
    from audiogen_hf.pipelines import MelDiffusionPipeline

    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=(16, 32), in_channels=1, out_channels=1, block_out_channels=(8, 16),
                       layers_per_block=1, down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2,
                       norm_num_groups=4, num_class_embeds=len(genres) + 1)
    converter = SpectrogramConverter(n_fft=512, hop_length=256, mode="mel", n_mels=16, normalization="fixed",
                                     griffin_lim_iters=4)
    MelDiffusionPipeline(unet, DDPMScheduler(num_train_timesteps=100), converter, genres=list(genres)) \
        .save_pretrained(folder)
    return folder
