"""The one table of generation tasks: each entry is an ``audiogen <name>`` command and a tab of the web app.

A task names the pipeline class it runs (the ``_class_name`` of a saved ``model_index.json``; ``None`` for tasks
that need no model), whether it takes an input recording, its options (command-line flags and app sliders), and
a ``run`` function returning a ``TaskResult`` (audio, a spectrogram for the picture, metrics). Adding a pipeline's
command and tab is one ``Task(...)`` entry and its ``run`` function.
"""

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np


@dataclass(frozen=True)
class Option:
    """One option: ``--name`` on the command line, a slider / number box in the app."""

    name: str
    type: type
    default: object
    help: str
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    step: Optional[float] = None
    choices: tuple = ()


@dataclass
class TaskResult:
    """``audio``: mono ``[samples]`` float32; ``spectrogram``: ``[bins, frames]`` (log scale) for the picture;
    ``metrics``: numbers and texts to show; ``extra_audio``: more clips (e.g. further samples)."""

    audio: np.ndarray
    sampling_rate: int
    spectrogram: Optional[np.ndarray] = None
    spectrogram_label: str = "bin"
    hop_length: int = 512
    metrics: dict = field(default_factory=dict)
    extra_audio: list = field(default_factory=list)


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    help: str
    pipeline: Optional[str]
    needs_audio: bool
    options: tuple
    run: Callable
    available: Callable = lambda pipe: True  # e.g. sampling needs a variational model
    unavailable_reason: str = ""


SEED = Option("seed", int, 0, "random seed (for sampling / noise)", 0, 2**31 - 1, 1)
GRIFFIN_LIM = Option("griffin_lim_iters", int, 32, "Griffin-Lim iterations (phase estimation)", 4, 256, 4)
GENRE = Option("genre", str, "", "genre name, one of the model's (empty: every genre in turn / none)")
DIFFUSION_STEPS = Option("num_inference_steps", int, 50, "denoising steps", 2, 1000, 1)
GUIDANCE = Option("guidance_scale", float, 2.0, "classifier-free guidance towards the genre (1: none)", 1.0, 10.0,
                  0.5)
NUM_SAMPLES = Option("num_samples", int, 1, "how many clips", 1, 16, 1)
SCHEDULER = Option("scheduler", str, "ddim", "ddim (few steps), or the saved (trained) scheduler",
                   choices=("ddim", "saved"))


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().float().numpy() if hasattr(x, "detach") else np.asarray(x, dtype=np.float32)


def run_continue(pipe, audio, sampling_rate, seconds=5.0, temperature=-1.0, noise_scale=0.0, seed=0,
                 griffin_lim_iters=32, progress=None):
    """Continue the recording by ``seconds`` (``temperature`` < 0: the model's own); metrics compare the spectra of
    its end and of the continuation."""
    import torch

    from ..evaluation import hf_metrics

    generator = torch.Generator().manual_seed(int(seed))
    out = pipe(audio, sampling_rate=sampling_rate, duration_s=float(seconds), noise_scale=float(noise_scale),
               temperature=None if float(temperature) < 0 else float(temperature), generator=generator,
               griffin_lim_iters=int(griffin_lim_iters), output_type="pt")
    rate = out.sampling_rate
    result = _numpy(out.audios[0])
    prompt_samples = result.shape[-1] - math.ceil(float(seconds) * rate / pipe.converter.config.hop_length) * \
        pipe.converter.config.hop_length
    span = min(prompt_samples, result.shape[-1] - prompt_samples)
    metrics = {"prompt_seconds": round(prompt_samples / rate, 3),
               "continuation_seconds": round((result.shape[-1] - prompt_samples) / rate, 3)}
    if span >= rate // 4:
        errors = hf_metrics.spectral_feature_errors([result[prompt_samples: prompt_samples + span]],
                                                    [result[prompt_samples - span: prompt_samples]], rate)
        metrics.update({f"continuation_vs_prompt_{k}": round(v, 4) for k, v in errors.items()})
    return TaskResult(result, rate, _numpy(out.spectrograms[0]), "mel band (dB)", pipe.converter.config.hop_length,
                      metrics)


