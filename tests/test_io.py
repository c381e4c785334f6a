import numpy as np
import pytest
import soundfile as sf
import torch

from audiogen_hf.audio import AudioLoadError, audio_info, load_audio, resample, save_audio, to_channels


def test_real_track_is_stereo_44k(real_track):
    audio, rate = load_audio(real_track / "mixture.wav")
    info = audio_info(real_track / "mixture.wav")
    assert rate == info.sampling_rate == 44100
    assert audio.shape == (2, info.num_frames) and audio.dtype == torch.float32
    assert not torch.allclose(audio[0], audio[1]), "stereo must not be collapsed to mono"


def test_window_resample_and_downmix(real_track):
    full, _ = load_audio(real_track / "mixture.wav", offset=1.0, duration=2.0)
    assert full.shape == (2, 88200)
    mono, rate = load_audio(real_track / "mixture.wav", sampling_rate=16000, channels=1, offset=1.0, duration=2.0)
    assert rate == 16000 and mono.shape == (1, 32000)
    expected = resample(full.mean(0, keepdim=True), 44100, 16000)
    torch.testing.assert_close(mono, expected)


def test_save_load_round_trip(tmp_path, music):
    path = save_audio(tmp_path / "clip.flac", music, 22050)
    audio, rate = load_audio(path)
    assert rate == 22050 and audio.shape == music.shape
    assert (audio - music).abs().max() <= 1.0 / 32768 + 1e-6  # 16-bit quantisation only


def test_bytes_and_dict_sources(real_track):
    data = (real_track / "mixture.wav").read_bytes()
    a, _ = load_audio(data, duration=0.5)
    b, _ = load_audio({"path": str(real_track / "mixture.wav"), "bytes": None}, duration=0.5)
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), "could not decode"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 8), "could not decode"),
        (lambda p: sf.write(p, np.zeros((0, 2), np.float32), 44100), "no samples"),
        (lambda p: sf.write(p, np.full((1000, 1), np.nan, np.float32), 44100, subtype="FLOAT"), "NaN"),
    ],
    ids=["empty-file", "corrupt", "zero-frames", "nan"],
)
def test_bad_files_raise_clear_errors(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioLoadError, match=message):
        load_audio(path)


def test_missing_file_and_bad_arguments(tmp_path, real_track):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioLoadError, match="no samples"):
        load_audio(real_track / "mixture.wav", offset=10_000.0)
    with pytest.raises(ValueError, match="cannot convert 6 channels"):
        to_channels(torch.zeros(6, 10), 2)
    with pytest.raises(ValueError, match="NaN"):
        save_audio(tmp_path / "x.wav", torch.full((1, 10), float("nan")), 16000)
    with pytest.raises(ValueError, match="transpose"):
        save_audio(tmp_path / "x.wav", np.zeros((8000, 2), np.float32), 16000)
    assert not (tmp_path / "x.wav").exists()
    with pytest.raises(ValueError, match="channels must be >= 1"):
        load_audio(real_track / "mixture.wav", channels=0)
    surround = tmp_path / "surround.wav"
    sf.write(surround, np.zeros((4000, 6), np.float32), 16000)
    with pytest.raises(AudioLoadError, match="6 channels"):
        load_audio(surround, channels=2)


def test_ogg_vorbis_loads_through_libsndfile(tmp_path, music):
    path = tmp_path / "clip.ogg"
    sf.write(path, music.T.numpy(), 22050, format="OGG", subtype="VORBIS")
    audio, rate = load_audio(path)
    assert rate == 22050 and audio.shape[0] == 2
    reference, _ = sf.read(path, dtype="float32", always_2d=True)
    torch.testing.assert_close(audio, torch.from_numpy(reference.T.copy()))
    mono, _ = load_audio(path, channels=1, sampling_rate=16000)
    assert mono.shape == (1, round(audio.shape[1] * 16000 / 22050))


def test_prepare_audio_turns_user_audio_into_pipeline_input():
    import numpy as np

    from audiogen_hf.audio import prepare_audio, to_mono

    clip = np.array([0.0, 0.5, -0.5, 0.25], dtype=np.float32)
    assert torch.equal(prepare_audio(clip, 16000, 16000), torch.from_numpy(clip)[None])  # mono -> [1, samples]
    pcm16 = (clip * 32768).astype(np.int16)
    assert torch.equal(prepare_audio(pcm16, 16000, 16000), torch.from_numpy(clip)[None])
    pcm8 = (clip * 128 + 128).astype(np.uint8)  # WAV's unsigned 8-bit
    assert torch.allclose(prepare_audio(pcm8, 16000, 16000), torch.from_numpy(clip)[None], atol=1 / 128)
    batch = prepare_audio(torch.stack([torch.from_numpy(clip)] * 3).double(), 16000, 16000)
    assert batch.shape == (3, 4) and batch.dtype == torch.float32
    resampled = prepare_audio(torch.randn(2, 44100), 44100, 22050)
    assert resampled.shape == (2, 22050)
    with pytest.raises(ValueError, match="pass sampling_rate"):
        prepare_audio(clip, None, 16000)
    with pytest.raises(ValueError, match="mono"):
        prepare_audio(np.zeros((1, 2, 4), np.float32), 16000, 16000)
    with pytest.raises(ValueError, match="NaN"):
        prepare_audio(np.array([0.0, np.nan], np.float32), 16000, 16000)
    with pytest.raises(ValueError, match="no samples"):
        prepare_audio(np.zeros(0, np.float32), 16000, 16000)
    stereo = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert torch.equal(to_mono(stereo), torch.tensor([0.5, 0.5])) and torch.equal(to_mono(stereo[0]), stereo[0])
