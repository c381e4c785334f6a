import json
import logging
import math

import pytest
import torch
from accelerate import Accelerator
from safetensors.torch import load_file
from torch.utils.data import DataLoader

from audiogen_hf.pipelines import MelContinuationPipeline
from audiogen_hf.training import (
    MelLSTMArguments,
    MelLSTMObjective,
    TrainingArguments,
    checkpoints,
    parse_config,
    train,
)

TINY = dict(clip_seconds=2.0, n_fft=1024, hop_length=256, n_mels=32, hidden_size=32, num_layers=1, dropout=0.0)


def tiny(musdb_root, output_dir, **training) -> tuple[MelLSTMObjective, TrainingArguments]:
    objective = MelLSTMObjective(MelLSTMArguments(musdb_root=str(musdb_root), **TINY))
    args = TrainingArguments(output_dir=str(output_dir), batch_size=8, learning_rate=1e-2, **training)
    return objective, args


def test_training_lowers_validation_loss_and_saves_model_and_pipeline(tmp_path, musdb_root):
    objective, args = tiny(musdb_root, tmp_path, max_steps=30, lr_scheduler="cosine", warmup_steps=2)
    torch.manual_seed(args.seed)
    untrained = objective.build_model().eval()
    _, valid = objective.datasets()
    before = objective.evaluate(untrained, DataLoader(valid, batch_size=8), Accelerator())
    metrics = train(objective, args)
    assert metrics["step"] == 30
    assert metrics["mse"] < 0.9 * before["mse"]
    pipe = MelContinuationPipeline.from_pretrained(tmp_path / "pipeline")
    out = pipe(torch.zeros(22050).uniform_(-0.1, 0.1), sampling_rate=22050, num_frames=4, output_type="spectrogram")
    assert out.spectrograms.shape == (1, 32, 22050 // 256 + 1 + 4)


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path, musdb_root):
    """Stopping right after checkpoint 6, mid-epoch (as a kill would), and resuming with 'latest' gives the same
    weights as the uninterrupted run: state restored and the batches already seen in the epoch skipped."""
    common = dict(checkpointing_steps=2, checkpoints_total_limit=2, gradient_accumulation_steps=2)
    objective, full = tiny(musdb_root, tmp_path / "full", max_steps=8, **common)
    train(objective, full)
    _, first = tiny(musdb_root, tmp_path / "resumed", max_steps=6, **common)
    train(objective, first)
    (tmp_path / "resumed" / ".checkpoint-8.partial").mkdir()  # a save killed midway must be ignored
    _, second = tiny(musdb_root, tmp_path / "resumed", max_steps=8, resume_from_checkpoint="latest", **common)
    assert train(objective, second)["step"] == 8
    assert [p.name for p in checkpoints(tmp_path / "resumed")] == ["checkpoint-6", "checkpoint-8"]
    a = load_file(tmp_path / "full" / "model" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model" / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_config_file_and_overrides(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("batch_size: 4\nlearning_rate: 0.01\nn_mels: 64\n")
    training, model = parse_config((TrainingArguments, MelLSTMArguments),
                                   ["--config", str(config), "--batch_size", "2"])
    assert (training.batch_size, training.learning_rate, model.n_mels) == (2, 0.01, 64)
    config.write_text("batch_sise: 4\n")
    with pytest.raises(ValueError, match="unknown config keys \\['batch_sise'\\]"):
        parse_config((TrainingArguments, MelLSTMArguments), ["--config", str(config)])
    with pytest.raises(ValueError, match="learning_rate"):
        TrainingArguments(learning_rate=0)
    with pytest.raises(ValueError, match="lr_scheduler"):
        TrainingArguments(lr_scheduler="warm")


def test_missing_dataset_is_a_clear_error(tmp_path):
    objective, args = tiny(tmp_path / "no-musdb", tmp_path / "out", max_steps=1)
    with pytest.raises(FileNotFoundError, match="build_corpus"):
        train(objective, args)


def test_two_processes_match_one_with_the_same_global_batch(tmp_path, musdb_root):
    """accelerate launch with 2 CPU processes (gloo) x batch 4 == 1 process x batch 8."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    config = tmp_path / "tiny.yaml"
    config.write_text("\n".join(f"{k}: {v}" for k, v in {**TINY, "musdb_root": str(musdb_root), "max_steps": 5,
                                                         "learning_rate": 0.01}.items()))
    script = Path(__file__).resolve().parents[1] / "scripts" / "train.py"
    accelerate = Path(sys.executable).with_name("accelerate")
    env = {**os.environ, "ACCELERATE_USE_CPU": "1"}  # without it Accelerate sees one process per rank on CPU
    subprocess.run([str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--mixed_precision", "no",
                    "--dynamo_backend", "no", str(script), "--config", str(config), "--batch_size", "4",
                    "--output_dir", str(tmp_path / "two")], check=True, env=env, capture_output=True, timeout=300)
    objective = MelLSTMObjective(MelLSTMArguments(musdb_root=str(musdb_root), **TINY))
    train(objective, TrainingArguments(output_dir=str(tmp_path / "one"), batch_size=8, learning_rate=0.01,
                                       max_steps=5))
    one = load_file(tmp_path / "one" / "model" / "model.safetensors")
    two = load_file(tmp_path / "two" / "model" / "model.safetensors")
    for key in one:
        torch.testing.assert_close(two[key], one[key], atol=1e-4, rtol=1e-4)


def test_ema_is_checkpointed_and_the_model_card_is_written(tmp_path, musdb_root):
    common = dict(use_ema=True, ema_decay=0.9, checkpointing_steps=3)
    objective, full = tiny(musdb_root, tmp_path / "full", max_steps=6, **common)
    metrics = train(objective, full)
    _, first = tiny(musdb_root, tmp_path / "resumed", max_steps=3, **common)
    train(objective, first)
    _, second = tiny(musdb_root, tmp_path / "resumed", max_steps=6, resume_from_checkpoint="latest", **common)
    train(objective, second)
    a = load_file(tmp_path / "full" / "model" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model" / "model.safetensors")
    for key in a:  # the saved weights are the EMA, restored exactly on resume
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    live = load_file(tmp_path / "full" / "checkpoint-6" / "model.safetensors")  # the raw weights at the end
    assert any(not torch.equal(a[key], live[key]) for key in a)
    card = (tmp_path / "full" / "model" / "README.md").read_text()
    assert "library_name: audiogen_hf" in card and "musdb18" in card
    assert f"| mse | {metrics['mse']:.6g} |" in card and "use_ema: true" in card  # the recipe, as YAML


def test_sigkill_after_a_checkpoint_then_resume_equals_uninterrupted(tmp_path, musdb_root):
    """A real kill -9 of `scripts/train.py` once a checkpoint exists; `--resume_from_checkpoint latest` finishes it."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    config = tmp_path / "tiny.yaml"
    values = {**TINY, "musdb_root": str(musdb_root), "max_steps": 150, "checkpointing_steps": 25,
              "learning_rate": 0.003, "batch_size": 4}
    config.write_text("\n".join(f"{k}: {v}" for k, v in values.items()))
    script = str(Path(__file__).resolve().parents[1] / "scripts" / "train.py")
    run = lambda out, *extra: [sys.executable, script, "--config", str(config), "--output_dir", str(out), *extra]  # noqa: E731

    killed = tmp_path / "killed"
    process = subprocess.Popen(run(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not checkpoints(killed) and time.time() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert checkpoints(killed), "the run should have written a checkpoint before it was killed"
    assert not (killed / "model").exists(), "the run was killed before it finished"
    subprocess.run(run(killed, "--resume_from_checkpoint", "latest"), check=True, capture_output=True, timeout=300)
    subprocess.run(run(tmp_path / "straight"), check=True, capture_output=True, timeout=300)
    a = load_file(killed / "model" / "model.safetensors")
    b = load_file(tmp_path / "straight" / "model" / "model.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_evaluate_script_writes_metrics_and_audio_pairs(tmp_path, musdb_root):
    import importlib.util
    import json
    from pathlib import Path

    import soundfile as sf

    objective, args = tiny(musdb_root, tmp_path / "run", max_steps=2)
    train(objective, args)
    path = Path(__file__).resolve().parents[1] / "scripts" / "evaluate_pipeline.py"
    spec = importlib.util.spec_from_file_location("evaluate_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "eval"
    metrics = script.main(["--model", str(tmp_path / "run" / "pipeline"), "--musdb_root", str(musdb_root),
                           "--clip_seconds", "2.0", "--save_audio", "--audio_samples", "1", "--output_dir", str(out)])
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert metrics["clips"] >= 2 and 0 < metrics["mse"] < 0.05
    # continuation metrics: 5 s prompts of the test split continued by 5 s, one per 10 s window (hop 5 s)
    assert metrics["continuation/clips"] == len(objective.continuation_windows(subsets="test", hop_seconds=5.0)) >= 1
    assert all(f"continuation/flux_ratio_s{k}" in metrics for k in range(1, 6))
    assert metrics["continuation/real_flux_db"] > 0.5 and metrics["continuation/peak"] > 0
    assert metrics["continuation/goals/all"] in (0.0, 1.0)
    target, rate = sf.read(out / "sample_0_target.wav")
    prediction, _ = sf.read(out / "sample_0_prediction.wav")
    assert rate == 22050 and len(target) == len(prediction) > 22050
    assert (out / "sample_0.png").is_file()


def test_push_to_hub_needs_a_repository_id():
    # what a push uploads (the pipeline folder with the run's model card) is tested in test_hub.py
    with pytest.raises(ValueError, match="hub_model_id"):
        TrainingArguments(push_to_hub=True)


def test_periodic_validation_writes_samples_pictures_curves_and_tensorboard(tmp_path, musdb_root):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    objective, args = tiny(musdb_root, tmp_path, max_steps=6, validation_steps=3, validation_samples=1)
    train(objective, args)
    for step in (3, 6):
        names = sorted(p.name for p in (tmp_path / "samples" / f"step-{step}").iterdir())
        assert names == ["sample_0.png", "sample_0_prediction.wav", "sample_0_target.wav"]
    assert (tmp_path / "training_curves.png").stat().st_size > 10_000
    history = [json.loads(line) for line in (tmp_path / "logs" / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in history if "valid/mse" in r] == [3, 6]
    assert [r["step"] for r in history if "train/loss" in r] == [1, 2, 3, 4, 5, 6]
    (events,) = (tmp_path / "logs").glob("audiogen_hf/events.out.tfevents.*")
    accumulator = EventAccumulator(str(events), size_guidance={"audio": 0, "images": 0}).Reload()
    tags = accumulator.Tags()
    assert {"train/loss", "valid/mse"} <= set(tags["scalars"])
    assert [e.step for e in accumulator.Audio("samples/sample_0_prediction")] == [3, 6]  # one tag, a step slider
    assert "samples/sample_0_target" in tags["audio"]
    assert {"samples/sample_0", "training_curves"} <= set(tags["images"])


def test_bf16_mixed_precision_trains_on_cpu_and_fp16_says_it_cannot(tmp_path, musdb_root, caplog):
    objective, args = tiny(musdb_root, tmp_path / "bf16", max_steps=4, mixed_precision="bf16", report_to=None)
    metrics = train(objective, args)
    assert metrics["step"] == 4 and math.isfinite(metrics["mse"])
    _, args = tiny(musdb_root, tmp_path / "fp16", max_steps=1, mixed_precision="fp16", report_to=None)
    train(objective, args)
    assert "has no effect on cpu" in caplog.text


def test_rollout_training_and_noise_injection(tmp_path, musdb_root):
    """Training on its own rollouts: the loss adds the free-running frames' error, gradients reach both heads
    through the rollout, and a short run trains, validates (with continuation metrics) and saves."""
    extra = dict(output_distribution="gaussian", rollout_frames=8, input_noise_std=0.02, continuation_clips=1)
    objective = MelLSTMObjective(MelLSTMArguments(musdb_root=str(musdb_root), **TINY, **extra))
    plain = MelLSTMObjective(MelLSTMArguments(musdb_root=str(musdb_root), **TINY,
                                              output_distribution="gaussian"))
    train_set, _ = objective.datasets()
    torch.manual_seed(0)
    model = objective.build_model()
    batch = train_set[:4]
    torch.manual_seed(1)
    loss = objective.compute_loss(model, batch)
    teacher_forced = plain.compute_loss(model, batch)
    assert loss.item() != pytest.approx(teacher_forced.item(), rel=1e-3)
    loss.backward()
    assert model.head.weight.grad.abs().sum() > 0 and model.scale_head.weight.grad.abs().sum() > 0
    args = TrainingArguments(output_dir=str(tmp_path), batch_size=4, learning_rate=3e-3, max_steps=3)
    metrics = train(objective, args)
    assert math.isfinite(metrics["mse"]) and "continuation/band_change_ratio" in metrics
    pipe = MelContinuationPipeline.from_pretrained(tmp_path / "pipeline")
    assert pipe.model.config.output_distribution == "gaussian"
    prompt = torch.zeros(22050).uniform_(-0.1, 0.1, generator=torch.Generator().manual_seed(0))
    outs = [pipe(prompt, sampling_rate=22050, num_frames=20, output_type="spectrogram",
                 generator=torch.Generator().manual_seed(s)).spectrograms for s in (0, 0, 1)]
    assert (outs[0] == outs[1]).all() and not (outs[0] == outs[2]).all()


def test_rollouts_mark_the_frames_fed_back_as_the_models_own(musdb_root):
    objective = MelLSTMObjective(MelLSTMArguments(musdb_root=str(musdb_root), **TINY, output_distribution="gaussian",
                                                  rollout_frames=5, mark_generated_frames=True, continuation_clips=0))
    train_set, _ = objective.datasets()
    model = objective.build_model()
    assert model.config.mark_generated_frames
    marks, forward = [], model.forward
    model.forward = lambda *a, **k: marks.append(k.get("generated_frames", False)) or forward(*a, **k)
    objective.compute_loss(model, train_set[:2])
    assert marks == [False, False] + [True] * 5  # teacher-forced head and tail, then the 5 free-running frames


def test_rollouts_from_several_starts_run_stacked_on_the_batch(musdb_root):
    """rollout_starts 3: the clip is teacher-forced in 4 segments and 3 rollouts per clip run at once."""
    objective = MelLSTMObjective(MelLSTMArguments(musdb_root=str(musdb_root), **TINY, output_distribution="gaussian",
                                                  rollout_frames=5, rollout_starts=3, continuation_clips=0))
    train_set, _ = objective.datasets()
    model = objective.build_model()
    calls, forward = [], model.forward
    model.forward = lambda mels, **k: calls.append((k.get("generated_frames", False), mels.shape)) or \
        forward(mels, **k)
    loss = objective.compute_loss(model, train_set[:2])
    assert torch.isfinite(loss)
    assert [own for own, _ in calls] == [False] * 4 + [True] * 5
    frames = train_set[:2]["spectrogram"].shape[-1] - 1
    assert sum(shape[1] for own, shape in calls if not own) == frames  # the teacher-forced segments cover the clip
    assert all(shape == (6, 1, TINY["n_mels"]) for own, shape in calls if own)  # 3 starts x 2 clips
    with pytest.raises(ValueError, match="rollout_starts"):
        MelLSTMArguments(rollout_starts=0)


def test_generation_adapter_trains_the_lstm_as_the_seeds_mse(tmp_path, musdb_root):
    """generation_adapter: two parameter groups; the ``model`` group's loss gives the LSTM and the next-frame head
    exactly the seed's teacher-forced MSE gradient, the ``generation`` group's rollout loss reaches only the
    offsets; a short run with the two optimizers trains and saves a pipeline that loads."""
    kwargs = dict(musdb_root=str(musdb_root), **TINY, continuation_clips=0)
    objective = MelLSTMObjective(MelLSTMArguments(**kwargs, output_distribution="gaussian", rollout_frames=5,
                                                  generation_adapter=True, nll_trains_mean=False))
    seed = MelLSTMObjective(MelLSTMArguments(**kwargs))
    train_set, _ = objective.datasets()
    torch.manual_seed(0)
    model = objective.build_model()
    groups = objective.parameter_groups(model)
    assert set(groups) == {"model", "generation"} and seed.parameter_groups(seed.build_model()) is None
    assert len(groups["model"]) + len(groups["generation"]) == len(list(model.parameters()))
    objective.compute_loss(model, train_set[:2], group="model").backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if name.startswith(("lstm.", "head."))}
    assert all(offset.grad is None for offset in model.generation_offsets.values())
    model.zero_grad()
    seed.compute_loss(model, train_set[:2]).backward()
    for name, grad in grads.items():
        torch.testing.assert_close(grad, dict(model.named_parameters())[name].grad, rtol=1e-5, atol=1e-8)
    model.zero_grad(set_to_none=True)
    objective.compute_loss(model, train_set[:2], group="generation").backward()
    trained = {name for name, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert trained == {f"generation_offsets.{name}" for name in model.generation_offsets}
    train(objective, TrainingArguments(output_dir=str(tmp_path), batch_size=4, learning_rate=3e-3, max_steps=3,
                                       report_to=None))
    pipe = MelContinuationPipeline.from_pretrained(tmp_path / "pipeline")
    assert pipe.model.config.generation_adapter
    assert any(offset.abs().sum() > 0 for offset in pipe.model.generation_offsets.values())
    with pytest.raises(ValueError, match="generation_adapter needs rollout_frames"):
        MelLSTMArguments(generation_adapter=True)  # its offsets would get no gradient


def test_temperature_calibration_picks_the_measured_best(tmp_path, musdb_root, caplog):
    """calibrate_temperatures: the saved model's sampling_temperature (0.35 before) is the candidate whose
    validation continuations move most like the music, as measured again on the saved model."""
    extra = dict(output_distribution="gaussian", continuation_clips=2, calibrate_temperatures=[0.0, 0.7],
                 sampling_temperature=0.35)
    objective = MelLSTMObjective(MelLSTMArguments(musdb_root=str(musdb_root), **TINY, **extra))
    with caplog.at_level(logging.INFO):
        train(objective, TrainingArguments(output_dir=str(tmp_path), batch_size=4, learning_rate=3e-3, max_steps=2,
                                           report_to=None))
    pipe = MelContinuationPipeline.from_pretrained(tmp_path / "pipeline")
    model = pipe.model
    best, errors = objective.calibrate_temperature(model, objective.continuation_set, [0.0, 0.7])
    assert set(errors) == {0.0, 0.7} and errors[0.0] != errors[0.7] and all(e > 0 for e in errors.values())
    assert model.config.sampling_temperature == best == min(errors, key=errors.get)
    assert f"sampling temperature {best:g} chosen on 2 validation windows" in caplog.text


def test_sampling_noise_db_sets_the_temperature_from_the_own_frame_std(tmp_path, musdb_root, caplog):
    """sampling_noise_db: the saved temperature x the std the model predicts for its own frames (read on the
    validation windows' music) is the asked dB, whatever the std head learnt; it needs a Gaussian head."""
    extra = dict(output_distribution="gaussian", rollout_frames=4, generation_adapter=True, continuation_clips=2,
                 sampling_noise_db=3.0)
    objective = MelLSTMObjective(MelLSTMArguments(musdb_root=str(musdb_root), **TINY, **extra))
    with caplog.at_level(logging.INFO):
        train(objective, TrainingArguments(output_dir=str(tmp_path), batch_size=4, learning_rate=3e-3, max_steps=2,
                                           report_to=None))
    model = MelContinuationPipeline.from_pretrained(tmp_path / "pipeline").model.eval()
    std_db = objective.own_frame_std_db(model, objective.continuation_set)
    assert std_db > 0.1
    assert model.config.sampling_temperature == pytest.approx(3.0 / std_db, rel=1e-2)
    assert "dB of sampled variation" in caplog.text
    with torch.no_grad():  # the measure follows the std head
        model.scale_head.bias.add_(1.0)
    assert objective.own_frame_std_db(model, objective.continuation_set) > 1.2 * std_db
    with pytest.raises(ValueError, match="sampling_noise_db"):
        MelLSTMArguments(sampling_noise_db=3.0, calibrate_temperatures=[0.5])
    with pytest.raises(ValueError, match="sampling_noise_db"):
        MelLSTMArguments(sampling_noise_db=0.0)
    point = MelLSTMObjective(MelLSTMArguments(musdb_root=str(musdb_root), **TINY))
    point.converter = objective.converter
    with pytest.raises(ValueError, match="gaussian"):
        point.own_frame_std_db(point.build_model(), objective.continuation_set)
