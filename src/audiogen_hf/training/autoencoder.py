"""Objectives of the two spectrogram autoencoders: the GTZAN 2-D conv system and the MUSDB 1-D residual mel system."""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch
from torch.utils.data import DataLoader

from ..audio.io import resample, save_audio
from ..audio.spectrogram import SpectrogramConverter
from ..data.clips import cache_spectrograms, window_clips
from ..data.gtzan import load_gtzan
from ..data.musdb import load_musdb
from ..evaluation import metrics, save_spectrogram_image
from ..models import (
    MelAutoencoderConfig,
    MelAutoencoderModel,
    SpectrogramAutoencoderConfig,
    SpectrogramAutoencoderModel,
)
from ..pipelines import AudioAutoencoderPipeline


@dataclass
class VariationalArguments:
    variational: bool = field(default=False, metadata={"help": "Gaussian latent + KL, to sample from the prior."})
    kl_weight: float = 1e-3
    kl_warmup_steps: int = field(default=0, metadata={"help": "Training batches over which the KL weight rises."})
    num_proc: Optional[int] = None


@dataclass
class SpectrogramAutoencoderArguments(VariationalArguments):
    """The GTZAN system: min-max (per clip) normalised log-STFT, n_fft 512 / hop 256, ~3 s clips at 22.05 kHz."""

    gtzan_root: str = field(default="data/corpus/gtzan", metadata={"help": "GTZAN folder, corpus, or Hub id."})
    sampling_rate: int = 22050
    n_fft: int = 512
    hop_length: int = 256
    num_frames: int = 256
    channels: list[int] = field(default_factory=lambda: [32, 64, 128, 128])
    latent_dim: int = 128


@dataclass
class MelAutoencoderArguments(VariationalArguments):
    """The MUSDB system: 128 log-mels x 256 frames of 16 kHz audio (n_fft 1024, hop 320: ~5.1 s clips)."""

    musdb_root: str = field(default="data/corpus/musdb", metadata={"help": "MUSDB18(-HQ) folder or the corpus."})
    stem: str = field(default="mixture", metadata={"help": "mixture, drums, bass, other or vocals."})
    sampling_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 320
    n_mels: int = 128
    num_frames: int = 256
    hidden_channels: int = 256
    num_downsamples: int = 2
    num_residual_blocks: int = 2
    latent_channels: int = 128
    dropout: float = 0.1
    mel_l1_weight: float = 1.0


