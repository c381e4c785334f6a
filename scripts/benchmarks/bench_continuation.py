"""Does the Jam Assistant keep playing? Train a recipe with each variant and score its continuations.

    python scripts/benchmarks/bench_continuation.py --config configs/mel_lstm_demo.yaml \
        --musdb_root data/corpus/musdb --variants seed,gaussian --output_dir outputs/bench_continuation

For each variant (a set of config overrides, below) the recipe is trained (or a finished run in
``<output_dir>/<variant>`` is reused), then prompts from the test split (5 s windows, hop ``--hop_seconds``) are
continued by 5 s through the pipeline and scored against the true next 5 s (``audiogen_hf.evaluation.continuation``):
the median over clips (and over ``--seeds`` sampling seeds) of the flux ratio per second, band-pattern change ratio,
per-band mean / std distance, peak and loudness against the prompt, plus next-frame MSE on the test clips and its
ratio to the first variant's (the reference measured in the same run). Writes ``results.json``.
"""

import argparse
import itertools
import json
from pathlib import Path

from torch.utils.data import DataLoader

from audiogen_hf.evaluation.continuation import continuation_goals, median_metrics
from audiogen_hf.pipelines import MelContinuationPipeline
from audiogen_hf.training import OBJECTIVES, TrainingArguments, parse_config, read_config, train

SEED = {"output_distribution": "none", "rollout_frames": 0, "mark_generated_frames": False,
        "generation_adapter": False, "level_control": 0.0, "calibrate_temperatures": []}
GAUSSIAN = {"output_distribution": "gaussian", "rollout_frames": 0, "rollout_starts": 1,
            "mark_generated_frames": False, "generation_adapter": False, "nll_trains_mean": True}
ROLLOUT = {**GAUSSIAN, "rollout_frames": 32}  # the previous recipe
MARKED = {**ROLLOUT, "mark_generated_frames": True}
ADAPTED = {**ROLLOUT, "generation_adapter": True, "nll_trains_mean": False}  # the LSTM trains as the seed's
VARIANTS = {  # each sets what it is, whatever the recipe sets
    "seed": SEED,  # the seed's MSE model, deterministic rollout
    "seed_noise": {**SEED, "__noise_scale": 0.05, "__run": "seed"},  # the seed model with today's noise_scale sampling
    "gaussian": GAUSSIAN,
    "gaussian_noise": {**GAUSSIAN, "input_noise_std": 0.02},
    "gaussian_rollout": ROLLOUT,
    "gaussian_rollout_mse_mean": {**ROLLOUT, "nll_trains_mean": False},
    "gaussian_rollout_t05": {**ROLLOUT, "rollout_temperature": 0.5},
    "gaussian_rollout_t025": {**ROLLOUT, "rollout_temperature": 0.25},
    "gaussian_rollout16": {**ROLLOUT, "rollout_frames": 16},
    "gaussian_rollout_w03": {**ROLLOUT, "rollout_weight": 0.3},
    "gaussian_rollout_mark": MARKED,
    "gaussian_rollout_mark_mse_mean": {**MARKED, "nll_trains_mean": False},
    "gaussian_rollout_mark_w05": {**MARKED, "rollout_weight": 0.5},
    "gaussian_rollout_mark_nll03": {**MARKED, "nll_weight": 0.03},
    "gaussian_rollout_adapter": ADAPTED,
    "gaussian_rollout_adapter64": {**ADAPTED, "rollout_frames": 64},
    "gaussian_rollout_adapter_x4": {**ADAPTED, "rollout_starts": 4},  # the recipe
}


