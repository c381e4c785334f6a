"""The two spectrogram autoencoders (GTZAN 2-D conv, MUSDB 1-D residual mel), their pipeline, metrics and recipes."""

import json
import math
import subprocess
import sys
import unittest

import pytest
import torch
from accelerate import Accelerator
from test_modeling_common import ModelTesterMixin
from torch.utils.data import DataLoader
from transformers import AutoModel

from audiogen_hf.evaluation import pesq_wideband
from audiogen_hf.models import (
    MelAutoencoderConfig,
    MelAutoencoderModel,
    SpectrogramAutoencoderConfig,
    SpectrogramAutoencoderModel,
)
from audiogen_hf.pipelines import AudioAutoencoderPipeline
from audiogen_hf.training import (
    MelAutoencoderArguments,
    MelAutoencoderObjective,
    SpectrogramAutoencoderArguments,
    SpectrogramAutoencoderObjective,
    TrainingArguments,
    train,
)

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]
TINY_SPECTROGRAM = dict(num_frames=64, channels=[8, 16, 16], latent_dim=16)
TINY_MEL = dict(n_mels=32, num_frames=64, hidden_channels=32, num_residual_blocks=1, latent_channels=8, dropout=0.0)


def objectives(corpus_dir, variational=False):
    return {
        "spectrogram": SpectrogramAutoencoderObjective(SpectrogramAutoencoderArguments(
            gtzan_root=str(corpus_dir / "gtzan"), variational=variational, **TINY_SPECTROGRAM)),
        "mel": MelAutoencoderObjective(MelAutoencoderArguments(
            musdb_root=str(corpus_dir / "musdb"), variational=variational, **TINY_MEL)),
    }


@pytest.fixture(scope="module")
def trained(corpus_dir, tmp_path_factory):
    """Both tiny autoencoders trained 40 steps on corpus clips, with their untrained validation metrics."""
    results = {}
    for name, objective in objectives(corpus_dir).items():
        torch.manual_seed(0)
        untrained = objective.build_model().eval()
        _, valid = objective.datasets()
        before = objective.evaluate(untrained, DataLoader(valid, batch_size=8), Accelerator())
        output_dir = tmp_path_factory.mktemp(name)
        args = TrainingArguments(output_dir=str(output_dir), max_steps=40, batch_size=8, report_to=None,
                                 learning_rate=3e-3 if name == "spectrogram" else 1e-3, validation_steps=20,
                                 validation_samples=1)
        results[name] = (before, train(objective, args), output_dir, objective)
    return results


@pytest.mark.parametrize("name", ["spectrogram", "mel"])
def test_training_on_corpus_lowers_the_loss(trained, name):
    before, after, output_dir, _ = trained[name]
    assert after["step"] == 40
    history = [json.loads(line) for line in (output_dir / "logs" / "history.jsonl").read_text().splitlines()]
    losses = [r["train/loss"] for r in history if "train/loss" in r]
    assert sum(losses[-10:]) < 0.8 * sum(losses[:10])
    if name == "spectrogram":  # GTZAN's validation clips share the training genres; the corpus's one MUSDB
        # validation track is 13 dB quieter than the training tracks, which 40 tiny steps do not bridge
        assert after["mse"] < 0.8 * before["mse"] and after["log_spectral_distance"] < before["log_spectral_distance"]
    assert 0.0 < after["cosine_similarity"] <= 1.0 and after["log_spectral_distance"] > 0
    assert math.isnan(after["pesq"]) or 1.0 <= after["pesq"] <= 4.65
    names = sorted(p.name for p in (output_dir / "samples" / "step-20").iterdir())
    assert names == ["sample_0.png", "sample_0_original.wav", "sample_0_reconstruction.wav"]
    assert (output_dir / "training_curves.png").is_file() and (output_dir / "model" / "README.md").is_file()


@pytest.mark.parametrize("name", ["spectrogram", "mel"])
def test_save_load_auto_and_pipeline_round_trip(trained, name, music, tmp_path):
    _, _, output_dir, _ = trained[name]
    pipe = AudioAutoencoderPipeline.from_pretrained(output_dir / "pipeline")
    model = AutoModel.from_pretrained(output_dir / "model").eval()
    assert type(model) is type(pipe.model)
    x = torch.rand(2, *model.spectrogram_shape)
    torch.testing.assert_close(model(x).reconstruction, pipe.model.eval()(x).reconstruction, rtol=0, atol=0)
    pipe.save_pretrained(tmp_path / "again")
    again = AudioAutoencoderPipeline.from_pretrained(tmp_path / "again")
    clip = music[0, :30000]
    a, b = pipe(clip, sampling_rate=22050).audios, again(clip, sampling_rate=22050).audios
    assert (a == b).all()


