"""Speed and memory of the hierarchical codec against transformers' DAC (44.1 kHz) and EnCodec (24 kHz), in one run.

    nice -n 10 python scripts/benchmarks/bench_codec.py --corpus_dir data/corpus [--long_minutes 1 2 5 10]

1. Encode + decode of the same real 44.1 kHz stereo clip on ``--threads`` CPU threads (default 2), random weights
   (speed does not depend on them): ours (default config, stereo coded jointly), ``DacModel`` with the 44.1 kHz
   configuration and ``EncodecModel`` with its 24 kHz default (both mono models: the two channels go as a batch of 2;
   EnCodec gets the clip resampled to 24 kHz). Times are the best of several runs; "x real time" is seconds of
   stereo audio per second of wall time. Goals: ours >= 50x real time, >= 100x DAC-44k, >= 5x EnCodec-24k.
2. ``.agc`` compress + decompress of 1..10 minutes of stereo (real music tiled) through ``scripts/codec.py``'s
   functions, each length in a fresh process: peak RSS (goal < 1.5 GB at 10 min) and seconds per minute of audio
   (goal: flat from 1 to 10 minutes).

Writes ``results.json`` to ``--output_dir``.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from audiogen_hf.audio import load_audio, resample, save_audio
from audiogen_hf.models import HierarchicalCodecConfig, HierarchicalCodecModel

RATE = 44100


def best_time(fn, repeats: int) -> tuple[float, float]:
    """Best wall time and the CPU time (all threads) of that run: on a shared machine the wall time includes
    waiting for the cores, the CPU time does not."""
    fn()  # warm-up
    best, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, cpu = elapsed, time.process_time() - start_cpu
    return best, cpu


def real_clip(corpus_dir: Path, seconds: float) -> torch.Tensor:
    """``[2, samples]`` of a real recording (Fret's on Fire backing + guitar) at 44.1 kHz."""
    tracks = sorted(p.parent for p in (corpus_dir / "musdb").glob("*/Muldjord*/mixture.wav"))  # not .state/
    if not tracks:
        raise FileNotFoundError(f"no real-recording tracks under {corpus_dir}/musdb: build the corpus with "
                                "`make corpus` (or scripts/build_corpus.py)")
    audio, _ = load_audio(tracks[0] / "mixture.wav", sampling_rate=RATE, channels=2, offset=5.0, duration=seconds)
    return audio


def speed(clip: torch.Tensor, repeats: int) -> list[dict]:
    from transformers import DacConfig, DacModel, EncodecConfig, EncodecModel

    seconds = clip.shape[-1] / RATE
    rows = []
    ours = HierarchicalCodecModel(HierarchicalCodecConfig()).eval()
    stereo = clip[None]

    def run_ours():
        codes = ours.encode(stereo).audio_codes
        ours.decode(codes, length=stereo.shape[-1])

    dac = DacModel(DacConfig(sampling_rate=RATE, hop_length=512, downsampling_ratios=[2, 4, 8, 8],
                             encoder_hidden_size=64, decoder_hidden_size=1536, n_codebooks=9, codebook_size=1024,
                             codebook_dim=8)).eval()
    mono_pair = clip[:, None]  # [2 channels as batch, 1, samples]

    def run_dac():
        codes = dac.encode(mono_pair).audio_codes
        dac.decode(audio_codes=codes)

    encodec = EncodecModel(EncodecConfig()).eval()
    at24 = resample(clip, RATE, 24000)[:, None]

    def run_encodec():
        encoded = encodec.encode(at24)
        encodec.decode(encoded.audio_codes, encoded.audio_scales)

    with torch.inference_mode():
        for name, model, fn, reps in (("audiogen_hf HierarchicalCodec (44.1 kHz stereo)", ours, run_ours, repeats),
                                      ("transformers DacModel 44.1 kHz (2 x mono)", dac, run_dac, 1),
                                      ("transformers EncodecModel 24 kHz (2 x mono)", encodec, run_encodec, repeats)):
            elapsed, cpu = best_time(fn, reps)
            rows.append({"model": name, "parameters_M": sum(p.numel() for p in model.parameters()) / 1e6,
                         "seconds": elapsed, "cpu_seconds": cpu, "x_real_time": seconds / elapsed,
                         "audio_seconds_per_cpu_second": seconds / cpu})
            print(f"  {name:50s} {rows[-1]['parameters_M']:6.2f} M params  {elapsed:7.3f} s  "
                  f"{rows[-1]['x_real_time']:7.2f}x real time  ({cpu:.3f} CPU s: "
                  f"{rows[-1]['audio_seconds_per_cpu_second']:.2f} s of audio per CPU second)", flush=True)
    return rows


# Peak RSS is this process's VmHWM: getrusage's ru_maxrss would also count the parent's RSS at fork time.
CHILD = """
import json, re, sys, time, torch
torch.set_num_threads(int(sys.argv[5]))
from audiogen_hf.models.hierarchical_codec.files import compress_file, decompress_file, load_codec
def hwm():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
model = load_codec(sys.argv[1])
baseline = hwm()
a = compress_file(model, sys.argv[2], sys.argv[3], progress=False)
b = decompress_file(model, sys.argv[3], sys.argv[4], progress=False)
print(json.dumps({"compress": a, "decompress": b, "peak_rss_mb": hwm(), "after_import_mb": baseline}))
"""


def long_audio(clip: torch.Tensor, minutes: list, threads: int, work: Path) -> list[dict]:
    model_dir = work / "model"
    HierarchicalCodecModel(HierarchicalCodecConfig()).save_pretrained(model_dir)
    rows = []
    for length in minutes:
        samples = int(length * 60 * RATE)
        tiled = clip.repeat(1, -(-samples // clip.shape[-1]))[:, :samples]
        source = save_audio(work / f"long_{length}min.wav", tiled, RATE)
        del tiled
        done = subprocess.run([sys.executable, "-c", CHILD, str(model_dir), str(source), str(work / "x.agc"),
                               str(work / "out.wav"), str(threads)], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"the {length}-minute run failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        c, d = result["compress"], result["decompress"]
        row = {"minutes": length, "peak_rss_mb": result["peak_rss_mb"],
               "rss_after_import_mb": result["after_import_mb"], "bytes": c["bytes"],
               "ratio": c["compression_ratio"], "kbps": c["bitrate_kbps"],
               "compress_s_per_min": c["elapsed_s"] / length, "decompress_s_per_min": d["elapsed_s"] / length}
        rows.append(row)
        print(f"  {length:5.1f} min  peak RSS {row['peak_rss_mb']:6.0f} MB (after imports "
              f"{row['rss_after_import_mb']:.0f})  compress {row['compress_s_per_min']:6.2f} "
              f"s/min  decompress {row['decompress_s_per_min']:6.2f} s/min  {row['bytes']} bytes, ratio "
              f"{row['ratio']:.1f}:1, {row['kbps']:.3f} kbps", flush=True)
        source.unlink()
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus_dir", default="data/corpus")
    parser.add_argument("--seconds", type=float, default=4.0, help="clip length for the speed comparison")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--long_minutes", type=float, nargs="*", default=[1, 2, 5, 10])
    parser.add_argument("--output_dir", default="outputs/bench_codec")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    clip = real_clip(Path(args.corpus_dir), args.seconds)
    print(f"Encode + decode of {args.seconds:g} s of real 44.1 kHz stereo music, {args.threads} threads, random "
          "weights (best of several runs):", flush=True)
    rows = speed(clip, args.repeats)
    ours, dac, encodec = (row["x_real_time"] for row in rows)
    ratios = {"x_real_time": ours, "vs_dac_44k": ours / dac, "vs_encodec_24k": ours / encodec,
              "cpu_vs_dac_44k": rows[1]["cpu_seconds"] / rows[0]["cpu_seconds"],
              "cpu_vs_encodec_24k": rows[2]["cpu_seconds"] / rows[0]["cpu_seconds"]}
    print(f"  ours: {ours:.1f}x real time (goal >= 50), {ratios['vs_dac_44k']:.0f}x DAC-44k (goal >= 100), "
          f"{ratios['vs_encodec_24k']:.1f}x EnCodec-24k (goal >= 5); in CPU time {ratios['cpu_vs_dac_44k']:.0f}x DAC, "
          f"{ratios['cpu_vs_encodec_24k']:.1f}x EnCodec", flush=True)
    results = {"speed": rows, "ratios": ratios, "threads": args.threads, "clip_seconds": args.seconds}
    if args.long_minutes:
        print(f"Compress + decompress of long stereo files (scripts/codec.py functions, fresh process each, "
              f"{args.threads} threads):", flush=True)
        with tempfile.TemporaryDirectory(dir=output) as work:
            long_rows = long_audio(clip, args.long_minutes, args.threads, Path(work))
        per_minute = [r["compress_s_per_min"] + r["decompress_s_per_min"] for r in long_rows]
        results["long_audio"] = long_rows
        results["long_audio_flatness"] = max(per_minute) / min(per_minute)
        print(f"  peak RSS at {long_rows[-1]['minutes']:g} min: {long_rows[-1]['peak_rss_mb']:.0f} MB (goal < 1536); "
              f"time per minute max/min over lengths: {results['long_audio_flatness']:.2f} (flat = 1)")
    (output / "results.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {output / 'results.json'}")
    return results


if __name__ == "__main__":
    main()
