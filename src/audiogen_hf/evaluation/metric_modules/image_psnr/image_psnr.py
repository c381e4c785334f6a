"""PSNR in dB (16-bit scale, peak 65535) of spectrogram PNG pairs given as file paths: per image and overall (the PSNR
of the mean squared error); inf when identical.

An ``evaluate`` module shipped with audiogen_hf; computed by ``audiogen_hf.evaluation.hf_metrics.image_psnr``."""

import datasets
import evaluate

from audiogen_hf.evaluation import hf_metrics


class SpectrogramImagePSNR(evaluate.Metric):
    def _info(self):
        path = datasets.Value("string")
        return evaluate.MetricInfo(description=__doc__, citation=hf_metrics.CITATION,
                                   inputs_description="predictions, references: paths of 16-bit spectrogram PNGs.",
                                   features=datasets.Features({"predictions": path, "references": path}))

    def _compute(self, predictions, references):
        return hf_metrics.image_psnr(predictions, references)
