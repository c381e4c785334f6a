"""Configuration of the small CNN classifier whose penultimate features stand in for Inception's in FID/KID."""

from transformers import PretrainedConfig

from ..configuration_utils import check_fields


class ImageClassifierConfig(PretrainedConfig):
    """
    Args:
        num_channels (`int`, defaults to 1): input image channels.
        channels (`list[int]`, defaults to `[32, 64, 128]`): output channels of each (conv, BatchNorm, ReLU) x 2 +
            2x2 max-pooling stage.
        feature_dim (`int`, defaults to 128): size of the penultimate features (what FID and KID compare).
        num_labels (`int`, defaults to 10): classes.
        dropout (`float`, defaults to 0.2): dropout before the last layer.
        class_names (`list[str]`, *optional*): one name per class (``id2label`` is set from them).

    Example:

    ```python
    >>> from audiogen_hf.models import ImageClassifierConfig
    >>> ImageClassifierConfig(channels=[8, 16], num_labels=3, class_names=["a", "b", "c"]).id2label[2]
    'c'
    ```
    """

    model_type = "image_classifier"

    def __init__(self, num_channels: int = 1, channels: tuple = (32, 64, 128), feature_dim: int = 128,
                 num_labels: int = 10, dropout: float = 0.2, class_names: list = None, **kwargs):
        if kwargs.get("id2label"):  # a saved config: the label count is that of its id2label
            num_labels = len(kwargs["id2label"])
        channels = list(channels)
        checks = [
            (isinstance(num_channels, int) and num_channels > 0, "num_channels", num_channels, "an integer > 0"),
            (len(channels) > 0 and all(isinstance(c, int) and c > 0 for c in channels), "channels", channels,
             "a non-empty list of integers > 0"),
            (isinstance(feature_dim, int) and feature_dim > 1, "feature_dim", feature_dim, "an integer > 1"),
            (isinstance(num_labels, int) and num_labels > 1, "num_labels", num_labels, "an integer > 1"),
            (0.0 <= dropout < 1.0, "dropout", dropout, "in [0, 1)"),
            (class_names is None or len(class_names) == num_labels, "class_names", class_names,
             f"None or a list of num_labels={num_labels} names"),
        ]
        check_fields("ImageClassifierConfig", checks)
        self.num_channels = num_channels
        self.channels = channels
        self.feature_dim = feature_dim
        self.dropout = dropout
        self.class_names = list(class_names) if class_names is not None else None
        if class_names is not None:
            kwargs.setdefault("id2label", dict(enumerate(class_names)))
        super().__init__(num_labels=num_labels, **kwargs)