class AutoencoderObjective:
    """Shared by both systems: clips -> cached normalised spectrograms ``[1, bins, frames]``; reconstruction loss;
    validation metrics in the spectrogram domain plus wide-band PESQ of the audio a user hears (Griffin-Lim)."""

    audio_column = "audio"

    def __init__(self, args, converter: Optional[SpectrogramConverter] = None):
        self.args = args
        self.converter = converter or self.build_converter()
        self.clip_seconds = (args.num_frames - 1) * self.converter.config.hop_length / args.sampling_rate

    def sources(self, split: str):
        raise NotImplementedError

    def clips(self, split: str, keep_audio: bool = False):
        """``spectrogram`` ``[1, bins, num_frames]`` (+ ``spectrogram_stats``, and the ``audio`` if asked) per clip."""
        windows = window_clips(self.sources(split), self.clip_seconds, self.args.sampling_rate, channels=1,
                               audio_columns=[self.audio_column], num_proc=self.args.num_proc)
        cached = cache_spectrograms(windows, self.converter, audio_column=self.audio_column,
                                    num_proc=self.args.num_proc)
        columns = [c for c in cached.column_names if c.startswith("spectrogram")]
        return cached.select_columns(columns + ([self.audio_column] if keep_audio else [])).with_format("torch")

    def datasets(self):
        return self.clips("train"), self.clips("valid", keep_audio=True)

    def compute_loss(self, model, batch) -> torch.Tensor:
        spectrograms = batch["spectrogram"][:, 0]
        return model(spectrograms, labels=spectrograms).loss

    def _linear(self, normalised: torch.Tensor, stats: Optional[torch.Tensor]) -> torch.Tensor:
        """Normalised ``[batch, bins, frames]`` -> linear power (the converter's inverse scale)."""
        spec = self.converter.unscale(self.converter.denormalize(normalised, stats))
        return spec if self.converter.config.power == 2.0 else spec.square()

    @torch.no_grad()
    def evaluate(self, model, dataloader: DataLoader, accelerator) -> dict:
        """MSE, MAE and cosine similarity of the normalised spectrograms; spectral convergence (magnitudes) and
        log-spectral distance (power) in linear scale; PESQ (wide-band) of the Griffin-Lim audio, NaN-averaged."""
        pipeline = AudioAutoencoderPipeline(model=model, converter=self.converter)
        names = ["mse", "mae", "cosine_similarity", "spectral_convergence_db", "log_spectral_distance", "pesq"]
        rows = []
        for batch in dataloader:
            target = batch["spectrogram"][:, 0]
            stats = batch["spectrogram_stats"][:, 0] if "spectrogram_stats" in batch else None
            output = model(target)
            estimate = output.reconstruction.float()
            power, power_hat = self._linear(target, stats), self._linear(estimate, stats)
            audio = batch[self.audio_column][:, 0]
            heard = pipeline(audio, sampling_rate=self.args.sampling_rate, output_type="pt").audios
            pesq = torch.tensor(metrics.pesq_wideband(audio, heard, self.args.sampling_rate), device=target.device)
            row = torch.stack([
                metrics.mse(target, estimate), metrics.mae(target, estimate),
                metrics.cosine_similarity(target, estimate),
                metrics.spectral_convergence_db(power.sqrt(), power_hat.sqrt()),
                metrics.log_spectral_distance(power, power_hat), pesq,
            ], dim=1)
            rows.append(accelerator.gather_for_metrics(row))
        table = torch.cat(rows)
        results = dict(zip(names, table.nanmean(dim=0).tolist()))
        results["pesq_undefined"] = int(table[:, -1].isnan().sum())
        return results

    @torch.no_grad()
    def write_samples(self, model, dataset, count: int, directory: Path) -> list[Path]:
        """For the first ``count`` clips: original and reconstructed (Griffin-Lim) wavs and one picture of both."""
        pipeline = AudioAutoencoderPipeline(model=model, converter=self.converter)
        return [path for index in range(min(count, len(dataset)))
                for path in write_reconstruction(pipeline, dataset[index][self.audio_column][0],
                                                 self.args.sampling_rate, directory, f"sample_{index}")]

    def save(self, model, output_dir: Path) -> AudioAutoencoderPipeline:
        model.save_pretrained(output_dir / "model")
        pipeline = AudioAutoencoderPipeline(model=model, converter=self.converter)
        pipeline.save_pretrained(output_dir / "pipeline")
        return pipeline


def write_reconstruction(pipeline: AudioAutoencoderPipeline, audio: torch.Tensor, sampling_rate: int, directory: Path,
                         name: str, phase: str = "griffin_lim") -> list[Path]:
    """Reconstruct mono ``audio`` ``[samples]``; write ``<name>_original.wav``, ``<name>_reconstruction.wav`` and
    ``<name>.png`` (both spectrograms in the converter's scale) to ``directory``."""
    converter = pipeline.converter
    output = pipeline(audio, sampling_rate=sampling_rate, phase=phase, output_type="pt")
    audio = resample(audio, sampling_rate, output.sampling_rate) if sampling_rate != output.sampling_rate else audio
    analysed = converter.audio_to_spectrogram(audio)
    original = converter.denormalize(analysed.spectrogram, analysed.stats)
    rate, hop = output.sampling_rate, converter.config.hop_length
    return [
        save_audio(directory / f"{name}_original.wav", audio, rate),
        save_audio(directory / f"{name}_reconstruction.wav", output.audios[0].clamp(-1, 1), rate),
        save_spectrogram_image(directory / f"{name}.png", [original, output.spectrograms[0]], rate, hop,
                               titles=[f"{name}: original", "reconstruction"]),
    ]