@pytest.mark.parametrize("name", ["spectrogram", "mel"])
def test_reconstruction_keeps_length_and_batches(trained, name, music):
    """A clip longer than one model window, at another rate, batched: lengths equal the input's, batch == single."""
    _, _, output_dir, _ = trained[name]
    pipe = AudioAutoencoderPipeline.from_pretrained(output_dir / "pipeline")
    clips = music[:, :50001]  # two channels as a batch of two mono clips, odd length, 22.05 kHz
    out = pipe(clips, sampling_rate=22050, output_type="pt")
    expected = round(50001 * out.sampling_rate / 22050)
    assert out.audios.shape[0] == 2 and abs(out.audios.shape[-1] - expected) <= 1
    assert out.spectrograms.shape[:2] == (2, pipe.converter.num_bins)
    single = pipe(clips[1], sampling_rate=22050, output_type="pt").audios
    torch.testing.assert_close(single[0], out.audios[1], rtol=1e-4, atol=1e-5)


def test_pipeline_windows_are_exact_with_a_perfect_model_and_the_input_phase(trained, music):
    """With a model that returns its input, the windowing, per-window normalisation and overlap-free reassembly
    must give back the input audio itself (phase='input')."""
    from audiogen_hf.models import SpectrogramAutoencoderOutput

    _, _, output_dir, _ = trained["spectrogram"]
    pipe = AudioAutoencoderPipeline.from_pretrained(output_dir / "pipeline")
    pipe.model.forward = lambda x, **kwargs: SpectrogramAutoencoderOutput(reconstruction=x)
    for clip in (music[:, :70001], music[:, :5000]):  # four 64-frame windows and a bit; shorter than one window
        out = pipe(clip, sampling_rate=22050, phase="input", output_type="pt").audios
        snr = 10 * torch.log10(clip.square().sum() / (clip - out).square().sum())
        assert out.shape == clip.shape and snr > 60


@pytest.mark.parametrize("model_class, config", [
    (SpectrogramAutoencoderModel, SpectrogramAutoencoderConfig(num_bins=33, num_frames=20, channels=[4, 8],
                                                               latent_dim=6, variational=True)),
    (MelAutoencoderModel, MelAutoencoderConfig(n_mels=16, num_frames=20, hidden_channels=8, latent_channels=4,
                                               num_downsamples=2, variational=True)),
])
def test_variational_sampling_is_seeded_and_kl_warms_up(model_class, config, tmp_path):
    from audiogen_hf.audio import SpectrogramConverter

    config.kl_warmup_steps, config.kl_weight = 4, 1.0
    torch.manual_seed(0)
    model = model_class(config)
    x = torch.rand(3, *model.spectrogram_shape)
    terms = []
    for _ in range(5):
        out = model(x, labels=x)
        terms.append(float((out.loss - out.reconstruction_loss).detach() / out.kl_loss.detach()))
    # the KL weight rises over kl_warmup_steps batches
    assert terms == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0], abs=1e-4)
    model.save_pretrained(tmp_path)
    assert int(model_class.from_pretrained(tmp_path).kl_steps) == 5  # the warm-up survives save/load
    bins = model.spectrogram_shape[0]
    converter = SpectrogramConverter(n_fft=64, hop_length=16, mode="linear" if bins == 33 else "mel", n_mels=16,
                                     power=1.0, normalization="per_clip")
    pipe = AudioAutoencoderPipeline(model=model, converter=converter)
    a = pipe(num_samples=2, generator=torch.Generator().manual_seed(7), output_type="pt")
    b = pipe(num_samples=2, generator=torch.Generator().manual_seed(7), output_type="pt")
    c = pipe(num_samples=2, generator=torch.Generator().manual_seed(8), output_type="pt")
    assert a.audios.shape == (2, 19 * 16) and torch.equal(a.audios, b.audios) and not torch.equal(a.audios, c.audios)
    assert torch.isfinite(a.audios).all() and not torch.equal(a.audios[0], a.audios[1])
    latents = model.prior_latents(2, generator=torch.Generator().manual_seed(7))
    decoded = model.decode(latents)  # a DecoderOutput, or a tuple with return_dict=False, as diffusers' VAEs
    assert decoded.spectrograms.shape == (2, *model.spectrogram_shape)
    assert torch.equal(model.decode(latents, return_dict=False)[0], decoded.spectrograms)
    encoded = model.eval().encode(x)
    assert encoded.latent_dist is not None and encoded.latents.shape == (3, *model.latent_shape)
    assert torch.equal(model.encode(x, return_dict=False)[0], encoded.latents)


