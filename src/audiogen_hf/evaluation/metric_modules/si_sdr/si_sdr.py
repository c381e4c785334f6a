"""Scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019), means removed.

An ``evaluate`` module shipped with audiogen_hf; computed by ``audiogen_hf.evaluation.hf_metrics.si_sdr``."""

import evaluate

from audiogen_hf.evaluation import hf_metrics


class ScaleInvariantSDR(evaluate.Metric):
    def _info(self):
        return hf_metrics.audio_info(self, __doc__)

    def _compute(self, predictions, references, sampling_rate=None):
        return hf_metrics.si_sdr(predictions, references, sampling_rate=sampling_rate)
