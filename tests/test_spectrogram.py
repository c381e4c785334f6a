import librosa
import numpy as np
import pytest
import torch

from audiogen_hf.audio import SpectrogramConverter
from audiogen_hf.evaluation import snr_db


def spectral_convergence_db(reference: torch.Tensor, estimate: torch.Tensor, n_fft=2048, hop=512) -> float:
    """20 log10 ||S - S_hat|| / ||S|| of the magnitude STFTs (librosa's, as an independent reference)."""
    mag = lambda x: np.abs(librosa.stft(x.numpy(), n_fft=n_fft, hop_length=hop))  # noqa: E731
    s, s_hat = mag(reference), mag(estimate)
    return float(20 * np.log10(np.linalg.norm(s - s_hat) / np.linalg.norm(s)))


def test_exact_round_trip_with_true_phase_batched(music):
    converter = SpectrogramConverter(mode="linear", power=1.0, scale="db", top_db=None, normalization="per_clip")
    out = converter.audio_to_spectrogram(music, return_phase=True)
    assert out.spectrogram.shape == (2, 1025, converter.num_frames(music.shape[-1]))
    assert 0.0 <= out.spectrogram.min() and out.spectrogram.max() <= 1.0
    audio = converter.spectrogram_to_audio(out.spectrogram, stats=out.stats, phase=out.phase, length=music.shape[-1])
    assert audio.shape == music.shape
    assert snr_db(music, audio, dim=None) > 60


def test_griffin_lim_converges_on_real_music(music):
    converter = SpectrogramConverter(mode="linear", power=1.0, scale="none", griffin_lim_iters=32)
    mono = music[0]
    audio = converter.spectrogram_to_audio(converter.audio_to_spectrogram(mono).spectrogram, length=mono.shape[-1])
    assert spectral_convergence_db(mono, audio) < -15
    more = converter.spectrogram_to_audio(converter.audio_to_spectrogram(mono).spectrogram, length=mono.shape[-1],
                                          griffin_lim_iters=96)
    assert spectral_convergence_db(mono, more) < spectral_convergence_db(mono, audio)


def test_mel_matches_librosa(music):
    converter = SpectrogramConverter(sampling_rate=22050, n_fft=2048, hop_length=512, n_mels=128)
    ours = converter.audio_to_spectrogram(music).spectrogram
    for channel in range(2):
        ref = librosa.power_to_db(
            librosa.feature.melspectrogram(y=music[channel].numpy(), sr=22050, n_fft=2048, hop_length=512, n_mels=128),
            top_db=80.0,
        )
        np.testing.assert_allclose(ours[channel].numpy(), ref, atol=1e-2)


def test_mel_griffin_lim_restores_the_mel(music):
    converter = SpectrogramConverter(n_fft=1024, hop_length=256, n_mels=80, normalization="fixed",
                                     norm_range=(-80, 20))
    mono = music[0, :22050 * 2]
    spec = converter.audio_to_spectrogram(mono).spectrogram
    audio = converter.spectrogram_to_audio(spec, length=mono.shape[-1])
    again = converter.audio_to_spectrogram(audio).spectrogram
    # mean absolute error of the normalised log-mel (1/100 of the range = 1 dB); measured 0.006
    assert (again - spec).abs().mean() < 0.015