class SpectrogramAutoencoderObjective(AutoencoderObjective):
    def build_converter(self) -> SpectrogramConverter:
        a = self.args
        return SpectrogramConverter(sampling_rate=a.sampling_rate, n_fft=a.n_fft, hop_length=a.hop_length,
                                    mode="linear", power=1.0, scale="db", top_db=80.0, normalization="per_clip")

    def sources(self, split: str):
        return load_gtzan(self.args.gtzan_root, split=split)

    def build_model(self) -> SpectrogramAutoencoderModel:
        a = self.args
        return SpectrogramAutoencoderModel(SpectrogramAutoencoderConfig(
            num_bins=self.converter.num_bins, num_frames=a.num_frames, channels=a.channels, latent_dim=a.latent_dim,
            variational=a.variational, kl_weight=a.kl_weight, kl_warmup_steps=a.kl_warmup_steps))

    def card_data(self) -> dict:
        a = self.args
        kind = "variational autoencoder" if a.variational else "autoencoder"
        return {
            "title": f"GTZAN spectrogram {kind} (2-D conv)",
            "description": (f"Encodes {self.clip_seconds:.2f} s of {a.sampling_rate} Hz audio as a per-clip min-max "
                            f"normalised log-STFT (n_fft {a.n_fft}, hop {a.hop_length}, {a.num_frames} frames) into "
                            f"{a.latent_dim} numbers. Load the `AudioAutoencoderPipeline` from `../pipeline`."),
            "data": f"GTZAN clips from `{a.gtzan_root}` (train split).",
            "datasets": ["marsyas/gtzan"],
        }


class MelAutoencoderObjective(AutoencoderObjective):
    def __init__(self, args, converter: Optional[SpectrogramConverter] = None):
        self.audio_column = args.stem
        super().__init__(args, converter)

    def build_converter(self) -> SpectrogramConverter:
        a = self.args
        return SpectrogramConverter(sampling_rate=a.sampling_rate, n_fft=a.n_fft, hop_length=a.hop_length, mode="mel",
                                    n_mels=a.n_mels, scale="db", normalization="fixed")

    def sources(self, split: str):
        return load_musdb(self.args.musdb_root, split=split, stems=[self.args.stem])

    def build_model(self) -> MelAutoencoderModel:
        a = self.args
        return MelAutoencoderModel(MelAutoencoderConfig(
            n_mels=a.n_mels, num_frames=a.num_frames, hidden_channels=a.hidden_channels,
            num_downsamples=a.num_downsamples, num_residual_blocks=a.num_residual_blocks,
            latent_channels=a.latent_channels, dropout=a.dropout, mel_l1_weight=a.mel_l1_weight,
            variational=a.variational, kl_weight=a.kl_weight, kl_warmup_steps=a.kl_warmup_steps))

    def card_data(self) -> dict:
        a = self.args
        kind = "variational autoencoder" if a.variational else "autoencoder"
        latent_frames = math.ceil(a.num_frames / 2**a.num_downsamples)
        return {
            "title": f"MUSDB mel {kind} (1-D residual conv)",
            "description": (f"Encodes {a.n_mels} log-mels x {a.num_frames} frames ({self.clip_seconds:.2f} s at "
                            f"{a.sampling_rate} Hz, n_fft {a.n_fft}, hop {a.hop_length}) into a "
                            f"{a.latent_channels} x {latent_frames} latent. Load the `AudioAutoencoderPipeline` from "
                            "`../pipeline`."),
            "data": f"MUSDB {a.stem} stems from `{a.musdb_root}` (train split).",
            "datasets": ["musdb18"],
        }
