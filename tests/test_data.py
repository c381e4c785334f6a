import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
import torch

from audiogen_hf.audio import AudioLoadError, SpectrogramConverter, load_audio
from audiogen_hf.data import (
    cache_spectrograms,
    fault_filtered_split,
    load_gtzan,
    load_musdb,
    official_validation_tracks,
    window_clips,
    window_starts,
)


# ---------------------------------------------------------------- corpus layout
def test_corpus_musdb_layout_and_manifest(musdb_root):
    manifest = json.loads((musdb_root / "manifest.json").read_text())
    assert {t["subset"] for t in manifest["tracks"]} == {"train", "test"}
    for track in manifest["tracks"]:
        folder = musdb_root / track["subset"] / track["name"]
        stems = {name: sf.read(folder / f"{name}.wav", dtype="float32", always_2d=True) for name in
                 ("mixture", "drums", "bass", "other", "vocals")}
        for audio, rate in stems.values():
            assert rate == 44100 and audio.shape[1] == 2
            assert audio.shape[0] == stems["mixture"][0].shape[0]
        assert track["licence"] and track["source_package"]
        total = sum(stems[name][0] for name in ("drums", "bass", "other", "vocals"))
        assert np.abs(total - stems["mixture"][0]).max() <= 4 / 32768, "mixture must equal the sum of the stems"


def test_corpus_gtzan_layout(gtzan_root):
    manifest = json.loads((gtzan_root / "manifest.json").read_text())
    assert len(manifest["genres"]) >= 3
    for clip in manifest["clips"]:
        info = sf.info(gtzan_root / clip["file"])
        assert (info.samplerate, info.channels) == (22050, 1)
        assert abs(info.duration - 30.0) < 1e-3


# ---------------------------------------------------------------------- MUSDB
def test_load_musdb_keeps_stereo_and_resamples(musdb_root):
    train = load_musdb(musdb_root, subsets="train", sampling_rate=22050)
    both = load_musdb(musdb_root, subsets=["train", "test"], stems=["mixture", "vocals"])
    manifest = json.loads((musdb_root / "manifest.json").read_text())
    assert len(both) == len(manifest["tracks"]) and len(train) < len(both)
    assert both.column_names == ["name", "subset", "mixture", "vocals"]
    row = train[0]
    samples = row["mixture"].get_all_samples()
    native, _ = load_audio(musdb_root / "train" / row["name"] / "mixture.wav")
    assert samples.sample_rate == 22050 and samples.data.shape[0] == 2
    assert abs(samples.data.shape[1] - native.shape[1] / 2) <= 2


def test_musdb_validation_split(musdb_root):
    valid = load_musdb(musdb_root, split="valid")
    train = load_musdb(musdb_root, split="train")
    names = json.loads((musdb_root / "manifest.json").read_text())["validation_tracks"]
    assert sorted(valid["name"]) == sorted(names)
    assert not set(valid["name"]) & set(train["name"])
    assert len(official_validation_tracks()) == 14
    with pytest.raises(ValueError, match="subsets='train'"):
        load_musdb(musdb_root, subsets="test", split="valid")


def test_musdb_stem_mp4_layout(tmp_path, real_track):
    """MUSDB18 / the 7-second preview: one .stem.mp4 per track, stems as streams 0-4."""
    stems = ["mixture", "drums", "bass", "other", "vocals"]
    (tmp_path / "train").mkdir()
    target = tmp_path / "train" / f"{real_track.name}.stem.mp4"
    inputs = sum((["-t", "7", "-i", str(real_track / f"{s}.wav")] for s in stems), [])
    maps = sum((["-map", str(i)] for i in range(5)), [])
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, *maps, "-c:a", "aac", "-b:a", "256k", str(target)],
                   check=True)
    dataset = load_musdb(tmp_path, subsets="train")
    assert dataset[0]["name"] == real_track.name
    other = dataset[0]["other"].get_all_samples().data
    wav, _ = load_audio(real_track / "other.wav", duration=7.0)
    assert other.shape[0] == 2
    n = min(other.shape[1], wav.shape[1]) - 4096
    # AAC delays the signal by its priming samples: align by cross-correlation, then compare
    best = max(np.corrcoef(other[0, d:d + n].numpy(), wav[0, :n].numpy())[0, 1] for d in range(0, 4096, 1))
    assert best > 0.95


def test_missing_musdb_explains_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="build_corpus"):
        load_musdb(tmp_path / "MUSDB18")


# ---------------------------------------------------------------------- GTZAN
def test_load_gtzan_from_folder(gtzan_root):
    dataset = load_gtzan(gtzan_root)
    manifest = json.loads((gtzan_root / "manifest.json").read_text())
    assert len(dataset) == len(manifest["clips"])
    assert sorted(dataset.features["label"].names) == sorted(manifest["genres"])
    row = dataset[0]
    genre = dataset.features["label"].int2str(row["label"])
    assert row["file"].startswith(genre + ".")
    samples = row["audio"].get_all_samples()
    assert samples.sample_rate == 22050 and samples.data.shape == (1, 22050 * 30)


def test_gtzan_fault_filtered_split(tmp_path, gtzan_root):
    splits = {name: fault_filtered_split(name) for name in ("train", "valid", "test")}
    assert [len(v) for v in splits.values()] == [443, 197, 290]
    assert len(set().union(*splits.values())) == 930
    # An original-style tree with two train files, one test file and one file outside the split.
    clip = next((gtzan_root / "genres").rglob("*.wav"))
    for name in (splits["train"][0], splits["train"][-1], splits["test"][0], "pop.99999"):
        folder = tmp_path / "genres" / name.split(".")[0]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(clip, folder / f"{name}.wav")
    train = load_gtzan(tmp_path, split="train")
    assert sorted(train["file"]) == sorted([splits["train"][0], splits["train"][-1]])
    assert load_gtzan(tmp_path, split="test")["file"] == [splits["test"][0]]
    assert len(load_gtzan(tmp_path)) == 4


