"""The hierarchical codec (tiny configs): shapes, bitstream, chunking, variable bitrate, EMA codebooks, errors."""

import unittest

import numpy as np
import pytest
import torch
from test_modeling_common import ModelTesterMixin
from transformers import AutoModel

from audiogen_hf.models import HierarchicalCodecConfig, HierarchicalCodecFeatureExtractor, HierarchicalCodecModel
from audiogen_hf.models.hierarchical_codec import bitstream
from audiogen_hf.models.hierarchical_codec.bitstream import BitstreamError, pack_codes, unpack_codes

RATE = 22050


def tiny_config(**overrides) -> HierarchicalCodecConfig:
    kwargs = dict(sampling_rate=RATE, encoder_strides=[2, 2], encoder_channels=[8, 16], level_ratios=[2, 4, 8],
                  level_channels=16, codebook_size=16, codebook_dim=8, chunk_length_s=None)
    kwargs.update(overrides)
    return HierarchicalCodecConfig(**kwargs)


def tiny_model(seed: int = 0, **overrides) -> HierarchicalCodecModel:
    torch.manual_seed(seed)
    return HierarchicalCodecModel(tiny_config(**overrides)).eval()


def noise(batch: int, samples: int, channels: int = 2, seed: int = 0) -> torch.Tensor:
    return (torch.randn(batch, channels, samples, generator=torch.Generator().manual_seed(seed)) * 0.3).clamp(-1, 1)


class HierarchicalCodecModelTest(ModelTesterMixin, unittest.TestCase):
    model_class = HierarchicalCodecModel

    def get_config(self):
        return tiny_config()

    def prepare_inputs(self, batch_size=2):
        return {"input_values": noise(batch_size, 300)}


def test_default_config_is_the_seeds_codec():
    config = HierarchicalCodecConfig()
    model = HierarchicalCodecModel(config)
    parameters = sum(p.numel() for p in model.parameters())
    assert 4.0e6 < parameters < 5.0e6  # the seed: about 4.4 M
    assert config.level_hops == [400, 800, 1600] and config.num_levels == 3
    assert round(config.bitrate()) == 3087  # 2 quantizers x 8 bits x (110.25 + 55.125 + 27.5625) frames/s
    assert round(config.bitrate(num_quantizers=1)) == 1544