def test_batch_equals_single(music):
    converter = SpectrogramConverter(normalization="per_clip")
    batch = converter.audio_to_spectrogram(music)
    for channel in range(2):
        single = converter.audio_to_spectrogram(music[channel])
        torch.testing.assert_close(batch.spectrogram[channel], single.spectrogram, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(batch.stats[channel], single.stats)


def test_save_and_load_config(tmp_path, music):
    converter = SpectrogramConverter(sampling_rate=16000, n_fft=1024, hop_length=256, n_mels=64,
                                     normalization="per_clip")
    converter.save_pretrained(tmp_path / "spectrogram")
    assert (tmp_path / "spectrogram" / "spectrogram_config.json").is_file()
    loaded = SpectrogramConverter.from_pretrained(tmp_path / "spectrogram")
    assert loaded.to_json_string() == converter.to_json_string()
    torch.testing.assert_close(loaded.audio_to_spectrogram(music).spectrogram,
                               converter.audio_to_spectrogram(music).spectrogram)


def test_silent_audio_is_finite_and_inverts_to_silence():
    converter = SpectrogramConverter(normalization="per_clip")
    out = converter.audio_to_spectrogram(torch.zeros(2, 4096))
    assert torch.isfinite(out.spectrogram).all() and (out.spectrogram == 0).all()
    audio = converter.spectrogram_to_audio(out.spectrogram, out.stats, length=4096)
    assert audio.abs().max() < 1e-3


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"n_fft": 512, "hop_length": 128, "n_mels": 300}, "n_mels"),
        ({"hop_length": 0}, "hop_length"),
        ({"mode": "cqt"}, "mode"),
        ({"scale": "loudness"}, "scale"),
        ({"normalization": "zscore"}, "normalization"),
        ({"power": 3.0}, "power"),
        ({"f_max": 30000}, "f_min/f_max"),
        ({"win_length": 4096}, "win_length"),
        ({"n_fft": 2048, "hop_length": 1500}, "hop_length"),
        ({"n_fft": 256, "hop_length": 64, "n_mels": 128}, "n_mels"),
        ({"n_fft": 512.0}, "n_fft"),
        ({"norm_range": None}, "norm_range"),
    ],
)
def test_bad_parameters_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"invalid {field}"):
        SpectrogramConverter(**kwargs)


@pytest.mark.parametrize("n_fft, hop, win", [(1000, 300, None), (2048, 512, 1024), (1001, 250, None)])
def test_stft_pair_matches_torch_and_inverts_exactly(n_fft, hop, win):
    converter = SpectrogramConverter(n_fft=n_fft, hop_length=hop, win_length=win, mode="linear")
    audio = torch.randn(2, 22000, generator=torch.Generator().manual_seed(0))
    stft = converter.stft(audio)
    window = converter.window
    reference = torch.stft(audio, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True)
    torch.testing.assert_close(stft, reference.transpose(-1, -2), atol=1e-4, rtol=1e-4)
    assert stft.shape[-2] == converter.num_frames(audio.shape[-1])
    # exact up to float32 rounding, amplified only in the last samples where one window's tail covers them
    torch.testing.assert_close(converter.istft(stft, length=audio.shape[-1]), audio, atol=1e-4, rtol=1e-4)


def test_float64_is_supported(music):
    converter = SpectrogramConverter(n_mels=64)
    single = converter.audio_to_spectrogram(music).spectrogram
    double = converter.audio_to_spectrogram(music.double()).spectrogram
    assert double.dtype == torch.float64
    torch.testing.assert_close(double.float(), single, atol=1e-3, rtol=1e-4)


def test_bad_audio_is_rejected():
    converter = SpectrogramConverter()
    with pytest.raises(ValueError, match="fewer than n_fft"):
        converter.audio_to_spectrogram(torch.zeros(1000))
    with pytest.raises(ValueError, match="NaN"):
        converter.audio_to_spectrogram(torch.full((4096,), float("nan")))
    with pytest.raises(ValueError, match="per_clip"):
        SpectrogramConverter(normalization="per_clip").spectrogram_to_audio(torch.rand(128, 10))
    with pytest.raises(ValueError, match="bins"):
        converter.spectrogram_to_audio(torch.rand(64, 10))
    with pytest.raises(TypeError, match="integer PCM"):
        converter.audio_to_spectrogram(torch.zeros(4096, dtype=torch.int16))
    with pytest.raises(ValueError, match="NaN"):
        converter.spectrogram_to_audio(torch.full((128, 10), float("nan")))
    per_clip = SpectrogramConverter(normalization="per_clip")
    out = per_clip.audio_to_spectrogram(torch.randn(3, 4096))
    with pytest.raises(ValueError, match="stats have shape"):
        per_clip.spectrogram_to_audio(out.spectrogram, stats=out.stats[:1])
