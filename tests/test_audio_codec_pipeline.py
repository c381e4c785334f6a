"""AudioCodecPipeline and scripts/codec.py on real corpus audio with a tiny codec."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from audiogen_hf.audio import load_audio, save_audio
from audiogen_hf.models import HierarchicalCodecConfig, HierarchicalCodecFeatureExtractor, HierarchicalCodecModel
from audiogen_hf.models.hierarchical_codec import bitstream
from audiogen_hf.pipelines import AudioCodecPipeline

REPO = Path(__file__).resolve().parents[1]
RATE = 22050


def tiny_pipeline(chunk_length_s=0.5) -> AudioCodecPipeline:
    torch.manual_seed(0)
    config = HierarchicalCodecConfig(sampling_rate=RATE, encoder_strides=[2, 2], encoder_channels=[8, 16],
                                     level_ratios=[2, 4, 8], level_channels=16, codebook_size=16, codebook_dim=8,
                                     chunk_length_s=chunk_length_s)
    model = HierarchicalCodecModel(config).eval()
    return AudioCodecPipeline(model, HierarchicalCodecFeatureExtractor.from_model_config(config))


def test_pipeline_reconstructs_codes_and_reports_the_real_bitrate(music):
    pipe = tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    clip = music[:, : RATE * 2]
    out = pipe(clip.numpy(), sampling_rate=RATE)
    assert out.sampling_rate == RATE and out.audios.shape == (1, 2, clip.shape[-1])
    data = pipe.model.compress(clip)
    assert out.bitrate[0] == pytest.approx(len(data) * 8 / 2.0)
    assert out.compression_ratio[0] == pytest.approx(clip.numel() * 2 / len(data))
    np.testing.assert_allclose(out.audios[0], pipe.model.decompress(data).numpy(), atol=1e-5)
    stream = bitstream.read(data)
    assert all(np.array_equal(s, c[0].numpy()) for s, c in zip(stream.codes, out.audio_codes))
    low = pipe(clip, sampling_rate=RATE, num_quantizers=1, output_type="pt")
    assert isinstance(low.audios, torch.Tensor) and low.bitrate[0] < out.bitrate[0]


def test_pipeline_takes_mono_other_rates_and_batches(music):
    pipe = tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    mono = music[0, :RATE].numpy()
    out = pipe(mono, sampling_rate=RATE)
    assert out.audios.shape == (1, 2, RATE)
    resampled = pipe(load_audio_at(music, 44100), sampling_rate=44100)
    assert resampled.audios.shape == (1, 2, RATE)
    batch = pipe([music[:, :RATE], music[:, RATE: RATE + 8000]], sampling_rate=RATE)
    assert [a.shape for a in batch.audios] == [(2, RATE), (2, 8000)] and len(batch.bitrate) == 2
    with pytest.raises(ValueError, match="sampling_rate"):
        pipe(mono)


def load_audio_at(music: torch.Tensor, rate: int) -> np.ndarray:
    from audiogen_hf.audio import resample

    return resample(music[:, :RATE], RATE, rate).numpy()


def test_pipeline_round_trips_through_model_index(tmp_path, music):
    pipe = tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert set(index) >= {"model", "feature_extractor"}
    again = AudioCodecPipeline.from_pretrained(tmp_path)
    again.set_progress_bar_config(disable=True)
    assert type(again.feature_extractor) is HierarchicalCodecFeatureExtractor
    assert again.feature_extractor.hop_length == pipe.feature_extractor.hop_length
    clip = music[:, :RATE].numpy()
    np.testing.assert_array_equal(pipe(clip, sampling_rate=RATE).audios, again(clip, sampling_rate=RATE).audios)


def test_pipeline_refuses_a_mismatched_feature_extractor():
    pipe = tiny_pipeline()
    with pytest.raises(ValueError, match="does not match the model"):
        AudioCodecPipeline(pipe.model, HierarchicalCodecFeatureExtractor(sampling_rate=44100))


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("codec_script", REPO / "scripts" / "codec.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_codec_script_compresses_and_decompresses_a_real_file(tmp_path, real_track, capfd):
    pipe = tiny_pipeline(chunk_length_s=1.0)
    pipe.save_pretrained(tmp_path / "pipe")
    audio, rate = load_audio(real_track / "mixture.wav", offset=10.0, duration=4.0)  # 44.1 kHz: resampled
    source = save_audio(tmp_path / "in.wav", audio, rate)
    script = _script()
    report = script.main(["compress", str(source), str(tmp_path / "x.agc"), "--model", str(tmp_path / "pipe")])
    assert "compress" in capfd.readouterr().err  # the tqdm bar over the chunks
    data = (tmp_path / "x.agc").read_bytes()
    assert report["bytes"] == len(data) and report["seconds_of_audio"] == pytest.approx(4.0, abs=1e-3)
    assert report["compression_ratio"] == pytest.approx(4.0 * RATE * 2 * 2 / len(data), rel=1e-3)
    script.main(["decompress", str(tmp_path / "x.agc"), str(tmp_path / "out.wav"), "--model",
                 str(tmp_path / "pipe" / "model")])
    decoded, decoded_rate = load_audio(tmp_path / "out.wav")
    assert decoded_rate == RATE and decoded.shape == (2, 4 * RATE)
    expected = pipe.model.decompress(data)
    assert (decoded - expected).abs().max() < 1e-4  # 16-bit wav
    with pytest.raises(bitstream.BitstreamError, match="not a hierarchical-codec bitstream"):
        script.main(["decompress", str(source), str(tmp_path / "bad.wav"), "--model", str(tmp_path / "pipe")])
    with pytest.raises(FileNotFoundError, match="no codec"):
        script.main(["compress", str(source), str(tmp_path / "y.agc"), "--model", str(tmp_path)])


def test_codec_script_runs_as_a_program(tmp_path, music):
    pipe = tiny_pipeline()
    pipe.model.save_pretrained(tmp_path / "model")
    source = save_audio(tmp_path / "in.wav", music[:, :RATE], RATE)
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "codec.py"), "compress", str(source),
                           str(tmp_path / "x.agc"), "--model", str(tmp_path / "model"), "--num_quantizers", "1"],
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["bytes"] == (tmp_path / "x.agc").stat().st_size


def test_files_at_the_codec_rate_stream_window_by_window(tmp_path, music):
    """A wav at the codec's rate is read window by window; the bytes equal compressing the whole clip in memory,
    and the piece-by-piece wav equals decompress (16-bit)."""
    from audiogen_hf.models.hierarchical_codec.files import compress_file, decompress_file

    pipe = tiny_pipeline(chunk_length_s=0.5)
    stereo = save_audio(tmp_path / "stereo.wav", music[:, : 3 * RATE], RATE)
    mono = save_audio(tmp_path / "mono.wav", music[:1, : 3 * RATE], RATE)
    for source in (stereo, mono):
        audio, _ = load_audio(source, channels=2)
        report = compress_file(pipe.model, source, tmp_path / "x.agc", progress=False)
        data = (tmp_path / "x.agc").read_bytes()
        assert data == pipe.model.compress(audio) and report["bytes"] == len(data)
        decompress_file(pipe.model, tmp_path / "x.agc", tmp_path / "y.wav", progress=False)
        decoded, _ = load_audio(tmp_path / "y.wav")
        assert decoded.shape == audio.shape
        assert (decoded - pipe.model.decompress(data).clamp(-1, 1)).abs().max() < 1e-4