def train_variant(config: str, musdb_root: str, run_dir: Path, overrides: dict, extra: list):
    values, _ = read_config(["--config", config])
    arguments_class, objective_class = OBJECTIVES[values.pop("model")]
    values.update({k: v for k, v in overrides.items() if not k.startswith("__")})
    training, model_args = parse_config((TrainingArguments, arguments_class), extra, values)
    training.output_dir, training.report_to, model_args.musdb_root = str(run_dir), None, musdb_root
    objective = objective_class(model_args)
    if not (run_dir / "pipeline" / "model_index.json").is_file():
        train(objective, training)
    return objective, training


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)  # --seed: training
    parser.add_argument("--config", default="configs/mel_lstm_demo.yaml")
    parser.add_argument("--musdb_root", default="data/corpus/musdb")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--output_dir", default="outputs/bench_continuation")
    parser.add_argument("--hop_seconds", type=float, default=5.0)
    parser.add_argument("--windows", choices=["test", "valid"], default="test", help="score prompts from the test "
                        "split, or from the validation tracks (to choose sampling settings without the test split)")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--temperatures", default="", help="comma-separated temperatures to score (default: the "
                        "model's own)")
    parser.add_argument("--level_controls", default="", help="comma-separated level_control values to score "
                        "(default: the model's own)")
    parser.add_argument("--sweep", action="append", default=[], metavar="FIELD=V1,V2",
                        help="score these values of a generation field of the model's config (level_control_mode, "
                        "level_control_frames, sampling_noise_correlation); repeat for a grid")
    parser.add_argument("--calibrate_temperatures", default="", help="comma-separated temperatures: run the "
                        "training's calibration on the validation windows (as at the end of training) and print which "
                        "it picks; that temperature is scored too")
    args, extra = parser.parse_known_args(argv)
    output_dir = Path(args.output_dir)
    results, reference_mse = {}, None
    for name in args.variants.split(","):
        overrides = VARIANTS[name]
        run_dir = output_dir / overrides.get("__run", name)
        objective, _ = train_variant(args.config, args.musdb_root, run_dir, overrides, extra)
        pipe = MelContinuationPipeline.from_pretrained(run_dir / "pipeline")
        model = pipe.model.eval()
        objective.converter = pipe.converter
        windows = objective.continuation_windows(**{"test": {"subsets": "test"}, "valid": {"split": "valid"}}[
            args.windows], hop_seconds=args.hop_seconds)
        clips = objective.mels(subsets="test")
        mse = objective.next_frame_metrics(model, DataLoader(clips, batch_size=8), _NoGather())["mse"]
        reference_mse = reference_mse or mse
        controls = [float(t) for t in args.level_controls.split(",") if t]
        fields = ([("level_control", controls)] if controls else []) + [_sweep(model.config, t) for t in args.sweep]
        for settings in itertools.product(*[[(field, v) for v in values] for field, values in fields]):
            for field, value in settings:  # generation settings of the model (the calibration uses them too)
                setattr(model.config, field, value)
            temperatures = [float(t) for t in args.temperatures.split(",") if t]
            if args.calibrate_temperatures:
                valid = objective.validation_continuation_windows()
                best, errors = objective.calibrate_temperature(
                    model, valid, [float(t) for t in args.calibrate_temperatures.split(",")])
                print(f"{name}: calibration on {len(valid)} validation windows picks T {best:g} (error per "
                      f"temperature: {', '.join(f'{t:g}: {e:.3f}' for t, e in errors.items())})", flush=True)
                temperatures = list(dict.fromkeys([*temperatures, best]))
            for temperature in temperatures or [None]:
                rows = []
                for seed in range(args.seeds):
                    rows.extend(objective.continuations(model, windows, temperature=temperature, seed=seed,
                                                        noise_scale=overrides.get("__noise_scale", 0.0)))
                _score(results, name + ("" if temperature is None else f"@T={temperature:g}") +
                       "".join(f",{_short(f)}={v:g}" if isinstance(v, float) else f",{_short(f)}={v}"
                               for f, v in settings), rows, mse, reference_mse, len(windows))
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "results.json").write_text(json.dumps(results, indent=2))
    return results


def _score(results: dict, key: str, rows: list, mse: float, reference_mse: float, clips: int) -> None:
    summary = median_metrics(rows)
    summary.update(next_frame_mse=mse, mse_ratio=mse / reference_mse, clips=clips)
    summary["goals"] = continuation_goals(summary)
    results[key] = summary
    _print_row(key, summary)


def _short(field: str) -> str:
    return {"level_control": "level"}.get(field, field)


def _sweep(config, text: str) -> tuple:
    """``"field=v1,v2"`` -> ``(field, [values of the field's type])``; the config checks them as it would on load."""
    field, _, values = text.partition("=")
    if not hasattr(config, field) or not values:
        raise SystemExit(f"--sweep {text!r}: expected FIELD=V1,V2 with a field of {type(config).__name__}")
    values = [_value(v) for v in values.split(",")]
    for value in values:
        type(config)(**{**config.to_dict(), field: value})  # a bad value fails here, with the config's message
    return field, values


def _value(text: str):
    try:
        return json.loads(text)  # numbers, true / false
    except json.JSONDecodeError:
        return text


class _NoGather:
    @staticmethod
    def gather_for_metrics(x):
        return x


HEADER = False


def _print_row(name: str, s: dict) -> None:
    global HEADER
    fluxes = [s[k] for k in sorted(k for k in s if k.startswith("flux_ratio_s"))]
    if not HEADER:
        print(f"{'variant':34s} {'flux ratio s1..s5':29s} {'change':>7s} {'mean dB':>8s} {'std err':>8s} "
              f"{'peak':>6s} {'loud dB':>8s} {'MSE':>9s} {'MSE/ref':>8s} goals")
        HEADER = True
    met = [k for k, v in s["goals"].items() if v and k != "all"]
    print(f"{name:34s} {' '.join(f'{f:5.2f}' for f in fluxes):29s} {s['band_change_ratio']:7.2f} "
          f"{s['band_mean_db']:8.2f} {s['band_std_error']:8.2f} {s['peak']:6.2f} {s['loudness_db']:8.2f} "
          f"{s['next_frame_mse']:9.5f} {s['mse_ratio']:8.3f} {'ALL' if s['goals']['all'] else ','.join(met)}",
          flush=True)


if __name__ == "__main__":
    main()
