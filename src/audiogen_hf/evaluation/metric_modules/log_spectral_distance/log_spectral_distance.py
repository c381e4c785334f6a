"""Log-spectral distance in dB of the STFT power spectra (n_fft 2048, hop 512): the RMS over bins of the dB difference,
averaged over frames; lower is better.

An ``evaluate`` module shipped with audiogen_hf; computed by
``audiogen_hf.evaluation.hf_metrics.log_spectral_distance``."""

import evaluate

from audiogen_hf.evaluation import hf_metrics


class LogSpectralDistance(evaluate.Metric):
    def _info(self):
        return hf_metrics.audio_info(self, __doc__)

    def _compute(self, predictions, references, sampling_rate=None):
        return hf_metrics.log_spectral_distance(predictions, references, sampling_rate=sampling_rate)
