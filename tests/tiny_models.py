"""Tiny randomly initialised captioning models saved with save_pretrained, so tests run the real loading code
offline (no weights can be downloaded here)."""

import subprocess
from pathlib import Path

import mido
import torch
from tokenizers.pre_tokenizers import ByteLevel

SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"


def byte_level_vocab(specials):
    """Special tokens then the 256 byte-level symbols: a character-level BPE vocabulary (no merges)."""
    vocab = {token: index for index, token in enumerate(specials)}
    for symbol in sorted(ByteLevel.alphabet()):
        vocab.setdefault(symbol, len(vocab))
    return vocab


def save_tiny_clap(folder: Path, seed: int = 0) -> Path:
    """A ~100k-parameter ClapModel + ClapProcessor (RoBERTa tokenizer, 16 mel bins, 2 s windows) in ``folder``."""
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    vocab = byte_level_vocab(["<pad>", "<unk>", "<s>", "</s>", "<mask>"])
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[])
    extractor = ClapFeatureExtractor(feature_size=16, max_length_s=2, truncation="rand_trunc", padding="repeatpad")
    config = ClapConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=37, max_position_embeddings=128, projection_dim=16),
        audio_config=dict(num_mel_bins=16, spec_size=64, window_size=4, patch_size=2, patch_stride=2, depths=[1, 1],
                          num_attention_heads=[2, 2], hidden_size=32, patch_embeds_hidden_size=16, projection_dim=16,
                          enable_fusion=False),
        projection_dim=16)
    torch.manual_seed(seed)
    ClapModel(config).eval().save_pretrained(folder)
    ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def render_beat(bpm: float, path: Path, seconds: float = 12.0, sampling_rate: int = 22050) -> Path:
    """Render a drum + bass groove at exactly ``bpm`` (MIDI tempo meta event) with fluidsynth."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
    track.append(mido.Message("program_change", channel=0, program=33))  # fingered bass
    notes = []
    for beat in range(int(seconds * bpm / 60)):
        tick = beat * 480
        notes += [(tick, 9, 36 if beat % 2 == 0 else 38, 110, 240),  # kick / snare
                  (tick, 9, 42, 80, 120), (tick + 240, 9, 42, 60, 120),  # hi-hat eighths
                  (tick, 0, [40, 40, 43, 45][(beat // 4) % 4], 100, 400)]  # bass on every beat
    events = sorted([(t, mido.Message("note_on", channel=c, note=n, velocity=v)) for t, c, n, v, _ in notes]
                    + [(t + d, mido.Message("note_off", channel=c, note=n, velocity=0)) for t, c, n, _, d in notes],
                    key=lambda event: event[0])
    now = 0
    for tick, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    midi_path = path.with_suffix(".mid")
    midi.save(midi_path)
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(sampling_rate), "-F", str(path), SOUNDFONT,
                    str(midi_path)], check=True, capture_output=True)
    return path


def save_tiny_qwen2_audio(folder: Path, seed: int = 0) -> Path:
    """A tiny Qwen2AudioForConditionalGeneration + Qwen2AudioProcessor (character-level Qwen2 tokenizer with the
    chat and audio special tokens, Whisper feature extractor with 128 mel bins) in ``folder``."""
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        Qwen2Tokenizer,
        WhisperFeatureExtractor,
    )

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"]
    vocab = byte_level_vocab(specials)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], unk_token=None, bos_token=None, eos_token="<|endoftext|>",
                               pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": specials[1:]})
    config = Qwen2AudioConfig(
        audio_config=dict(d_model=16, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=32,
                          num_mel_bins=128),
        text_config=dict(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1),
        audio_token_index=vocab["<|AUDIO|>"])
    torch.manual_seed(seed)
    Qwen2AudioForConditionalGeneration(config).eval().save_pretrained(folder)
    Qwen2AudioProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=128), tokenizer=tokenizer
                        ).save_pretrained(folder)
    return folder
