"""The seed's U-Net as a diffusers model: diffusers' own DDPMPipeline samples from it unchanged."""

import unittest

import pytest
import torch
from diffusers import DDIMScheduler, DDPMPipeline, DDPMScheduler
from test_modeling_common import ModelTesterMixin

from audiogen_hf.models import SimpleUNetModel


def tiny_unet(**kwargs) -> SimpleUNetModel:
    torch.manual_seed(0)
    unet = SimpleUNetModel(**{"sample_size": 28, "block_out_channels": (8, 16), "layers_per_block": 1,
                              "time_embedding_dim": 16, "norm_num_groups": 4, **kwargs})
    return unet.eval()


def test_ddpm_pipeline_samples_finite_images_of_the_right_shape():
    pipe = DDPMPipeline(unet=tiny_unet(), scheduler=DDPMScheduler(num_train_timesteps=100))
    images = pipe(batch_size=3, num_inference_steps=8, output_type="np",
                  generator=torch.Generator().manual_seed(0)).images
    assert images.shape == (3, 28, 28, 1)
    assert images.min() >= 0 and images.max() <= 1 and images.std() > 0.01


def test_seeded_generator_gives_identical_samples_and_another_seed_differs():
    pipe = DDPMPipeline(unet=tiny_unet(), scheduler=DDIMScheduler(num_train_timesteps=100))
    first, second, other = (pipe(batch_size=2, num_inference_steps=5, output_type="np",
                                 generator=torch.Generator().manual_seed(seed)).images for seed in (1, 1, 2))
    assert (first == second).all()
    assert abs(first - other).max() > 1e-3


def test_class_labels_change_the_output_and_none_means_the_null_label():
    unet = tiny_unet(num_class_embeds=4)
    torch.nn.init.normal_(unet.class_embedding.weight, std=1.0)
    x, t = torch.randn(2, 1, 28, 28), torch.tensor([5, 50])
    with torch.no_grad():
        a = unet(x, t, class_labels=torch.tensor([0, 0])).sample
        b = unet(x, t, class_labels=torch.tensor([3, 3])).sample
        null = unet(x, t, class_labels=torch.tensor([4, 4])).sample
        none = unet(x, t).sample
    assert (a - b).abs().max() > 1e-4
    assert torch.equal(null, none)
    with pytest.raises(ValueError, match=r"class_labels must be in \[0, 4\]"):
        unet(x, t, class_labels=torch.tensor([5, 0]))


def test_save_load_round_trip_gives_equal_outputs(tmp_path):
    unet = tiny_unet(num_class_embeds=3)
    unet.save_pretrained(tmp_path / "unet")
    assert (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    loaded = SimpleUNetModel.from_pretrained(tmp_path / "unet").eval()
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(unet(x, 7, torch.tensor([1, 2])).sample, loaded(x, 7, torch.tensor([1, 2])).sample)
    assert loaded.config.block_out_channels == [8, 16] or tuple(loaded.config.block_out_channels) == (8, 16)


def test_bf16_forward_and_tuple_output():
    unet = tiny_unet().to(torch.bfloat16)
    out = unet(torch.randn(2, 1, 28, 28, dtype=torch.bfloat16), torch.tensor(3), return_dict=False)
    assert isinstance(out, tuple) and out[0].dtype == torch.bfloat16 and torch.isfinite(out[0].float()).all()


@pytest.mark.parametrize("field, value, message", [
    ("sample_size", 30, r"divisible by 2 \*\* len\(block_out_channels\) = 4"),
    ("block_out_channels", (), "block_out_channels"),
    ("norm_num_groups", 3, "norm_num_groups"),
    ("num_class_embeds", 0, "num_class_embeds"),
    ("time_embedding_dim", 15, "time_embedding_dim"),
])
def test_bad_config_values_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_unet(**{field: value})


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="divisible by 4"):
        tiny_unet()(torch.randn(1, 1, 30, 30), 1)
    with pytest.raises(ValueError, match=r"\[batch, 1, height, width\]"):
        tiny_unet()(torch.randn(1, 3, 28, 28), 1)


class SimpleUNetModelTest(ModelTesterMixin, unittest.TestCase):
    model_class = SimpleUNetModel

    def get_config(self):
        return {"sample_size": 8, "block_out_channels": (4, 8), "layers_per_block": 1, "time_embedding_dim": 8,
                "num_class_embeds": 3, "norm_num_groups": 2}

    def prepare_inputs(self, batch_size=2):
        generator = torch.Generator().manual_seed(0)
        return {"sample": torch.randn(batch_size, 1, 8, 8, generator=generator),
                "timestep": torch.randint(0, 100, (batch_size,), generator=generator),
                "class_labels": torch.arange(batch_size) % 4}
