import librosa
import numpy as np
import torch

from audiogen_hf.audio import (
    spectral_bandwidth,
    spectral_centroid,
    spectral_entropy,
    spectral_features,
    spectral_flatness,
)


def magnitude(x: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.abs(librosa.stft(x.numpy(), n_fft=2048, hop_length=512)))


def test_features_match_librosa_on_real_music_with_silent_frames(music):
    audio = music[0].clone()
    audio[:8192] = 0  # leading silence: librosa gives 0 centroid/bandwidth there, we must not give NaN
    spec = magnitude(audio)
    s = spec.numpy()
    np.testing.assert_allclose(spectral_centroid(spec, 22050), librosa.feature.spectral_centroid(S=s, sr=22050)[0],
                               rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(spectral_bandwidth(spec, 22050), librosa.feature.spectral_bandwidth(S=s, sr=22050)[0],
                               rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(spectral_flatness(spec), librosa.feature.spectral_flatness(S=s)[0],
                               rtol=1e-4, atol=1e-6)
    for value in spectral_features(spec, 22050).values():
        assert torch.isfinite(value).all()


def test_entropy_orders_noise_above_music_above_tone(music):
    t = torch.arange(22050 * 2) / 22050
    tone = magnitude(0.5 * torch.sin(2 * torch.pi * 440 * t))
    noise = magnitude(torch.randn(22050 * 2, generator=torch.Generator().manual_seed(0)) * 0.1)
    song = magnitude(music[0, : 22050 * 2])
    entropy = [spectral_entropy(s).median() for s in (tone, song, noise)]
    assert entropy[0] < entropy[1] < entropy[2] <= 1.0


def test_features_are_batched_and_differentiable(music):
    spec = torch.stack([magnitude(music[0]), magnitude(music[1])]).requires_grad_(True)
    features = spectral_features(spec, 22050)
    single = spectral_features(spec[1].detach(), 22050)
    for name, value in features.items():
        assert value.shape == spec.shape[:1] + spec.shape[-1:]
        torch.testing.assert_close(value[1].detach(), single[name], rtol=1e-5, atol=1e-5)
    sum(v.mean() / v.detach().abs().mean().clamp_min(1e-6) for v in features.values()).backward()
    assert torch.isfinite(spec.grad).all() and spec.grad.abs().sum() > 0
