"""DDPM image system and genre-conditioned spectrogram diffusion: pipelines, guidance, FID, objectives (tiny, CPU)."""

import json
import sys
from pathlib import Path

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel

from audiogen_hf.audio import SpectrogramConverter
from audiogen_hf.data import load_mnist
from audiogen_hf.evaluation.fid import feature_extractor, fid_kid, images_from_dataset, train_feature_classifier
from audiogen_hf.models import ImageClassifierConfig, SimpleUNetModel
from audiogen_hf.pipelines import ImageDiffusionPipeline, MelDiffusionPipeline
from audiogen_hf.training import (
    ImageDiffusionArguments,
    ImageDiffusionObjective,
    SpectrogramDiffusionArguments,
    SpectrogramDiffusionObjective,
    TrainingArguments,
    train,
)

REPO = Path(__file__).resolve().parents[1]
TINY_CLASSIFIER = dict(channels=[8, 16], feature_dim=16)


def randomised(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Zero-initialised output layers would hide every difference: give all parameters some value."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return module.eval()


def image_pipeline(conditional: bool = True) -> ImageDiffusionPipeline:
    unet = SimpleUNetModel(block_out_channels=(8, 16), layers_per_block=1, time_embedding_dim=16, norm_num_groups=4,
                           num_class_embeds=3 if conditional else None)
    pipe = ImageDiffusionPipeline(randomised(unet), DDIMScheduler(num_train_timesteps=100),
                                  class_names=["shirt", "shoe", "bag"] if conditional else None)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def spectrogram_pipeline(genres=("electronic", "game", "metal")) -> MelDiffusionPipeline:
    converter = SpectrogramConverter(sampling_rate=22050, n_fft=512, hop_length=256, mode="mel", n_mels=16,
                                     normalization="fixed", griffin_lim_iters=4)
    unet = UNet2DModel(sample_size=(16, 32), in_channels=1, out_channels=1, block_out_channels=(8, 16),
                       layers_per_block=1, down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2,
                       norm_num_groups=4, num_class_embeds=len(genres) + 1 if genres else None)
    pipe = MelDiffusionPipeline(randomised(unet), DDIMScheduler(num_train_timesteps=100), converter,
                                        genres=list(genres) if genres else None)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- image pipeline and guidance

def test_guidance_scale_one_equals_the_conditional_model_without_guidance():
    pipe = image_pipeline()
    out = pipe(num_samples=2, class_labels=[1, 2], guidance_scale=1.0, num_inference_steps=4, generator=seeded(),
               output_type="pt").images
    # the same loop by hand, the U-Net called with the labels only
    sample = torch.randn((2, 1, 28, 28), generator=seeded())
    pipe.scheduler.set_timesteps(4)
    with torch.no_grad():
        for t in pipe.scheduler.timesteps:
            eps = pipe.unet(sample, t, class_labels=torch.tensor([1, 2])).sample
            sample = pipe.scheduler.step(eps, t, sample).prev_sample
    assert torch.allclose(out, (sample / 2 + 0.5).clamp(0, 1), atol=1e-6)
    guided = pipe(num_samples=2, class_labels=[1, 2], guidance_scale=3.0, num_inference_steps=4, generator=seeded(),
                  output_type="pt").images
    assert (guided - out).abs().max() > 1e-3


def test_class_labels_by_name_or_id_and_seeded_determinism():
    pipe = image_pipeline()
    by_name = pipe(num_samples=2, class_labels="bag", num_inference_steps=3, generator=seeded(), output_type="np")
    by_id = pipe(num_samples=2, class_labels=2, num_inference_steps=3, generator=seeded(), output_type="np")
    other = pipe(num_samples=2, class_labels=0, num_inference_steps=3, generator=seeded(), output_type="np")
    assert by_name.images.shape == (2, 28, 28, 1)
    assert (by_name.images == by_id.images).all()
    assert abs(by_name.images - other.images).max() > 1e-4
    with pytest.raises(ValueError, match=r"unknown class 'hat'; known classes: \['shirt', 'shoe', 'bag'\]"):
        pipe(class_labels="hat")
    with pytest.raises(ValueError, match="unconditional"):
        image_pipeline(conditional=False)(class_labels=1)


def test_eta_zero_is_the_deterministic_default_and_eta_one_samples_with_the_generator():
    pipe = image_pipeline()
    kwargs = dict(num_samples=2, class_labels=[0, 1], num_inference_steps=4, output_type="pt")
    default = pipe(generator=seeded(), **kwargs).images
    assert torch.equal(pipe(generator=seeded(), eta=0.0, **kwargs).images, default)
    stochastic = pipe(generator=seeded(), eta=1.0, **kwargs).images
    assert torch.equal(pipe(generator=seeded(), eta=1.0, **kwargs).images, stochastic)
    assert (stochastic - default).abs().max() > 1e-3
    with pytest.raises(ValueError, match=r"eta must be in \[0, 1\]"):
        pipe(eta=1.5, **kwargs)
    pipe.scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    with pytest.raises(ValueError, match="eta is an option of DDIM-type schedulers; DDPMScheduler has none"):
        pipe(eta=1.0, **kwargs)


def test_image_pipeline_save_load_round_trip(tmp_path):
    pipe = image_pipeline()
    pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["class_names"] == ["shirt", "shoe", "bag"] and index["unet"][1] == "SimpleUNetModel"
    loaded = ImageDiffusionPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    kwargs = dict(num_samples=2, class_labels=[0, 1], guidance_scale=2.0, num_inference_steps=3, output_type="pt")
    assert torch.equal(pipe(generator=seeded(), **kwargs).images, loaded(generator=seeded(), **kwargs).images)


# ---------------------------------------------------------------- FID / KID

def test_fid_is_zero_for_identical_sets_and_grows_with_a_shift(fashion_mnist_root):
    test = load_mnist(fashion_mnist_root, "test")
    images = images_from_dataset(test, 600)
    labels = torch.tensor(test["label"][:600])
    classifier, accuracy = train_feature_classifier(images[:400], labels[:400], images[400:], labels[400:], epochs=1,
                                                    batch_size=64, config=ImageClassifierConfig(**TINY_CLASSIFIER))
    assert 0.0 <= accuracy <= 1.0
    features = feature_extractor(classifier)
    same = fid_kid(images[:200], images[:200], features)
    other_half = fid_kid(images[:200], images[200:400], features)
    shifted = fid_kid(images[:200], (images[200:400] + 0.3).clamp(0, 1), features)
    assert abs(same["fid"]) < 1e-6
    assert other_half["fid"] > 1e-3
    assert shifted["fid"] > 3 * other_half["fid"] and shifted["kid_mean"] > other_half["kid_mean"]
    with pytest.raises(ValueError, match="NaN"):
        fid_kid(images[:4], images[:4] * float("nan"), features)


def test_inception_features_without_cached_weights_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises((RuntimeError, FileNotFoundError), match="torch-fidelity|not cached"):
        feature_extractor("inception")


# ---------------------------------------------------------------- spectrogram diffusion pipeline

def test_spectrogram_pipeline_outputs_and_determinism():
    pipe = spectrogram_pipeline()
    first = pipe(genre=["metal", "game"], num_inference_steps=3, generator=seeded(), guidance_scale=2.0)
    again = pipe(genre=["metal", "game"], num_inference_steps=3, generator=seeded(), guidance_scale=2.0)
    assert first.sampling_rate == 22050
    assert first.spectrograms.shape == (2, 16, 32) and first.audios.shape == (2, 31 * 256)
    assert (first.audios == again.audios).all() and abs(first.audios).max() <= 1.0
    low, high = pipe.converter.config.norm_range
    assert first.spectrograms.min() >= low and first.spectrograms.max() <= high
    other = pipe(genre=["electronic", "game"], num_inference_steps=3, generator=seeded(), guidance_scale=2.0)
    assert abs(other.spectrograms[0] - first.spectrograms[0]).max() > 1e-3


def test_unknown_genre_lists_the_known_ones_and_strength_is_checked(music):
    pipe = spectrogram_pipeline()
    with pytest.raises(ValueError, match="unknown genre 'jazz'; known genres: electronic, game, metal"):
        pipe(genre="jazz")
    for strength in (0.0, 1.5, -0.2):
        with pytest.raises(ValueError, match=r"strength must be in \(0, 1\]"):
            pipe(genre="metal", audio=music[0], sampling_rate=22050, strength=strength)
    with pytest.raises(ValueError, match="too short"):
        pipe(genre="metal", audio=music[0, :100], sampling_rate=22050, strength=0.5)


def test_variations_stay_closer_to_the_input_at_low_strength(music):
    pipe = spectrogram_pipeline()
    clip = music.mean(dim=0)  # real music, mono, 22.05 kHz
    target = pipe.converter.denormalize(pipe.converter.audio_to_spectrogram(clip[: 31 * 256]).spectrogram[:, :32])
    distance = {}
    for strength in (0.2, 1.0):
        out = pipe(genre="metal", audio=clip, sampling_rate=22050, strength=strength, num_inference_steps=10,
                   generator=seeded(), output_type="pt")
        distance[strength] = float((out.spectrograms[0] - target).abs().mean())
    assert distance[0.2] < 0.5 * distance[1.0]


def test_spectrogram_pipeline_save_load_round_trip(tmp_path):
    pipe = spectrogram_pipeline()
    pipe.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "model_index.json").read_text())["genres"] == ["electronic", "game", "metal"]
    loaded = MelDiffusionPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    kwargs = dict(genre="game", num_samples=2, num_inference_steps=3, guidance_scale=1.5, output_type="pt")
    a, b = pipe(generator=seeded(), **kwargs), loaded(generator=seeded(), **kwargs)
    assert torch.equal(a.spectrograms, b.spectrograms) and torch.equal(a.audios, b.audios)
    assert loaded.converter.config.n_mels == 16


