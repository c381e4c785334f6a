import unittest

import pytest
import torch
from safetensors.torch import load_file
from test_modeling_common import ModelTesterMixin
from transformers import AutoConfig, AutoModel

import audiogen_hf.models  # noqa: F401  (registers the Auto classes)
from audiogen_hf.audio import SpectrogramConverter
from audiogen_hf.data import load_musdb, window_clips
from audiogen_hf.models import MelLSTMConfig, MelLSTMModel

N_MELS = 32


def tiny_config(**kwargs) -> MelLSTMConfig:
    return MelLSTMConfig(n_mels=N_MELS, hidden_size=48, num_layers=1, dropout=0.0, **kwargs)


@pytest.fixture(scope="module")
def mel_clips(musdb_root):
    """Normalised log-mels ``[clips, frames, n_mels]`` of 2 s mixture windows: train tracks and the test subset."""
    converter = SpectrogramConverter(sampling_rate=22050, n_fft=1024, hop_length=512, n_mels=N_MELS,
                                     normalization="fixed", norm_range=(-80.0, 40.0))

    def mels(subset):
        clips = window_clips(load_musdb(musdb_root, subsets=subset, stems=["mixture"]), clip_seconds=2.0,
                             sampling_rate=22050, channels=1).with_format("torch")
        return converter.audio_to_spectrogram(clips[:]["mixture"][:, 0]).spectrogram.transpose(-1, -2)

    return {"train": mels("train"), "test": mels("test")}


def test_training_lowers_held_out_loss(mel_clips):
    torch.manual_seed(0)
    model = MelLSTMModel(tiny_config())
    train, test = mel_clips["train"], mel_clips["test"]

    def held_out():
        model.eval()
        with torch.no_grad():
            return model(test[:, :-1], labels=test[:, 1:]).loss.item()

    before = held_out()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for step in range(40):
        batch = train[(step * 8) % len(train):][:8]
        loss = model(batch[:, :-1], labels=batch[:, 1:]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = held_out()
    # measured: 0.00346 -> 0.00296 (repeating the last frame scores 0.00305)
    assert after < 0.9 * before


def test_save_load_auto_and_safetensors(tmp_path, mel_clips):
    model = MelLSTMModel(tiny_config(spectral_loss_weights={"centroid": 1.0})).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    assert set(load_file(tmp_path / "model.safetensors")) == set(model.state_dict())
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert type(loaded) is MelLSTMModel
    assert AutoConfig.from_pretrained(tmp_path).spectral_loss_weights == {"centroid": 1.0}
    prompt = mel_clips["test"][:2, :20]
    torch.testing.assert_close(loaded(prompt).predictions, model(prompt).predictions, rtol=0, atol=0)


def test_generate_is_deterministic_and_batch_equals_single(mel_clips):
    torch.manual_seed(0)
    model = MelLSTMModel(tiny_config())
    prompts = mel_clips["test"][:3, :20]
    batch = model.generate(prompts, num_frames=15)
    assert batch.shape == (3, 15, N_MELS) and batch.min() >= 0 and batch.max() <= 1
    torch.testing.assert_close(model.generate(prompts, num_frames=15), batch, rtol=0, atol=0)
    for i in range(3):
        torch.testing.assert_close(model.generate(prompts[i : i + 1], num_frames=15)[0], batch[i],
                                   atol=1e-5, rtol=1e-5)
    assert model.training  # generate restores the mode it found


def test_spectral_losses_backpropagate(mel_clips):
    torch.manual_seed(0)
    weights = {"centroid": 1.0, "bandwidth": 1.0, "flatness": 1.0, "entropy": 1.0}
    model = MelLSTMModel(tiny_config(spectral_loss_weights=weights))
    clips = mel_clips["train"][:4]
    out = model(clips[:, :-1], labels=clips[:, 1:])
    assert set(out.spectral_losses) == set(weights)
    mse = torch.nn.functional.mse_loss(out.predictions, clips[:, 1:])
    assert out.loss > mse and all(value > 0 for value in out.spectral_losses.values())
    model.zero_grad()
    sum(out.spectral_losses.values()).backward()
    grad = model.head.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    # identical prediction and target: every spectral difference vanishes
    same = model.spectral_losses(clips, clips)
    assert all(value.item() == 0 for value in same.values())


@pytest.mark.parametrize(
    "kwargs, field",
    [({"n_mels": 0}, "n_mels"), ({"dropout": 1.5}, "dropout"), ({"db_range": (0, -80)}, "db_range"),
     ({"spectral_loss_weights": {"loudness": 1.0}}, "spectral_loss_weights"), ({"f_max": 30000}, "f_min/f_max")],
)
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"invalid {field}"):
        MelLSTMConfig(**kwargs)