def run_reconstruct(pipe, audio, sampling_rate, phase="griffin_lim", griffin_lim_iters=32, progress=None):
    """Reconstruct the recording; metrics: PESQ (wide-band), spectral convergence and log-spectral distance."""
    from ..audio import resample
    from ..evaluation import hf_metrics

    if phase == "input" and pipe.converter.config.mode != "linear":
        phase = "griffin_lim"  # mel models cannot carry the input phase
    out = pipe(audio, sampling_rate=sampling_rate, phase=phase, griffin_lim_iters=int(griffin_lim_iters),
               output_type="pt")
    rate = out.sampling_rate
    reference = resample(audio, sampling_rate, rate) if sampling_rate != rate else audio
    estimate = out.audios[0]
    pairs = ([_numpy(estimate)], [_numpy(reference)])
    metrics = {**hf_metrics.spectral_convergence(*pairs, sampling_rate=rate),
               **hf_metrics.log_spectral_distance(*pairs, sampling_rate=rate)}
    try:
        metrics.update(hf_metrics.pesq(*pairs, sampling_rate=rate))
    except ImportError as error:  # the [metrics] extra is optional
        metrics["pesq_wb"] = f"unavailable ({error})"
    metrics = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()}
    return TaskResult(_numpy(estimate), rate, _numpy(out.spectrograms[0]), "bin", pipe.converter.config.hop_length,
                      metrics)


def run_sample(pipe, audio=None, sampling_rate=None, num_samples=1, seed=0, griffin_lim_iters=32, progress=None):
    """Decode latents drawn from the prior of a variational autoencoder."""
    import torch

    out = pipe(num_samples=int(num_samples), generator=torch.Generator().manual_seed(int(seed)),
               griffin_lim_iters=int(griffin_lim_iters), output_type="pt")
    audios = [_numpy(a) for a in out.audios]
    return TaskResult(audios[0], out.sampling_rate, _numpy(out.spectrograms[0]), "bin",
                      pipe.converter.config.hop_length,
                      {"samples": len(audios), "seconds": round(audios[0].shape[-1] / out.sampling_rate, 3)},
                      extra_audio=audios[1:])


def run_images(pipe, audio, sampling_rate, size=0, bpm=True, clap_model="", progress=None):
    """Audio -> 16-bit spectrogram PNGs -> audio: the decoded audio, the magnitude picture, SNR / PSNR, the BPM
    and the caption the dataset builder would write."""
    import torch

    from ..audio.spectrogram_images import SpectrogramImageConfig, audio_to_images, images_to_audio
    from ..evaluation import compare_spectrogram_images
    from ..evaluation import metrics as library_metrics

    config = SpectrogramImageConfig(size=int(size) or None)
    waveform = torch.as_tensor(audio, dtype=torch.float32)[None]
    images = audio_to_images(waveform, sampling_rate, config, track="upload")
    decoded, rate = images_to_audio(images)
    again = audio_to_images(decoded.clamp(-1, 1), rate, config, track="upload")
    comparison = compare_spectrogram_images(images, again)
    metrics = {"images": len(images), "snr_db": round(float(library_metrics.snr_db(waveform, decoded, dim=None)), 2),
               "average_psnr_db": round(comparison.average_psnr, 2)}
    tempo = None
    if bpm:
        try:
            from ..captioning import estimate_tempo

            tempo = round(estimate_tempo(waveform, sampling_rate).bpm, 1)
            metrics["bpm"] = tempo
        except ImportError as error:
            metrics["bpm"] = f"unavailable ({error})"
    caption = f"{int(round(tempo))} BPM." if tempo and math.isfinite(tempo) else ""
    if clap_model:
        from ..captioning import ClapTagger

        caption, _ = ClapTagger(clap_model).caption(waveform, sampling_rate, bpm=tempo)
    metrics["caption"] = caption or "(no caption: no tagger, no tempo)"
    # the picture: the red channel (dB magnitude, 16 bit) of the slices side by side, low frequencies at the bottom
    magnitude = np.concatenate([image.pixels[::-1, :, 0] for image in images], axis=1).astype(np.float32)
    low, high = images[0].metadata["db_min"], images[0].metadata["db_max"]
    magnitude = low + magnitude / 65535.0 * (high - low)
    return TaskResult(_numpy(decoded[0]), rate, magnitude, "STFT bin (dB)", config.hop_length, metrics)