def test_encode_decode_shapes_and_trim():
    model = tiny_model()
    x = noise(2, 1000)
    with torch.no_grad():
        encoded = model.encode(x)
        frames = [1024 // hop for hop in model.config.level_hops]  # padded to a multiple of the coarsest hop (64)
        assert [tuple(c.shape) for c in encoded.audio_codes] == [(2, 2, f) for f in frames]
        assert all(c.dtype == torch.long and c.max() < 16 and c.min() >= 0 for c in encoded.audio_codes)
        assert model.decode(encoded.audio_codes).audio_values.shape == (2, 2, 1024)
        decoded = model.decode(encoded.audio_codes, length=1000).audio_values
        assert decoded.shape == (2, 2, 1000)
        forward = model(x)
    assert forward.audio_values.shape == (2, 2, 1000)
    torch.testing.assert_close(forward.audio_values, decoded, atol=1e-6, rtol=0)
    assert all(torch.equal(a, b) for a, b in zip(forward.audio_codes, encoded.audio_codes))


def test_decoder_reads_only_the_codes():
    """Two different inputs that happen to get the same codes must decode to the same audio: here, decoding the
    codes of one input equals the forward pass's reconstruction of it, and nothing else enters ``decode``."""
    model = tiny_model()
    x = noise(1, 640, seed=3)
    with torch.no_grad():
        codes = model.encode(x).audio_codes
        torch.testing.assert_close(model.decode(codes, length=640).audio_values, model(x).audio_values, atol=1e-6,
                                   rtol=0)


def test_batch_equals_single_items():
    model = tiny_model()
    x = noise(3, 640, seed=1)
    with torch.no_grad():
        batched = model.encode(x).audio_codes
        audio = model.decode(batched).audio_values
        for index in range(3):
            single = model.encode(x[index: index + 1]).audio_codes
            assert all(torch.equal(s[0], b[index]) for s, b in zip(single, batched))
            torch.testing.assert_close(model.decode(single).audio_values[0], audio[index], atol=1e-5, rtol=0)


def test_compress_decompress_gives_the_same_codes_and_audio(music, tmp_path):
    model = tiny_model()
    audio = music[:, : RATE * 2]
    data = model.compress(audio)
    stream = bitstream.read(data)
    with torch.no_grad():
        codes = model.encode(audio[None]).audio_codes
        reference = model.decode(codes, length=audio.shape[-1]).audio_values[0]
    assert stream.length == audio.shape[-1] and stream.sampling_rate == RATE and stream.channels == 2
    assert all(np.array_equal(s, c[0].numpy()) for s, c in zip(stream.codes, codes))
    restored = model.decompress(data)
    assert restored.shape == audio.shape
    torch.testing.assert_close(restored, reference, atol=1e-6, rtol=0)
    # real byte counts: 4 bits per code (codebook 16) plus the header and CRC
    payload = sum(c.numel() for c in codes) * 4 / 8
    assert len(data) == 19 + 13 * 3 + 4 + payload + 4
    report = bitstream.stats(data)
    assert report.pcm_bytes == audio.numel() * 2
    assert report.ratio == pytest.approx(audio.numel() * 2 / len(data))
    assert report.bitrate == pytest.approx(len(data) * 8 / 2.0)


def test_bit_packing_round_trips_at_every_width():
    rng = np.random.default_rng(0)
    for bits in (1, 3, 4, 8, 10, 16):
        values = rng.integers(0, 1 << bits, size=777)
        packed = pack_codes(values, bits)
        assert len(packed) == -(-777 * bits // 8)
        assert np.array_equal(unpack_codes(packed, bits, 777), values)
    with pytest.raises(ValueError, match="must lie in"):
        pack_codes(np.array([16]), 4)


def test_truncated_corrupt_and_foreign_bytes_are_refused(music):
    model = tiny_model()
    data = model.compress(music[:, :4000])
    with pytest.raises(BitstreamError, match="truncated"):
        model.decompress(data[:-5])
    with pytest.raises(BitstreamError, match="truncated"):
        model.decompress(data[:8])
    with pytest.raises(BitstreamError, match="not a hierarchical-codec bitstream"):
        model.decompress(b"RIFF" + data[4:])
    with pytest.raises(BitstreamError, match="not a hierarchical-codec bitstream"):
        model.decompress(b"")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    with pytest.raises(BitstreamError, match="CRC"):
        model.decompress(bytes(flipped))
    with pytest.raises(BitstreamError, match="unexpected bytes"):
        model.decompress(data + b"\0")
    newer = bytearray(data)
    newer[4] = 99
    with pytest.raises(BitstreamError, match="version 99"):
        model.decompress(bytes(newer))
    other = tiny_model(codebook_size=32)
    with pytest.raises(ValueError, match="another codec configuration"):
        other.decompress(data)


def test_chunked_equals_whole(music):
    """Chunks with the receptive field as context: codes equal (a near-tie may flip a code: tolerance 0.1 % of
    codes) and the chunk-decoded audio equals the whole-clip decoding within 1e-4."""
    model = tiny_model()
    audio = music[None, :, : RATE * 3]
    with torch.no_grad():
        whole = model.encode(audio).audio_codes
        assert model.num_chunks(audio.shape[-1], 0.25) == 13  # 172-frame chunks (0.25 s rounded to the hop)
        chunked = model.encode(audio, chunk_length_s=0.25).audio_codes
        for a, b in zip(whole, chunked):
            assert a.shape == b.shape
            assert (a == b).float().mean() >= 0.999
        reference = model.decode(whole, length=audio.shape[-1]).audio_values
        pieces = model.decode(whole, length=audio.shape[-1], chunk_length_s=0.25).audio_values
    assert pieces.shape == reference.shape
    torch.testing.assert_close(pieces, reference, atol=1e-4, rtol=0)
    # the context is what makes it work: without it the chunk borders differ
    model.config.chunk_context_s = 0.0
    with torch.no_grad():
        cut = model.decode(whole, length=audio.shape[-1], chunk_length_s=0.25).audio_values
    assert (cut - reference).abs().max() > 1e-3


def test_fewer_quantizers_still_decode(music):
    model = tiny_model()
    audio = music[None, :, :RATE]
    with torch.no_grad():
        full = model.encode(audio).audio_codes
        low = model.encode(audio, num_quantizers=1).audio_codes
        assert all(c.shape[1] == 1 for c in low)
        # the coarsest level's first stage is shared; finer levels predict from a coarser decoding, so they differ
        assert torch.equal(low[-1][:, 0], full[-1][:, 0])
        coarse, fine = model.decode(low).audio_values, model.decode(full).audio_values
    assert coarse.shape == fine.shape and torch.isfinite(coarse).all()
    assert not torch.allclose(coarse, fine)
    assert len(model.compress(audio[0], num_quantizers=1)) < len(model.compress(audio[0]))
    assert bitstream.read(model.compress(audio[0], num_quantizers=1)).levels[0].quantizers == 1
    with pytest.raises(ValueError, match="num_quantizers"):
        model.encode(audio, num_quantizers=3)


def test_quantizer_dropout_picks_fewer_quantizers_in_training_only():
    model = tiny_model(quantizer_dropout=1.0).train()
    used = model._used(256, 2)
    assert set(used.tolist()) == {1, 2}
    model.eval()
    assert set(model._used(256, 2).tolist()) == {2}


def _codebook_state(model):
    return {name: buffer.clone() for name, buffer in model.named_buffers() if "quantizers" in name}


def test_ema_codebooks_change_only_in_training_mode():
    model = tiny_model()
    x = noise(2, 2048, seed=2)
    before = _codebook_state(model)
    with torch.no_grad():
        model(x)
        model.encode(x)
    assert all(torch.equal(before[k], v) for k, v in _codebook_state(model).items())
    model.train()
    with torch.no_grad():
        model(x)  # first training batch: the codebooks are set from the latents
    initialised = _codebook_state(model)
    assert all(bool(v) for k, v in initialised.items() if k.endswith("initialized"))
    embed = "quantizers.0.quantizers.0.embed"
    assert not torch.equal(initialised[embed], before[embed])
    with torch.no_grad():
        model(x)  # an EMA step
    after = _codebook_state(model)
    assert not torch.equal(after[embed], initialised[embed])
    assert not torch.equal(after["quantizers.0.quantizers.0.cluster_size"],
                           initialised["quantizers.0.quantizers.0.cluster_size"])
    with torch.no_grad():
        model(x, update_codebooks=False)  # e.g. a GAN's discriminator step
    assert all(torch.equal(after[k], v) for k, v in _codebook_state(model).items())


def test_dead_codes_restart_from_the_batch():
    model = tiny_model(dead_code_threshold=2.0).train()
    quantizer = model.quantizers[0].quantizers[0]
    latents = torch.randn(50, 8)
    quantizer.update(latents, quantizer.codes(latents))  # initialisation from data
    quantizer.cluster_size[3] = 0.0  # code 3 is dead
    quantizer.embed[3] = 100.0
    codes = torch.zeros(50, dtype=torch.long)  # every latent goes to code 0
    quantizer.update(latents, codes)
    assert quantizer.cluster_size[3] >= 2.0
    assert any(torch.allclose(quantizer.embed[3], row) for row in latents)


def test_loss_trained_codebooks_get_gradients():
    model = tiny_model(codebook_update="loss").train()
    model(noise(2, 640)).loss.backward()  # the first batch initialises from data
    model.zero_grad()
    output = model(noise(2, 640, seed=1))
    output.loss.backward()
    assert output.codebook_loss > 0
    assert model.quantizers[0].quantizers[0].embed.grad.abs().sum() > 0


def test_auto_model_round_trip_gives_identical_codes(tmp_path, music):
    model = tiny_model()
    model.train()
    with torch.no_grad():
        model(music[None, :, :RATE])  # codebooks initialised from real audio and EMA state saved with them
    model.eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    reloaded = AutoModel.from_pretrained(tmp_path).eval()
    assert type(reloaded) is HierarchicalCodecModel
    with torch.no_grad():
        a = model.encode(music[None, :, :RATE]).audio_codes
        b = reloaded.encode(music[None, :, :RATE]).audio_codes
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert model.compress(music[:, :RATE]) == reloaded.compress(music[:, :RATE])


def test_padding_mask_zeroes_the_padding():
    model = tiny_model()
    x = noise(1, 640, seed=4)
    mask = torch.ones(1, 640, dtype=torch.long)
    mask[:, 500:] = 0
    garbage = x.clone()
    garbage[..., 500:] = 0.9
    clean = x.clone()
    clean[..., 500:] = 0.0
    with torch.no_grad():
        a = model.encode(garbage, padding_mask=mask).audio_codes
        b = model.encode(clean).audio_codes
    assert all(torch.equal(p, q) for p, q in zip(a, b))


def test_bf16_encodes_and_decodes():
    model = tiny_model().to(torch.bfloat16)
    with torch.no_grad():
        codes = model.encode(noise(1, 640)).audio_codes
        audio = model.decode(codes).audio_values
    assert audio.dtype == torch.bfloat16 and torch.isfinite(audio.float()).all()


def test_bad_input_gives_clear_errors():
    model = tiny_model()
    with pytest.raises(ValueError, match="NaN"):
        model.encode(torch.full((1, 2, 100), float("nan")))
    with pytest.raises(ValueError, match="codes 2 channel"):
        model.encode(torch.zeros(1, 1, 100))
    with pytest.raises(ValueError, match="empty"):
        model.encode(torch.zeros(1, 2, 0))
    with pytest.raises(ValueError, match=r"\[batch, 2 channels, samples\]"):
        model.encode(torch.zeros(2, 100))
    with pytest.raises(ValueError, match="list of 3 tensors"):
        model.decode([torch.zeros(1, 2, 4, dtype=torch.long)])
    with pytest.raises(ValueError, match=r"in \[0, 16\)"):
        model.decode([torch.full((1, 2, 4 * n), 16) for n in (4, 2, 1)])
    with pytest.raises(ValueError, match="coarsest frames"):
        model.decode([torch.zeros(1, 2, 5, dtype=torch.long)] * 3)


def test_config_validation_names_the_field():
    for field, value in [("level_ratios", [8, 12, 32]), ("codebook_size", 100), ("audio_channels", 3),
                         ("encoder_channels", [8]), ("level_branches", ["rhythmic", "melodic", "timbral"]),
                         ("ema_decay", 1.0), ("quantizer_dropout", 1.5), ("codebook_update", "kmeans")]:
        with pytest.raises(ValueError, match=field):
            tiny_config(**{field: value})


def test_feature_extractor_channels_padding_and_rate():
    extractor = HierarchicalCodecFeatureExtractor.from_model_config(tiny_config())
    assert extractor.hop_length == 32 and extractor.sampling_rate == RATE
    mono, stereo = np.linspace(-1, 1, 1000, dtype=np.float32), np.zeros((2, 700), dtype=np.float32)
    batch = extractor([mono, stereo], sampling_rate=RATE)
    assert tuple(batch["input_values"].shape) == (2, 2, 1024)
    assert torch.equal(batch["input_values"][0, 0, :1000], batch["input_values"][0, 1, :1000])  # duplicated
    assert batch["padding_mask"].sum(-1).tolist() == [1000, 700]
    assert batch["input_values"][1, :, 700:].abs().sum() == 0
    mono_extractor = HierarchicalCodecFeatureExtractor(feature_size=1, sampling_rate=RATE, hop_length=64)
    down = mono_extractor(np.stack([np.ones(100), -np.ones(100)]), sampling_rate=RATE)["input_values"]
    assert tuple(down.shape) == (1, 1, 128) and down.abs().max() == 0  # averaged to mono
    with pytest.raises(ValueError, match="44100 Hz but the codec works at 22050"):
        extractor(mono, sampling_rate=44100)
    resampled = extractor(np.zeros(44100, dtype=np.float32), sampling_rate=44100, resample=True)
    assert resampled["padding_mask"].sum() == RATE
    with pytest.raises(ValueError, match="transpose"):
        extractor(np.zeros((1000, 2)), sampling_rate=RATE)
    with pytest.raises(ValueError, match="NaN"):
        extractor(np.full(10, np.nan), sampling_rate=RATE)
    with pytest.raises(ValueError, match="empty"):
        extractor(np.zeros(0), sampling_rate=RATE)


def test_feature_extractor_output_encodes_like_the_clips(music):
    """A padded batch from the extractor encodes each clip's frames as the clip alone does, away from its end."""
    model = tiny_model()
    extractor = HierarchicalCodecFeatureExtractor.from_model_config(model.config)
    clips = [music[:, :6400], music[:, 1000:4200]]
    batch = extractor([c.numpy() for c in clips], sampling_rate=RATE)
    with torch.no_grad():
        codes = model.encode(batch["input_values"], padding_mask=batch["padding_mask"]).audio_codes
        alone = model.encode(clips[1][None]).audio_codes
        audio = model.decode(codes, padding_mask=batch["padding_mask"]).audio_values
    assert audio.shape == batch["input_values"].shape
    # the clip alone ends in convolution padding, in the batch in zeros: frames within the receptive field of the
    # end may differ, the others are equal
    margin = -(-model.encoder_receptive_field() // model.config.level_hops[0])
    frames = alone[0].shape[-1] - margin
    assert frames > 100
    assert torch.equal(codes[0][1, :, :frames], alone[0][0, :, :frames])


@pytest.mark.parametrize("length", [8192, 16384, 32768])
def test_default_codec_at_the_seeds_lengths(length):
    torch.manual_seed(0)
    model = HierarchicalCodecModel(HierarchicalCodecConfig()).eval()
    x = noise(1, length, seed=length)
    with torch.no_grad():
        codes = model.encode(x).audio_codes
        audio = model.decode(codes, length=length).audio_values
    coarse = -(-length // 1600)
    assert [c.shape[-1] for c in codes] == [4 * coarse, 2 * coarse, coarse]
    assert audio.shape == (1, 2, length) and torch.isfinite(audio).all()