def test_bad_inputs_are_rejected():
    model = MelLSTMModel(tiny_config())
    with pytest.raises(ValueError, match="n_mels=32"):
        model(torch.rand(2, 10, 16))
    with pytest.raises(ValueError, match="NaN"):
        model(torch.full((1, 4, N_MELS), float("nan")))
    with pytest.raises(ValueError, match="must match"):
        model(torch.rand(2, 10, N_MELS), labels=torch.rand(2, 9, N_MELS))
    with pytest.raises(ValueError, match="num_frames"):
        model.generate(torch.rand(1, 4, N_MELS), num_frames=0)


class MelLSTMModelTest(ModelTesterMixin, unittest.TestCase):
    model_class = MelLSTMModel

    def get_config(self):
        return MelLSTMConfig(n_mels=16, hidden_size=12, num_layers=2, dropout=0.1,
                             spectral_loss_weights={"centroid": 0.1, "entropy": 0.1})

    def prepare_inputs(self, batch_size=2):
        mels = torch.rand(batch_size, 9, 16, generator=torch.Generator().manual_seed(0))
        return {"input_mels": mels[:, :-1], "labels": mels[:, 1:]}


class MelLSTMGaussianModelTest(ModelTesterMixin, unittest.TestCase):
    """The Gaussian output head (issue 15) in the common tester."""

    model_class = MelLSTMModel

    def get_config(self):
        return MelLSTMConfig(n_mels=16, hidden_size=12, num_layers=2, dropout=0.1, output_distribution="gaussian",
                             nll_weight=0.1, level_control=0.1)

    def prepare_inputs(self, batch_size=2):
        mels = torch.rand(batch_size, 9, 16, generator=torch.Generator().manual_seed(0))
        return {"input_mels": mels[:, :-1], "labels": mels[:, 1:]}


class MelLSTMGenerationAdapterModelTest(ModelTesterMixin, unittest.TestCase):
    """The generation adapter (issue 15) in the common tester: real frames train the LSTM and the heads."""

    model_class = MelLSTMModel
    parameters_without_gradient = ("generation_offsets",)  # trained only by losses on the model's own frames

    def get_config(self):
        return MelLSTMConfig(n_mels=16, hidden_size=12, num_layers=2, dropout=0.1, output_distribution="gaussian",
                             generation_adapter=True, nll_trains_mean=False)

    def prepare_inputs(self, batch_size=2):
        mels = torch.rand(batch_size, 9, 16, generator=torch.Generator().manual_seed(0))
        return {"input_mels": mels[:, :-1], "labels": mels[:, 1:]}


def test_gaussian_head_loss_and_scales(mel_clips):
    torch.manual_seed(0)
    model = MelLSTMModel(tiny_config(output_distribution="gaussian", nll_weight=0.5, min_std=0.01))
    clips = mel_clips["train"][:4]
    out = model(clips[:, :-1], labels=clips[:, 1:])
    assert out.scales.shape == out.predictions.shape and out.scales.min() >= 0.01
    mse = torch.nn.functional.mse_loss(out.predictions, clips[:, 1:])
    nll = (out.scales.log() + 0.5 * ((clips[:, 1:] - out.predictions) / out.scales) ** 2).mean()
    torch.testing.assert_close(out.loss, mse + 0.5 * nll)
    assert MelLSTMModel(tiny_config())(clips).scales is None  # the seed's point head has no scales


