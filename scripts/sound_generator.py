"""The seed's SoundGenerator: pick N random clips of real audio, reconstruct them with a trained autoencoder pipeline,
and write original and generated wavs side by side with their spectrogram pictures (and, for a variational model,
``--num_samples`` clips sampled from the prior).

    python scripts/sound_generator.py --model outputs/spectrogram_autoencoder_gtzan/pipeline \
        --data_dir data/corpus/gtzan --num_clips 4 --output_dir outputs/sound_generator

Writes ``clip_<i>_{original,reconstruction}.wav`` + ``clip_<i>.png``, ``prior_<i>.wav`` + ``prior_<i>.png`` and
``metrics.json`` (per-clip wide-band PESQ and spectral convergence of the reconstruction).
"""

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import HfArgumentParser

from audiogen_hf.audio import AudioLoadError, audio_info, load_audio, save_audio
from audiogen_hf.evaluation import audio_spectral_convergence_db, pesq_wideband, save_spectrogram_image
from audiogen_hf.pipelines import AudioAutoencoderPipeline
from audiogen_hf.training.autoencoder import write_reconstruction

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3"}


@dataclass
class SoundGeneratorArguments:
    model: str = field(default="outputs/spectrogram_autoencoder_gtzan/pipeline", metadata={"help": "Pipeline folder."})
    data_dir: str = field(default="data/corpus/gtzan", metadata={"help": "Folder searched recursively for audio."})
    pattern: str = field(default="*", metadata={"help": "File name pattern, e.g. mixture.wav for MUSDB."})
    num_clips: int = 4
    num_samples: int = field(default=0, metadata={"help": "Clips sampled from the prior (variational models)."})
    seed: int = 0
    phase: str = field(default="griffin_lim", metadata={"help": "griffin_lim, or input (linear models)."})
    output_dir: str = "outputs/sound_generator"


def main(argv=None) -> dict:
    (args,) = HfArgumentParser(SoundGeneratorArguments).parse_args_into_dataclasses(args=argv)
    pipe = AudioAutoencoderPipeline.from_pretrained(args.model)
    rate, hop = pipe.converter.config.sampling_rate, pipe.converter.config.hop_length
    clip_seconds = (pipe.model.spectrogram_shape[1] - 1) * hop / rate
    files = sorted(p for p in Path(args.data_dir).rglob(args.pattern) if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise SystemExit(f"no audio files matching {args.pattern!r} under {args.data_dir}")
    chooser, output_dir, report = random.Random(args.seed), Path(args.output_dir), {}
    for index in range(args.num_clips):
        path = chooser.choice(files)
        try:
            duration = audio_info(path).duration
            offset = chooser.uniform(0, max(0.0, duration - clip_seconds))
            audio, _ = load_audio(path, sampling_rate=rate, channels=1, offset=offset, duration=clip_seconds)
        except AudioLoadError as error:
            print(f"skipping {path}: {error}")
            continue
        name = f"clip_{index}"
        write_reconstruction(pipe, audio[0], rate, output_dir, name, phase=args.phase)
        heard, _ = load_audio(output_dir / f"{name}_reconstruction.wav")
        report[name] = {"source": str(path), "offset_s": round(offset, 3),
                        "pesq_wb": pesq_wideband(audio[0], heard[0], rate)[0],
                        "spectral_convergence_db": audio_spectral_convergence_db(audio[0], heard[0], rate)}
        print(name, report[name])
    if args.num_samples:
        generator = torch.Generator().manual_seed(args.seed)
        sampled = pipe(num_samples=args.num_samples, generator=generator, output_type="pt")
        for index, (audio, spec) in enumerate(zip(sampled.audios, sampled.spectrograms)):
            save_audio(output_dir / f"prior_{index}.wav", audio.clamp(-1, 1), rate)
            save_spectrogram_image(output_dir / f"prior_{index}.png", spec, rate, hop, titles=f"prior sample {index}")
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {len(report)} clip pairs and {args.num_samples} prior samples to {output_dir}")
    return report


if __name__ == "__main__":
    main()
