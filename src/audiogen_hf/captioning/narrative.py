"""Narrative captions from an audio-language model through transformers (Qwen2-Audio-7B-Instruct by default).

The model is loaded on first use (``Qwen2AudioForConditionalGeneration`` + ``AutoProcessor``); it needs about
16 GB of (GPU) memory in bfloat16 and its weights in the Hugging Face cache. Audio is downmixed and resampled to the
processor's rate (16 kHz) and cut to its ``n_samples`` (30 s), the longest input the audio encoder takes.
"""

from __future__ import annotations

from typing import Optional

import torch

from ..audio.io import resample, to_mono
from .captions import style_prefix
from .loading import load_pretrained

DEFAULT_NARRATIVE_MODEL = "Qwen/Qwen2-Audio-7B-Instruct"
DEFAULT_PROMPT = ("Describe this music in one or two sentences for a music-generation caption: genre, mood, "
                  "instruments, rhythm and texture.")


class NarrativeCaptioner:
    """Free-text captions from an audio-language model.

    Args:
        model_id: a Hub id or local folder of a ``Qwen2AudioForConditionalGeneration`` and its processor.
        prompt: the instruction sent with the audio.
        max_new_tokens: length limit of a caption; generation is greedy (deterministic).
        dtype: weights' dtype (bfloat16 by default; float32 on CPU-only machines doubles the memory).
    """

    def __init__(self, model_id: str = DEFAULT_NARRATIVE_MODEL, prompt: str = DEFAULT_PROMPT,
                 max_new_tokens: int = 96, device: Optional[str] = None, dtype: torch.dtype = torch.bfloat16):
        self.model_id, self.prompt, self.max_new_tokens = model_id, prompt, max_new_tokens
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = dtype
        self._model = self._processor = None

    def load(self) -> None:
        """Load the model and processor now (otherwise on first use); raises ``CaptionModelUnavailableError``."""
        if self._model is not None:
            return
        from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration

        memory = "about 16 GB of memory in bfloat16 for the 7B Qwen2-Audio (32 GB in float32)"
        self._processor = load_pretrained(lambda: AutoProcessor.from_pretrained(self.model_id), self.model_id,
                                          "audio-language processor", memory)
        self._model = load_pretrained(
            lambda: Qwen2AudioForConditionalGeneration.from_pretrained(self.model_id, dtype=self.dtype),
            self.model_id, "audio-language model", memory).to(self.device).eval()

    @torch.no_grad()
    def caption(self, audio: torch.Tensor, sampling_rate: int, artist: Optional[str] = None,
                title: Optional[str] = None) -> str:
        """``[channels, samples]`` or ``[samples]`` -> the model's description, after the optional style prefix."""
        self.load()
        extractor = self._processor.feature_extractor
        audio = torch.as_tensor(audio, dtype=torch.float32)
        mono = to_mono(audio)
        rate = int(extractor.sampling_rate)
        mono = resample(mono, sampling_rate, rate)[: int(extractor.n_samples)]
        conversation = [{"role": "user", "content": [{"type": "audio", "audio_url": "clip.wav"},
                                                     {"type": "text", "text": self.prompt}]}]
        text = self._processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        inputs = self._processor(text=text, audio=[mono.numpy()], sampling_rate=rate, return_tensors="pt",
                                 padding=True).to(self.device)
        inputs["input_features"] = inputs["input_features"].to(self._model.dtype)
        generated = self._model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        generated = generated[:, inputs["input_ids"].shape[1] :]
        description = self._processor.batch_decode(generated, skip_special_tokens=True)[0].strip()
        return style_prefix(artist, title) + description
