"""Zero-shot music tagging with a CLAP model through transformers (``ClapModel`` + its processor).

Each vocabulary (genres, moods, instruments from the AudioSet ontology; texture tags from MagnaTagATune, shipped
in ``captioning/vocabularies/``) is scored separately: the softmax over the vocabulary of the CLAP similarity
between the audio embedding and a text prompt per tag. Audio is downmixed, resampled to the processor's rate (48 kHz
for the LAION checkpoints) and cut into windows of the processor's ``max_length_s`` (10 s) whose normalised
embeddings are averaged: deterministic, unlike the feature extractor's random crop of long inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Optional

import torch

from ..audio.io import resample, to_mono
from .captions import format_tag_caption
from .loading import load_pretrained

DEFAULT_CLAP_MODEL = "laion/clap-htsat-unfused"
VOCABULARY_FILES = {
    "genre": "audioset_genres.txt",
    "mood": "audioset_moods.txt",
    "instrument": "audioset_instruments.txt",
    "texture": "magnatagatune.txt",
}
DEFAULT_PROMPTS = {
    "genre": "This is {} music.",
    "mood": "This is {} music.",
    "instrument": "This is the sound of {}.",
    "texture": "This music is {}.",
}
DEFAULT_TOP_K = {"genre": 1, "mood": 1, "instrument": 2, "texture": 2}
MIN_WINDOW_SECONDS = 1.0


def load_vocabulary(name: str) -> list[str]:
    """Tags of a shipped vocabulary (``"genre"``, ``"mood"``, ``"instrument"``, ``"texture"`` or a file name);
    ``#`` lines are comments."""
    file_name = VOCABULARY_FILES.get(name, name)
    try:
        text = resources.files("audiogen_hf.captioning").joinpath("vocabularies", file_name).read_text("utf-8")
    except FileNotFoundError as error:
        raise ValueError(f"unknown vocabulary {name!r}; shipped: {sorted(VOCABULARY_FILES)}") from error
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@dataclass
class TagResult:
    """``scores[category]``: ``[(tag, probability), ...]`` over the whole vocabulary, highest first."""

    scores: dict = field(default_factory=dict)

    def top(self, category: str, k: int) -> list[str]:
        return [tag for tag, _ in self.scores.get(category, [])[:k]]


class ClapTagger:
    """Zero-shot tagger; the model is loaded on first use.

    Args:
        model_id: a Hub id or a local folder holding a ``ClapModel`` and its processor.
        vocabularies: ``{category: [tags]}``; default: the four shipped vocabularies.
        prompts: ``{category: "template with {}"}`` text prompts.
        top_k: how many tags of each category go into a caption.
    """

    def __init__(self, model_id: str = DEFAULT_CLAP_MODEL, vocabularies: Optional[dict] = None,
                 prompts: Optional[dict] = None, top_k: Optional[dict] = None, device: Optional[str] = None):
        self.model_id = model_id
        self.vocabularies = vocabularies or {category: load_vocabulary(category) for category in VOCABULARY_FILES}
        self.prompts = {**DEFAULT_PROMPTS, **(prompts or {})}
        self.top_k = {**DEFAULT_TOP_K, **(top_k or {})}
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model = self._processor = None
        self._text_embeddings: dict = {}

    def load(self) -> None:
        """Load the model and processor now (otherwise on first use); raises ``CaptionModelUnavailableError``."""
        if self._model is not None:
            return
        from transformers import AutoProcessor, ClapModel

        memory = "about 0.6 GB of memory for laion/clap-htsat-unfused"
        self._model = load_pretrained(lambda: ClapModel.from_pretrained(self.model_id), self.model_id,
                                      "CLAP model", memory).to(self.device).eval()
        self._processor = load_pretrained(lambda: AutoProcessor.from_pretrained(self.model_id), self.model_id,
                                          "CLAP processor", memory)

    @staticmethod
    def _pooled(output) -> torch.Tensor:
        features = output.pooler_output if hasattr(output, "pooler_output") else output
        return torch.nn.functional.normalize(features, dim=-1)

    @torch.no_grad()
    def _text(self, category: str) -> torch.Tensor:
        if category not in self._text_embeddings:
            prompts = [self.prompts.get(category, "{}").format(tag) for tag in self.vocabularies[category]]
            inputs = self._processor.tokenizer(prompts, padding=True, return_tensors="pt").to(self.device)
            self._text_embeddings[category] = self._pooled(self._model.get_text_features(**inputs))
        return self._text_embeddings[category]

    @torch.no_grad()
    def audio_embedding(self, audio: torch.Tensor, sampling_rate: int) -> torch.Tensor:
        """``[channels, samples]`` or ``[samples]`` -> a unit-norm ``[dim]`` embedding (mean over 10 s windows)."""
        self.load()
        audio = torch.as_tensor(audio, dtype=torch.float32)
        mono = to_mono(audio)
        extractor = self._processor.feature_extractor
        rate = int(extractor.sampling_rate)
        mono = resample(mono, sampling_rate, rate)
        window = int(extractor.max_length_s * rate)
        pieces = [mono[start : start + window] for start in range(0, mono.shape[-1], window)]
        pieces = [p for p in pieces if p.shape[-1] >= MIN_WINDOW_SECONDS * rate] or pieces[:1]
        inputs = extractor([p.numpy() for p in pieces], sampling_rate=rate, return_tensors="pt").to(self.device)
        embeddings = self._pooled(self._model.get_audio_features(**inputs))
        return torch.nn.functional.normalize(embeddings.mean(dim=0), dim=-1)

    @torch.no_grad()
    def tag(self, audio: torch.Tensor, sampling_rate: int) -> TagResult:
        """Score every vocabulary for ``audio``; deterministic."""
        embedding = self.audio_embedding(audio, sampling_rate)
        scale = self._model.logit_scale_a.exp() if hasattr(self._model, "logit_scale_a") else 100.0
        result = TagResult()
        for category, tags in self.vocabularies.items():
            probabilities = (scale * self._text(category) @ embedding).softmax(dim=-1).cpu()
            order = probabilities.argsort(descending=True, stable=True).tolist()
            result.scores[category] = [(tags[i], float(probabilities[i])) for i in order]
        return result

    def caption(self, audio: torch.Tensor, sampling_rate: int, bpm: Optional[float] = None,
                artist: Optional[str] = None, title: Optional[str] = None) -> tuple[str, TagResult]:
        """The seed-format caption (see ``captions.format_tag_caption``) and the tags it was made from."""
        result = self.tag(audio, sampling_rate)
        caption = format_tag_caption(
            genres=result.top("genre", self.top_k["genre"]), moods=result.top("mood", self.top_k["mood"]),
            instruments=result.top("instrument", self.top_k["instrument"]),
            textures=result.top("texture", self.top_k["texture"]), bpm=bpm, artist=artist, title=title)
        return caption, result