def test_bad_shapes_and_configs_are_clear_errors():
    from audiogen_hf.audio import SpectrogramConverter

    with pytest.raises(ValueError, match="channels"):
        SpectrogramAutoencoderConfig(channels=[])
    with pytest.raises(ValueError, match="dropout"):
        MelAutoencoderConfig(dropout=1.5)
    with pytest.raises(ValueError, match="kl_warmup_steps"):
        MelAutoencoderConfig(kl_warmup_steps=-1)
    model = MelAutoencoderModel(MelAutoencoderConfig(n_mels=16, num_frames=20, hidden_channels=8, latent_channels=4))
    with pytest.raises(ValueError, match=r"expected mels \[batch, 16 bands, 20 frames\]"):
        model(torch.rand(2, 16, 21))
    with pytest.raises(ValueError, match="no prior"):
        model.prior_latents(2)
    with pytest.raises(ValueError, match="bins"):
        AudioAutoencoderPipeline(model=model, converter=SpectrogramConverter(n_mels=32, normalization="fixed"))
    with pytest.raises(ValueError, match="normalization"):
        AudioAutoencoderPipeline(model=model, converter=SpectrogramConverter(n_mels=16))
    pipe = AudioAutoencoderPipeline(model=model, converter=SpectrogramConverter(n_mels=16, normalization="fixed"))
    with pytest.raises(ValueError, match="sampling_rate"):
        pipe(torch.zeros(4000))
    with pytest.raises(ValueError, match="mono"):
        pipe(torch.zeros(1, 2, 4000), sampling_rate=22050)
    with pytest.raises(ValueError, match="linear converter"):
        pipe(torch.zeros(4000), sampling_rate=22050, phase="input")


def test_pesq_is_near_its_maximum_on_identical_music_and_far_below_on_noise(music):
    clip = music[0, 22050:4 * 22050]
    noise = torch.randn(clip.shape, generator=torch.Generator().manual_seed(0)) * clip.std()
    same, noisy = pesq_wideband(torch.stack([clip, clip]), torch.stack([clip, noise]), 22050)
    assert same > 4.5 and noisy < 1.5


def test_sound_generator_script(trained, corpus_dir, tmp_path):
    _, _, output_dir, _ = trained["spectrogram"]
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "sound_generator.py"), "--model",
                             str(output_dir / "pipeline"), "--data_dir", str(corpus_dir / "gtzan"), "--num_clips", "2",
                             "--output_dir", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for index in range(2):
        for suffix in ("_original.wav", "_reconstruction.wav", ".png"):
            assert (tmp_path / f"clip_{index}{suffix}").is_file()
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert len(report) == 2 and all("pesq_wb" in row for row in report.values())


class SpectrogramAutoencoderModelTest(ModelTesterMixin, unittest.TestCase):
    model_class = SpectrogramAutoencoderModel
    variational = False

    def get_config(self):
        return SpectrogramAutoencoderConfig(num_bins=33, num_frames=20, channels=[4, 8], latent_dim=6,
                                            variational=self.variational)

    def prepare_inputs(self, batch_size=2):
        spectrograms = torch.rand(batch_size, 33, 20, generator=torch.Generator().manual_seed(0))
        return {"input_spectrograms": spectrograms, "labels": spectrograms}


class SpectrogramVariationalAutoencoderModelTest(SpectrogramAutoencoderModelTest):
    variational = True


class MelAutoencoderModelTest(ModelTesterMixin, unittest.TestCase):
    model_class = MelAutoencoderModel
    variational = False

    def get_config(self):
        return MelAutoencoderConfig(n_mels=16, num_frames=20, hidden_channels=8, latent_channels=4, num_downsamples=2,
                                    dropout=0.1, variational=self.variational, kl_warmup_steps=0)

    def prepare_inputs(self, batch_size=2):
        mels = torch.rand(batch_size, 16, 20, generator=torch.Generator().manual_seed(0))
        return {"input_spectrograms": mels, "labels": mels}


class MelVariationalAutoencoderModelTest(MelAutoencoderModelTest):
    variational = True


@pytest.mark.parametrize("variational", [False, True])
def test_bf16_pipeline_matches_float32(tmp_path, variational):
    """Loaded with dtype=torch.bfloat16 the pipeline casts its inputs to the model's dtype, returns float32 audio,
    and reconstructs close to float32; prior samples come from randn_tensor with a CPU generator."""
    from audiogen_hf.audio import SpectrogramConverter

    torch.manual_seed(0)
    model = SpectrogramAutoencoderModel(SpectrogramAutoencoderConfig(num_bins=65, num_frames=32, channels=[4, 8],
                                                                     latent_dim=8, variational=variational))
    converter = SpectrogramConverter(sampling_rate=16000, n_fft=128, hop_length=32, mode="linear", power=1.0,
                                     normalization="per_clip")
    AudioAutoencoderPipeline(model=model, converter=converter).save_pretrained(tmp_path)
    full = AudioAutoencoderPipeline.from_pretrained(tmp_path)
    half = AudioAutoencoderPipeline.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert half.model.dtype == torch.bfloat16
    t = torch.arange(6000) / 16000
    audio = (0.3 * torch.sin(2 * torch.pi * 440 * t) * torch.exp(-2 * t))[None]
    a = full(audio, sampling_rate=16000, output_type="pt")
    b = half(audio, sampling_rate=16000, output_type="pt")
    assert b.audios.dtype == torch.float32 and b.audios.shape == a.audios.shape == audio.shape
    assert torch.isfinite(b.audios).all()
    assert (a.spectrograms - b.spectrograms).abs().mean() < 1.0  # dB: bf16 keeps ~3 significant digits
    if variational:
        sampled = half(num_samples=2, generator=torch.Generator().manual_seed(0), output_type="pt")
        assert sampled.audios.dtype == torch.float32 and torch.isfinite(sampled.audios).all()
