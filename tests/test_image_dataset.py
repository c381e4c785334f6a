"""The image+caption dataset builder: corpus audio -> 16-bit PNGs + metadata.jsonl that `datasets` loads."""

import builtins
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_models import save_tiny_clap

from audiogen_hf.audio import load_audio, save_audio
from audiogen_hf.audio.spectrogram_images import images_to_audio
from audiogen_hf.data.image_dataset import load_image_dataset, spectrogram_image_of
from audiogen_hf.evaluation import snr_db

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def audio_folder(tmp_path_factory, real_track, gtzan_root):
    """Two short real clips (stereo 44.1 kHz and mono 22.05 kHz) and one corrupt file."""
    folder = tmp_path_factory.mktemp("audio")
    stereo, rate = load_audio(real_track / "mixture.wav", offset=3.0, duration=13.0)
    save_audio(folder / "band" / "mixture.wav", stereo, rate, subtype="FLOAT")
    mono, mono_rate = load_audio(sorted(gtzan_root.rglob("*.wav"))[0], duration=4.0)
    save_audio(folder / "gtzan_clip.wav", mono, mono_rate, subtype="FLOAT")
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    return folder, {"band": (stereo, rate), "gtzan_clip": (mono, mono_rate)}


def test_built_dataset_loads_with_datasets_and_decodes_back(audio_folder, tmp_path):
    from datasets import load_dataset

    folder, sources = audio_folder
    tiny_clap = save_tiny_clap(tmp_path / "tiny_clap")
    output = tmp_path / "dataset"
    report = script("build_image_dataset").main([
        "--input_dir", str(folder), "--output_dir", str(output), "--captions", "tags",
        "--tagger_model", str(tiny_clap), "--artist", "Muldjord", "--no_progress"])
    assert report.num_files == 2 and len(report.skipped) == 1 and report.skipped[0][0].endswith("broken.wav")
    assert report.num_images == 2 * 2 + 1  # 13 s stereo at 44.1 kHz: 2 slices x 2 channels; 4 s mono: 1 slice

    rows = [json.loads(line) for line in (output / "metadata.jsonl").read_text().splitlines()]
    assert sorted(row["file_name"] for row in rows) == sorted(p.name for p in output.glob("*.png"))
    for row in rows:
        assert row["text"].startswith("In the style of Muldjord. A")
        assert set(row["tags"]) == {"genre", "mood", "instrument", "texture"}
    captions = {(r["track"], r["slice"], r["channel"]): r["text"] for r in rows}
    assert captions[("band", 0, 0)] == captions[("band", 0, 1)]  # channels of a slice share the caption
    band_bpm = [r["bpm"] for r in rows if r["track"] == "band"]
    assert all(bpm is None or 40 < bpm < 250 for bpm in band_bpm)

    dataset = load_dataset("imagefolder", data_dir=str(output), split="train")
    assert len(dataset) == 5 and {"image", "text", "track", "channel", "slice", "bpm"} <= set(dataset.column_names)
    by_name = {Path(r["file_name"]).name: r["text"] for r in rows}
    assert sorted(dataset["text"]) == sorted(by_name.values())
    assert dataset[0]["image"].mode == "RGB"  # Pillow's lossy 8-bit view of the 16-bit PNG

    exact = load_image_dataset(output)
    images = [spectrogram_image_of(value) for value in exact["image"]]
    assert all(image.pixels.dtype == np.uint16 for image in images)
    for track, (audio, rate) in sources.items():
        decoded, decoded_rate = images_to_audio(images, track=track)
        assert decoded_rate == rate and decoded.shape == audio.shape
        assert snr_db(audio, decoded, dim=None) > 85


def test_images_to_audio_and_compare_scripts(audio_folder, tmp_path):
    folder, sources = audio_folder
    report = script("build_image_dataset").main([
        "--input_dir", str(folder / "band"), "--output_dir", str(tmp_path / "images"), "--captions", "none",
        "--title", "Armygeddon", "--no_progress"])
    rows = [json.loads(line) for line in (tmp_path / "images" / "metadata.jsonl").read_text().splitlines()]
    assert report.num_images == 4 and all(row["text"].startswith("In the style of Armygeddon.") for row in rows)
    wav = script("images_to_audio").main(["--image_dir", str(tmp_path / "images"), "--output",
                                          str(tmp_path / "decoded.wav"), "--subtype", "FLOAT"])
    audio, rate = load_audio(wav)
    assert snr_db(sources["band"][0], audio, dim=None) > 85
    comparison = script("compare_images").main(["--reference", str(tmp_path / "images"), "--estimate",
                                                str(tmp_path / "images"), "--pictures_dir", str(tmp_path / "pics")])
    assert comparison.average_psnr == float("inf") and len(list((tmp_path / "pics").glob("*.png"))) == 4


def test_interactive_prompts_and_missing_flags(monkeypatch, tmp_path):
    builder = script("build_image_dataset")
    from audiogen_hf.cli.common import UserError

    with pytest.raises(UserError, match="required when not run interactively"):  # stdin is not a terminal
        builder.parse_args(["--captions", "none"])
    answers = iter(["/music", str(tmp_path / "out"), "Artist Name", ""])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(builtins, "input", lambda prompt: next(answers))
    args = builder.parse_args(["--captions", "none"])
    assert (args.input_dir, args.output_dir, args.artist, args.title) == ("/music", str(tmp_path / "out"),
                                                                          "Artist Name", None)
