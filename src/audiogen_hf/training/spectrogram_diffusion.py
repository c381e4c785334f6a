"""Objective of the genre-conditioned spectrogram diffusion: noise-prediction MSE on GTZAN-layout log-mel clips.

Clips of ``num_frames`` frames (``(num_frames - 1) * hop_length / sampling_rate`` seconds) are cut from every file of
the split with half-clip hops, turned into fixed-range normalised dB mels by the converter, and scaled to [-1, 1].
The genre (folder name) is the class; labels are dropped to the null genre at ``condition_dropout`` so one model
serves classifier-free guidance. Validation: the denoising MSE at seeded noise, plus one clip and its picture per
genre (DDIM, ``validation_inference_steps``).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel

from ..audio.io import save_audio
from ..audio.spectrogram import SpectrogramConverter
from ..data.clips import cache_spectrograms, window_clips
from ..data.gtzan import load_gtzan
from ..evaluation import save_spectrogram_image
from ..logging_utils import get_logger
from ..pipelines.spectrogram_diffusion import MelDiffusionPipeline

logger = get_logger(__name__)


@dataclass
class SpectrogramDiffusionArguments:
    gtzan_root: str = field(default="data/corpus/gtzan", metadata={"help": "GTZAN folder, corpus, or Hub id."})
    sampling_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 64
    num_frames: int = 128
    norm_range: list[float] = field(default_factory=lambda: [-80.0, 40.0])
    block_out_channels: list[int] = field(default_factory=lambda: [32, 64, 64])
    layers_per_block: int = 1
    norm_num_groups: int = 8
    class_conditional: bool = True
    condition_dropout: float = 0.1
    num_train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    validation_inference_steps: int = 25
    guidance_scale: float = 2.0
    num_proc: Optional[int] = None

    def __post_init__(self):
        for name in ("n_mels", "num_frames"):
            if getattr(self, name) % 2 ** (len(self.block_out_channels) - 1):
                raise ValueError(f"{name} must be divisible by 2 ** (len(block_out_channels) - 1) = "
                                 f"{2 ** (len(self.block_out_channels) - 1)}, got {getattr(self, name)}")
        if not 0.0 <= self.condition_dropout < 1.0:
            raise ValueError(f"condition_dropout must be in [0, 1), got {self.condition_dropout}")


class SpectrogramDiffusionObjective:
    def __init__(self, args: SpectrogramDiffusionArguments):
        self.args = args
        self.converter = SpectrogramConverter(sampling_rate=args.sampling_rate, n_fft=args.n_fft,
                                              hop_length=args.hop_length, mode="mel", n_mels=args.n_mels, scale="db",
                                              normalization="fixed", norm_range=tuple(args.norm_range))
        self.scheduler = DDPMScheduler(num_train_timesteps=args.num_train_timesteps, beta_schedule=args.beta_schedule)
        self.clip_seconds = (args.num_frames - 1) * args.hop_length / args.sampling_rate
        self.genres: Optional[list] = None

    def clips(self, split: str):
        """``spectrogram`` ``[1, n_mels, num_frames]`` in [0, 1] and ``label`` per clip (torch format)."""
        sources = load_gtzan(self.args.gtzan_root, split=split)
        if self.genres is None:
            self.genres = sources.features["label"].names
        windows = window_clips(sources, self.clip_seconds, self.args.sampling_rate, channels=1,
                               hop_seconds=self.clip_seconds / 2, num_proc=self.args.num_proc)
        cached = cache_spectrograms(windows, self.converter, audio_column="audio", num_proc=self.args.num_proc)
        return cached.select_columns(["spectrogram", "label"]).with_format("torch")

    def datasets(self):
        train = self.clips("train")
        try:
            valid = self.clips("valid")
        except FileNotFoundError as error:  # a small corpus may keep no valid files: validate on its test split
            logger.warning("%s: validating on the test split instead", error)
            valid = self.clips("test")
        return train, valid

    def build_model(self) -> UNet2DModel:
        a = self.args
        depth = len(a.block_out_channels)
        return UNet2DModel(sample_size=(a.n_mels, a.num_frames), in_channels=1, out_channels=1,
                           block_out_channels=tuple(a.block_out_channels), layers_per_block=a.layers_per_block,
                           down_block_types=("DownBlock2D",) * depth, up_block_types=("UpBlock2D",) * depth,
                           norm_num_groups=a.norm_num_groups,
                           num_class_embeds=len(self.genres) + 1 if a.class_conditional else None)

    def _inputs(self, batch) -> torch.Tensor:
        return batch["spectrogram"][..., : self.args.num_frames] * 2 - 1

    def compute_loss(self, model, batch) -> torch.Tensor:
        clean = self._inputs(batch)
        noise = torch.randn_like(clean)
        steps = torch.randint(0, self.scheduler.config.num_train_timesteps, (len(clean),), device=clean.device)
        labels = None
        if self.args.class_conditional:
            drop = torch.rand(len(clean), device=clean.device) < self.args.condition_dropout
            labels = torch.where(drop, torch.full_like(batch["label"], len(self.genres)), batch["label"])
        prediction = model(self.scheduler.add_noise(clean, noise, steps), steps, class_labels=labels).sample
        return F.mse_loss(prediction.float(), noise.float())

    @torch.no_grad()
    def evaluate(self, model, dataloader, accelerator) -> dict:
        generator = torch.Generator().manual_seed(1234)
        losses = []
        for batch in dataloader:
            clean = self._inputs(batch)
            noise = torch.randn(clean.shape, generator=generator).to(clean)
            steps = torch.randint(0, self.scheduler.config.num_train_timesteps, (len(clean),),
                                  generator=generator).to(clean.device)
            labels = batch["label"] if self.args.class_conditional else None
            prediction = model(self.scheduler.add_noise(clean, noise, steps), steps, class_labels=labels).sample
            losses.append(accelerator.gather_for_metrics(((prediction.float() - noise) ** 2).mean(dim=(1, 2, 3))))
        return {"loss": float(torch.cat(losses).mean())}

    def pipeline(self, model) -> MelDiffusionPipeline:
        pipe = MelDiffusionPipeline(unet=model, scheduler=self.scheduler, converter=self.converter,
                                            genres=self.genres if self.args.class_conditional else None)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    @torch.no_grad()
    def write_samples(self, model, dataset, count: int, directory: Path) -> list[Path]:
        """One DDIM clip (``.wav``) and its picture per genre (``count`` clips when unconditional)."""
        pipe = self.pipeline(model)
        pipe.scheduler = DDIMScheduler.from_config(self.scheduler.config)
        return write_genre_clips(pipe, directory, self.args.validation_inference_steps, self.args.guidance_scale,
                                 count=count)

    def save(self, model, output_dir: Path) -> MelDiffusionPipeline:
        model.save_pretrained(output_dir / "model")
        pipe = self.pipeline(model)
        pipe.save_pretrained(output_dir / "pipeline")
        return pipe

    def card_data(self) -> dict:
        a = self.args
        return {
            "title": "Genre-conditioned spectrogram diffusion (GTZAN layout)",
            "description": (f"diffusers UNet2DModel (block_out_channels {a.block_out_channels}) denoising "
                            f"{a.n_mels} dB mels x {a.num_frames} frames ({self.clip_seconds:.2f} s at "
                            f"{a.sampling_rate} Hz, hop {a.hop_length}); genres {self.genres}. Load "
                            "`MelDiffusionPipeline` from `../pipeline`; audio through Griffin-Lim."),
            "data": f"GTZAN-layout clips from `{a.gtzan_root}` (train split).",
            "datasets": ["marsyas/gtzan"],
        }


def write_genre_clips(pipe: MelDiffusionPipeline, directory: Path, num_inference_steps: int,
                      guidance_scale: float, count: int = 1, seed: int = 0) -> list[Path]:
    """``<genre>.wav`` + ``<genre>.png`` for every genre of ``pipe`` (or ``sample_<i>`` for an unconditional one)."""
    directory = Path(directory)
    genres = pipe.genres or [None] * max(count, 1)
    output = pipe(genre=genres, num_samples=len(genres), num_inference_steps=num_inference_steps,
                  guidance_scale=guidance_scale if pipe.genres else 1.0,
                  generator=torch.Generator().manual_seed(seed), output_type="pt")
    files = []
    hop = pipe.converter.config.hop_length
    for index, genre in enumerate(genres):
        name = genre or f"sample_{index}"
        files.append(save_audio(directory / f"{name}.wav", output.audios[index], output.sampling_rate))
        files.append(save_spectrogram_image(directory / f"{name}.png", output.spectrograms[index],
                                            output.sampling_rate, hop, titles=f"generated: {name} (dB mel)",
                                            ylabel="mel band"))
    return files
