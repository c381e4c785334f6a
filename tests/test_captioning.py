"""Captions: the seed's format, BPM on renders of known tempo, CLAP tagging end to end with a tiny model, and the
audio-language captioner's loading error."""

import math

import pytest
import torch
from tiny_models import render_beat, save_tiny_clap, save_tiny_qwen2_audio

from audiogen_hf.audio import load_audio
from audiogen_hf.captioning import (
    CaptionModelUnavailableError,
    ClapTagger,
    NarrativeCaptioner,
    estimate_tempo,
    format_tag_caption,
    load_vocabulary,
    refine_bpm,
)


def test_caption_format_matches_the_seed():
    assert format_tag_caption(genres=["Rock"], moods=["Dark"], instruments=["Electric Guitar"],
                              textures=["heavy"], bpm=120.2) == (
        "A Dark Rock track featuring Electric Guitar. Characterized as heavy. 120 BPM.")
    assert format_tag_caption(genres=["Jazz"], moods=["Exciting"], instruments=["Piano", "Double Bass", "Drum Kit"],
                              textures=["fast", "loud"], artist="Muldjord", title="Chaos God") == (
        "In the style of Muldjord - Chaos God. An Exciting Jazz track featuring Piano, Double Bass and Drum Kit. "
        "Characterized as fast and loud.")
    assert format_tag_caption(genres=["Ambient"], title="Music 000", bpm=89.6) == (
        "In the style of Music 000. An Ambient track. 90 BPM.")
    assert format_tag_caption() == "A track."


def test_vocabularies_are_shipped():
    vocabularies = {name: load_vocabulary(name) for name in ("genre", "mood", "instrument", "texture")}
    assert {"Rock", "Jazz", "Heavy Metal"} <= set(vocabularies["genre"])
    assert {"Happy", "Sad", "Angry", "Dark"} <= set(vocabularies["mood"])
    assert {"Electric Guitar", "Drum Kit", "Piano"} <= set(vocabularies["instrument"])
    assert {"heavy", "slow", "fast"} <= set(vocabularies["texture"])
    assert all(not tag.startswith("#") and len(set(tags)) == len(tags) for tags in vocabularies.values()
               for tag in tags)
    with pytest.raises(ValueError, match="unknown vocabulary"):
        load_vocabulary("colours")


@pytest.mark.parametrize("bpm", [72, 90, 120, 140])
def test_bpm_on_renders_of_known_tempo(bpm, tmp_path):
    audio, rate = load_audio(render_beat(bpm, tmp_path / f"{bpm}.wav"))
    estimate = estimate_tempo(audio, rate)
    print(f"rendered {bpm} BPM -> estimated {estimate.bpm:.2f} (tracker {estimate.tracker_bpm:.2f})")
    # within 2 %; a halved or doubled tempo (octave error) is 50-100 % off and fails
    assert abs(estimate.bpm / bpm - 1) < 0.02
    assert len(estimate.beat_times) >= 0.8 * 12 * bpm / 60


def test_refine_bpm_tolerates_a_skipped_beat():
    beats = [0.5 * k for k in range(20) if k != 7]
    assert refine_bpm(beats) == pytest.approx(120.0, rel=1e-9)
    assert math.isnan(refine_bpm([0.0, 0.5, 1.0]))


@pytest.fixture(scope="module")
def tiny_clap(tmp_path_factory):
    return save_tiny_clap(tmp_path_factory.mktemp("tiny_clap"))


def test_tiny_clap_tags_real_music_end_to_end(tiny_clap, music):
    tagger = ClapTagger(model_id=str(tiny_clap), device="cpu")
    assert tagger._model is None  # lazily loaded
    caption, result = tagger.caption(music, 22050, bpm=123.4, artist="Muldjord")
    assert set(result.scores) == {"genre", "mood", "instrument", "texture"}
    for category, scored in result.scores.items():
        tags = [tag for tag, _ in scored]
        assert sorted(tags) == sorted(tagger.vocabularies[category])  # every tag scored once
        probabilities = [p for _, p in scored]
        assert probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-4)
    genre, mood = result.top("genre", 1)[0], result.top("mood", 1)[0]
    instruments = result.top("instrument", 2)
    assert caption.startswith(f"In the style of Muldjord. A{'n' if mood[0] in 'AEIOU' else ''} {mood} {genre} track "
                              f"featuring {instruments[0]} and {instruments[1]}. Characterized as ")
    assert caption.endswith(" 123 BPM.")
    # deterministic, also through a fresh load of the same folder
    again = ClapTagger(model_id=str(tiny_clap), device="cpu").tag(music, 22050)
    assert again.scores == result.scores
    # a different clip gives a different embedding
    other = tagger.audio_embedding(music.flip(-1), 22050)
    assert not torch.allclose(other, tagger.audio_embedding(music, 22050))


def test_missing_models_fail_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(CaptionModelUnavailableError, match="(?s)0.6 GB.*no-such-model.*hf download"):
        ClapTagger(model_id=missing).tag(torch.zeros(48000), 48000)
    captioner = NarrativeCaptioner(model_id=missing)
    assert captioner._model is None
    with pytest.raises(CaptionModelUnavailableError, match="(?s)audio-language.*16 GB.*no-such-model.*hf download"):
        captioner.caption(torch.zeros(16000), 16000)


def test_tiny_qwen2_audio_narrates_through_the_real_loading_path(tmp_path, music):
    folder = save_tiny_qwen2_audio(tmp_path / "tiny_qwen2_audio")
    captioner = NarrativeCaptioner(model_id=str(folder), dtype=torch.float32, max_new_tokens=6, device="cpu")
    assert captioner._model is None  # lazily loaded
    caption = captioner.caption(music, 22050, artist="Muldjord", title="Armygeddon")
    assert captioner._model is not None and captioner._model.dtype == torch.float32
    assert caption.startswith("In the style of Muldjord - Armygeddon. ")
    plain = captioner.caption(music, 22050)
    assert plain and caption.endswith(plain)  # greedy decoding: deterministic, same description after the prefix
