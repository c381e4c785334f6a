"""The hierarchical codec's GAN objective: reconstruction (time, multi-resolution STFT, multi-scale mel, MFCC),
the seed's music losses, VQ losses, and adversarial + feature-matching terms from a discriminator trained as a
second parameter group; loss weights follow a step curriculum.

The engine trains one module: ``CodecGAN`` holds the codec, the discriminator and the step counter of the
curriculum (a buffer), so ``save_state`` / ``load_state`` restore all of them (plus both optimizers, schedulers,
EMA and RNG states) and a GAN run resumes exactly. Data: random stereo 44.1 kHz crops of MUSDB-layout stems and/or
an audio folder (the corpus's ``music/``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import soundfile as sf
import torch
from safetensors.torch import save_file
from torch import nn
from torch.utils.data import Dataset

from ..audio.io import resample, save_audio
from ..evaluation import save_spectrogram_image
from ..evaluation.codec import mel_distance, perplexity, si_sdr
from ..losses import (
    MFCCLoss,
    MultiResolutionSTFTLoss,
    MultiScaleMelLoss,
    MusicLoss,
    TimeDomainLoss,
    build_discriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
    mel_magnitude,
)
from ..models.hierarchical_codec import (
    HierarchicalCodecConfig,
    HierarchicalCodecFeatureExtractor,
    HierarchicalCodecModel,
)
from ..pipelines.audio_codec.pipeline_audio_codec import AudioCodecPipeline

STEMS = ("mixture", "drums", "bass", "other", "vocals")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


@dataclass
class CodecArguments:
    """Data, codec, losses, discriminator and curriculum of the hierarchical codec recipe."""

    data_root: str = field(default="data/corpus", metadata={
        "help": "The offline corpus (uses musdb/ and music/ when present), a MUSDB folder ({train,test}/<track>/"
                "<stem>.wav) or an audio folder ({train,test}/*.flac|wav)."})
    stems: list[str] = field(default_factory=lambda: list(STEMS), metadata={"help": "MUSDB stems to crop from."})
    use_music_folder: bool = field(default=True, metadata={"help": "Also crop from <data_root>/music when present."})
    crop_samples: int = field(default=32768, metadata={"help": "Samples per training crop (0.74 s at 44.1 kHz)."})
    crops_per_epoch: int = 20000
    valid_crops: int = 8
    valid_crop_samples: int = 88200
    min_rms: float = field(default=1e-3, metadata={"help": "Crops quieter than this are redrawn (up to 8 times)."})
    # codec
    sampling_rate: int = 44100
    audio_channels: int = 2
    encoder_strides: list[int] = field(default_factory=lambda: [10, 5])
    encoder_channels: list[int] = field(default_factory=lambda: [32, 128])
    level_ratios: list[int] = field(default_factory=lambda: [8, 16, 32])
    level_channels: int = 192
    codebook_size: int = 256
    num_quantizers: int = 2
    codebook_dim: int = 64
    codebook_ema_decay: float = 0.99
    dead_code_threshold: float = 2.0
    quantizer_dropout: float = 0.5
    commitment_loss_weight: float = 0.25
    # reconstruction losses
    l1_weight: float = 1.0
    l2_weight: float = 0.0
    stft_weight: float = 1.0
    mel_weight: float = 1.0
    mel_window_lengths: list[int] = field(default_factory=lambda: [32, 64, 128, 256, 512, 1024, 2048])
    mel_n_mels: list[int] = field(default_factory=lambda: [5, 10, 20, 40, 80, 160, 320])
    mfcc_weight: float = 0.5
    harmonic_weight: float = 0.5
    rhythmic_weight: float = 0.5
    timbral_weight: float = 0.5
    # adversarial
    discriminator: str = field(default="hybrid", metadata={"help": "multi_scale, multi_resolution_stft or hybrid."})
    adversarial_loss: str = field(default="hinge", metadata={"help": "hinge or least_squares."})
    discriminator_channels: int = 16
    discriminator_scales: int = 3
    discriminator_fft_sizes: list[int] = field(default_factory=lambda: [2048, 1024, 512])
    discriminator_learning_rate: Optional[float] = field(default=None, metadata={"help": "None: learning_rate."})
    adversarial_weight: float = 1.0
    feature_matching_weight: float = 2.0
    # curriculum (in optimizer steps)
    adversarial_start_step: int = field(default=0, metadata={"help": "Adversarial terms (and D training) begin."})
    adversarial_ramp_steps: int = field(default=0, metadata={"help": "Their weight then rises linearly to full."})
    music_start_step: int = 0
    music_ramp_steps: int = 0

    def __post_init__(self):
        for name in ("crop_samples", "crops_per_epoch", "valid_crops", "valid_crop_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("adversarial_start_step", "adversarial_ramp_steps", "music_start_step", "music_ramp_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        unknown = sorted(set(self.stems) - set(STEMS))
        if unknown or not self.stems:
            raise ValueError(f"stems must be a non-empty subset of {STEMS}, got {self.stems}")


def ramp(step: int, start: int, length: int) -> float:
    """Curriculum weight: 0 before ``start``, then rising linearly to 1 over ``length`` steps (1 at once if 0)."""
    if step < start:
        return 0.0
    return 1.0 if length == 0 else min(1.0, (step - start + 1) / length)


def find_sources(root, split: str, stems, use_music_folder: bool = True) -> list[Path]:
    """Audio files of ``split`` (``train``/``test``) under a corpus, a MUSDB folder or an audio folder."""
    root = Path(root).expanduser()
    musdb = root / "musdb" if (root / "musdb").is_dir() else root
    files = sorted(p for track in sorted((musdb / split).glob("*")) if track.is_dir()
                   for p in (track / f"{s}.wav" for s in stems) if p.is_file())
    folders = [root / "music" / split] if use_music_folder and (root / "music").is_dir() else []
    if not files and not folders:
        folders = [root / split]
    for folder in folders:
        files += sorted(p for p in folder.glob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise FileNotFoundError(
            f"no {split} audio under {root}: expected the offline corpus (make corpus; musdb/{split}/<track>/"
            f"<stem>.wav and/or music/{split}/*.flac), a MUSDB18-HQ folder or an audio folder with {split}/")
    return files


class RandomCrops(Dataset):
    """``count`` stereo crops of ``crop_samples`` at ``sampling_rate``; crop ``i`` is a deterministic function of
    ``(seed, i)`` (file ``i mod files``, offset drawn from a generator seeded with both), so a resumed run reads
    the same data. Quiet crops (RMS < ``min_rms``) are redrawn. Items: ``{"audio": [channels, crop_samples]}``."""

    def __init__(self, files, crop_samples: int, count: int, sampling_rate: int = 44100, channels: int = 2,
                 seed: int = 0, min_rms: float = 1e-3, fixed: bool = False):
        self.files, self.crop, self.count, self.rate = list(files), crop_samples, count, sampling_rate
        self.channels, self.seed, self.min_rms, self.fixed = channels, seed, min_rms, fixed
        self.infos = [sf.info(str(p)) for p in self.files]

    def __len__(self) -> int:
        return self.count

    def _read(self, index: int, start: int) -> torch.Tensor:
        info = self.infos[index]
        frames = math.ceil(self.crop * info.samplerate / self.rate)
        data, _ = sf.read(str(self.files[index]), start=start, frames=frames, dtype="float32", always_2d=True)
        audio = torch.from_numpy(np.ascontiguousarray(data.T))
        if info.samplerate != self.rate:
            audio = resample(audio, info.samplerate, self.rate)
        if audio.shape[0] != self.channels:  # mono files duplicated to stereo; stereo averaged for a mono codec
            audio = audio.mean(0, keepdim=True).expand(self.channels, -1).contiguous()
        return torch.nn.functional.pad(audio, (0, max(0, self.crop - audio.shape[-1])))[:, : self.crop]

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, i])
        index = i % len(self.files)
        audio = None
        for attempt in range(8):
            info = self.infos[index]
            need = math.ceil(self.crop * info.samplerate / self.rate)
            if self.fixed and attempt == 0:  # evenly spread crops through the file
                slot = i // len(self.files)
                start = int((info.frames - need) * (0.5 + slot) / max(1, math.ceil(self.count / len(self.files))))
            else:
                start = int(rng.integers(0, max(1, info.frames - need)))
            audio = self._read(index, max(0, start))
            if audio.square().mean().sqrt() >= self.min_rms:
                break
            index = int(rng.integers(0, len(self.files)))
        return {"audio": audio}


class CodecGAN(nn.Module):
    """What the engine trains: ``codec`` (generator), ``discriminator`` and the curriculum ``step`` buffer."""

    def __init__(self, codec: HierarchicalCodecModel, discriminator: nn.Module):
        super().__init__()
        self.codec, self.discriminator = codec, discriminator
        self.register_buffer("step", torch.zeros((), dtype=torch.long))


def _unwrap(model: nn.Module) -> CodecGAN:
    return getattr(model, "module", model)


class CodecObjective:
    """The GAN objective for ``HierarchicalCodecModel``: groups ``generator`` (the codec) then ``discriminator``.

    Each step the generator group encodes, quantises and decodes the crops and minimises
    ``reconstruction + music(step) + VQ + adversarial(step) x (generator + feature matching)``; the discriminator
    group then scores the real crops against those (detached) reconstructions. Before ``adversarial_start_step``
    the discriminator gets a zero loss (no update: its weight decay is 0).
    """

    def __init__(self, args: CodecArguments):
        self.args = a = args
        rate = a.sampling_rate
        self.time_loss = TimeDomainLoss(a.l1_weight, a.l2_weight)
        self.stft_loss = MultiResolutionSTFTLoss(rate)
        self.mel_loss = MultiScaleMelLoss(rate, a.mel_window_lengths, a.mel_n_mels)
        self.mfcc_loss = MFCCLoss(rate)
        self.music_loss = MusicLoss(rate, a.harmonic_weight, a.rhythmic_weight, a.timbral_weight)
        self._fake = None
        self.last_terms: dict = {}

    # ------------------------------------------------------------------ model
    def codec_config(self) -> HierarchicalCodecConfig:
        a = self.args
        return HierarchicalCodecConfig(
            sampling_rate=a.sampling_rate, audio_channels=a.audio_channels, encoder_strides=a.encoder_strides,
            encoder_channels=a.encoder_channels, level_ratios=a.level_ratios, level_channels=a.level_channels,
            codebook_size=a.codebook_size, num_quantizers=a.num_quantizers, codebook_dim=a.codebook_dim,
            ema_decay=a.codebook_ema_decay, dead_code_threshold=a.dead_code_threshold,
            quantizer_dropout=a.quantizer_dropout,
            commitment_loss_weight=a.commitment_loss_weight)

    def build_model(self) -> CodecGAN:
        a = self.args
        discriminator = build_discriminator(a.discriminator, a.sampling_rate, a.audio_channels, a.discriminator_scales,
                                            a.discriminator_fft_sizes, a.discriminator_channels)
        return CodecGAN(HierarchicalCodecModel(self.codec_config()), discriminator)

    def parameter_groups(self, model: nn.Module) -> dict:
        gan = _unwrap(model)
        spec = {"params": gan.discriminator.parameters(), "weight_decay": 0.0}
        if self.args.discriminator_learning_rate is not None:
            spec["lr"] = self.args.discriminator_learning_rate
        return {"generator": gan.codec.parameters(), "discriminator": spec}

    # ------------------------------------------------------------------- data
    def datasets(self):
        a = self.args
        train = RandomCrops(find_sources(a.data_root, "train", a.stems, a.use_music_folder), a.crop_samples,
                            a.crops_per_epoch, a.sampling_rate, a.audio_channels, seed=0, min_rms=a.min_rms)
        valid_files = find_sources(a.data_root, "test", ["mixture"], a.use_music_folder)
        valid = RandomCrops(valid_files, a.valid_crop_samples, a.valid_crops, a.sampling_rate, a.audio_channels,
                            seed=1, min_rms=a.min_rms, fixed=True)
        return train, valid

    # ------------------------------------------------------------------- loss
    def weights(self, step: int) -> dict:
        a = self.args
        return {"adversarial": ramp(step, a.adversarial_start_step, a.adversarial_ramp_steps),
                "music": ramp(step, a.music_start_step, a.music_ramp_steps)}

    def reconstruction_terms(self, estimate: torch.Tensor, target: torch.Tensor, music: float) -> dict:
        a = self.args
        terms = {"time": self.time_loss(estimate, target)}
        for name, weight, loss in (("stft", a.stft_weight, self.stft_loss), ("mel", a.mel_weight, self.mel_loss),
                                   ("mfcc", a.mfcc_weight, self.mfcc_loss)):
            if weight:
                terms[name] = weight * loss(estimate, target)
        if music and any(self.music_loss.weights.values()):
            terms["music"] = music * self.music_loss(estimate, target)
        return terms

    def compute_loss(self, model: nn.Module, batch: dict, group: str = "generator") -> torch.Tensor:
        gan, a = _unwrap(model), self.args
        real = batch["audio"]
        weights = self.weights(int(gan.step))
        if group == "generator":
            output = gan.codec(real)
            fake = output.audio_values
            terms = self.reconstruction_terms(fake, real, weights["music"])
            terms["vq"] = a.commitment_loss_weight * output.commitment_loss + output.codebook_loss
            if weights["adversarial"]:
                with torch.no_grad():
                    real_out = gan.discriminator(real)
                fake_out = gan.discriminator(fake)
                terms["adversarial"] = weights["adversarial"] * a.adversarial_weight * generator_loss(
                    fake_out.logits, a.adversarial_loss)
                terms["feature_matching"] = weights["adversarial"] * a.feature_matching_weight * \
                    feature_matching_loss(real_out.feature_maps, fake_out.feature_maps)
            self._fake = fake.detach()
            self.last_terms = {k: float(v.detach()) for k, v in terms.items()}
            return sum(terms.values())
        if group != "discriminator":
            raise ValueError(f"unknown parameter group {group!r}")
        gan.step += 1
        if not weights["adversarial"] or self._fake is None:
            return sum(p.sum() for p in gan.discriminator.parameters()) * 0.0
        fake, self._fake = self._fake, None
        return discriminator_loss(gan.discriminator(real).logits, gan.discriminator(fake).logits, a.adversarial_loss)

    # ------------------------------------------------------------- validation
    def bitrates(self, codec: HierarchicalCodecModel) -> list[int]:
        return list(range(1, codec.config.num_quantizers + 1))

    @torch.no_grad()
    def evaluate(self, model, dataloader, accelerator) -> dict:
        """Per number of quantizers ``q``: payload kbps, mel distance (DAC 7-scale), SI-SDR; per level: codebook
        perplexity (all quantizers) and the fraction of dead codes (EMA usage under the restart threshold)."""
        codec = _unwrap(model).codec
        rate, results, codes = codec.config.sampling_rate, {}, {}
        for q in self.bitrates(codec):
            rows = []
            for batch in dataloader:
                real = batch["audio"]
                out = codec(real, num_quantizers=q)
                rows += [(mel_distance(r, f, rate), si_sdr(r, f)) for r, f in zip(real, out.audio_values)]
                if q == codec.config.num_quantizers:
                    for level, c in enumerate(out.audio_codes):
                        codes.setdefault(level, []).append(c.flatten())
            table = torch.tensor(rows, dtype=torch.float64, device=accelerator.device)
            table = accelerator.gather_for_metrics(table).mean(dim=0).tolist()
            results[f"q{q}_kbps"] = codec.config.bitrate(q) / 1000
            results[f"q{q}_mel_distance"], results[f"q{q}_si_sdr"] = table
        for level, parts in codes.items():
            results[f"level{level}_perplexity"] = perplexity(torch.cat(parts), codec.config.codebook_size)
            threshold = codec.config.dead_code_threshold
            if threshold > 0 and hasattr(codec.quantizers[level].quantizers[0], "cluster_size"):
                vqs = codec.quantizers[level].quantizers
                dead = [float((vq.cluster_size < threshold).float().mean()) for vq in vqs]
                results[f"level{level}_dead_codes"] = sum(dead) / len(dead)
        return results

    @torch.no_grad()
    def write_samples(self, model, dataset, count: int, directory: Path) -> list[Path]:
        """Per clip: the original and its reconstruction at each bitrate (wav), and one picture of their log-mels."""
        codec, files = _unwrap(model).codec, []
        rate = codec.config.sampling_rate
        for index in range(min(count, len(dataset))):
            real = dataset[index]["audio"]
            files.append(save_audio(directory / f"sample_{index}_original.wav", real, rate))
            pictures, titles = [self._log_mel(real)], [f"sample {index}: original"]
            for q in self.bitrates(codec):
                fake = codec(real[None], num_quantizers=q).audio_values[0].float().clamp(-1, 1)
                kbps = codec.config.bitrate(q) / 1000
                files.append(save_audio(directory / f"sample_{index}_{kbps:.2f}kbps.wav", fake, rate))
                pictures.append(self._log_mel(fake))
                titles.append(f"reconstruction, {q} quantizer(s)/level = {kbps:.2f} kbps, "
                              f"mel distance {mel_distance(real, fake, rate):.2f}")
            files.append(save_spectrogram_image(directory / f"sample_{index}.png", pictures, rate, 512, titles,
                                                ylabel="mel band"))
        return files

    def _log_mel(self, audio: torch.Tensor) -> torch.Tensor:
        mel = mel_magnitude(audio.float().mean(0), self.args.sampling_rate, 2048, 512, 128)
        return 20 * mel.clamp_min(1e-5).log10()

    # ------------------------------------------------------------------- save
    def save(self, model, output_dir: Path) -> AudioCodecPipeline:
        gan = _unwrap(model)
        codec = gan.codec
        codec.save_pretrained(output_dir / "model")
        save_file({k: v.contiguous() for k, v in gan.discriminator.state_dict().items()},
                  str(output_dir / "discriminator.safetensors"))
        pipeline = AudioCodecPipeline(codec, HierarchicalCodecFeatureExtractor.from_model_config(codec.config))
        pipeline.save_pretrained(output_dir / "pipeline")
        return pipeline

    def card_data(self) -> dict:
        a = self.args
        config = self.codec_config()
        return {
            "title": "Hierarchical neural audio codec (44.1 kHz stereo, GAN-trained)",
            "description": (f"{config.num_levels}-level residual VQ codec, {a.num_quantizers} x {a.codebook_size}-"
                            f"entry codebooks per level: {config.bitrate() / 1000:.2f} kbps at full rate. "
                            f"Losses: time, multi-resolution STFT, multi-scale mel, MFCC, music (harmonic / "
                            f"rhythmic / timbral), VQ; {a.discriminator} discriminator ({a.adversarial_loss}) with "
                            "feature matching. Load the `AudioCodecPipeline` from `../pipeline`."),
            "data": f"random {a.crop_samples}-sample stereo crops of `{a.data_root}` (train split).",
            "datasets": ["musdb18"],
        }
