"""The `make demo` job: summarise the offline real-music corpus, draw one spectrogram picture per dataset, train a
small Jam Assistant and continue a real recording with it, and train the two spectrogram autoencoders (GTZAN 2-D,
MUSDB mel 1-D) and reconstruct a held-out real recording with each (wavs, pictures, PESQ and spectral convergence),
and turn a real corpus track into 16-bit spectrogram images with captions and back to audio, with a PSNR report,
train a small genre-conditioned spectrogram diffusion model and generate one clip (and picture) per genre,
and train a small hierarchical neural codec and compress a held-out real recording to a .agc file and back.

    python scripts/demo.py --corpus_dir data/corpus --output_dir outputs/demo
"""

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import HfArgumentParser

from audiogen_hf.audio import SpectrogramConverter, load_audio, save_audio
from audiogen_hf.audio.spectrogram_images import SpectrogramImageConfig, audio_to_images, images_to_audio
from audiogen_hf.captioning import CaptionModelUnavailableError, ClapTagger
from audiogen_hf.data import load_gtzan, load_musdb
from audiogen_hf.data.image_dataset import build_image_dataset
from audiogen_hf.evaluation import (
    audio_spectral_convergence_db,
    compare_spectrogram_images,
    pesq_wideband,
    save_comparison_pictures,
    save_spectrogram_image,
    snr_db,
)
from audiogen_hf.evaluation.continuation import continuation_goals, continuation_metrics
from audiogen_hf.pipelines import AudioAutoencoderPipeline, MelContinuationPipeline
from audiogen_hf.training import OBJECTIVES, TrainingArguments, parse_config, read_config, train
from audiogen_hf.training.autoencoder import write_reconstruction
from audiogen_hf.training.spectrogram_diffusion import write_genre_clips

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@dataclass
class DemoArguments:
    corpus_dir: str = "data/corpus"
    output_dir: str = "outputs/demo"


def converter(name: str) -> SpectrogramConverter:
    path = CONFIGS / "spectrogram" / f"{name}.json"
    return SpectrogramConverter.from_config(SpectrogramConverter.load_config(str(path)))


def musdb_report(root: Path, output_dir: Path) -> dict:
    mel = converter("musdb_mel")
    tracks = load_musdb(root, subsets=["train", "test"], stems=["mixture", "other"],
                        sampling_rate=mel.config.sampling_rate)
    print(f"\nMUSDB18-HQ layout at {root}: {len(tracks)} tracks (decoded at {mel.config.sampling_rate} Hz)")
    rows = []
    for row in tracks:
        samples = row["mixture"].get_all_samples()
        rows.append({"name": row["name"], "subset": row["subset"], "seconds": round(samples.duration_seconds, 2),
                     "channels": samples.data.shape[0]})
        print(f"  {row['subset']:5s} {row['name']:36s} {samples.duration_seconds:6.1f} s  {samples.data.shape[0]} ch")
    # Picture: the first real recording (a Muldjord song: backing + guitar) as a 128-mel dB spectrogram.
    index = next((i for i, name in enumerate(tracks["name"]) if name.startswith("Muldjord")), 0)
    row = tracks[index]
    stems = {stem: row[stem].get_samples_played_in_range(0.0, 10.0).data[0] for stem in ("mixture", "other")}
    picture = save_spectrogram_image(
        output_dir / "musdb_mel.png", [mel.audio_to_spectrogram(audio).spectrogram for audio in stems.values()],
        mel.config.sampling_rate, mel.config.hop_length, ylabel="mel band",
        titles=[f"{tracks['name'][index]}: {stem} (left channel), 128-mel dB" for stem in stems],
    )
    print(f"  picture: {picture}")
    return {"tracks": rows, "picture": str(picture)}


def gtzan_report(root: Path, output_dir: Path) -> dict:
    clips = load_gtzan(root)
    genres = clips.features["label"].names
    counts = Counter(genres[label] for label in clips["label"])
    print(f"\nGTZAN layout at {root}: {len(clips)} clips of 30 s, mono 22.05 kHz")
    for genre in genres:
        print(f"  {genre:12s} {counts[genre]} clips")
    stft = converter("gtzan_stft")
    first = {genre: clips["label"].index(genres.index(genre)) for genre in genres}
    specs = [stft.audio_to_spectrogram(clips[i]["audio"].get_all_samples().data[0]).spectrogram
             for i in first.values()]
    picture = save_spectrogram_image(
        output_dir / "gtzan_stft.png", specs, stft.config.sampling_rate, stft.config.hop_length, ylabel="STFT bin",
        titles=[f"{clips[i]['file']}: log-STFT (n_fft 512), min-max normalised" for i in first.values()],
    )
    print(f"  picture: {picture}")
    return {"genres": dict(counts), "picture": str(picture)}


