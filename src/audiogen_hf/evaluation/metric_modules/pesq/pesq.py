"""Wide-band PESQ (ITU-T P.862.2, the pesq package) after resampling to 16 kHz, from about 1 (bad) to 4.64; NaN-
averaged, pesq_undefined counts music clips where PESQ finds no utterance. Needs the [metrics] extra.

An ``evaluate`` module shipped with audiogen_hf; computed by ``audiogen_hf.evaluation.hf_metrics.pesq``."""

import evaluate

from audiogen_hf.evaluation import hf_metrics


class WidebandPESQ(evaluate.Metric):
    def _info(self):
        return hf_metrics.audio_info(self, __doc__)

    def _compute(self, predictions, references, sampling_rate=None):
        return hf_metrics.pesq(predictions, references, sampling_rate=sampling_rate)
