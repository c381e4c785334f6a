import json

import numpy as np
import pytest
import torch

from audiogen_hf.audio import SpectrogramConverter, load_audio, resample
from audiogen_hf.models import MelLSTMConfig, MelLSTMModel
from audiogen_hf.pipelines import MelContinuationPipeline

SR, HOP = 22050, 256


def tiny_pipeline() -> MelContinuationPipeline:
    torch.manual_seed(0)
    model = MelLSTMModel(MelLSTMConfig(n_mels=32, hidden_size=32, num_layers=1, dropout=0.0, sampling_rate=SR))
    converter = SpectrogramConverter(sampling_rate=SR, n_fft=1024, hop_length=HOP, n_mels=32,
                                     normalization="fixed", norm_range=(-80.0, 40.0), griffin_lim_iters=16)
    return MelContinuationPipeline(model=model, converter=converter)


@pytest.fixture(scope="module")
def prompts(real_track):
    """Two mono 2 s prompts of real music at 44.1 kHz (the pipeline resamples)."""
    audio, _ = load_audio(real_track / "mixture.wav", channels=1, offset=3.0, duration=4.0)
    return torch.stack([audio[0, :88200], audio[0, 88200:]])


def test_continues_real_music_and_keeps_the_prompt(prompts):
    pipe = tiny_pipeline()
    out = pipe(prompts[0].numpy(), sampling_rate=44100, duration_s=1.0)
    frames = int(np.ceil(SR / HOP))
    assert out.sampling_rate == SR
    assert out.audios.shape == (1, 2 * SR + frames * HOP)
    assert out.spectrograms.shape == (1, 32, pipe.converter.num_frames(2 * SR) + frames)
    resampled = resample(prompts[0], 44100, SR).numpy()
    np.testing.assert_array_equal(out.audios[0, : 2 * SR], resampled)
    tail = out.audios[0, 2 * SR :]
    assert np.isfinite(tail).all() and np.sqrt(np.mean(tail**2)) > 1e-3


def test_max_peak_scales_only_the_continuation(prompts):
    pipe = tiny_pipeline()
    free = pipe(prompts, sampling_rate=44100, num_frames=20, max_peak=None, output_type="pt").audios
    tail = free[:, 2 * SR:]
    limit = 0.5 * float(tail.abs().amax(dim=-1).min())  # below both clips' own peaks
    limited = pipe(prompts, sampling_rate=44100, num_frames=20, max_peak=limit, output_type="pt").audios
    torch.testing.assert_close(limited[:, : 2 * SR], free[:, : 2 * SR], rtol=0, atol=0)  # the prompt is kept
    torch.testing.assert_close(limited[:, 2 * SR:].abs().amax(dim=-1), torch.full((2,), limit), rtol=1e-5, atol=0)
    gains = limited[:, 2 * SR:].abs().amax(dim=-1) / tail.abs().amax(dim=-1)
    torch.testing.assert_close(limited[:, 2 * SR:], tail * gains[:, None])  # one gain per clip: the shape is kept
    loose = pipe(prompts, sampling_rate=44100, num_frames=20, max_peak=1e6, output_type="pt").audios
    torch.testing.assert_close(loose, free, rtol=0, atol=0)  # under the limit: untouched
    with pytest.raises(ValueError, match="max_peak must be > 0"):
        pipe(prompts, sampling_rate=44100, num_frames=4, max_peak=0.0)


def test_deterministic_seeded_and_batched(prompts):
    pipe = tiny_pipeline()
    batch = pipe(prompts, sampling_rate=44100, num_frames=20, output_type="pt")
    again = pipe(prompts, sampling_rate=44100, num_frames=20, output_type="pt")
    torch.testing.assert_close(batch.audios, again.audios, rtol=0, atol=0)
    single = pipe(prompts[1], sampling_rate=44100, num_frames=20, output_type="pt")
    torch.testing.assert_close(single.spectrograms[0], batch.spectrograms[1], atol=1e-5, rtol=1e-5)
    noisy = lambda seed: pipe(prompts[0], sampling_rate=44100, num_frames=20, noise_scale=0.05,  # noqa: E731
                              generator=torch.Generator().manual_seed(seed), output_type="spectrogram").spectrograms
    torch.testing.assert_close(noisy(1), noisy(1), rtol=0, atol=0)
    assert not torch.equal(noisy(1), noisy(2))


