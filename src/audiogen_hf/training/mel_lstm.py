"""The Jam Assistant objective: next-mel-frame LSTM on MUSDB mixtures (22.05 kHz, 7 s windows, as the seed)."""

import math
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
from ..evaluation.continuation import continuation_metrics, median_metrics
from ..logging_utils import get_logger
from ..models.mel_lstm import MelLSTMConfig, MelLSTMModel
from ..models.mel_lstm.configuration_mel_lstm import SPECTRAL_FEATURES
from ..pipelines.mel_continuation import MelContinuationPipeline

logger = get_logger(__name__)


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
    # what keeps the rollout alive (issue 15); the seed is output_distribution none, no noise, no rollouts
    output_distribution: str = field(default="none", metadata={"help": "none (MSE, the seed) or gaussian."})
    nll_weight: float = field(default=0.01, metadata={"help": "Gaussian NLL weight (output_distribution gaussian)."})
    nll_trains_mean: bool = field(default=True, metadata={
        "help": "Let the NLL's gradient reach the mean (False: MSE alone fits the mean, the NLL only the std)."})
    sampling_temperature: float = field(default=0.5, metadata={
        "help": "Default sampling temperature of the saved model."})
    level_control: float = field(default=0.0, metadata={"help": "Default level control of the saved model."})
    level_control_mode: str = field(default="overall", metadata={
        "help": "overall (one level) or band (each band's level: the prompt's envelope)."})
    level_control_frames: int = field(default=0, metadata={
        "help": "0: the level control pulls the mean of all generated frames; N: a moving average over about N "
                "frames, from the prompt's level, plus the gaps' integral (see MelLSTMConfig)."})
    sampling_noise_correlation: float = field(default=0.0, metadata={
        "help": "Frame-to-frame correlation of the sampling noise in generation (0: white; see MelLSTMConfig)."})
    input_noise_std: float = field(default=0.0, metadata={
        "help": "Std of Gaussian noise added to the teacher-forced input frames (not the targets) in training."})
    mark_generated_frames: bool = field(default=False, metadata={
        "help": "Tell the LSTM which input frames are its own (rollouts, generation) and which are real."})
    generation_adapter: bool = field(default=False, metadata={
        "help": "Run the model's own frames with learned weight offsets, so the rollouts train only those and the "
                "LSTM learns from real frames alone (see MelLSTMConfig)."})
    rollout_frames: int = field(default=0, metadata={
        "help": "Train on its own rollouts: the last N frames of each clip are also predicted free-running, each "
                "fed the model's own (sampled, detached) previous frame, against the real frames."})
    rollout_starts: int = field(default=1, metadata={
        "help": "Rollouts per clip, from this many teacher-forced states evenly spaced over the clip (the last "
                "rollout_frames before its end), run stacked on the batch."})
    rollout_weight: float = field(default=1.0, metadata={"help": "Weight of the rollout loss."})
    rollout_temperature: float = field(default=1.0, metadata={
        "help": "Temperature of the samples fed back in the training rollouts (Gaussian head)."})
    calibrate_temperatures: list[float] = field(default_factory=list, metadata={
        "help": "At the end of training, continue the validation windows at each of these temperatures and save "
                "the one whose flux ratio (every second) and band-pattern change are closest to the real music's as "
                "the model's sampling_temperature (empty: keep sampling_temperature)."})
    sampling_noise_db: Optional[float] = field(default=None, metadata={
        "help": "At the end of training, set sampling_temperature so that it times the std the model predicts for "
                "its own frames (read on the validation windows' music) is this many dB: the sampled variation, "
                "whatever scale a training run's std head settles at (None: keep sampling_temperature)."})
    continuation_prompt_seconds: float = field(default=5.0, metadata={"help": "Validation continuation prompt."})
    continuation_seconds: float = field(default=5.0, metadata={"help": "Validation continuation length."})
    continuation_clips: int = field(default=6, metadata={"help": "Validation continuations (0: none)."})

    def __post_init__(self):
        if self.rollout_frames < 0 or self.rollout_starts < 1:
            raise ValueError(f"rollout_frames must be >= 0 and rollout_starts >= 1, got {self.rollout_frames} and "
                             f"{self.rollout_starts}")
        if self.sampling_noise_db is not None and (self.sampling_noise_db <= 0 or self.calibrate_temperatures):
            raise ValueError(f"sampling_noise_db must be > 0 and not set with calibrate_temperatures (both choose the "
                             f"temperature), got {self.sampling_noise_db} and {self.calibrate_temperatures}")
        if self.generation_adapter and self.rollout_frames == 0:
            raise ValueError("generation_adapter needs rollout_frames > 0: its offsets learn only from the model's "
                             "own rollouts (set rollout_frames, e.g. 32, or generation_adapter false)")


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
            output_distribution=a.output_distribution, nll_weight=a.nll_weight, nll_trains_mean=a.nll_trains_mean,
            sampling_temperature=a.sampling_temperature, level_control=a.level_control,
            level_control_mode=a.level_control_mode, level_control_frames=a.level_control_frames,
            sampling_noise_correlation=a.sampling_noise_correlation, mark_generated_frames=a.mark_generated_frames,
            generation_adapter=a.generation_adapter,
        ))

    def mels(self, subsets="train", split: Optional[str] = None):
        """Cached normalised mels ``spectrogram`` ``[1, n_mels, frames]`` of MUSDB mixture windows."""
        tracks = load_musdb(self.args.musdb_root, subsets=subsets, split=split, stems=["mixture"])
        clips = window_clips(tracks, self.args.clip_seconds, self.args.sampling_rate, channels=1,
                             num_proc=self.args.num_proc)
        cached = cache_spectrograms(clips, self.converter, audio_column="mixture", num_proc=self.args.num_proc)
        return cached.select_columns(["spectrogram"]).with_format("torch")

    def datasets(self):
        if self.args.continuation_clips > 0:
            self.continuation_set = self.validation_continuation_windows()
        return self.mels(split="train"), self.mels(split="valid")

    def validation_continuation_windows(self):
        """The first ``continuation_clips`` continuation windows of the validation split (validation, calibration)."""
        windows = self.continuation_windows(split="valid")
        return windows.select(range(min(self.args.continuation_clips, len(windows))))

    def continuation_windows(self, subsets="train", split: Optional[str] = None, hop_seconds: Optional[float] = None):
        """Mono audio windows of prompt + continuation length (``mixture`` ``[1, samples]``), for continuations."""
        a = self.args
        tracks = load_musdb(a.musdb_root, subsets=subsets, split=split, stems=["mixture"])
        seconds = a.continuation_prompt_seconds + a.continuation_seconds
        return window_clips(tracks, seconds, self.converter.config.sampling_rate, channels=1, hop_seconds=hop_seconds,
                            pad_last=False, min_rms=1e-4, num_proc=a.num_proc).with_format("torch")

    @staticmethod
    def _frames(batch: dict) -> torch.Tensor:
        return batch["spectrogram"][:, 0].transpose(-1, -2)  # [batch, frames, n_mels]

    def parameter_groups(self, model) -> Optional[dict]:
        """With ``generation_adapter``: the weights (``model``, trained on real frames) and the offsets
        (``generation``, trained on the model's own rollouts) step with their own optimizers and gradient clipping,
        so the rollouts never scale the real frames' updates; otherwise one group."""
        unwrapped = getattr(model, "module", model)
        if not unwrapped.config.generation_adapter:
            return None
        offsets = list(unwrapped.generation_offsets.parameters())
        ids = {id(p) for p in offsets}
        return {"model": [p for p in unwrapped.parameters() if id(p) not in ids], "generation": offsets}

    def compute_loss(self, model, batch, group: Optional[str] = None) -> torch.Tensor:
        """Teacher-forced next-frame loss plus, with ``rollout_frames``, the rollout loss; with the generation
        adapter's two groups, ``group="model"`` is the first alone and ``group="generation"`` the second."""
        a = self.args
        mels = self._frames(batch)
        inputs, labels = mels[:, :-1], mels[:, 1:]
        if a.input_noise_std > 0:  # noise injection: learn to pull perturbed frames back to the music
            inputs = inputs + a.input_noise_std * torch.randn_like(inputs)
        starts = a.rollout_starts
        rollout = min(a.rollout_frames, (labels.shape[1] - 1) // starts)
        if rollout <= 0 or group == "model":
            return model(inputs, labels=labels).loss
        # teacher forcing over the clip in segments, keeping the state where each rollout starts...
        unwrapped = getattr(model, "module", model)
        frames = labels.shape[1]
        splits = [round((k + 1) * (frames - rollout) / starts) for k in range(starts)]  # the last: frames - rollout
        outputs, states, state = [], [], None
        for begin, end in zip([0, *splits], [*splits, frames]):
            outputs.append(model(inputs[:, begin:end], state=state))
            state = outputs[-1].state
            states.append(state)
        cat = lambda xs: None if xs[0] is None else torch.cat(xs, dim=1)  # noqa: E731
        predictions, scales = cat([o.predictions for o in outputs]), cat([o.scales for o in outputs])
        loss = 0.0
        if group is None:
            loss, _ = unwrapped.compute_loss(predictions, labels, scales)
        # ...and free-running from each of those states at once (stacked on the batch): each frame is the model's own
        # sample of the previous one
        state = tuple(torch.cat([s[i] for s in states[:starts]], dim=1) for i in range(2))  # [layers, starts*B, H]
        if unwrapped.config.generation_adapter:  # the rollout loss trains only the offsets, not the real frames' LSTM
            state = tuple(s.detach() for s in state)
        pick = lambda x, offset: None if x is None else torch.cat(  # noqa: E731
            [x[:, p + offset: p + offset + 1] for p in splits])  # [starts*B, 1, n_mels]
        frame, losses = type(outputs[0])(predictions=pick(predictions, -1), scales=pick(scales, -1)), []
        for index in range(rollout):
            fed = unwrapped.clamp_frames(unwrapped.sample_frames(frame, a.rollout_temperature)).detach()
            frame = model(fed, state=state, generated_frames=True)
            state = frame.state
            losses.append(unwrapped.compute_loss(frame.predictions, pick(labels, index), frame.scales)[0])
        return loss + a.rollout_weight * torch.stack(losses).mean()

    @torch.no_grad()
    def continuations(self, model, windows, temperature: Optional[float] = None, seed: int = 0,
                      griffin_lim_iters: int = 32, batch_size: int = 8,
                      level_control: Optional[float] = None, noise_scale: float = 0.0,
                      synthesize: bool = True) -> list[dict]:
        """Continue the first ``continuation_prompt_seconds`` of each window by ``continuation_seconds`` with the
        pipeline (sampled with a generator seeded ``seed``) and score it against the window's real continuation
        (``evaluation.continuation``); one dict per window. ``synthesize=False`` skips Griffin-Lim (no ``peak`` or
        ``loudness_db``)."""
        a, c = self.args, self.converter.config
        pipe = MelContinuationPipeline(model=model, converter=self.converter)
        rate = c.sampling_rate
        prompt_samples = round(a.continuation_prompt_seconds * rate)
        generator = torch.Generator(device="cpu").manual_seed(seed)
        frame_rate = rate / c.hop_length
        rows = []
        for start in range(0, len(windows), batch_size):
            audio = windows[start: start + batch_size]["mixture"][:, 0].to(model.device)
            prompt, real = audio[:, :prompt_samples], audio[:, prompt_samples:]
            out = pipe(prompt, sampling_rate=rate, duration_s=a.continuation_seconds, generator=generator,
                       temperature=temperature, level_control=level_control, noise_scale=noise_scale,
                       griffin_lim_iters=griffin_lim_iters, output_type="pt" if synthesize else "spectrogram")
            prompt_frames = self.converter.num_frames(prompt_samples)
            real_db = self.converter.denormalize(self.converter.audio_to_spectrogram(real).spectrogram)
            generated_db = out.spectrograms[:, :, prompt_frames:]  # dB
            frames = min(real_db.shape[-1], generated_db.shape[-1])
            for i in range(audio.shape[0]):
                audio_metrics = {} if not synthesize else {
                    "prompt_audio": prompt[i].cpu(), "generated_audio": out.audios[i, prompt_samples:].float().cpu(),
                    "real_audio": real[i].cpu()}
                rows.append(continuation_metrics(generated_db[i, :, :frames].float().cpu(),
                                                 real_db[i, :, :frames].float().cpu(), frame_rate, **audio_metrics))
        return rows

    @torch.no_grad()
    def calibrate_temperature(self, model, windows, temperatures: list) -> tuple[float, dict]:
        """The temperature (of ``temperatures``) whose continuations of ``windows`` move most like the real music:
        the smallest ``max_k |log flux_ratio_sk| + |log band_change_ratio|`` of the median metrics. Returns
        ``(temperature, {temperature: that error})``."""
        errors = {}
        for temperature in temperatures:
            summary = median_metrics(self.continuations(model, windows, temperature=temperature, synthesize=False))
            log_ratio = lambda k: abs(math.log(max(summary[k], 1e-6)))  # noqa: E731
            errors[temperature] = max(log_ratio(k) for k in summary if k.startswith("flux_ratio_s")) + \
                log_ratio("band_change_ratio")
        return min(errors, key=errors.get), errors

    @torch.no_grad()
    def evaluate(self, model, dataloader: DataLoader, accelerator) -> dict:
        """Next-frame MSE and spectral-feature errors, averaged over the validation clips (all processes), and the
        median continuation metrics of the validation continuation windows (``continuation/...``)."""
        metrics = self.next_frame_metrics(model, dataloader, accelerator)
        windows = getattr(self, "continuation_set", None)
        if windows is not None and len(windows):
            summary = median_metrics(self.continuations(model, windows))
            metrics.update({f"continuation/{k}": v for k, v in summary.items()})
        return metrics

    @torch.no_grad()
    def next_frame_metrics(self, model, dataloader: DataLoader, accelerator) -> dict:
        """Next-frame MSE and spectral-feature errors, averaged over the clips of ``dataloader`` (all processes)."""
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
            predicted = model.clamp_frames(model(mels[:, :-1]).predictions)  # next frames (Gaussian: the mean)
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

    @torch.no_grad()
    def own_frame_std_db(self, model, windows) -> float:
        """Mean std (dB) the Gaussian head predicts (in eval mode) when it reads the music of ``windows`` as its own
        frames."""
        audio = windows[:]["mixture"][:, 0].to(model.device)
        mels = self.converter.audio_to_spectrogram(audio).spectrogram.transpose(-1, -2)  # [windows, frames, n_mels]
        was_training = model.training
        scales = model.eval()(mels, generated_frames=True).scales
        model.train(was_training)
        if scales is None:
            raise ValueError("sampling_noise_db needs output_distribution='gaussian' (a predicted std)")
        low, high = model.config.db_range
        return float(scales.mean()) * (high - low)

    def save(self, model, output_dir: Path) -> MelContinuationPipeline:
        windows = getattr(self, "continuation_set", None)
        if self.args.sampling_noise_db is not None and windows is not None and len(windows):
            std_db = self.own_frame_std_db(model, windows)
            model.config.sampling_temperature = round(self.args.sampling_noise_db / std_db, 3)
            logger.info("sampling temperature %g: %g dB of sampled variation over the %.2f dB std the model predicts "
                        "for its own frames on %d validation windows", model.config.sampling_temperature,
                        self.args.sampling_noise_db, std_db, len(windows))
        if self.args.calibrate_temperatures and windows is not None and len(windows):
            best, errors = self.calibrate_temperature(model, windows, self.args.calibrate_temperatures)
            logger.info("sampling temperature %g chosen on %d validation windows (error per temperature: %s)", best,
                        len(windows), ", ".join(f"{t:g}: {e:.3f}" for t, e in errors.items()))
            model.config.sampling_temperature = best
        model.save_pretrained(output_dir / "model")
        pipeline = MelContinuationPipeline(model=model, converter=self.converter)
        pipeline.save_pretrained(output_dir / "pipeline")
        return pipeline
