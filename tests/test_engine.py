"""The engine with more than one optimizer (a GAN-shaped toy objective): both groups learn, a group's loss never
leaves gradients on another group, and a resumed run equals an uninterrupted one."""

import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from audiogen_hf.training import TrainingArguments, train


class ToyGAN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = torch.nn.Linear(4, 8)
        self.discriminator = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))


class ToyGANObjective:
    """Real data: 8-d Gaussians around 2.0; the generator maps noise to them."""

    def __init__(self):
        self.leaked = []

    def build_model(self):
        return ToyGAN()

    def datasets(self):
        data = torch.randn(64, 8, generator=torch.Generator().manual_seed(1)) * 0.1 + 2.0
        return [{"real": x} for x in data], None

    def parameter_groups(self, model):
        return {"discriminator": {"params": model.discriminator.parameters(), "lr": 5e-3},
                "generator": model.generator.parameters()}

    def compute_loss(self, model, batch, group):
        real = batch["real"]
        fake = model.generator(torch.randn(real.shape[0], 4))
        softplus = torch.nn.functional.softplus
        if group == "discriminator":
            self.leaked.append(any(p.grad is not None for p in model.discriminator.parameters()))
            return softplus(-model.discriminator(real)).mean() + softplus(model.discriminator(fake.detach())).mean()
        assert not any(p.requires_grad for p in model.discriminator.parameters())
        return softplus(-model.discriminator(fake)).mean()

    def save(self, model, output_dir):
        output_dir.joinpath("model").mkdir(parents=True, exist_ok=True)
        save_file(model.state_dict(), output_dir / "model" / "model.safetensors")

    def card_data(self):
        return {"title": "toy GAN"}


def run(output_dir, **kwargs):
    objective = ToyGANObjective()
    args = TrainingArguments(output_dir=str(output_dir), batch_size=16, learning_rate=1e-2, report_to=None, **kwargs)
    return objective, train(objective, args)


def test_two_optimizers_train_their_own_groups_without_leaking_gradients(tmp_path):
    torch.manual_seed(0)
    before = ToyGAN().generator.bias.detach().clone()
    objective, metrics = run(tmp_path, max_steps=40)
    assert metrics["step"] == 40 and objective.leaked == [False] * 40
    weights = load_file(tmp_path / "model" / "model.safetensors")
    generated = weights["generator.bias"]  # the mean of the generator's output
    assert (generated - 2.0).abs().mean() < (before - 2.0).abs().mean()  # the generator moved toward the data
    history = (tmp_path / "logs" / "history.jsonl").read_text()
    assert '"train/generator_loss"' in history and '"train/discriminator_lr": 0.005' in history


def test_two_optimizers_resume_equals_uninterrupted(tmp_path):
    run(tmp_path / "full", max_steps=8, seed=3)
    run(tmp_path / "resumed", max_steps=5, checkpointing_steps=5, seed=3)
    _, metrics = run(tmp_path / "resumed", max_steps=8, checkpointing_steps=5, seed=3, resume_from_checkpoint="latest")
    assert metrics["step"] == 8
    a = load_file(tmp_path / "full" / "model" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model" / "model.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_a_parameter_in_two_groups_is_refused(tmp_path):
    objective = ToyGANObjective()
    objective.parameter_groups = lambda model: {"a": model.parameters(), "b": model.generator.parameters()}
    with pytest.raises(ValueError, match="more than one group"):
        train(objective, TrainingArguments(output_dir=str(tmp_path), max_steps=1, report_to=None))


def test_progress_bar_on_the_main_process_and_logging_without_accelerate_state(tmp_path, capfd):
    run(tmp_path / "a", max_steps=6, checkpointing_steps=3)
    err = capfd.readouterr().err
    assert "training" in err and "6/6" in err and "generator=" in err  # tqdm bar with the losses as postfix
    run(tmp_path / "a", max_steps=8, resume_from_checkpoint="latest")
    err = capfd.readouterr().err
    assert "6/8" in err and "8/8" in err  # a resumed run's bar starts at its step

    import logging

    from audiogen_hf.logging_utils import get_logger

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = get_logger("audiogen_hf.test")
    logger.logger.addHandler(handler)
    try:
        logger.warning("once %d", 1)
    finally:
        logger.logger.removeHandler(handler)
    assert [r.getMessage() for r in records][-1].endswith("once 1")  # through accelerate's adapter (a state exists)
    # without any accelerate state (a script, a notebook) the logger still logs instead of raising
    code = "import logging; logging.basicConfig(); from audiogen_hf.logging_utils import get_logger; " \
           "get_logger('x').warning('no state yet')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "no state yet" in result.stderr


def test_max_train_minutes_stops_early_then_saves_as_at_the_end(tmp_path):
    _, metrics = run(tmp_path / "timed", max_steps=1000, max_train_minutes=1e-6)
    assert metrics["step"] == 1  # the first step already took longer than 60 microseconds
    assert (tmp_path / "timed" / "model" / "model.safetensors").is_file()
    _, metrics = run(tmp_path / "untimed", max_steps=3, max_train_minutes=60)
    assert metrics["step"] == 3
    with pytest.raises(ValueError, match="max_train_minutes"):
        TrainingArguments(max_train_minutes=0)