def test_save_and_load_round_trip(tmp_path, prompts):
    pipe = tiny_pipeline()
    pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["model"] == ["audiogen_hf.models.mel_lstm.modeling_mel_lstm", "MelLSTMModel"]
    assert index["converter"] == ["audiogen_hf.audio.spectrogram", "SpectrogramConverter"]
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert (tmp_path / "converter" / "spectrogram_config.json").is_file()
    loaded = MelContinuationPipeline.from_pretrained(tmp_path)
    a = pipe(prompts[0], sampling_rate=44100, num_frames=10, output_type="pt").audios
    b = loaded(prompts[0], sampling_rate=44100, num_frames=10, output_type="pt").audios
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_bad_components_and_arguments(prompts):
    model = MelLSTMModel(MelLSTMConfig(n_mels=32, hidden_size=16, num_layers=1))
    with pytest.raises(ValueError, match="n_mels=32"):
        MelContinuationPipeline(model=model, converter=SpectrogramConverter(n_mels=64))
    with pytest.raises(ValueError, match="norm_range"):
        MelContinuationPipeline(model=model, converter=SpectrogramConverter(n_mels=32))
    pipe = tiny_pipeline()
    with pytest.raises(ValueError, match="exactly one"):
        pipe(prompts[0])
    with pytest.raises(ValueError, match="mono"):
        pipe(torch.zeros(1, 2, SR), sampling_rate=SR, num_frames=4)
    with pytest.raises(ValueError, match="pass sampling_rate"):
        pipe(prompts[0], num_frames=4)
    with pytest.raises(ValueError, match="output_type"):
        pipe(prompts[0], num_frames=4, output_type="wav")


def synthetic_prompt(seconds: float = 1.0) -> torch.Tensor:
    """A decaying chord with a little noise: audio for tests that need no corpus."""
    t = torch.arange(int(SR * seconds)) / SR
    tones = sum(torch.sin(2 * torch.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    return 0.5 * tones * torch.exp(-t) + 0.01 * torch.randn(t.shape, generator=torch.Generator().manual_seed(0))


def test_integer_pcm_numpy_and_the_spectrogram_output_type():
    pipe = tiny_pipeline()
    prompt = synthetic_prompt()
    pcm = np.round(prompt.numpy() * 32767).astype(np.int16)
    from_pcm = pipe(pcm, sampling_rate=SR, num_frames=6, output_type="pt")
    from_float = pipe(torch.from_numpy(pcm.astype(np.float32) / 32768), sampling_rate=SR, num_frames=6,
                      output_type="pt")
    torch.testing.assert_close(from_pcm.audios, from_float.audios, rtol=0, atol=0)
    only = pipe(prompt, sampling_rate=SR, num_frames=6, output_type="spectrogram")
    assert only.audios is None
    # spectrograms are in the converter's scale: dB within its norm_range, equal to the de-normalised model frames
    full = pipe(prompt, sampling_rate=SR, num_frames=6, output_type="pt")
    torch.testing.assert_close(only.spectrograms, full.spectrograms, rtol=0, atol=0)
    assert only.spectrograms.min() >= -80.0 and only.spectrograms.max() <= 40.0
    assert only.spectrograms.max() > 0.0  # a dB scale, not [0, 1]


def test_the_frame_loop_runs_under_the_progress_bar(monkeypatch):
    pipe = tiny_pipeline()
    bars = []
    original = pipe.progress_bar

    def recording_progress_bar(*args, **kwargs):
        bar = original(*args, **kwargs)
        bars.append(bar)
        return bar

    monkeypatch.setattr(pipe, "progress_bar", recording_progress_bar)
    pipe(synthetic_prompt(), sampling_rate=SR, num_frames=7, output_type="spectrogram")
    assert len(bars) == 1 and bars[0].total == 7 and bars[0].n == 7


def test_bf16_pipeline_matches_float32(tmp_path):
    """A pipeline loaded with dtype=torch.bfloat16 runs (inputs are cast to the model's dtype) and stays close to
    float32; noise comes from randn_tensor with a CPU generator."""
    pipe = tiny_pipeline()
    pipe.save_pretrained(tmp_path)
    half = MelContinuationPipeline.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert half.model.dtype == torch.bfloat16
    prompt = synthetic_prompt()
    full = pipe(prompt, sampling_rate=SR, num_frames=8, output_type="pt")
    out = half(prompt, sampling_rate=SR, num_frames=8, noise_scale=0.01, generator=torch.Generator().manual_seed(0),
               output_type="pt")
    assert out.audios.dtype == torch.float32 and torch.isfinite(out.audios).all()
    assert out.audios.shape == full.audios.shape
    quiet = half(prompt, sampling_rate=SR, num_frames=8, output_type="pt")
    new = slice(-8, None)  # the generated frames, in dB
    assert (quiet.spectrograms[..., new] - full.spectrograms[..., new]).abs().mean() < 2.0
