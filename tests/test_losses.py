"""Losses and discriminators (losses/): zero on identical inputs, positive otherwise, gradients; discriminator
outputs; adversarial loss signs."""

import pytest
import torch

from audiogen_hf.audio import load_audio
from audiogen_hf.losses import (
    DISCRIMINATORS,
    HarmonicLoss,
    MFCCLoss,
    MultiResolutionSTFTLoss,
    MultiScaleMelLoss,
    MusicLoss,
    RhythmicLoss,
    TimbralLoss,
    TimeDomainLoss,
    build_discriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
)

RATE = 22050
LOSSES = {
    "time_l1_l2": lambda: TimeDomainLoss(1.0, 1.0),
    "stft": lambda: MultiResolutionSTFTLoss(RATE, fft_sizes=(512, 256)),
    "mel": lambda: MultiScaleMelLoss(RATE),
    "mfcc": lambda: MFCCLoss(RATE, n_fft=1024, hop_length=256, n_mels=40),
    "harmonic": lambda: HarmonicLoss(RATE, n_fft=2048, hop_length=512),
    "rhythmic": lambda: RhythmicLoss(RATE, n_fft=1024, hop_length=256, n_mels=40),
    "timbral": lambda: TimbralLoss(RATE, n_fft=1024, hop_length=256),
    "music": lambda: MusicLoss(RATE),
}


@pytest.fixture(scope="module")
def clip(real_track) -> torch.Tensor:
    """1 s of a real stereo mixture, ``[1, 2, samples]``."""
    audio, _ = load_audio(real_track / "mixture.wav", sampling_rate=RATE, offset=4.0, duration=1.0)
    return audio[None]


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_is_zero_for_identical_positive_otherwise_and_backpropagates(name, clip):
    loss = LOSSES[name]()
    assert float(loss(clip, clip.clone())) == pytest.approx(0.0, abs=1e-6)
    # a low-passed, noisier copy: different spectrum, envelope, pitch content and waveform
    smoothed = torch.nn.functional.avg_pool1d(clip, 9, stride=1, padding=4)
    estimate = (0.7 * smoothed + 0.05 * torch.randn_like(clip, generator=None)).requires_grad_(True)
    value = loss(estimate, clip)
    assert value.dim() == 0 and float(value.detach()) > 1e-4
    value.backward()
    assert estimate.grad is not None and torch.isfinite(estimate.grad).all() and estimate.grad.abs().sum() > 0


def test_mel_distance_grows_with_distortion(clip):
    loss = MultiScaleMelLoss(RATE)
    noise = torch.randn_like(clip)
    small, large = float(loss(clip + 0.003 * noise, clip)), float(loss(clip + 0.1 * noise, clip))
    assert 0 < small < large


def test_losses_refuse_mismatched_shapes(clip):
    with pytest.raises(ValueError, match="shape"):
        MultiResolutionSTFTLoss(RATE)(clip[..., :-10], clip)


@pytest.mark.parametrize("kind", DISCRIMINATORS)
def test_discriminators_give_per_scale_logits_and_feature_maps(kind):
    torch.manual_seed(0)
    d = build_discriminator(kind, RATE, audio_channels=2, num_scales=2, fft_sizes=(512, 256), channels=8)
    audio = torch.randn(3, 2, 8192) * 0.1
    out = d(audio)
    scales = {"multi_scale": 2, "multi_resolution_stft": 2, "hybrid": 4}[kind]
    assert len(out.logits) == len(out.feature_maps) == scales
    for logits, maps in zip(out.logits, out.feature_maps):
        assert logits.shape[0] == 3 and logits.shape[1] == 1 and torch.isfinite(logits).all()
        assert len(maps) >= 3 and all(m.shape[0] == 3 for m in maps)
    # items are scored independently: the first item's logits do not depend on the others
    alone = d(audio[:1])
    for a, b in zip(alone.logits, out.logits):
        torch.testing.assert_close(a, b[:1], atol=1e-5, rtol=1e-4)
    # the discriminator's gradient reaches its input (the generator learns through it)
    fake = audio.clone().requires_grad_(True)
    generator_loss(d(fake).logits).backward()
    assert fake.grad.abs().sum() > 0


def test_unknown_discriminator_and_loss_kind_are_refused():
    with pytest.raises(ValueError, match="discriminator must be one of"):
        build_discriminator("patchgan")
    with pytest.raises(ValueError, match="adversarial loss must be one of"):
        generator_loss([torch.zeros(1)], kind="wasserstein")


@pytest.mark.parametrize("kind", ["hinge", "least_squares"])
def test_adversarial_losses_have_the_right_signs(kind):
    good, bad = [torch.full((2, 1, 5), 1.5)], [torch.full((2, 1, 5), -1.5)]
    # discriminator: real scored high and fake low is (near) optimal; the reverse is penalised
    assert float(discriminator_loss(good, bad, kind)) < float(discriminator_loss(bad, good, kind))
    if kind == "hinge":
        assert float(discriminator_loss(good, bad, kind)) == 0.0  # both margins met
        assert float(discriminator_loss(bad, good, kind)) == pytest.approx(5.0)  # relu(2.5) + relu(2.5)
        assert float(generator_loss(good, kind)) == 0.0
    else:
        assert float(discriminator_loss([torch.ones(3)], [torch.zeros(3)], kind)) == 0.0
        assert float(generator_loss([torch.ones(3)], kind)) == 0.0
    # generator: fooling the discriminator (fake scored high) lowers its loss
    assert float(generator_loss(good, kind)) < float(generator_loss(bad, kind))
    # gradient directions: D pushes real logits up and fake logits down; G pushes fake logits up
    real, fake = torch.full((4,), 0.5, requires_grad=True), torch.full((4,), 0.5, requires_grad=True)
    discriminator_loss([real], [fake], kind).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()
    fake = torch.full((4,), 0.5, requires_grad=True)
    generator_loss([fake], kind).backward()
    assert (fake.grad < 0).all()


def test_feature_matching_is_zero_for_equal_maps_and_does_not_train_on_real():
    real = [[torch.randn(2, 4, 10, requires_grad=True), torch.randn(2, 3, 5, requires_grad=True)]]
    assert float(feature_matching_loss(real, [[m.detach().clone() for m in real[0]]])) == 0.0
    fake = [[m.detach() + 0.5 for m in real[0]]]
    fake[0][0].requires_grad_(True)
    value = feature_matching_loss(real, fake)
    assert float(value.detach()) > 0
    value.backward()
    assert fake[0][0].grad is not None and real[0][0].grad is None