def train_or_reuse(name: str, run_dir: Path, data_root: Path) -> tuple[Path, dict]:
    """Train ``configs/<name>.yaml`` into ``run_dir`` (reused if already trained there); return (run_dir, metrics)."""
    values, _ = read_config(["--config", str(CONFIGS / f"{name}.yaml")])
    arguments_class, objective_class = OBJECTIVES[values.pop("model")]
    training, model_args = parse_config((TrainingArguments, arguments_class), [], values)
    training.output_dir = str(run_dir)
    root_field = next(f for f in ("musdb_root", "gtzan_root") if hasattr(model_args, f))
    setattr(model_args, root_field, str(data_root))
    metrics_file = run_dir / "validation_metrics.json"
    if (run_dir / "pipeline" / "model_index.json").is_file() and metrics_file.is_file():
        print(f"\n{name}: reusing {run_dir} (delete it to train again)")
        metrics = json.loads(metrics_file.read_text())
    else:
        print(f"\n{name}: training {training.max_steps} steps on {data_root} (minutes on 2 CPU cores)...")
        metrics = train(objective_class(model_args), training)
        metrics_file.write_text(json.dumps(metrics, indent=2))
    print("  validation: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
    return run_dir, metrics


def first_real_recording(folder: Path, pattern: str) -> Path:
    """A held-out file made from a real recording (Muldjord), else the first one."""
    files = sorted(folder.glob(pattern))
    return next((f for f in files if "Muldjord" in str(f) or "metal" in f.name), files[0])


def held_out_gtzan_clip(root: Path, genre: str) -> Path:
    """The ``genre`` clip of the GTZAN test split (metal: a real Muldjord recording)."""
    test = load_gtzan(root, split="test")
    names = test.features["label"].names
    file = next(f for f, label in zip(test["file"], test["label"]) if names[label] == genre)
    return next(root.rglob(f"{file}.wav"))


def jam_report(root: Path, output_dir: Path) -> dict:
    """Train the small Jam Assistant of configs/mel_lstm_demo.yaml, then continue 5 s of a held-out real recording
    by 5 s."""
    run_dir, metrics = train_or_reuse("mel_lstm_demo", output_dir / "mel_lstm", root)
    pipe = MelContinuationPipeline.from_pretrained(run_dir / "pipeline")
    track = first_real_recording(root / "test", "*/mixture.wav")
    audio, rate = load_audio(track, sampling_rate=pipe.converter.config.sampling_rate, channels=1, duration=10.0)
    prompt, real = audio[:, : 5 * rate], audio[:, 5 * rate :]
    out = pipe(prompt[0], sampling_rate=rate, duration_s=5.0, griffin_lim_iters=64, output_type="pt",
               generator=torch.Generator().manual_seed(0))
    wav = save_audio(output_dir / "jam_continuation.wav", out.audios.clamp(-1, 1), out.sampling_rate)
    c = pipe.converter.config
    picture = save_spectrogram_image(output_dir / "jam_continuation.png", out.spectrograms[0], c.sampling_rate,
                                     c.hop_length, ylabel="mel band",
                                     titles=f"{track.parent.name}: 5 s prompt + 5 s continuation (log-mel, dB)")
    # how it keeps playing, against the recording's true next 5 s (audiogen_hf.evaluation.continuation)
    real_db = pipe.converter.denormalize(pipe.converter.audio_to_spectrogram(real).spectrogram[0])
    generated_db = out.spectrograms[0, :, pipe.converter.num_frames(prompt.shape[-1]):]
    frames = min(real_db.shape[-1], generated_db.shape[-1])
    continuation = continuation_metrics(generated_db[:, :frames], real_db[:, :frames], rate / c.hop_length,
                                        prompt_audio=prompt[0], generated_audio=out.audios[0, prompt.shape[-1]:],
                                        real_audio=real[0])
    goals = continuation_goals(continuation)
    print(f"  continued {track.parent.name} at its sampling temperature "
          f"{pipe.model.config.sampling_temperature:g}: {wav}, {picture}")
    print("  continuation vs the real next 5 s: flux ratio per second "
          + " ".join(f"{continuation[f'flux_ratio_s{k}']:.2f}" for k in range(1, 6))
          + f", band-pattern change {continuation['band_change_ratio']:.2f}x, loudness "
          f"{continuation['loudness_db']:+.1f} dB, peak {continuation['peak']:.2f}; goals met: "
          + (", ".join(k for k, v in goals.items() if v and k != "all") or "none"))
    return {"validation": metrics, "prompt": track.parent.name, "audio": str(wav), "picture": str(picture),
            "continuation": continuation, "continuation_goals": goals}


def autoencoder_report(name: str, data_root: Path, clip: Path, output_dir: Path) -> dict:
    """Train a small autoencoder, then reconstruct 10 s of a held-out real recording: wavs, picture and metrics
    (wide-band PESQ and spectral convergence of what is heard; Griffin-Lim, and the input phase where linear)."""
    run_dir, metrics = train_or_reuse(f"{name}_demo", output_dir / name, data_root)
    pipe = AudioAutoencoderPipeline.from_pretrained(run_dir / "pipeline")
    rate = pipe.converter.config.sampling_rate
    audio = load_audio(clip, sampling_rate=rate, channels=1, offset=5.0, duration=10.0)[0][0]
    phases = ["griffin_lim"] + (["input"] if pipe.converter.config.mode == "linear" else [])
    report = {"validation": metrics, "clip": str(clip)}
    for phase in phases:
        files = write_reconstruction(pipe, audio, rate, output_dir, f"{name}_{phase}", phase=phase)
        heard = load_audio(files[1])[0][0]
        report[phase] = {"files": [str(f) for f in files], "pesq_wb": pesq_wideband(audio, heard, rate)[0],
                         "spectral_convergence_db": audio_spectral_convergence_db(audio, heard, rate)}
        print(f"  {clip.parent.name}/{clip.name} reconstructed ({phase} phase): PESQ {report[phase]['pesq_wb']:.2f}, "
              f"SC {report[phase]['spectral_convergence_db']:.1f} dB -> {files[1]}")
    return report


def images_report(root: Path, output_dir: Path) -> dict:
    """A real corpus track -> 16-bit spectrogram PNGs + captions (metadata.jsonl) -> audio, with the PSNR report."""
    mixtures = sorted((root / "musdb").glob("*/*/mixture.wav"))  # track folders only (not the corpus' .state/)
    track = next(p.parent for p in mixtures if p.parent.name.startswith("Muldjord"))
    source = output_dir / "images" / "source"
    audio, rate = load_audio(track / "mixture.wav", duration=20.0)
    save_audio(source / f"{track.name}.wav", audio, rate, subtype="FLOAT")
    tagger = ClapTagger()
    try:
        tagger.load()
    except CaptionModelUnavailableError as error:
        print(f"\nSpectrogram images: no CLAP weights here, captions carry the style prefix and BPM only ({error})")
        tagger = None
    dataset_dir = output_dir / "images" / "dataset"
    report = build_image_dataset(source, dataset_dir, captions="tags" if tagger else "none", tagger=tagger,
                                 artist=track.name.split(" - ")[0], title=track.name.split(" - ")[-1])
    print(f"\nSpectrogram images of {track.name} (20 s): {report.summary()}")
    print("  first caption: " + (dataset_dir / "metadata.jsonl").read_text().splitlines()[0])
    decoded, _ = images_to_audio(dataset_dir)
    save_audio(output_dir / "images" / "decoded.wav", decoded.clamp(-1, 1), rate, subtype="PCM_24")
    print(f"  decoded back to audio: SNR {float(snr_db(audio, decoded, dim=None)):.2f} dB (native size)")
    resized = audio_to_images(audio, rate, SpectrogramImageConfig(size=1024), track=track.name)
    resized_snr = float(snr_db(audio, images_to_audio(resized)[0], dim=None))
    print(f"  resized to 1024 x 1024 (Lanczos): SNR {resized_snr:.2f} dB")
    again = audio_to_images(decoded, rate, track=track.name)
    comparison = compare_spectrogram_images(dataset_dir, again)
    print("  PSNR of the decoded audio's images vs the originals:\n    " + comparison.report().replace("\n", "\n    "))
    pictures = save_comparison_pictures(output_dir / "images" / "compare", dataset_dir, again)
    print(f"  pictures: {pictures[0].parent} ({len(pictures)} slices: original | reconstructed | difference x 50)")
    return {"snr_db": float(snr_db(audio, decoded, dim=None)), "average_psnr": comparison.average_psnr,
            "pictures": len(pictures)}


def spectrogram_diffusion_report(gtzan_root: Path, output_dir: Path) -> dict:
    """Train a small genre-conditioned spectrogram diffusion model (~2 minutes) and write one DDIM-50 clip and its
    picture per genre."""
    from diffusers import DDIMScheduler

    from audiogen_hf.pipelines import MelDiffusionPipeline

    run_dir, metrics = train_or_reuse("spectrogram_diffusion_demo", output_dir / "spectrogram_diffusion", gtzan_root)
    pipe = MelDiffusionPipeline.from_pretrained(run_dir / "pipeline")
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    files = write_genre_clips(pipe, output_dir / "spectrogram_diffusion_clips", num_inference_steps=50,
                              guidance_scale=2.0)
    print(f"  one generated clip + picture per genre ({', '.join(pipe.genres)}): {files[0].parent}")
    return {"validation": metrics, "clips": [str(f) for f in files]}


def codec_report(corpus: Path, output_dir: Path) -> dict:
    """Train the small codec of configs/hierarchical_codec_demo.yaml (about two minutes), compress 10 s of a held-out
    real recording to ``.agc`` at each bitrate and back; print size, ratio, bitrate, mel distance and SI-SDR (and
    Opus at the same bitrate when ffmpeg has libopus)."""
    from audiogen_hf.evaluation.codec import opus_available, opus_roundtrip, quality
    from audiogen_hf.models.hierarchical_codec.files import compress_file, decompress_file, load_codec

    values, _ = read_config(["--config", str(CONFIGS / "hierarchical_codec_demo.yaml")])
    arguments_class, objective_class = OBJECTIVES[values.pop("model")]
    training, model_args = parse_config((TrainingArguments, arguments_class), [], values)
    run_dir = output_dir / "hierarchical_codec"
    training.output_dir, model_args.data_root = str(run_dir), str(corpus)
    if not (run_dir / "pipeline" / "model_index.json").is_file():
        print(f"\nhierarchical codec: training {training.max_steps} GAN steps on {corpus} (about two minutes)...")
        train(objective_class(model_args), training)
    else:
        print(f"\nhierarchical codec: reusing {run_dir} (delete it to train again)")
    model = load_codec(run_dir / "pipeline")
    track = first_real_recording(corpus / "musdb" / "test", "*/mixture.wav")
    rate = model.config.sampling_rate
    clip = save_audio(output_dir / "codec_original.wav",
                      load_audio(track, sampling_rate=rate, channels=2, offset=5.0, duration=10.0)[0], rate)
    original = load_audio(clip)[0]
    report = {"clip": f"{track.parent.name} (10 s)", "bitrates": []}
    for q in range(1, model.config.num_quantizers + 1):
        agc = output_dir / f"codec_q{q}.agc"
        sizes = compress_file(model, clip, agc, num_quantizers=q, progress=False)
        wav = output_dir / f"codec_q{q}_decoded.wav"
        decompress_file(model, agc, wav, progress=False)
        metrics = quality(original, load_audio(wav)[0], rate)
        row = {"quantizers": q, "bytes": sizes["bytes"], "ratio": sizes["compression_ratio"],
               "kbps": sizes["bitrate_kbps"], **metrics, "agc": str(agc), "decoded": str(wav)}
        if opus_available():
            heard, info = opus_roundtrip(original, rate, row["kbps"])
            row["opus_same_rate"] = {**quality(original, heard, rate), "real_kbps": info["bitrate_kbps"]}
        report["bitrates"].append(row)
        opus = "" if "opus_same_rate" not in row else (
            f" (Opus asked for {row['kbps']:.2f} kbps, wrote {row['opus_same_rate']['real_kbps']:.2f}: mel distance "
            f"{row['opus_same_rate']['mel_distance']:.2f})")
        print(f"  {track.parent.name}, 10 s, {q} quantizer(s)/level: {row['bytes']} bytes, {row['ratio']:.0f}:1, "
              f"{row['kbps']:.2f} kbps, mel distance {row['mel_distance']:.2f}, SI-SDR {row['si_sdr']:.1f} dB{opus}"
              f" -> {wav}")
    return report


def main() -> None:
    (args,) = HfArgumentParser(DemoArguments).parse_args_into_dataclasses()
    corpus, output_dir = Path(args.corpus_dir), Path(args.output_dir)
    torch.manual_seed(0)
    summary = {"musdb": musdb_report(corpus / "musdb", output_dir),
               "gtzan": gtzan_report(corpus / "gtzan", output_dir),
               "jam": jam_report(corpus / "musdb", output_dir)}
    summary["spectrogram_autoencoder"] = autoencoder_report(
        "spectrogram_autoencoder", corpus / "gtzan", held_out_gtzan_clip(corpus / "gtzan", "metal"), output_dir)
    summary["mel_autoencoder"] = autoencoder_report(
        "mel_autoencoder", corpus / "musdb", first_real_recording(corpus / "musdb" / "test", "*/mixture.wav"),
        output_dir)
    summary["images"] = images_report(corpus, output_dir)
    summary["spectrogram_diffusion"] = spectrogram_diffusion_report(corpus / "gtzan", output_dir)
    summary["hierarchical_codec"] = codec_report(corpus, output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nsummary: {output_dir / 'summary.json'}")


if __name__ == "__main__":
    main()
