"""The Jam Assistant objective: next-mel-frame LSTM on MUSDB mixtures (22.05 kHz, 7 s windows, as the seed)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch
from torch.utils.data import DataLoader

from ..audio.io import save_audio
from ..audio.spectrogram import SpectrogramConverter
from ..data.clips import cache_spectrograms, window_clips
from ..data.musdb import load_musdb
from ..evaluation import save_spectrogram_image
from ..models.mel_lstm import MelLSTMConfig, MelLSTMModel
from ..models.mel_lstm.configuration_mel_lstm import SPECTRAL_FEATURES
from ..pipelines.mel_continuation import MelContinuationPipeline


@dataclass
class MelLSTMArguments:
    """Data and model knobs of the seed (``n_mels``, ``target_log``, ``spectral_backward``)."""

    musdb_root: str = field(default="data/corpus/musdb", metadata={"help": "MUSDB18(-HQ) folder or the corpus."})
    sampling_rate: int = 22050
    clip_seconds: float = 7.0
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.1
    target_log: bool = True
    spectral_backward: bool = field(default=False, metadata={"help": "Back-propagate the spectral losses."})
    spectral_weight: float = 0.1
    num_proc: Optional[int] = None


class MelLSTMObjective:
    """``converter``: the mel analysis to use (a trained pipeline's, for evaluation); by default one is built from
    ``args``. The model's ``db_range`` is always the converter's ``norm_range``, so the two cannot disagree."""

    def __init__(self, args: MelLSTMArguments, converter: Optional[SpectrogramConverter] = None):
        self.args = args
        log = args.target_log
        self.converter = converter or SpectrogramConverter(
            sampling_rate=args.sampling_rate, n_fft=args.n_fft, hop_length=args.hop_length, mode="mel",
            n_mels=args.n_mels, scale="db" if log else "none", normalization="fixed" if log else "none",
        )

    def build_model(self) -> MelLSTMModel:
        a = self.args
        weights = {name: a.spectral_weight for name in SPECTRAL_FEATURES}
        return MelLSTMModel(MelLSTMConfig(
            n_mels=a.n_mels, hidden_size=a.hidden_size, num_layers=a.num_layers, dropout=a.dropout,
            target_log=a.target_log, db_range=tuple(self.converter.config.norm_range), sampling_rate=a.sampling_rate,
            spectral_loss_weights=weights if a.spectral_backward else None,
        ))

    def mels(self, subsets="train", split: Optional[str] = None):
        """Cached normalised mels ``spectrogram`` ``[1, n_mels, frames]`` of MUSDB mixture windows."""
        tracks = load_musdb(self.args.musdb_root, subsets=subsets, split=split, stems=["mixture"])
        clips = window_clips(tracks, self.args.clip_seconds, self.args.sampling_rate, channels=1,
                             num_proc=self.args.num_proc)
        cached = cache_spectrograms(clips, self.converter, audio_column="mixture", num_proc=self.args.num_proc)
        return cached.select_columns(["spectrogram"]).with_format("torch")

    def datasets(self):
        return self.mels(split="train"), self.mels(split="valid")

    @staticmethod
    def _frames(batch: dict) -> torch.Tensor:
        return batch["spectrogram"][:, 0].transpose(-1, -2)  # [batch, frames, n_mels]

    def compute_loss(self, model, batch) -> torch.Tensor:
        mels = self._frames(batch)
        return model(mels[:, :-1], labels=mels[:, 1:]).loss

    @torch.no_grad()
    def evaluate(self, model, dataloader: DataLoader, accelerator) -> dict:
        """Next-frame MSE and spectral-feature errors, averaged over the validation clips (all processes)."""
        rows = []
        for batch in dataloader:
            mels = self._frames(batch)
            predictions, labels = model(mels[:, :-1]).predictions, mels[:, 1:]
            errors = model.spectral_errors(predictions, labels)
            mse = ((predictions - labels) ** 2).mean(dim=(1, 2))
            rows.append(accelerator.gather_for_metrics(torch.stack([mse, *errors.values()], dim=1)))
        return dict(zip(["mse", *SPECTRAL_FEATURES], torch.cat(rows).mean(dim=0).tolist()))

    @torch.no_grad()
    def write_samples(self, model, dataset, count: int, directory: Path) -> list[Path]:
        """For the first ``count`` clips: target and next-frame prediction as Griffin-Lim ``.wav`` and one picture."""
        c, files = self.converter.config, []
        for index in range(min(count, len(dataset))):
            mels = dataset[index]["spectrogram"][0].T[None].to(model.device)  # [1, frames, n_mels]
            predicted = model.clamp_frames(model(mels[:, :-1]).predictions)  # next-frame predictions, in range
            pair = {"target": mels[0, 1:].T.cpu(), "prediction": predicted[0].T.float().cpu()}  # [n_mels, frames]
            for name, mel in pair.items():
                audio = self.converter.spectrogram_to_audio(mel)
                files.append(save_audio(directory / f"sample_{index}_{name}.wav", audio.clamp(-1, 1), c.sampling_rate))
            files.append(save_spectrogram_image(directory / f"sample_{index}.png", list(pair.values()),
                                                c.sampling_rate, c.hop_length,
                                                titles=[f"clip {index}: {n}" for n in pair], ylabel="mel band"))
        return files

    def card_data(self) -> dict:
        a = self.args
        return {
            "title": "Jam Assistant: mel-continuation LSTM",
            "description": (f"Predicts the next {a.n_mels}-band mel frame of music at {a.sampling_rate} Hz "
                            f"(n_fft {a.n_fft}, hop {a.hop_length}); load with `AutoModel.from_pretrained` after "
                            "`import audiogen_hf.models`, or the whole `MelContinuationPipeline` from `../pipeline`."),
            "data": f"MUSDB mixtures from `{a.musdb_root}` (train split), {a.clip_seconds} s windows.",
            "datasets": ["musdb18"],
        }

    def save(self, model, output_dir: Path) -> MelContinuationPipeline:
        model.save_pretrained(output_dir / "model")
        pipeline = MelContinuationPipeline(model=model, converter=self.converter)
        pipeline.save_pretrained(output_dir / "pipeline")
        return pipeline
