"""The metrics as `evaluate` modules shipped with the package: loadable offline by path, combinable, and equal to
the library's own functions on real music."""

import math

import numpy as np
import pytest
import torch

from audiogen_hf.evaluation import audio_spectral_convergence_db, metrics, pesq_wideband
from audiogen_hf.evaluation.hf_metrics import available_metrics, combine_metrics, load_metric, metric_path

RATE = 22050


@pytest.fixture(scope="module")
def pair(music):
    """A real clip and a degraded copy (noise + a gain), mono [samples] each."""
    reference = music[0, : 2 * RATE]
    generator = torch.Generator().manual_seed(0)
    estimate = 0.8 * reference + 0.02 * torch.randn(reference.shape, generator=generator)
    return reference, estimate


def test_every_module_loads_offline_by_path_and_matches_the_library(pair, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reference, estimate = pair
    assert set(available_metrics()) == {"spectral_convergence", "log_spectral_distance", "snr", "si_sdr", "pesq",
                                        "spectral_feature_errors", "image_psnr"}
    import evaluate

    kwargs = dict(predictions=[estimate.numpy()], references=[reference.numpy()], sampling_rate=RATE)
    sc = evaluate.load(metric_path("spectral_convergence")).compute(**kwargs)["spectral_convergence_db"]
    assert sc == pytest.approx(audio_spectral_convergence_db(reference, estimate, RATE), abs=1e-6)
    assert load_metric("snr").compute(**kwargs)["snr_db"] == pytest.approx(float(metrics.snr_db(reference, estimate)),
                                                                           abs=1e-4)
    si_sdr = load_metric("si_sdr").compute(**kwargs)["si_sdr_db"]
    assert si_sdr == pytest.approx(float(metrics.si_sdr_db(reference, estimate)), abs=1e-4)
    # SI-SDR ignores the 0.8 gain that SNR counts as error
    assert si_sdr > float(metrics.snr_db(reference, estimate)) + 3
    assert load_metric("pesq").compute(**kwargs)["pesq_wb"] == pytest.approx(
        pesq_wideband(reference, estimate, RATE)[0], abs=1e-6, nan_ok=True)
    lsd = load_metric("log_spectral_distance").compute(**kwargs)["log_spectral_distance"]
    assert 0 < lsd < 20


def test_combine_and_bad_inputs(pair):
    reference, estimate = pair
    combined = combine_metrics(["spectral_convergence", "log_spectral_distance", "si_sdr", "spectral_feature_errors"])
    same = combined.compute(predictions=[reference.numpy()], references=[reference.numpy()], sampling_rate=RATE)
    worse = combined.compute(predictions=[estimate.numpy()], references=[reference.numpy()], sampling_rate=RATE)
    assert set(same) == {"spectral_convergence_db", "log_spectral_distance", "si_sdr_db", "centroid_error",
                         "bandwidth_error", "flatness_error", "entropy_error"}
    assert same["spectral_convergence_db"] < -100 and same["centroid_error"] == 0
    assert same["log_spectral_distance"] == 0
    assert worse["spectral_convergence_db"] > -40 and worse["log_spectral_distance"] > 0
    with pytest.raises(ValueError, match="same length"):
        load_metric("snr").compute(predictions=[estimate[:-5].numpy()], references=[reference.numpy()])
    with pytest.raises(ValueError, match="unknown metric 'fid'"):
        metric_path("fid")


def test_image_psnr_module_equals_the_compare_report(tmp_path, pair):
    from audiogen_hf.audio.spectrogram_images import audio_to_images, write_spectrogram_image
    from audiogen_hf.evaluation import compare_spectrogram_images

    reference, estimate = pair
    for name, audio in (("ref", reference), ("est", estimate)):
        for image in audio_to_images(audio[None], RATE, track="clip"):
            write_spectrogram_image(tmp_path / name / f"{image.metadata['slice']}.png", image)
    refs, ests = sorted((tmp_path / "ref").glob("*.png")), sorted((tmp_path / "est").glob("*.png"))
    result = load_metric("image_psnr").compute(predictions=[str(p) for p in ests], references=[str(p) for p in refs])
    report = compare_spectrogram_images(tmp_path / "ref", tmp_path / "est")
    assert result["psnr_db"] == pytest.approx(report.average_psnr, abs=1e-6)
    identical = load_metric("image_psnr").compute(predictions=[str(refs[0])], references=[str(refs[0])])
    assert math.isinf(identical["psnr_db"]) and np.isfinite(result["psnr_db"])
