"""Rate-quality of the hierarchical codec against Opus (ffmpeg libopus) on music files.

    python scripts/evaluate_codec.py DIR_OR_FILES... --model DIR [--seconds 10] [--output_dir outputs/eval_codec]

For every file and bitrate (1..num_quantizers quantizers per level): the real kbps of the .agc bitstream, the
compression ratio against 16-bit PCM, the mel distance (DAC's 7-scale log10-mel L1), a multi-resolution STFT
distance and SI-SDR; and the same for Opus at the codec's bitrate and twice it. Writes results.json, a markdown
table (table.md: per file, then means) and rate_quality.png to --output_dir.
"""

import argparse
import json
from pathlib import Path

from audiogen_hf.evaluation.codec import (
    audio_files,
    evaluate_codec,
    format_table,
    opus_available,
    save_rate_quality_plot,
    summarise,
)
from audiogen_hf.models.hierarchical_codec.files import load_codec


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="audio files and/or folders of them")
    parser.add_argument("--model", required=True, help="codec model folder or AudioCodecPipeline folder")
    parser.add_argument("--num_quantizers", type=int, nargs="*", default=None, help="default: 1..all")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of each file (0: whole files)")
    parser.add_argument("--offset", type=float, default=0.0, help="start of the excerpt in each file (s)")
    parser.add_argument("--no_opus", action="store_true", help="skip the Opus reference")
    parser.add_argument("--output_dir", default="outputs/eval_codec")
    args = parser.parse_args(argv)
    if not args.no_opus and not opus_available():
        raise SystemExit("the Opus reference needs ffmpeg with libopus (apt-get install -y ffmpeg), or pass --no_opus")
    files = audio_files(args.inputs)
    model = load_codec(args.model)
    rows = evaluate_codec(model, files, args.num_quantizers, args.seconds or None, args.offset,
                          opus=not args.no_opus)
    summary = summarise(rows)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = f"## Per file\n\n{format_table(rows)}\n\n## Mean over {len({r['file'] for r in rows})} file(s)\n\n" \
            f"{format_table(summary)}\n"
    (out / "table.md").write_text(table)
    (out / "results.json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=2))
    plot = save_rate_quality_plot(out / "rate_quality.png", rows)
    print(table)
    print(f"wrote {out / 'table.md'}, {out / 'results.json'} and {plot}")
    return {"rows": rows, "summary": summary}


if __name__ == "__main__":
    main()
