"""scripts/evaluate_codec.py on two short real clips, with the Opus reference."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from audiogen_hf.audio import load_audio, save_audio
from audiogen_hf.evaluation.codec import opus_available, opus_roundtrip, quality, si_sdr
from audiogen_hf.models import HierarchicalCodecConfig, HierarchicalCodecModel

REPO = Path(__file__).resolve().parents[1]
RATE = 22050


def _script():
    spec = importlib.util.spec_from_file_location("evaluate_codec", REPO / "scripts" / "evaluate_codec.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_si_sdr_and_quality_metrics():
    x = torch.randn(2, 4000, generator=torch.Generator().manual_seed(0))
    assert si_sdr(x, 0.5 * x) > 60  # scale-invariant
    assert si_sdr(x, x + 0.1 * torch.randn_like(x)) == pytest.approx(20, abs=1.0)
    q = quality(x, x, 22050)
    assert q["mel_distance"] == pytest.approx(0, abs=1e-6) and q["stft_distance"] == pytest.approx(0, abs=1e-6)


@pytest.mark.skipif(not opus_available(), reason="needs ffmpeg with libopus")
def test_evaluate_codec_script_on_two_clips_with_opus(musdb_root, tmp_path):
    clips = []
    tracks = sorted((musdb_root / "test").iterdir()) + sorted((musdb_root / "train").iterdir())
    for index, track in enumerate(tracks[:2]):
        audio, _ = load_audio(track / "mixture.wav", sampling_rate=RATE, offset=3.0, duration=1.5)
        clips.append(save_audio(tmp_path / "clips" / f"clip{index}.wav", audio, RATE))
    torch.manual_seed(0)
    model = HierarchicalCodecModel(HierarchicalCodecConfig(
        sampling_rate=RATE, encoder_strides=[2, 2], encoder_channels=[8, 16], level_ratios=[2, 4, 8],
        level_channels=16, codebook_size=16, codebook_dim=8, chunk_length_s=None))
    model.save_pretrained(tmp_path / "model")
    out = tmp_path / "eval"
    result = _script().main([str(tmp_path / "clips"), "--model", str(tmp_path / "model"), "--seconds", "1.5",
                             "--output_dir", str(out)])
    rows = result["rows"]
    assert len(rows) == 2 * 2 * 3  # 2 files x 2 bitrates x (codec, opus 1x, opus 2x)
    codec = [r for r in rows if r["system"].startswith("codec")]
    for row in codec:  # the real byte count: payload bitrate plus the header
        q = int(row["system"][-1])
        assert row["bitrate_kbps"] > model.config.bitrate(q) / 1000
        assert row["compression_ratio"] == pytest.approx(RATE * 2 * 16 / 1000 / row["bitrate_kbps"], rel=1e-6)
    opus = {(r["file"], r["system"], round(r["target_kbps"], 3)): r for r in rows if r["system"].startswith("opus")}
    assert len(opus) == 8
    for row in rows:
        assert all(torch.isfinite(torch.tensor(row[k])) for k in ("mel_distance", "stft_distance", "si_sdr"))
    # an untrained codec is far worse than Opus, and Opus at twice the rate is better than at the same rate
    for file in ("clip0.wav", "clip1.wav"):
        same = [r for r in rows if r["file"] == file and r["system"].startswith("opus 1x")]
        double = [r for r in rows if r["file"] == file and r["system"].startswith("opus 2x")]
        assert sum(r["mel_distance"] for r in double) < sum(r["mel_distance"] for r in same)
        ours = [r for r in codec if r["file"] == file]
        assert min(r["mel_distance"] for r in ours) > min(r["mel_distance"] for r in same)
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert [s["system"] for s in summary] == ["codec q=1", "opus 1x q=1", "opus 2x q=1", "codec q=2", "opus 1x q=2",
                                              "opus 2x q=2"]
    assert all(s["files"] == 2 for s in summary)
    assert "| system |" in (out / "table.md").read_text() and (out / "rate_quality.png").stat().st_size > 1000


@pytest.mark.skipif(not opus_available(), reason="needs ffmpeg with libopus")
def test_opus_quality_rises_with_bitrate(music):
    audio = music[:, :22050 * 3]
    low, info_low = opus_roundtrip(audio, 22050, 8)
    high, info_high = opus_roundtrip(audio, 22050, 48)
    assert low.shape == audio.shape and info_low["bytes"] < info_high["bytes"]
    assert quality(audio, high, 22050)["mel_distance"] < quality(audio, low, 22050)["mel_distance"]


def test_missing_inputs_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither an audio file nor a folder"):
        _script().main([str(tmp_path / "nope.wav"), "--model", str(tmp_path), "--no_opus"])


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
