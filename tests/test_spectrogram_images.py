"""Audio <-> 16-bit PNG spectrogram images: round trip on real music, metadata-driven decoding, clear errors."""

import json
import math
import random
import shutil

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from audiogen_hf.audio import load_audio
from audiogen_hf.audio.png_chunks import read_png_header_and_text
from audiogen_hf.audio.spectrogram_images import (
    SpectrogramImage,
    SpectrogramImageConfig,
    audio_to_images,
    encode_file,
    images_to_audio,
    read_spectrogram_image,
    write_spectrogram_image,
)
from audiogen_hf.evaluation import snr_db
from audiogen_hf.evaluation.image_compare import compare_spectrogram_images, save_comparison_pictures


@pytest.fixture(scope="module")
def clip(real_track):
    """13 s of a real stereo recording at its native 44.1 kHz: 1120 frames, two slices per channel at the defaults."""
    audio, rate = load_audio(real_track / "mixture.wav", offset=2.0, duration=13.0)
    return audio, rate


def test_native_round_trip_is_near_the_16_bit_ceiling(clip, tmp_path):
    audio, rate = clip
    images = audio_to_images(audio, rate, track="song")
    assert len(images) == 4  # 2 channels x ceil(1120 frames / 1025)
    assert [image.key for image in images] == [("song", c, s) for c in range(2) for s in range(2)]
    for image in images:
        assert image.pixels.dtype == np.uint16 and image.pixels.shape == (1025, 1025, 3)
    paths = [write_spectrogram_image(tmp_path / f"{i}.png", image) for i, image in enumerate(images)]
    header, texts = read_png_header_and_text(paths[0].read_bytes())
    assert (header["bit_depth"], header["color_type"], header["width"]) == (16, 2, 1025)
    assert json.loads(texts["audiogen_hf"])["n_fft"] == 2048
    decoded, decoded_rate = images_to_audio(tmp_path)
    assert decoded_rate == rate and decoded.shape == audio.shape
    snr = float(snr_db(audio, decoded, dim=None))
    print(f"native round-trip SNR {snr:.2f} dB")
    assert snr >= 85.0


def test_resize_costs_are_measured_and_undone(clip):
    audio, rate = clip
    images = audio_to_images(audio[:, : rate * 3], rate, SpectrogramImageConfig(size=1024))
    assert images[0].pixels.shape == (1024, 1024, 3) and images[0].metadata["size"] == 1024
    decoded, _ = images_to_audio(images)
    assert decoded.shape == (2, rate * 3)
    snr = float(snr_db(audio[:, : rate * 3], decoded, dim=None))
    print(f"resized (1024, Lanczos) round-trip SNR {snr:.2f} dB")
    # The phase planes do not survive interpolation well: far below native, but still correlated with the input.
    assert 5.0 < snr < 85.0


def test_shuffled_folder_decodes_from_metadata_alone(clip, tmp_path):
    audio, rate = clip
    encoded = tmp_path / "encoded"
    config = SpectrogramImageConfig(n_fft=512, hop_length=128)  # 257 x 257 slices: many of them
    wav = tmp_path / "in.wav"
    from audiogen_hf.audio import save_audio

    save_audio(wav, audio[:, : rate * 4], rate, subtype="FLOAT")
    paths = encode_file(wav, encoded, config)
    assert len(paths) >= 2 * 5
    # Rename every file to a random name in shuffled order: decoding must use the PNG metadata, not file names.
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    order = list(range(len(paths)))
    random.Random(0).shuffle(order)
    for new, old in zip(order, paths):
        shutil.copy(old, shuffled / f"x{new:04d}.png")
    decoded, decoded_rate = images_to_audio(shuffled)
    assert decoded_rate == rate and snr_db(audio[:, : rate * 4], decoded, dim=None) > 80.0
    ordered, _ = images_to_audio(encoded)
    assert torch.equal(decoded, ordered)

    # a missing slice and inconsistent metadata are named
    victim = sorted(shuffled.iterdir())[3]
    lost = read_spectrogram_image(victim).metadata
    victim.unlink()
    with pytest.raises(ValueError, match=rf"missing slices .*\({lost['channel']}, {lost['slice']}\)"):
        images_to_audio(shuffled)
    other = audio_to_images(audio[:, : rate * 4], rate, SpectrogramImageConfig(n_fft=512, hop_length=128,
                                                                                db_range=(-90, 65)), track="in")
    write_spectrogram_image(victim, other[0])
    with pytest.raises(ValueError, match="inconsistent metadata.*db_min"):
        images_to_audio(shuffled)