def test_pipeline_refuses_mismatched_components():
    pipe = spectrogram_pipeline()
    with pytest.raises(ValueError, match="num_class_embeds=3"):
        MelDiffusionPipeline(pipe.unet, pipe.scheduler, pipe.converter, genres=["a", "b"])
    per_clip = SpectrogramConverter(sampling_rate=22050, n_fft=512, hop_length=256, mode="mel", n_mels=16,
                                    normalization="per_clip")
    with pytest.raises(ValueError, match="normalization='fixed'"):
        MelDiffusionPipeline(pipe.unet, pipe.scheduler, per_clip)


# ---------------------------------------------------------------- objectives through the engine

def tiny_training(tmp_path, steps=3, **kwargs) -> TrainingArguments:
    return TrainingArguments(output_dir=str(tmp_path / "run"), batch_size=8, max_steps=steps, report_to="none",
                             use_ema=True, validation_samples=1, **kwargs)


def test_ddpm_objective_trains_validates_with_fid_and_saves_a_loadable_pipeline(tmp_path, fashion_mnist_root, capsys):
    test = load_mnist(fashion_mnist_root, "test")
    images, labels = images_from_dataset(test, 300), torch.tensor(test["label"][:300])
    train_feature_classifier(images[:200], labels[:200], images[200:], labels[200:], tmp_path / "fid", epochs=1,
                             batch_size=64, config=ImageClassifierConfig(**TINY_CLASSIFIER, num_labels=10))
    args = ImageDiffusionArguments(dataset=str(fashion_mnist_root), train_size=64, valid_size=16,
                                   block_out_channels=[8, 16], layers_per_block=1, norm_num_groups=4,
                                   class_conditional=True, num_train_timesteps=50, fid_num_samples=10,
                                   fid_inference_steps=2, fid_classifier=str(tmp_path / "fid"))
    metrics = train(ImageDiffusionObjective(args), tiny_training(tmp_path))
    assert metrics["step"] == 3
    for key in ("loss", "fid", "kid_mean", "fid_real_vs_real", "class_accuracy"):
        assert key in metrics and metrics[key] == metrics[key]  # present and not NaN
    assert metrics["fid"] > metrics["fid_real_vs_real"]  # three steps of training are far from the data
    run = tmp_path / "run"
    assert (run / "samples" / "step-3" / "samples_grid.png").is_file()
    pipe = ImageDiffusionPipeline.from_pretrained(run / "pipeline")
    assert pipe.config.class_names[7] == "Sneaker" and pipe.unet.config.num_class_embeds == 10

    sys.path.insert(0, str(REPO / "scripts"))
    import generate_images

    files = generate_images.main(["--model", str(run), "--num_samples", "3", "--class_label", "Bag", "--scheduler",
                                  "ddim", "--num_inference_steps", "2", "--guidance_scale", "3",
                                  "--output_dir", str(tmp_path / "generated")])
    assert [f.name for f in files] == ["grid.png", "sample_000_Bag.png", "sample_001_Bag.png", "sample_002_Bag.png"]
    assert all(f.is_file() for f in files)
    with pytest.raises(SystemExit):  # argparse's error: --eta needs --scheduler ddim
        generate_images.main(["--model", str(run), "--scheduler", "ddpm", "--eta", "1"])
    assert "--eta is an option of the ddim scheduler" in capsys.readouterr().err


