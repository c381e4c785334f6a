from transformers import AutoConfig, AutoModel

from .configuration_hierarchical_codec import HierarchicalCodecConfig
from .feature_extraction_hierarchical_codec import HierarchicalCodecFeatureExtractor
from .modeling_hierarchical_codec import (
    HierarchicalCodecDecoderOutput,
    HierarchicalCodecEncoderOutput,
    HierarchicalCodecModel,
    HierarchicalCodecOutput,
    HierarchicalCodecPreTrainedModel,
)

AutoConfig.register(HierarchicalCodecConfig.model_type, HierarchicalCodecConfig)
AutoModel.register(HierarchicalCodecConfig, HierarchicalCodecModel)
