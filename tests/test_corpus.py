"""The corpus builder: work-level splits without leakage, the music/ folder, dedup, licences, resuming, bad files."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiogen_hf.data.corpus import fetch_debian_package
from audiogen_hf.data.corpus.build import PRESETS, _reusable, check_not_held_out
from audiogen_hf.data.corpus.debian import package_licence
from audiogen_hf.data.corpus.musdb import TrackJob, export_tracks
from audiogen_hf.data.corpus.music import build_music
from audiogen_hf.data.corpus.sources import (
    CATALOGUE,
    HELD_OUT_PACKAGES,
    MusicPackage,
    ScanReport,
    Song,
    assign_splits,
    deduplicate,
    scan_package,
    selection_order,
    work_id,
)


# ------------------------------------------------------------------ splits and works (no corpus needed)
def test_every_family_of_two_or_more_works_gets_a_test_work_and_the_rule_is_deterministic():
    works = [f"a/{i:02d}" for i in range(12)] + ["b/x", "b/y"] + ["c/only"]
    splits = assign_splits(works)
    assert splits == assign_splits(list(reversed(works)))  # order of discovery does not matter
    assert [w for w in works[:12] if splits[w] == "test"] == ["a/00", "a/05", "a/10"]
    assert [w for w in works[:12] if splits[w] == "valid"] == ["a/09"]
    assert (splits["b/x"], splits["b/y"]) == ("test", "train")
    assert splits["c/only"] == "train"


def test_selection_order_puts_a_test_and_a_validation_item_first():
    works = [f"a/{i:02d}" for i in range(12)]
    splits = assign_splits(works)
    order = selection_order(works, splits, key=lambda w: w)
    assert order[:3] == ["a/00", "a/09", "a/01"] and sorted(order) == works
    assert selection_order(works, splits, key=lambda w: w, first=("test",))[:2] == ["a/00", "a/01"]
    assert selection_order(works[2:], splits, key=lambda w: w, first=("test",))[:2] == ["a/05", "a/02"]


def test_versions_of_a_piece_share_one_work():
    assert work_id("nexuiz", "sixtyfour_") == work_id("nexuiz", "sixtyfour_revisited") == "nexuiz/sixtyfour"
    assert work_id("warzone2100", "track3_enhanced") == work_id("warzone2100", "track3")
    assert work_id("warzone2100", "track3") != work_id("warzone2100", "track13")


def test_held_out_packages_are_never_read():
    assert not set(HELD_OUT_PACKAGES) & set(CATALOGUE)
    for preset in PRESETS.values():
        assert not set(HELD_OUT_PACKAGES) & set(preset.packages)
    with pytest.raises(ValueError, match="held out"):
        check_not_held_out(["singularity-music", "drascula-music"])


def test_dep5_licence_is_read_per_file_last_matching_stanza_wins(tmp_path):
    doc = tmp_path / "usr/share/doc/pkg"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: someone\nLicense: GPL-2+\n\n"
        "Files:\n base/music/a.ogg\n base/music/b.ogg\nCopyright: a composer\nLicense: CC-BY-SA-3.0\n\n"
        "Files: debian/*\nLicense: GPL-2+\n"
    )
    assert package_licence(tmp_path, "pkg", "usr/share/games/x/base/0music.pk3!music/a.ogg".replace("!", "/")) \
        == "CC-BY-SA-3.0"
    assert package_licence(tmp_path, "pkg", "usr/share/games/x/base/music/c.ogg") == "GPL-2+"
    assert package_licence(tmp_path, "other", "x.ogg") is None  # no copyright file: the caller's fallback


def test_reusable_resumes_the_same_build_and_refuses_another(tmp_path):
    args = {"size": "small", "soundfont": ["/sf2/a.sf2"]}
    (tmp_path / "music" / "train").mkdir(parents=True)
    kept = tmp_path / "music" / "train" / "done.flac"
    kept.write_bytes(b"finished output")
    (tmp_path / ".build.json").write_text(json.dumps(args))
    assert _reusable(tmp_path, args, overwrite=False) is False and kept.is_file()  # resumed: nothing removed
    with pytest.raises(FileExistsError, match="--overwrite"):
        _reusable(tmp_path, {**args, "size": "full"}, overwrite=False)
    assert _reusable(tmp_path, {**args, "size": "full"}, overwrite=True) is False and not kept.exists()


# ------------------------------------------------------------------ the built (small) corpus
def _layout_splits(corpus_dir: Path) -> dict:
    """{layout: {work: set of splits}} read back from the three layout manifests."""
    musdb = json.loads((corpus_dir / "musdb/manifest.json").read_text())
    gtzan = json.loads((corpus_dir / "gtzan/manifest.json").read_text())
    music = json.loads((corpus_dir / "music/manifest.json").read_text())
    out = {}
    for layout, items in (("musdb", musdb["tracks"]), ("gtzan", gtzan["clips"]), ("music", music["tracks"])):
        for item in items:
            out.setdefault(item["work"], set()).add((layout, item["split"]))
    return out


def test_no_work_is_in_test_and_in_any_training_split(corpus_dir):
    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    for work, seen in _layout_splits(corpus_dir).items():
        splits = {split for _, split in seen}
        assert len(splits) == 1, f"{work} appears in splits {seen}"
        assert splits == {manifest["works"][work]}
    musdb = json.loads((corpus_dir / "musdb/manifest.json").read_text())
    for track in musdb["tracks"]:
        assert (track["subset"] == "test") == (track["split"] == "test")
        assert (corpus_dir / "musdb" / track["subset"] / track["name"] / "mixture.wav").is_file()
    assert set(musdb["validation_tracks"]) == {t["name"] for t in musdb["tracks"] if t["split"] == "valid"}


def test_manifest_records_sources_licences_durations_and_held_out_packages(corpus_dir):
    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    assert set(manifest["held_out_packages"]) == set(HELD_OUT_PACKAGES)
    assert not set(HELD_OUT_PACKAGES) & set(manifest["packages"])
    for name, package in manifest["packages"].items():
        assert package["licences"] and package["version"], name
    music = json.loads((corpus_dir / "music/manifest.json").read_text())
    for track in music["tracks"]:
        info = sf.info(corpus_dir / "music" / track["subset"] / track["file_name"])
        assert abs(info.duration - track["duration_s"]) < 1e-2 and track["licence"] and track["source_package"]
    assert manifest["music"]["duration_s"]["test"] > 0 and manifest["music"]["duration_s"]["train"] > 0


def test_music_folder_loads_with_audiofolder_as_stereo_44k(corpus_dir):
    from datasets import load_dataset

    from audiogen_hf.data import load_music

    music = load_dataset("audiofolder", data_dir=str(corpus_dir / "music"))
    assert set(music) == {"train", "test"}
    resampled = load_music(corpus_dir, split="test", sampling_rate=22050)
    assert resampled["work"] == music["test"]["work"]
    assert resampled[0]["audio"].get_all_samples().data.shape[0] == 2
    manifest = json.loads((corpus_dir / "music/manifest.json").read_text())
    assert len(music["train"]) + len(music["test"]) == len(manifest["tracks"])
    assert {"genre", "licence", "work", "split"} <= set(music["test"].column_names)
    assert set(music["test"]["split"]) == {"test"} and "test" not in set(music["train"]["split"])
    samples = music["train"][0]["audio"].get_all_samples()
    assert samples.sample_rate == 44100 and samples.data.shape[0] == 2


def test_missing_music_folder_says_how_to_build_it(tmp_path):
    from audiogen_hf.data import load_music

    with pytest.raises(FileNotFoundError, match="build_corpus"):
        load_music(tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_music(tmp_path, split="valid")


# ------------------------------------------------------------------ dedup, bad files, resuming (real audio)
def _fake_package(root: Path, real: Path) -> MusicPackage:
    """A package folder with two real recordings, a byte copy of one, a corrupt file and a jingle."""
    music = root / "usr/share/fake/music"
    music.mkdir(parents=True)
    audio, sr = sf.read(real, dtype="float32", always_2d=True)
    audio = np.concatenate([audio] * (1 + 40 * sr // len(audio)))  # the small corpus's tracks are 20 s
    sf.write(music / "alpha.flac", audio[: 35 * sr], sr, subtype="PCM_16")
    sf.write(music / "beta.flac", audio[sr: 36 * sr][::-1], sr, subtype="PCM_16")  # other audio
    shutil.copy(music / "alpha.flac", music / "gamma_copy.flac")
    (music / "delta.ogg").write_bytes(b"OggS" + bytes(range(256)) * 8)  # not decodable
    sf.write(music / "jingle.flac", audio[: 2 * sr], sr, subtype="PCM_16")
    return MusicPackage("fake-music", "testgenre", "CC0", "usr/share/fake/music", "fake")


def test_scan_counts_corrupt_short_and_duplicate_files(tmp_path, real_track):
    package = _fake_package(tmp_path, real_track / "mixture.wav")
    report = ScanReport()
    recordings = deduplicate(scan_package(package, tmp_path, report), report)
    assert [r.title for r in recordings] == ["alpha", "beta"]
    skipped = report.as_dict()["skipped"]
    assert skipped["corrupt"]["count"] == 1 and "delta.ogg" in skipped["corrupt"]["files"][0]
    assert skipped["shorter than 30 s"]["count"] == 1
    assert skipped["duplicate audio"]["count"] == 1 and "gamma_copy.flac" in skipped["duplicate audio"]["files"][0]


def test_music_build_resumes_without_rereading_finished_tracks(tmp_path, real_track):
    package = _fake_package(tmp_path / "pkg", real_track / "mixture.wav")
    report = ScanReport()
    recordings = deduplicate(scan_package(package, tmp_path / "pkg", report), report)
    splits = assign_splits([r.work for r in recordings])
    first = build_music(tmp_path / "music", recordings, splits, report)
    assert {t["subset"] for t in first["tracks"]} == {"train", "test"}
    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "music").rglob("*.flac")}
    assert len(written) == 2 and not list((tmp_path / "music").rglob(".*"))  # no temporary left behind

    def fail(*args):
        raise AssertionError("a finished track was read again")

    for recording in recordings:
        recording.read = fail
    again = build_music(tmp_path / "music", recordings, splits, report)
    assert again == first
    assert {p: p.stat().st_mtime_ns for p in written} == written


def test_musdb_export_resumes_from_its_state_and_counts_failures(tmp_path, real_track):
    stems = {s: sf.read(real_track / f"{s}.wav", dtype="float32", always_2d=True)[0] for s in
             ("drums", "bass", "other", "vocals")}
    calls = []

    def make_song():
        calls.append(1)
        return Song("Real - Song", "fretsonfire-songs-muldjord", "muldjord/song", ["song.ogg"],
                    {s: (a if np.abs(a).max() > 0 else None) for s, a in stems.items()}, {}, False, "CC-BY-SA-3.0")

    def broken():
        raise RuntimeError("fluidsynth failed")

    jobs = [TrackJob("Real - Song", "test", make_song, None), TrackJob("Broken - Song", "train", broken, 10.0)]
    report = ScanReport()
    first = export_tracks(tmp_path, jobs, None, report)
    assert [t["name"] for t in first] == ["Real - Song"] and first[0]["subset"] == "test"
    assert report.as_dict()["skipped"]["corrupt"]["count"] == 1
    mixture, _ = sf.read(tmp_path / "test/Real - Song/mixture.wav", dtype="float32", always_2d=True)
    total = sum(sf.read(tmp_path / f"test/Real - Song/{s}.wav", dtype="float32", always_2d=True)[0] for s in stems)
    assert np.abs(total - mixture).max() <= 4 / 32768
    again = export_tracks(tmp_path, jobs, None, ScanReport())
    assert again == first and len(calls) == 1  # the finished track was not rebuilt


def test_musdb_excerpt_falls_back_to_a_shorter_window(tmp_path, real_track):
    stems = {s: sf.read(real_track / f"{s}.wav", dtype="float32", always_2d=True)[0] for s in ("drums", "other")}
    seconds = len(stems["drums"]) / 44100

    def make_song():
        return Song("Real - Song", "fretsonfire-songs-muldjord", "muldjord/song", ["song.ogg"],
                    {"drums": stems["drums"], "bass": None, "other": stems["other"], "vocals": None}, {}, False, "x")

    too_long = TrackJob("Real - Song", "train", make_song, seconds + 5)
    assert export_tracks(tmp_path / "a", [too_long], None, ScanReport()) == []
    fallback = TrackJob("Real - Song", "train", make_song, seconds + 5, shorter_s=(seconds + 2, 8.0))
    (track,) = export_tracks(tmp_path / "b", [fallback], None, ScanReport())
    assert track["duration_s"] == 8.0 and sf.info(tmp_path / "b/train/Real - Song/mixture.wav").duration == 8.0


@pytest.mark.corpus
def test_fetch_debian_package_reuses_the_extracted_package(tmp_path):
    cache = Path("~/.cache/audiogen_hf/debs").expanduser()
    if not (cache / "planetblupi-music-midi").is_dir():
        pytest.skip("the corpus cache holds no extracted planetblupi-music-midi")
    root = fetch_debian_package("planetblupi-music-midi", str(cache))
    assert root == cache / "planetblupi-music-midi" and sorted(root.rglob("*.mid"))
