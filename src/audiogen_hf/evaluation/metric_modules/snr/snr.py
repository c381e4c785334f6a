"""Waveform signal-to-noise ratio in dB (inf where identical); only meaningful where the phase is kept.

An ``evaluate`` module shipped with audiogen_hf; computed by ``audiogen_hf.evaluation.hf_metrics.snr``."""

import evaluate

from audiogen_hf.evaluation import hf_metrics


class SignalToNoiseRatio(evaluate.Metric):
    def _info(self):
        return hf_metrics.audio_info(self, __doc__)

    def _compute(self, predictions, references, sampling_rate=None):
        return hf_metrics.snr(predictions, references, sampling_rate=sampling_rate)
