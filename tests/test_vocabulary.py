"""One name per idea across the public API, and artefacts saved under the old names still load."""

import inspect
import json

import torch

from audiogen_hf.audio import SpectrogramConverter, load_audio, save_audio
from audiogen_hf.evaluation import snr_db
from audiogen_hf.models import MelLSTMConfig
from audiogen_hf.pipelines import AudioAutoencoderPipeline, MelContinuationPipeline


def test_public_signatures_say_sampling_rate():
    for function in (load_audio, save_audio, SpectrogramConverter.__init__, MelLSTMConfig.__init__,
                     MelContinuationPipeline.__call__, AudioAutoencoderPipeline.__call__):
        names = inspect.signature(function).parameters
        assert "sample_rate" not in names and "n_iter" not in names and "mel_bins" not in names, function
    assert "griffin_lim_iters" in inspect.signature(SpectrogramConverter.spectrogram_to_audio).parameters


def test_converter_saved_with_sample_rate_loads(tmp_path):
    converter = SpectrogramConverter(sampling_rate=16000, n_fft=512, hop_length=128, n_mels=40)
    converter.save_pretrained(tmp_path)
    path = tmp_path / SpectrogramConverter.config_name
    config = json.loads(path.read_text())
    config["sample_rate"] = config.pop("sampling_rate")  # as written before the rename
    path.write_text(json.dumps(config))
    assert SpectrogramConverter.from_pretrained(tmp_path).config.sampling_rate == 16000


def test_mel_lstm_config_saved_with_sample_rate_loads():
    config = MelLSTMConfig.from_dict({"n_mels": 32, "sample_rate": 16000})
    assert config.sampling_rate == 16000 and not hasattr(config, "sample_rate")


def test_snr_db_per_waveform_and_whole_signal():
    reference = torch.tensor([[1.0, -1.0, 1.0, -1.0], [0.5, 0.5, -0.5, -0.5]])
    estimate = reference * torch.tensor([[0.9], [1.0]])  # error energy 0.04 in row 0, none in row 1
    per_row = snr_db(reference, estimate)
    assert per_row.dtype == torch.float32 and per_row.shape == (2,)
    assert abs(float(per_row[0]) - 20.0) < 1e-4 and torch.isinf(per_row[1])
    whole = snr_db(reference, estimate, dim=None)  # signal energy 5, error energy 0.04
    assert whole.dim() == 0 and abs(float(whole) - 10 * torch.log10(torch.tensor(5 / 0.04)).item()) < 1e-4
