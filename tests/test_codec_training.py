"""The codec's GAN objective (training/codec.py): curriculum, data crops, a few GAN steps improve a real clip, GAN
training resumes bit-identically (codec, discriminator, both optimizers, EMA), validation writes its samples."""

import json

import pytest
import torch
from safetensors.torch import load_file

from audiogen_hf.audio import load_audio
from audiogen_hf.models import HierarchicalCodecModel
from audiogen_hf.training import TrainingArguments, checkpoints, train
from audiogen_hf.training.codec import CodecArguments, CodecObjective, RandomCrops, find_sources, ramp

RATE = 22050


def tiny_args(data_root, **overrides) -> CodecArguments:
    kwargs = dict(data_root=str(data_root), stems=["mixture", "drums"], sampling_rate=RATE, crop_samples=4096,
                  crops_per_epoch=64, valid_crops=2, valid_crop_samples=8192, encoder_strides=[2, 2],
                  encoder_channels=[8, 16], level_ratios=[2, 4, 8], level_channels=16, codebook_size=16,
                  codebook_dim=8, mel_window_lengths=[64, 256, 1024], mel_n_mels=[10, 40, 80],
                  discriminator_channels=4, discriminator_scales=2, discriminator_fft_sizes=[512, 256],
                  adversarial_start_step=0, music_start_step=0)
    kwargs.update(overrides)
    return CodecArguments(**kwargs)


