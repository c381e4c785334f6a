"""Losses shared by the models: time-domain and spectral reconstruction, music-aware terms, discriminators and
adversarial losses (see each module)."""

from .adversarial import (
    ADVERSARIAL_LOSSES,
    DISCRIMINATORS,
    DiscriminatorOutput,
    HybridDiscriminator,
    MultiResolutionSTFTDiscriminator,
    MultiScaleDiscriminator,
    STFTDiscriminator,
    build_discriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
)
from .music import HarmonicLoss, MusicLoss, RhythmicLoss, TimbralLoss
from .spectral import (
    MFCCLoss,
    MultiResolutionSTFTLoss,
    MultiScaleMelLoss,
    TimeDomainLoss,
    mel_magnitude,
    stft_magnitude,
)
