"""Configuration of the seed's small DDPM U-Net (``SimpleUNetModel``).

The U-Net is a diffusers model (``ModelMixin`` + ``ConfigMixin``), so its configuration is the ``register_to_config``
arguments of ``SimpleUNetModel.__init__``; this module holds their validation, shared with tests and recipes.
"""

from ..configuration_utils import check_fields


def check_simple_unet_config(sample_size, in_channels, out_channels, block_out_channels, layers_per_block,
                             time_embedding_dim, num_class_embeds, norm_num_groups) -> None:
    """Raise a ``ValueError`` naming the first invalid field."""
    channels = list(block_out_channels)
    size = sample_size if isinstance(sample_size, int) else None
    checks = [
        (size is not None and size > 0, "sample_size", sample_size, "an integer > 0"),
        (isinstance(in_channels, int) and in_channels > 0, "in_channels", in_channels, "an integer > 0"),
        (isinstance(out_channels, int) and out_channels > 0, "out_channels", out_channels, "an integer > 0"),
        (len(channels) > 0 and all(isinstance(c, int) and c > 0 for c in channels), "block_out_channels", channels,
         "a non-empty list of integers > 0 (one per encoder block: the depth)"),
        (size is None or size % 2 ** len(channels) == 0, "sample_size", sample_size,
         f"divisible by 2 ** len(block_out_channels) = {2 ** len(channels)} (one max-pooling per block)"),
        (isinstance(layers_per_block, int) and layers_per_block >= 1, "layers_per_block", layers_per_block,
         "an integer >= 1"),
        (isinstance(time_embedding_dim, int) and time_embedding_dim >= 2 and time_embedding_dim % 2 == 0,
         "time_embedding_dim", time_embedding_dim, "an even integer >= 2"),
        (num_class_embeds is None or (isinstance(num_class_embeds, int) and num_class_embeds >= 1),
         "num_class_embeds", num_class_embeds, "None (unconditional) or an integer >= 1"),
        (isinstance(norm_num_groups, int) and norm_num_groups >= 1
         and all(c % norm_num_groups == 0 for c in channels), "norm_num_groups", norm_num_groups,
         f"an integer >= 1 dividing every block_out_channels {channels}"),
    ]
    check_fields("SimpleUNetModel", checks)
