"""Continuation metrics on cases with known answers, and on real music from the corpus."""

import pytest
import torch

from audiogen_hf.audio import SpectrogramConverter, load_audio
from audiogen_hf.evaluation.continuation import (
    band_pattern_change,
    continuation_goals,
    continuation_metrics,
    flux_per_second,
    is_collapsed,
    median_metrics,
    smooth_time,
)

RATE, HOP = 22050, 512
FRAME_RATE = RATE / HOP


@pytest.fixture(scope="module")
def real(real_track):
    """10 s of a real recording: log-mel dB of the first 5 s ("prompt") and the next 5 s, and the audio."""
    audio, _ = load_audio(real_track / "mixture.wav", sampling_rate=RATE, channels=1, duration=10.0)
    converter = SpectrogramConverter(sampling_rate=RATE, n_fft=2048, hop_length=HOP, mode="mel", n_mels=64)
    half = audio.shape[-1] // 2
    mel = lambda x: converter.audio_to_spectrogram(x).spectrogram[0]  # noqa: E731
    return {"prompt": mel(audio[:, :half]), "next": mel(audio[:, half:]), "prompt_audio": audio[0, :half],
            "next_audio": audio[0, half:]}


def test_constant_spectrogram_has_zero_flux_and_is_collapsed(real):
    constant = real["next"].mean(dim=-1, keepdim=True).expand_as(real["next"]).clone()
    assert flux_per_second(constant, FRAME_RATE).abs().max() < 1e-9
    m = continuation_metrics(constant, real["next"], FRAME_RATE)
    assert all(m[f"flux_ratio_s{k}"] < 1e-6 for k in range(1, 6))
    assert abs(m["band_change_ratio"]) < 1e-6
    assert is_collapsed(m)
    assert m["band_mean_db"] < 1e-6  # same per-band means: only the movement is missing
    assert m["band_std_error"] > 0.9  # no variation at all, where the music varies
    assert not continuation_goals(m)["all"]


def test_smoothing_removes_frame_to_frame_flicker(real):
    constant = real["next"].mean(dim=-1, keepdim=True).expand_as(real["next"])
    alternating = constant + 6.0 * (-1.0) ** torch.arange(constant.shape[-1])
    inner = slice(10, -10)  # away from the reflected edges
    # 6 dB of alternating flicker leaves less than 0.01 dB
    assert (smooth_time(alternating, FRAME_RATE) - constant)[:, inner].abs().max() < 0.01


def test_constant_with_random_flicker_is_collapsed(real):
    generator = torch.Generator().manual_seed(0)
    constant = real["next"].mean(dim=-1, keepdim=True).expand_as(real["next"])
    flicker = constant + 3.0 * torch.randn(constant.shape, generator=generator, dtype=constant.dtype)
    m = continuation_metrics(flicker, real["next"], FRAME_RATE)
    # the unsmoothed frame-to-frame change of the flicker is larger than the music's...
    assert flicker.diff(dim=-1).abs().mean() > real["next"].diff(dim=-1).abs().mean()
    # ...but at 200 ms the band pattern stays fixed
    assert m["band_change_ratio"] < 0.3  # measured 0.24 (the residual noise decorrelates a little)
    assert is_collapsed(m)


def test_copy_of_the_real_continuation_scores_one_and_zero_db(real):
    m = continuation_metrics(real["next"].clone(), real["next"], FRAME_RATE, prompt_audio=real["prompt_audio"],
                             generated_audio=real["next_audio"], real_audio=real["next_audio"])
    for k in range(1, 6):
        assert m[f"flux_ratio_s{k}"] == pytest.approx(1.0, abs=1e-9)
    assert m["band_change_ratio"] == pytest.approx(1.0, abs=1e-9)
    assert m["band_mean_db"] == 0 and m["band_std_error"] == 0
    assert m["loudness_db"] == pytest.approx(m["real_loudness_db"])
    assert m["real_flux_db"] > 0.5 and m["real_band_change"] > 0.01  # the real music does move
    assert not is_collapsed(m)
    assert continuation_goals(m)["flux_ratio"] and continuation_goals(m)["band_mean_db"]


def test_other_real_music_is_not_collapsed_and_level_errors_are_in_db(real):
    # the prompt (other real music of the same song) as the "generation": it moves like music
    m = continuation_metrics(real["prompt"], real["next"], FRAME_RATE)
    assert not is_collapsed(m)
    louder = continuation_metrics(real["next"] + 6.0, real["next"], FRAME_RATE, prompt_audio=real["next_audio"],
                                  generated_audio=2 * real["next_audio"])
    assert louder["band_mean_db"] == pytest.approx(6.0)
    assert louder["band_std_error"] == pytest.approx(0.0, abs=1e-6)  # float32 log-mels
    assert louder["loudness_db"] == pytest.approx(20 * torch.log10(torch.tensor(2.0)).item(), abs=1e-6)
    assert louder["peak"] == pytest.approx(2 * real["next_audio"].abs().max().item(), rel=1e-6)
    assert not continuation_goals(louder)["band_mean_db"]


def test_band_pattern_change_and_errors():
    ramp = torch.linspace(-60, 0, 32)[:, None].expand(32, 200).clone()
    assert band_pattern_change(ramp, FRAME_RATE) == pytest.approx(0.0, abs=1e-9)
    flipped = torch.cat([ramp[:, :100], ramp.flip(0)[:, 100:]], dim=1)  # the pattern inverts half way
    assert band_pattern_change(flipped, FRAME_RATE) > 0.5
    with pytest.raises(ValueError, match="same"):
        continuation_metrics(ramp, ramp[:, :100], FRAME_RATE)
    with pytest.raises(ValueError, match="2 s"):
        continuation_metrics(ramp[:, :50], ramp[:, :50], FRAME_RATE)
    with pytest.raises(ValueError, match="finite"):
        continuation_metrics(torch.full_like(ramp, float("-inf")), ramp, FRAME_RATE)
    rows = [{"a": 1.0, "b": 2.0}, {"a": 3.0}, {"a": 2.0, "b": 5.0}]
    assert median_metrics(rows) == {"a": 2.0}