def test_unet2d_recipe_trains_too(tmp_path, fashion_mnist_root):
    args = ImageDiffusionArguments(dataset=str(fashion_mnist_root), train_size=32, valid_size=8, unet_type="unet2d",
                                   block_out_channels=[8, 16], layers_per_block=1, norm_num_groups=4,
                                   class_conditional=True, num_train_timesteps=50, fid_num_samples=0,
                                   fid_inference_steps=2)
    metrics = train(ImageDiffusionObjective(args), tiny_training(tmp_path, steps=2))
    assert metrics["step"] == 2 and "fid" not in metrics and metrics["loss"] > 0
    assert UNet2DModel.from_pretrained(tmp_path / "run" / "model").config.num_class_embeds == 11


@pytest.mark.corpus
def test_spectrogram_diffusion_objective_writes_a_clip_and_picture_per_genre(tmp_path, gtzan_root):
    args = SpectrogramDiffusionArguments(gtzan_root=str(gtzan_root), n_fft=512, n_mels=16, num_frames=32,
                                         block_out_channels=[8, 16], layers_per_block=1, norm_num_groups=4,
                                         validation_inference_steps=2)
    metrics = train(SpectrogramDiffusionObjective(args), tiny_training(tmp_path, steps=2))
    assert metrics["step"] == 2 and metrics["loss"] > 0
    samples = tmp_path / "run" / "samples" / "step-2"
    genres = sorted(p.name for p in (gtzan_root / "genres").iterdir())
    assert sorted(p.name for p in samples.iterdir()) == sorted(f"{g}.{e}" for g in genres for e in ("png", "wav"))
    pipe = MelDiffusionPipeline.from_pretrained(tmp_path / "run" / "pipeline")
    assert pipe.genres == genres and isinstance(pipe.scheduler, DDPMScheduler)


def test_bad_diffusion_arguments_name_the_field():
    with pytest.raises(ValueError, match="unet_type"):
        ImageDiffusionArguments(unet_type="transformer")
    with pytest.raises(ValueError, match="condition_dropout"):
        ImageDiffusionArguments(condition_dropout=1.0)
    with pytest.raises(ValueError, match="ddim_eta must be in"):
        ImageDiffusionArguments(ddim_eta=-0.5)
    with pytest.raises(ValueError, match=r"num_frames must be divisible by 2 \*\* \(len\(block_out_channels\) - 1\)"):
        SpectrogramDiffusionArguments(num_frames=30)