def test_nll_trains_mean_false_leaves_the_mean_to_mse(mel_clips):
    clips = mel_clips["train"][:4]

    def gradients(trains_mean: bool) -> tuple:
        """(mean head's gradient of the loss, of the MSE alone; the std head's gradient of the loss)."""
        torch.manual_seed(0)
        model = MelLSTMModel(tiny_config(output_distribution="gaussian", nll_weight=0.5, nll_trains_mean=trains_mean))
        out = model(clips[:, :-1], labels=clips[:, 1:])
        mse = torch.nn.functional.mse_loss(out.predictions, clips[:, 1:])
        out.loss.backward(retain_graph=True)
        loss_mean, loss_std = model.head.weight.grad.clone(), model.scale_head.weight.grad.clone()
        model.zero_grad()
        mse.backward()
        return loss_mean, model.head.weight.grad.clone(), loss_std

    cut_mean, cut_mse, cut_std = gradients(False)
    full_mean, full_mse, full_std = gradients(True)
    torch.testing.assert_close(cut_mean, cut_mse)  # the mean: MSE's gradient alone
    assert not torch.allclose(full_mean, full_mse)  # by default the NLL moves the mean too
    torch.testing.assert_close(cut_std, full_std)  # the std head: the NLL's gradient either way


def test_sampling_is_seeded_and_temperature_zero_is_the_mean_rollout(mel_clips):
    torch.manual_seed(0)
    model = MelLSTMModel(tiny_config(output_distribution="gaussian")).eval()
    prompts = mel_clips["test"][:2, :20]

    def sample(seed, **kwargs):
        return model.generate(prompts, num_frames=12, generator=torch.Generator().manual_seed(seed), **kwargs)

    torch.testing.assert_close(sample(1), sample(1), rtol=0, atol=0)
    assert (sample(1) - sample(2)).abs().mean() > 1e-3
    # temperature 0: the deterministic rollout that feeds back each predicted mean (whatever the generator)
    frames, output = [], model(prompts)
    frame, state = output.predictions[:, -1:].clamp(0, 1), output.state
    for _ in range(12):
        frames.append(frame)
        output = model(frame, state=state)
        frame, state = output.predictions.clamp(0, 1), output.state
    torch.testing.assert_close(sample(1, temperature=0.0), torch.cat(frames, dim=1), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(sample(1, temperature=0.0), sample(2, temperature=0.0), rtol=0, atol=0)
    # a higher temperature spreads the samples further from the mean rollout
    mean = sample(1, temperature=0.0)
    assert (sample(1, temperature=1.0) - mean).abs().mean() > (sample(1, temperature=0.3) - mean).abs().mean()
    assert model.config.sampling_temperature == 0.5  # the default: sample, at the measured best temperature
    with pytest.raises(ValueError, match="temperature"):
        sample(1, temperature=-1.0)
    # correlated sampling noise: seeded as well, and a different continuation from white noise
    white = sample(1)
    model.config.sampling_noise_correlation = 0.8
    torch.testing.assert_close(sample(1), sample(1), rtol=0, atol=0)
    assert (sample(1) - sample(2)).abs().mean() > 1e-3 and (sample(1) - white).abs().mean() > 1e-3
    torch.testing.assert_close(sample(1, temperature=0.0), mean, rtol=0, atol=0)


def test_mark_generated_frames_tells_the_lstm_which_frames_are_its_own(mel_clips):
    torch.manual_seed(0)
    model = MelLSTMModel(tiny_config(mark_generated_frames=True)).eval()
    assert model.lstm.input_size == N_MELS + 1
    prompts = mel_clips["test"][:2, :20]
    real, own = model(prompts).predictions, model(prompts, generated_frames=True).predictions
    assert (real - own).abs().max() > 1e-4
    # generation reads the prompt as real frames and marks every frame it feeds back as its own
    frames, output = [], model(prompts)
    frame, state = output.predictions[:, -1:].clamp(0, 1), output.state
    for _ in range(6):
        frames.append(frame)
        output = model(frame, state=state, generated_frames=True)
        frame, state = output.predictions.clamp(0, 1), output.state
    torch.testing.assert_close(model.generate(prompts, num_frames=6, temperature=0.0), torch.cat(frames, dim=1))
    plain = MelLSTMModel(tiny_config()).eval()  # the seed's input: the frame alone, the mark is ignored
    assert plain.lstm.input_size == N_MELS
    torch.testing.assert_close(plain(prompts).predictions, plain(prompts, generated_frames=True).predictions)


def test_generation_adapter_runs_own_frames_with_offsets_and_leaves_the_lstm_to_real_frames(mel_clips):
    """With ``generation_adapter`` own frames run with the weights plus offsets (zero at the start); their loss
    trains only the offsets, and on real frames (``nll_trains_mean=False``) the LSTM and the next-frame head get
    exactly the seed model's MSE gradient."""
    torch.manual_seed(0)
    model = MelLSTMModel(tiny_config(output_distribution="gaussian", generation_adapter=True, nll_trains_mean=False))
    seed = MelLSTMModel(tiny_config())
    seed.load_state_dict(model.state_dict(), strict=False)  # the same LSTM and next-frame head
    prompts, labels = mel_clips["test"][:2, :-1], mel_clips["test"][:2, 1:]
    torch.testing.assert_close(model(prompts, generated_frames=True).predictions, model(prompts).predictions)
    torch.testing.assert_close(model(prompts).predictions, seed(prompts).predictions)
    model(prompts, labels=labels, generated_frames=True).loss.backward()
    trained = {name for name, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert trained == {f"generation_offsets.{name}" for name in model.generation_offsets}
    assert {"lstm_weight_hh_l0", "head_weight", "scale_head_weight"} <= set(model.generation_offsets)
    model.zero_grad()
    model(prompts, labels=labels).loss.backward()
    seed(prompts, labels=labels).loss.backward()
    for name, p in seed.named_parameters():
        torch.testing.assert_close(dict(model.named_parameters())[name].grad, p.grad)
    # generation reads the prompt with the weights and feeds its own frames back through the offset weights
    with torch.no_grad():
        model.generation_offsets["head_bias"].fill_(0.05)
    model.eval()
    assert (model(prompts, generated_frames=True).predictions - model(prompts).predictions).abs().max() > 0.04
    output = model(prompts[:, :20])
    frames, frame, state = [], output.predictions[:, -1:].clamp(0, 1), output.state
    for _ in range(6):
        frames.append(frame)
        output = model(frame, state=state, generated_frames=True)
        frame, state = output.predictions.clamp(0, 1), output.state
    torch.testing.assert_close(model.generate(prompts[:, :20], num_frames=6, temperature=0.0),
                               torch.cat(frames, dim=1))
    with pytest.raises(ValueError, match="generation_adapter"):
        tiny_config(generation_adapter=True, mark_generated_frames=True)


def test_level_control_keeps_the_continuation_at_the_prompt_level(mel_clips):
    torch.manual_seed(0)
    model = MelLSTMModel(tiny_config(output_distribution="gaussian")).eval()
    with torch.no_grad():
        model.head.bias.fill_(0.01)  # an untrained drift: every frame 1.2 dB louder than the last
    prompts = 0.6 * mel_clips["test"][:2, :20]  # 0.4 of the [0, 1] range as headroom, whatever the test clip's level
    level = prompts.mean(dim=(1, 2))

    def drift(control):
        frames = model.generate(prompts, num_frames=60, temperature=0.0, level_control=control)
        return (frames.mean(dim=(1, 2)) - level).abs().max()

    assert drift(0.0) > 0.1
    assert drift(0.2) < 0.5 * drift(0.0)
    model.config.level_control_frames = 10  # a moving average of the level: the drift is pulled back too
    assert drift(0.2) < 0.5 * drift(0.0)


def test_level_control_frames_leaves_the_first_frames_free(mel_clips):
    """The mean of all generated frames pulls the first frame all the way to the prompt's level at full control;
    a moving average that starts at the prompt's level moves it by 1 / level_control_frames of its difference (and
    the integral of that gap, 1 / level_control_frames of it, again)."""
    prompts = 0.6 * mel_clips["test"][:2, :20]
    torch.manual_seed(0)
    model = MelLSTMModel(tiny_config(level_control_mode="band")).eval()
    free = model.generate(prompts, num_frames=1, level_control=0.0)[:, 0]
    model.config.level_control_frames = 20
    first = model.generate(prompts, num_frames=1, level_control=1.0)[:, 0]
    level = prompts.mean(dim=1)
    torch.testing.assert_close(first, free + (level - free) / 20 * (1 + 1 / 20))


def test_level_control_mode_band_keeps_each_bands_level(mel_clips):
    """At full control the first generated frame is pulled all the way: to the prompt's mean over every band
    (``overall``) or to each band's own mean (``band``, the prompt's envelope)."""
    prompts = 0.6 * mel_clips["test"][:2, :20]
    for mode in ("overall", "band"):
        torch.manual_seed(0)
        model = MelLSTMModel(tiny_config(level_control_mode=mode)).eval()
        first = model.generate(prompts, num_frames=1, level_control=1.0)  # [2, 1, n_mels]
        if mode == "overall":
            torch.testing.assert_close(first.mean(dim=(1, 2)), prompts.mean(dim=(1, 2)))
            assert not torch.allclose(first[:, 0], prompts.mean(dim=1), atol=1e-3)
        else:
            torch.testing.assert_close(first[:, 0], prompts.mean(dim=1))


@pytest.mark.parametrize(
    "kwargs, field",
    [({"output_distribution": "mixture"}, "output_distribution"), ({"sampling_temperature": -1}, "temperature"),
     ({"level_control": 2.0}, "level_control"), ({"min_std": 0.0}, "min_std"),
     ({"level_control_mode": "bands"}, "level_control_mode"), ({"level_control_frames": -1}, "level_control_frames"),
     ({"sampling_noise_correlation": 1.0}, "sampling_noise_correlation")],
)
def test_bad_sampling_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"invalid .*{field}"):
        MelLSTMConfig(**kwargs)


def test_sampling_noise_correlation_draws_ar1_noise():
    """The sampled noise has unit variance and the configured correlation with the previous frame's; 0 is white."""
    from audiogen_hf.models.mel_lstm.modeling_mel_lstm import MelLSTMOutput

    model = MelLSTMModel(tiny_config(output_distribution="gaussian")).eval()
    output = MelLSTMOutput(predictions=torch.full((64, 1, N_MELS), 0.5), scales=torch.full((64, 1, N_MELS), 0.01))
    for rho in (0.0, 0.8):
        model.config.sampling_noise_correlation = rho
        state = {"temperature": 1.0, "level_control": 0.0, "level_axes": (1,), "noise": None, "count": 0,
                 "level_sum": torch.zeros(64, 1, N_MELS)}
        generator = torch.Generator().manual_seed(0)
        noise = torch.cat([(model._next_frame(output, state, 0.0, generator) - 0.5) / 0.01 for _ in range(200)], 1)
        assert abs(noise.std() - 1) < 0.05
        lag1 = torch.corrcoef(torch.stack([noise[:, :-1].flatten(), noise[:, 1:].flatten()]))[0, 1]
        assert abs(lag1 - rho) < 0.03
