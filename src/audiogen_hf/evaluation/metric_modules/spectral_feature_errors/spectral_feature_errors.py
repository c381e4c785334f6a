"""Mean absolute errors of the spectral centroid and bandwidth (units of Nyquist), flatness and entropy of the STFT
magnitudes: the Jam Assistant's spectral metrics.

An ``evaluate`` module shipped with audiogen_hf; computed by
``audiogen_hf.evaluation.hf_metrics.spectral_feature_errors``."""

import evaluate

from audiogen_hf.evaluation import hf_metrics


class SpectralFeatureErrors(evaluate.Metric):
    def _info(self):
        return hf_metrics.audio_info(self, __doc__)

    def _compute(self, predictions, references, sampling_rate=None):
        return hf_metrics.spectral_feature_errors(predictions, references, sampling_rate=sampling_rate)