def test_channel_options(clip):
    audio, rate = clip
    short = audio[:, : rate]
    mix = audio_to_images(short, rate, channels="mix")
    right = audio_to_images(short, rate, channels=1)
    assert len(mix) == len(right) == 1 and mix[0].metadata["num_channels"] == 1
    assert snr_db(short.mean(0, keepdim=True), images_to_audio(mix)[0], dim=None) > 85
    assert snr_db(short[1:], images_to_audio(right)[0], dim=None) > 85
    with pytest.raises(ValueError, match="channel index"):
        audio_to_images(short, rate, channels=2)


def test_non_spectrogram_and_8_bit_pngs_are_rejected(clip, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((16, 16, 3), dtype=np.uint8)).save(photo)
    with pytest.raises(ValueError, match="not an audiogen_hf spectrogram image.*8-bit RGB"):
        read_spectrogram_image(photo)
    plain16 = tmp_path / "plain16.png"
    cv2.imwrite(str(plain16), np.zeros((16, 16, 3), dtype=np.uint16))
    with pytest.raises(ValueError, match="not an audiogen_hf spectrogram image"):
        images_to_audio([plain16])

    # An 8-bit copy that kept the metadata (as Pillow does when asked to) is refused for its lost precision.
    audio, rate = clip
    image = audio_to_images(audio[0, :rate], rate)[0]
    original = write_spectrogram_image(tmp_path / "spec.png", image)
    copy = tmp_path / "spec8.png"
    with Image.open(original) as opened:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("audiogen_hf", opened.text["audiogen_hf"])
        opened.convert("RGB").save(copy, pnginfo=info)
    assert read_png_header_and_text(copy.read_bytes())[0]["bit_depth"] == 8
    with pytest.raises(ValueError, match="8-bit RGB PNG but spectrogram images are 16-bit RGB"):
        read_spectrogram_image(copy)
    with pytest.raises(ValueError, match="not a PNG"):
        (tmp_path / "fake.png").write_bytes(b"hello")
        read_spectrogram_image(tmp_path / "fake.png")


def test_config_is_validated():
    with pytest.raises(ValueError, match="db_range"):
        SpectrogramImageConfig(db_range=(10, -10))
    with pytest.raises(ValueError, match="hop_length"):
        SpectrogramImageConfig(n_fft=512, hop_length=512)


def test_psnr_identical_is_infinite_and_perturbed_is_finite_and_ordered(clip, tmp_path):
    audio, rate = clip
    images = audio_to_images(audio[:, : rate * 2], rate, SpectrogramImageConfig(n_fft=512, hop_length=128))
    same = compare_spectrogram_images(images, images)
    assert all(row["psnr"] == math.inf for row in same.slices) and same.average_psnr == math.inf
    assert same.snr_db == math.inf and same.spectral_convergence_db == -math.inf

    generator = np.random.default_rng(0)
    averages = []
    for sigma in (10.0, 100.0, 1000.0):
        noisy = [SpectrogramImage(np.clip(image.pixels + generator.normal(0, sigma, image.pixels.shape), 0, 65535)
                                  .round().astype(np.uint16), image.metadata) for image in images]
        result = compare_spectrogram_images(images, noisy)
        assert len(result.slices) == len(images)
        assert all(math.isfinite(row["psnr"]) for row in result.slices)
        # Gaussian noise of sigma on the 16-bit scale: PSNR = 20 log10(65535 / sigma) (clipping lowers the error)
        expected = 20 * math.log10(65535 / sigma)
        assert expected - 0.5 < result.average_psnr < expected + 3.0
        averages.append((result.average_psnr, result.snr_db, result.spectral_convergence_db))
    assert averages[0][0] > averages[1][0] > averages[2][0]  # PSNR falls with the noise
    assert averages[0][1] > averages[1][1] > averages[2][1]  # and so does the audio SNR
    assert averages[0][2] < averages[1][2] < averages[2][2]  # while spectral convergence rises

    pictures = save_comparison_pictures(tmp_path / "pictures", images, noisy)
    assert len(pictures) == len(images)
    assert Image.open(pictures[0]).size[0] > 600  # three panels side by side
    with pytest.raises(ValueError, match="different \\(channel, slice\\) pairs"):
        compare_spectrogram_images(images, images[:-1], audio=False)