def test_missing_gtzan_explains_where_to_get_it(tmp_path, corpus_dir):
    with pytest.raises(FileNotFoundError, match="build_corpus"):
        load_gtzan(tmp_path / "gtzan")
    with pytest.raises(FileNotFoundError, match="genre"):
        load_gtzan(corpus_dir / "musdb")  # a folder of folders that is not GTZAN


# ------------------------------------------------------------ windows and cache
@pytest.mark.parametrize(
    "length, clip, hop, pad, expected",
    [(10, 4, 4, True, [0, 4, 8]), (8, 4, 4, True, [0, 4]), (10, 4, 4, False, [0, 4]),
     (11, 4, 2, True, [0, 2, 4, 6, 8]), (3, 4, 4, True, [0]), (3, 4, 4, False, []), (25, 10, 30, True, [0])],
)
def test_window_starts(length, clip, hop, pad, expected):
    assert window_starts(length, clip, hop, pad) == expected


def test_window_clips_on_musdb_stems(musdb_root):
    tracks = load_musdb(musdb_root, subsets="test", stems=["mixture", "vocals"])
    clips = window_clips(tracks, clip_seconds=7.0, sampling_rate=22050, channels=2)
    expected = 0
    for name in tracks["name"]:
        length, _ = load_audio(musdb_root / "test" / name / "mixture.wav", sampling_rate=22050)
        expected += len(window_starts(length.shape[1], 7 * 22050, 7 * 22050, True))
    assert len(clips) == expected
    clips = clips.with_format("torch")
    first = clips[0]
    assert first["mixture"].shape == (2, 7 * 22050) and first["sampling_rate"] == 22050
    direct, _ = load_audio(musdb_root / "test" / first["name"] / "mixture.wav", sampling_rate=22050)
    torch.testing.assert_close(first["mixture"], direct[:, : 7 * 22050])
    assert float(clips[1]["start"]) == pytest.approx(7.0)


def test_corrupt_sources_are_skipped_and_counted(tmp_path, gtzan_root, caplog):
    clip = next((gtzan_root / "genres").rglob("*.wav"))
    folder = tmp_path / "genres" / "jazz"
    folder.mkdir(parents=True)
    shutil.copy(clip, folder / "jazz.00000.wav")
    (folder / "jazz.00054.wav").write_bytes(b"RIFF....WAVEfmt garbage" * 10)  # unreadable, as in the archive
    dataset = load_gtzan(tmp_path)
    clips = window_clips(dataset, clip_seconds=10.0, sampling_rate=22050, channels=1)
    assert len(clips) == 3 and set(clips["file"]) == {"jazz.00000"}
    assert "skipped 1 of 2 sources" in caplog.text
    with pytest.raises(AudioLoadError, match="jazz.00054"):
        window_clips(dataset, clip_seconds=10.0, sampling_rate=22050, channels=1, strict=True)


def test_silent_windows_can_be_dropped(tmp_path):
    folder = tmp_path / "genres" / "ambient"
    folder.mkdir(parents=True)
    audio = np.zeros(22050 * 4, np.float32)
    audio[22050 * 2:] = 0.1 * np.sin(np.arange(22050 * 2) * 0.05)
    sf.write(folder / "ambient.00000.wav", audio, 22050)
    dataset = load_gtzan(tmp_path)
    assert len(window_clips(dataset, clip_seconds=1.0, sampling_rate=22050, channels=1)) == 4
    assert len(window_clips(dataset, clip_seconds=1.0, sampling_rate=22050, channels=1, min_rms=1e-3)) == 2


def test_cache_spectrograms_matches_the_converter(gtzan_root):
    dataset = load_gtzan(gtzan_root).select(range(2))
    clips = window_clips(dataset, clip_seconds=5.0, sampling_rate=22050, channels=1)
    converter = SpectrogramConverter(n_mels=64, normalization="per_clip")
    cached = cache_spectrograms(clips, converter, num_proc=2).with_format("torch")
    row = cached[3]
    direct = converter.audio_to_spectrogram(row["audio"])
    assert row["spectrogram"].shape == (1, 64, converter.num_frames(5 * 22050))
    torch.testing.assert_close(row["spectrogram"], direct.spectrogram, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(row["spectrogram_stats"], direct.stats)
    with pytest.raises(ValueError, match=r"\[22050\] Hz but the converter expects 16000"):
        cache_spectrograms(clips, SpectrogramConverter(sampling_rate=16000))


def test_unreachable_hub_dataset_explains_the_offline_route(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(FileNotFoundError, match="build_corpus"):
        load_gtzan("nobody-here/no-such-gtzan")


def test_corpus_is_reused_and_a_different_build_is_refused(corpus_dir):
    from audiogen_hf.data.corpus import CorpusArguments, build_corpus

    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    args = CorpusArguments(output_dir=str(corpus_dir), size=manifest["args"]["size"])
    assert build_corpus(args)["manifest"] == manifest  # complete and same arguments: nothing rebuilt
    other = "full" if args.size == "small" else "small"
    with pytest.raises(FileExistsError, match="--overwrite"):
        build_corpus(CorpusArguments(output_dir=str(corpus_dir), size=other))