def test_ramp_curriculum():
    assert [ramp(s, 3, 4) for s in range(8)] == [0, 0, 0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert ramp(2, 2, 0) == 1.0 and ramp(1, 2, 0) == 0.0


def test_bad_codec_arguments_name_the_field():
    with pytest.raises(ValueError, match="crop_samples"):
        CodecArguments(crop_samples=0)
    with pytest.raises(ValueError, match="stems"):
        CodecArguments(stems=["guitar"])


def test_sources_and_crops_are_deterministic_stereo(musdb_root, tmp_path):
    files = find_sources(musdb_root, "train", ["mixture", "bass"])
    assert files and all(p.name in ("mixture.wav", "bass.wav") for p in files)
    crops = RandomCrops(files, 4096, 10, RATE, seed=0)
    a, b = crops[3]["audio"], RandomCrops(files, 4096, 10, RATE, seed=0)[3]["audio"]
    assert a.shape == (2, 4096) and torch.equal(a, b)
    assert not torch.equal(a, RandomCrops(files, 4096, 10, RATE, seed=1)[3]["audio"])
    assert a.square().mean().sqrt() >= 1e-3  # quiet crops are redrawn
    with pytest.raises(FileNotFoundError, match="corpus"):
        find_sources(tmp_path, "train", ["mixture"])


def _loss_on(codec: HierarchicalCodecModel, objective: CodecObjective, clip: torch.Tensor) -> float:
    codec.eval()
    with torch.no_grad():
        fake = codec(clip).audio_values
        value = sum(objective.reconstruction_terms(fake, clip, music=0.0).values())
    codec.train()
    return float(value)


def test_a_few_gan_steps_lower_the_reconstruction_loss_on_a_real_clip(real_track):
    audio, _ = load_audio(real_track / "mixture.wav", sampling_rate=RATE, offset=3.0, duration=0.75)
    clip = audio[None]
    torch.manual_seed(0)
    objective = CodecObjective(tiny_args(real_track.parent.parent, quantizer_dropout=0.0))
    gan = objective.build_model()
    groups = objective.parameter_groups(gan)
    optimizers = {"generator": torch.optim.Adam(list(groups["generator"]), lr=3e-3),
                  "discriminator": torch.optim.Adam(list(groups["discriminator"]["params"]), lr=1e-3)}
    gan.codec(clip)  # the first training forward initialises the codebooks from the data
    before = _loss_on(gan.codec, objective, clip)
    for _ in range(25):
        for name, optimizer in optimizers.items():
            optimizer.zero_grad()
            objective.compute_loss(gan, {"audio": clip}, group=name).backward()
            optimizer.step()
    assert {"adversarial", "feature_matching", "music", "mel", "stft", "vq"} <= set(objective.last_terms)
    assert int(gan.step) == 25
    after = _loss_on(gan.codec, objective, clip)
    assert after < 0.9 * before, (before, after)


def _train(output_dir, data_root, **kwargs):
    objective = CodecObjective(tiny_args(data_root, adversarial_start_step=1))
    args = TrainingArguments(output_dir=str(output_dir), batch_size=2, learning_rate=1e-3, report_to=None, seed=5,
                             use_ema=True, ema_decay=0.9, **kwargs)
    return train(objective, args)


def test_gan_training_resumes_bit_identically(musdb_root, tmp_path):
    full = _train(tmp_path / "full", musdb_root, max_steps=4, checkpointing_steps=2)
    _train(tmp_path / "resumed", musdb_root, max_steps=2, checkpointing_steps=2)
    resumed = _train(tmp_path / "resumed", musdb_root, max_steps=4, checkpointing_steps=2,
                     resume_from_checkpoint="latest")
    assert full["step"] == resumed["step"] == 4
    a, b = checkpoints(tmp_path / "full")[-1], checkpoints(tmp_path / "resumed")[-1]
    assert a.name == b.name == "checkpoint-4"
    weights_a, weights_b = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert any(k.startswith("discriminator.") for k in weights_a) and "step" in weights_a
    assert int(weights_a["step"]) == 4
    for key in weights_a:  # generator, discriminator, codebooks (EMA buffers) and the curriculum step
        assert torch.equal(weights_a[key], weights_b[key]), key
    for name in ("optimizer.bin", "optimizer_1.bin", "custom_checkpoint_0.pkl"):  # both optimizers, weight EMA
        state_a = torch.load(a / name, weights_only=False)
        state_b = torch.load(b / name, weights_only=False)
        flat_a, flat_b = _tensors(state_a), _tensors(state_b)
        assert flat_a and len(flat_a) == len(flat_b), name
        for x, y in zip(flat_a, flat_b):
            assert torch.equal(x, y), name
    # the discriminator did train (adversarial from step 1) and is saved beside the codec
    disc_a = load_file(tmp_path / "full" / "discriminator.safetensors")
    disc_b = load_file(tmp_path / "resumed" / "discriminator.safetensors")
    assert all(torch.equal(disc_a[k], disc_b[k]) for k in disc_a)
    # validation: metrics per bitrate, codebook usage, wav pairs at each bitrate and a picture
    assert {"q1_kbps", "q2_kbps", "q1_mel_distance", "q2_si_sdr", "level0_perplexity"} <= set(full)
    assert full["q2_kbps"] == pytest.approx(2 * full["q1_kbps"])
    assert 1.0 <= full["level0_perplexity"] <= 16
    samples = sorted(p.name for p in (tmp_path / "full" / "samples" / "step-4").iterdir())
    assert "sample_0_original.wav" in samples and "sample_0.png" in samples
    assert sum(name.endswith("kbps.wav") for name in samples) == 2 * 2  # 2 samples (the default) x 2 bitrates
    codec = HierarchicalCodecModel.from_pretrained(tmp_path / "full" / "model")
    assert codec.config.sampling_rate == RATE
    assert json.loads((tmp_path / "full" / "pipeline" / "model_index.json").read_text())["model"]


def _tensors(state) -> list:
    if torch.is_tensor(state):
        return [state]
    if isinstance(state, dict):
        return [t for k in sorted(state, key=str) for t in _tensors(state[k])]
    if isinstance(state, (list, tuple)):
        return [t for v in state for t in _tensors(v)]
    return [torch.tensor(float(state))] if isinstance(state, (int, float)) and not isinstance(state, bool) else []
