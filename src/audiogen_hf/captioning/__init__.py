"""Captions for spectrogram-image datasets: CLAP zero-shot tags + BPM in the seed's format, or narrative captions
from an audio-language model."""

from .captions import format_tag_caption, join_words, style_prefix
from .loading import CaptionModelUnavailableError
from .narrative import DEFAULT_NARRATIVE_MODEL, NarrativeCaptioner
from .tags import DEFAULT_CLAP_MODEL, ClapTagger, TagResult, load_vocabulary
from .tempo import TempoEstimate, estimate_tempo, refine_bpm