def run_codec(pipe, audio, sampling_rate, num_quantizers=0, progress=None):
    """Compress and decompress through the neural codec; metrics: the real bitrate of the ``.agc`` bitstream,
    SI-SDR, spectral convergence and log-spectral distance of the mono mix at the codec's rate."""
    import torch

    from ..audio import SpectrogramConverter, resample, to_mono
    from ..evaluation import hf_metrics

    out = pipe(audio, sampling_rate=sampling_rate, num_quantizers=int(num_quantizers) or None, output_type="pt")
    rate = out.sampling_rate
    decoded = to_mono(out.audios[0])  # [samples]
    reference = resample(torch.as_tensor(audio), sampling_rate, rate) if sampling_rate != rate else audio
    reference = torch.as_tensor(reference)[..., : decoded.shape[-1]]
    pairs = ([_numpy(decoded)], [_numpy(reference)])
    metrics = {"bitrate_kbps": out.bitrate[0] / 1000, "compression_ratio": out.compression_ratio[0],
               **hf_metrics.si_sdr(*pairs), **hf_metrics.spectral_convergence(*pairs, sampling_rate=rate),
               **hf_metrics.log_spectral_distance(*pairs, sampling_rate=rate)}
    converter = SpectrogramConverter(sampling_rate=rate, n_fft=2048, hop_length=512, mode="mel", n_mels=128)
    picture = converter.audio_to_spectrogram(decoded.float()).spectrogram
    return TaskResult(_numpy(decoded), rate, _numpy(picture), "mel band (dB)", 512,
                      {k: round(float(v), 4) for k, v in metrics.items()})


def _diffuse(pipe, scheduler: str, **call):
    """Run the diffusion pipeline with ``scheduler`` (``ddim``: a DDIM copy of the saved schedule; ``saved``: as
    trained), leaving the pipeline's own scheduler in place."""
    from diffusers import DDIMScheduler

    saved = pipe.scheduler
    if scheduler == "ddim" and not isinstance(saved, DDIMScheduler):
        pipe.scheduler = DDIMScheduler.from_config(saved.config)
    try:
        return pipe(**call)
    finally:
        pipe.scheduler = saved


def _diffusion_result(pipe, out, metrics: dict) -> TaskResult:
    audios = [_numpy(a) for a in out.audios]
    metrics = {**metrics, "samples": len(audios), "seconds": round(audios[0].shape[-1] / out.sampling_rate, 3)}
    return TaskResult(audios[0], out.sampling_rate, _numpy(out.spectrograms[0]), "mel band (dB)",
                      pipe.converter.config.hop_length, metrics, extra_audio=audios[1:])


def run_generate(pipe, audio=None, sampling_rate=None, genre="", num_samples=1, num_inference_steps=50,
                 guidance_scale=2.0, scheduler="ddim", seed=0, progress=None):
    """New clips of a genre from a spectrogram diffusion model (``MelDiffusionPipeline``)."""
    import torch

    genre = str(genre).strip() or None
    conditional = bool(pipe.genres)
    if genre is None and conditional:  # no genre asked: the genres in turn
        genre = [pipe.genres[i % len(pipe.genres)] for i in range(int(num_samples))]
    out = _diffuse(pipe, scheduler, genre=genre, num_samples=int(num_samples),
                   num_inference_steps=int(num_inference_steps),
                   guidance_scale=float(guidance_scale) if conditional else 1.0,
                   generator=torch.Generator().manual_seed(int(seed)), output_type="pt")
    names = genre if isinstance(genre, list) else [genre] * int(num_samples)
    return _diffusion_result(pipe, out, {"genres": ", ".join(str(g) for g in names if g) or "(unconditional)",
                                         "known_genres": ", ".join(pipe.genres) or "(unconditional model)"})


def run_vary(pipe, audio, sampling_rate, genre="", strength=0.5, num_samples=1, num_inference_steps=50,
             guidance_scale=2.0, scheduler="ddim", seed=0, progress=None):
    """Variations of the recording's opening (one model clip long): its spectrogram noised to ``strength``, then
    denoised towards ``genre``."""
    import torch

    genre = str(genre).strip() or None
    out = _diffuse(pipe, scheduler, genre=genre, num_samples=int(num_samples), audio=audio,
                   sampling_rate=sampling_rate, strength=float(strength), num_inference_steps=int(num_inference_steps),
                   guidance_scale=float(guidance_scale) if genre is not None else 1.0,
                   generator=torch.Generator().manual_seed(int(seed)), output_type="pt")
    return _diffusion_result(pipe, out, {"strength": float(strength), "genre": genre or "(none)"})


