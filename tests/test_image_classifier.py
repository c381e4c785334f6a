"""The FID feature classifier joins the common model tester."""

import unittest

import torch
from test_modeling_common import ModelTesterMixin

from audiogen_hf.models import ImageClassifierConfig, ImageClassifierModel


class ImageClassifierModelTest(ModelTesterMixin, unittest.TestCase):
    model_class = ImageClassifierModel

    def get_config(self):
        return ImageClassifierConfig(channels=[4, 8], feature_dim=6, num_labels=3, dropout=0.1,
                                     class_names=["a", "b", "c"])

    def prepare_inputs(self, batch_size=2):
        generator = torch.Generator().manual_seed(0)
        return {"pixel_values": torch.rand(batch_size, 1, 12, 10, generator=generator),
                "labels": torch.arange(batch_size) % 3}

    def test_bad_config_names_the_field(self):
        with self.assertRaisesRegex(ValueError, "class_names"):
            ImageClassifierConfig(num_labels=3, class_names=["a"])
        with self.assertRaisesRegex(ValueError, "dropout"):
            ImageClassifierConfig(dropout=1.0)
