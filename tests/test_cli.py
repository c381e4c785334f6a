"""The `audiogen` command: --help everywhere, each generation command on real corpus audio with tiny saved models,
built-in recipe names, and user errors as one line with a non-zero exit and no traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tiny_pipelines import save_tiny_autoencoder, save_tiny_codec, save_tiny_diffusion, save_tiny_jam

from audiogen_hf.cli.main import main
from audiogen_hf.cli.train import builtin_recipes, resolve_recipe

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"jam": save_tiny_jam(root / "jam"), "vae": save_tiny_autoencoder(root / "vae"),
            "codec": save_tiny_codec(root / "codec"), "diffusion": save_tiny_diffusion(root / "diffusion")}


@pytest.fixture(scope="module")
def clip(real_track, tmp_path_factory):
    """3 s of a real corpus recording (stereo 44.1 kHz wav)."""
    from audiogen_hf.audio import load_audio, save_audio

    audio, rate = load_audio(real_track / "mixture.wav", offset=2.0, duration=3.0)
    return save_audio(tmp_path_factory.mktemp("clip") / "clip.wav", audio, rate)


def test_help_everywhere(capsys):
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    commands = ("corpus", "train", "evaluate", "continue", "reconstruct", "sample", "roundtrip", "generate", "vary",
                "images", "app")
    for command in commands:
        assert f"  {command}" in listing
        assert main([command, "--help"]) == 0, command
        assert "usage" in capsys.readouterr().out.lower(), command
    for action in ("encode", "decode", "compare", "dataset", "push"):
        assert main(["images", action, "--help"]) == 0
        assert "usage" in capsys.readouterr().out.lower()
    assert main(["corpus", "build", "--help"]) == 0


def test_generation_commands_on_real_audio(models, clip, tmp_path, capsys):
    out = tmp_path / "jam.wav"
    assert main(["continue", str(clip), "-o", str(out), "--model", str(models["jam"]), "--seconds", "1.5",
                 "--picture", str(tmp_path / "jam.png"), "--json", str(tmp_path / "jam.json")]) == 0
    audio, rate = sf.read(out)
    assert rate == 8000 and abs(len(audio) / rate - 4.5) < 0.05  # the 3 s prompt + 1.5 s
    assert (tmp_path / "jam.png").stat().st_size > 5000
    assert json.loads((tmp_path / "jam.json").read_text())["continuation_seconds"] == pytest.approx(1.5, abs=0.02)
    assert main(["reconstruct", str(clip), "-o", str(tmp_path / "rec.wav"), "--model", str(models["vae"]),
                 "--phase", "input"]) == 0
    printed = capsys.readouterr().out
    assert "spectral_convergence_db" in printed and "pesq_wb" in printed
    reconstructed, rate = sf.read(tmp_path / "rec.wav")
    assert rate == 8000 and len(reconstructed) == 3 * 8000
    assert main(["sample", "-o", str(tmp_path / "s.wav"), "--model", str(models["vae"]), "--num_samples", "2",
                 "--seed", "3"]) == 0
    assert (tmp_path / "s.wav").is_file() and (tmp_path / "s_1.wav").is_file()
    assert main(["roundtrip", str(clip), "-o", str(tmp_path / "c.wav"), "--model", str(models["codec"]),
                 "--num_quantizers", "1", "--json", str(tmp_path / "c.json")]) == 0
    coded, rate = sf.read(tmp_path / "c.wav")
    assert rate == 22050 and len(coded) == 3 * 22050
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["bitrate_kbps"] > 0 and "si_sdr_db" in report


def test_diffusion_commands(models, clip, tmp_path, capsys):
    diffusion = str(models["diffusion"])
    assert main(["generate", "-o", str(tmp_path / "g.wav"), "--model", diffusion, "--genre", "metal",
                 "--num_samples", "2", "--num_inference_steps", "4", "--guidance_scale", "3",
                 "--picture", str(tmp_path / "g.png")]) == 0
    first, rate = sf.read(tmp_path / "g.wav")
    second, _ = sf.read(tmp_path / "g_1.wav")
    assert rate == 22050 and len(first) == 31 * 256 and np.abs(first).max() <= 1.0
    assert not np.allclose(first, second)  # two samples, two clips
    assert (tmp_path / "g.png").stat().st_size > 5000
    assert main(["generate", "-o", str(tmp_path / "any.wav"), "--model", diffusion, "--num_samples", "2",
                 "--num_inference_steps", "3", "--scheduler", "saved", "--json", str(tmp_path / "any.json")]) == 0
    assert json.loads((tmp_path / "any.json").read_text())["genres"] == "metal, electronic"  # every genre in turn
    assert main(["vary", str(clip), "-o", str(tmp_path / "v.wav"), "--model", diffusion, "--genre", "electronic",
                 "--strength", "0.3", "--num_inference_steps", "10"]) == 0
    assert "strength: 0.3" in capsys.readouterr().out
    assert main(["generate", "-o", str(tmp_path / "x.wav"), "--model", diffusion, "--genre", "polka"]) == 1
    assert "unknown genre 'polka'; known genres: metal, electronic" in capsys.readouterr().err
    assert main(["generate", "-o", str(tmp_path / "x.wav"), "--model", str(models["jam"])]) == 1
    assert "needs a MelDiffusionPipeline" in capsys.readouterr().err


def test_images_encode_decode_compare(clip, tmp_path):
    assert main(["images", "encode", str(clip), "-o", str(tmp_path / "images")]) == 0
    assert main(["images", "decode", str(tmp_path / "images"), "-o", str(tmp_path / "back.wav")]) == 0
    original, rate = sf.read(clip)
    decoded, decoded_rate = sf.read(tmp_path / "back.wav")
    assert decoded_rate == rate and decoded.shape == original.shape
    assert main(["images", "compare", "--reference", str(tmp_path / "images"), "--estimate",
                 str(tmp_path / "images"), "--json", str(tmp_path / "c.json")]) == 0
    assert (tmp_path / "c.json").read_text().count("Infinity") >= 1


def test_builtin_recipes_resolve_by_name():
    assert {"mel_lstm_musdb", "spectrogram_autoencoder_gtzan", "mel_lstm_demo"} <= set(builtin_recipes())
    assert resolve_recipe("mel_lstm_musdb").name == "mel_lstm_musdb.yaml"
    assert resolve_recipe("mel_lstm_musdb.yaml") == resolve_recipe("mel_lstm_musdb")


def run_cli(*args):
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("AUDIOGEN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "audiogen_hf.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("case", ["missing", "corrupt", "silent", "too_short", "bad_option", "wrong_model",
                                  "no_model", "unknown_recipe", "unknown_command"])
def test_user_errors_are_one_line_without_traceback(case, models, tmp_path):
    import numpy as np

    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    sf.write(tmp_path / "silent.wav", np.zeros(16000, dtype=np.float32), 8000)
    sf.write(tmp_path / "short.wav", 0.5 * np.ones(400, dtype=np.float32), 8000)
    sf.write(tmp_path / "tone.wav", 0.5 * np.sin(np.arange(16000, dtype=np.float32) * 0.1), 8000)
    out = str(tmp_path / "o.wav")
    args, expected = {
        "missing": (["continue", str(tmp_path / "nope.wav"), "-o", out, "--model", str(models["jam"])], "not found"),
        "corrupt": (["continue", str(tmp_path / "corrupt.wav"), "-o", out, "--model", str(models["jam"])],
                    "not a readable audio file"),
        "silent": (["reconstruct", str(tmp_path / "silent.wav"), "-o", out, "--model", str(models["vae"])],
                   "is silent"),
        "too_short": (["continue", str(tmp_path / "short.wav"), "-o", out, "--model", str(models["jam"])],
                      "at least 0.5 s"),
        "bad_option": (["continue", str(tmp_path / "tone.wav"), "-o", out, "--model", str(models["jam"]),
                        "--seconds", "100"], "outside"),
        "wrong_model": (["continue", str(tmp_path / "tone.wav"), "-o", out, "--model", str(models["vae"])],
                        "needs a MelContinuationPipeline"),
        "no_model": (["sample", "-o", out, "--model", "someone/not-downloaded"], "hf download someone/not-downloaded"),
        "unknown_recipe": (["train", "--config", "no_such_recipe"], "built-in: "),
        "unknown_command": (["frobnicate"], "unknown command"),
    }[case]
    import io
    from contextlib import redirect_stderr

    stderr = io.StringIO()
    with redirect_stderr(stderr):
        code = main(args)
    lines = [line for line in stderr.getvalue().splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and expected in lines[0], stderr.getvalue()
    assert lines[0].startswith("audiogen")


def test_installed_command_exits_non_zero_without_traceback(tmp_path):
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    result = run_cli("reconstruct", str(tmp_path / "corrupt.wav"), "-o", str(tmp_path / "o.wav"), "--model", "x/y")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"audiogen reconstruct: error: corrupt.wav: not a readable audio file " \
        f"({result.stderr.split('(', 1)[1].strip()}"
    result = run_cli("continue", "--seconds")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "see audiogen continue --help" in result.stderr
