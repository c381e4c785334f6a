"""Packaging: optional dependencies name their extra, the extras cover them, constraints pin the tested set."""

import re
import sys
from pathlib import Path

import pytest

from audiogen_hf.utils.import_utils import EXTRAS, MissingExtraError, require

REPO = Path(__file__).resolve().parents[1]


def setup_extras() -> dict:
    """The ``EXTRAS`` dict of setup.py, evaluated without running setup()."""
    source = (REPO / "setup.py").read_text()
    namespace = {}
    exec(source[source.index("EXTRAS = {"): source.index("setup(\n")], namespace)
    return namespace["EXTRAS"]


def test_missing_optional_dependency_names_its_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pesq", None)  # makes `import pesq` raise ImportError
    with pytest.raises(MissingExtraError, match=r'pip install "audiogen_hf\[metrics\]"'):
        require("pesq", "PESQ")
    import torch

    from audiogen_hf.evaluation import pesq_wideband

    with pytest.raises(MissingExtraError, match=r"PESQ .*audiogen_hf\[metrics\]"):
        pesq_wideband(torch.zeros(16000), torch.zeros(16000), 16000)
    monkeypatch.setitem(sys.modules, "cv2", None)
    from audiogen_hf.audio.spectrogram_images import SpectrogramImageConfig, audio_to_images

    with pytest.raises(MissingExtraError, match=r"audiogen_hf\[images\]"):
        audio_to_images(torch.randn(1, 22050), 22050, SpectrogramImageConfig(size=64))


def test_tracker_without_its_package_says_which_extra(monkeypatch):
    import importlib.util

    from audiogen_hf.training import TrainingArguments

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ValueError, match=r"audiogen_hf\[wandb\]"):
        TrainingArguments(report_to="wandb")


def test_every_optional_import_belongs_to_an_extra_and_dev_has_them_all():
    extras = setup_extras()
    for module, (distribution, extra) in EXTRAS.items():
        assert any(r.startswith(distribution) for r in extras[extra]), (module, extra)
    assert {r for name, reqs in extras.items() if name != "dev" for r in reqs} <= set(extras["dev"])


def test_constraints_pin_every_requirement_exactly_within_its_range():
    from packaging.requirements import Requirement

    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    source = (REPO / "setup.py").read_text()
    requirements = re.findall(r'"([A-Za-z][A-Za-z0-9_.-]*(?:[<>=!]=?[^"]*)?)"', source[source.index("TORCH_STACK ="):])
    checked = 0
    for text in requirements:
        requirement = Requirement(text)
        if not requirement.specifier:
            continue
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert pins[name] in requirement.specifier, f"{name}=={pins[name]} is outside setup.py's {requirement}"
        assert requirement.specifier.filter([pins[name]]), name
        if name not in ("torchaudio",):
            assert any(s.operator in ("<", "<=") for s in requirement.specifier), f"{name} needs an upper bound"
        checked += 1
    assert checked >= 20 and "audiogen-hf" not in pins