def _is_variational(pipe) -> bool:
    return bool(getattr(pipe.model.config, "variational", False))


TASKS = {task.name: task for task in [
    Task("continue", "Jam continuation", "continue a recording with a Jam Assistant (MelContinuationPipeline)",
         "MelContinuationPipeline", True,
         (Option("seconds", float, 5.0, "seconds of continuation", 0.5, 30.0, 0.5),
          Option("temperature", float, -1.0, "sampling temperature of a Gaussian-head model (0: the deterministic "
                 "mean; below 0: the model's own)"),
          Option("noise_scale", float, 0.0, "noise added to each predicted frame (0: deterministic)", 0.0, 0.5, 0.01),
          SEED, GRIFFIN_LIM), run_continue),
    Task("reconstruct", "Autoencoder reconstruction",
         "reconstruct a recording through a spectrogram autoencoder (AudioAutoencoderPipeline)",
         "AudioAutoencoderPipeline", True,
         (Option("phase", str, "griffin_lim", "griffin_lim, or input (reuse the input's STFT phase, linear models)",
                 choices=("griffin_lim", "input")),
          GRIFFIN_LIM), run_reconstruct),
    Task("sample", "Autoencoder samples", "sample new audio from a variational autoencoder's prior",
         "AudioAutoencoderPipeline", False,
         (NUM_SAMPLES, SEED, GRIFFIN_LIM), run_sample,
         available=_is_variational, unavailable_reason="the model is not variational (train with --variational true)"),
    Task("roundtrip", "Neural codec",
         "compress and decompress a recording with the neural codec (AudioCodecPipeline)",
         "AudioCodecPipeline", True,
         (Option("num_quantizers", int, 0, "quantizers per level, the bitrate (0: all)", 0, 32, 1),), run_codec),
    Task("generate", "Genre music",
         "generate new clips of a genre with spectrogram diffusion (MelDiffusionPipeline)",
         "MelDiffusionPipeline", False,
         (GENRE, NUM_SAMPLES, DIFFUSION_STEPS, GUIDANCE, SCHEDULER,
          SEED), run_generate),
    Task("vary", "Music variations",
         "make variations of a recording's opening with spectrogram diffusion (MelDiffusionPipeline)",
         "MelDiffusionPipeline", True,
         (GENRE, Option("strength", float, 0.5, "how far from the input: the share of the noise schedule "
                        "(1: ignore the input)", 0.05, 1.0, 0.05),
          NUM_SAMPLES, DIFFUSION_STEPS, GUIDANCE, SCHEDULER, SEED),
         run_vary),
    Task("images", "Spectrogram images", "audio -> 16-bit spectrogram PNGs -> audio, with SNR/PSNR, BPM, caption",
         None, True,
         (Option("size", int, 0, "resize slices to SIZE x SIZE (0: native 1025, lossless)", 0, 1024, 64),
          Option("bpm", bool, True, "estimate the tempo (beat tracking)"),
          Option("clap_model", str, "", "CLAP model folder / Hub id for tag captions (empty: none)")), run_images),
]}


def tasks_for(pipeline) -> list[Task]:
    """The tasks a loaded pipeline can run (by its class name), available or not."""
    return [t for t in TASKS.values() if t.pipeline is not None and t.pipeline == type(pipeline).__name__]


def save_picture(result: TaskResult, path=None, title: str = "") -> Path:
    """The result's spectrogram as a PNG picture (matplotlib); a temporary file unless ``path``."""
    import torch

    from ..evaluation import save_spectrogram_image

    path = Path(path) if path else Path(tempfile.mkdtemp(prefix="audiogen_")) / "spectrogram.png"
    return save_spectrogram_image(path, torch.as_tensor(result.spectrogram), result.sampling_rate,
                                  result.hop_length, titles=title, ylabel=result.spectrogram_label)
