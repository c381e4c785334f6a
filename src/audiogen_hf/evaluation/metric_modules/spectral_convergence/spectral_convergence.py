"""Spectral convergence in dB of the STFT magnitudes (n_fft 2048, hop 512): 20 log10(||S - S_hat|| / ||S||), lower is
better; judges audio whose phase was estimated (Griffin-Lim).

An ``evaluate`` module shipped with audiogen_hf; computed by
``audiogen_hf.evaluation.hf_metrics.spectral_convergence``."""

import evaluate

from audiogen_hf.evaluation import hf_metrics


class SpectralConvergence(evaluate.Metric):
    def _info(self):
        return hf_metrics.audio_info(self, __doc__)

    def _compute(self, predictions, references, sampling_rate=None):
        return hf_metrics.spectral_convergence(predictions, references, sampling_rate=sampling_rate)
