"""The Hub: loading by id from the cache offline (huggingface_hub's own resolution), one clear error at once when a
model is missing, diffusers' DiffusionPipeline / transformers' AutoModel loading our classes, and what push_to_hub
would upload (models, the engine's pipeline folder with our card, the spectrogram-image dataset) at the HTTP layer."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from fake_hub import SHA, fake_hub

from audiogen_hf.audio import SpectrogramConverter, load_audio
from audiogen_hf.models import MelLSTMConfig, MelLSTMModel
from audiogen_hf.pipelines import MelContinuationPipeline
from audiogen_hf.utils.hub_utils import ModelNotAvailableError, ensure_available, load_pipeline

SRC = Path(__file__).resolve().parents[1] / "src"


def tiny_pipeline() -> MelContinuationPipeline:
    torch.manual_seed(0)
    model = MelLSTMModel(MelLSTMConfig(n_mels=16, hidden_size=16, num_layers=1, dropout=0.0, sampling_rate=8000))
    converter = SpectrogramConverter(sampling_rate=8000, n_fft=256, hop_length=128, n_mels=16, normalization="fixed",
                                     norm_range=(-80.0, 40.0), griffin_lim_iters=4)
    return MelContinuationPipeline(model=model, converter=converter)


def place_in_cache(folder: Path, hf_home: Path, repo_id: str) -> Path:
    """Copy a saved folder into ``hf_home`` in the Hub cache layout (snapshots/<sha>, refs/main)."""
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(folder, repo / "snapshots" / SHA)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(SHA)
    return repo


def run_offline(code: str, hf_home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(SRC),
           # the parent's thread count: outputs are compared exactly, and float sums depend on the thread split
           "OMP_NUM_THREADS": str(torch.get_num_threads()), "HF_MODULES_CACHE": str(hf_home / "modules")}
    env.pop("HF_HUB_CACHE", None)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def test_pipeline_and_model_load_by_hub_id_from_the_cache_offline(tmp_path):
    pipe = tiny_pipeline()
    pipe.save_pretrained(tmp_path / "saved")
    hf_home = tmp_path / "hf_home"
    place_in_cache(tmp_path / "saved", hf_home, "someone/tiny-jam")
    prompt = torch.sin(torch.arange(8000) * 0.05)
    torch.save(prompt, tmp_path / "prompt.pt")
    expected = pipe(prompt, sampling_rate=8000, num_frames=4, output_type="pt").audios
    torch.save(expected, tmp_path / "expected.pt")
    code = f"""
import torch
import audiogen_hf.pipelines  # what a user does: registers our pipelines with diffusers
from diffusers import DiffusionPipeline
from transformers import AutoModel
from audiogen_hf import MelContinuationPipeline
from audiogen_hf.utils.hub_utils import ModelNotAvailableError, load_pipeline
prompt, expected = torch.load({str(tmp_path / 'prompt.pt')!r}), torch.load({str(tmp_path / 'expected.pt')!r})
for pipe in (DiffusionPipeline.from_pretrained("someone/tiny-jam"), MelContinuationPipeline.from_pretrained(
        "someone/tiny-jam"), load_pipeline("someone/tiny-jam")):
    assert type(pipe) is MelContinuationPipeline, type(pipe)
    audios = pipe(prompt, sampling_rate=8000, num_frames=4, output_type="pt").audios
    torch.testing.assert_close(audios, expected, rtol=0, atol=0)
model = AutoModel.from_pretrained("someone/tiny-jam", subfolder="model")
assert type(model).__name__ == "MelLSTMModel"
try:
    load_pipeline("someone/not-downloaded")
except ModelNotAvailableError as error:
    print("ERROR:", error)
print("OK")
"""
    result = run_offline(code, hf_home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK" in result.stdout
    (error,) = [line for line in result.stdout.splitlines() if line.startswith("ERROR:")]
    assert "someone/not-downloaded" in error and "HF_HUB_OFFLINE=1" in error
    assert "`hf download someone/not-downloaded`" in error and "huggingface-cli" not in error
    assert "Retrying" not in result.stderr  # no network attempt at all


def test_automodel_loads_through_auto_map_without_importing_audiogen_hf(tmp_path):
    model = tiny_pipeline().model
    model.save_pretrained(tmp_path / "model")
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["auto_map"] == {"AutoConfig": "audiogen_hf_auto.MelLSTMConfig",
                                  "AutoModel": "audiogen_hf_auto.MelLSTMModel"}
    hf_home = tmp_path / "hf_home"
    place_in_cache(tmp_path / "model", hf_home, "someone/tiny-lstm")
    code = """
import sys
from transformers import AutoModel
try:
    AutoModel.from_pretrained("someone/tiny-lstm")
except (ValueError, KeyError) as error:
    print("WITHOUT_TRUST:", type(error).__name__)
model = AutoModel.from_pretrained("someone/tiny-lstm", trust_remote_code=True)
print("CLASS:", type(model).__module__, type(model).__name__, model.config.n_mels)
"""
    result = run_offline(code, hf_home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "CLASS: audiogen_hf.models.mel_lstm.modeling_mel_lstm MelLSTMModel 16" in result.stdout
    assert "WITHOUT_TRUST:" in result.stdout  # transformers alone does not know the model type: auto_map does


def test_missing_models_fail_at_once_with_one_message(tmp_path, monkeypatch):
    with pytest.raises(ModelNotAvailableError, match="folder not found"):
        ensure_available(tmp_path / "nothing" / "here")
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(ModelNotAvailableError, match="is a file"):
        ensure_available(tmp_path / "file.bin")
    tiny_pipeline().model.save_pretrained(tmp_path / "model_only")
    with pytest.raises(ModelNotAvailableError, match="no model_index.json.*model folder"):
        load_pipeline(tmp_path / "model_only")
    assert ensure_available(tmp_path / "model_only") == tmp_path / "model_only"


def test_model_push_to_hub_uploads_weights_config_and_auto_map_module(monkeypatch):
    model = tiny_pipeline().model
    with fake_hub(monkeypatch) as hub:
        model.push_to_hub("someone/tiny-lstm")
    files = hub.uploaded("someone/tiny-lstm")
    assert {"config.json", "model.safetensors", "audiogen_hf_auto.py"} <= set(files)
    assert "from audiogen_hf.models import MelLSTMConfig, MelLSTMModel" in files["audiogen_hf_auto.py"].decode()
    assert json.loads(files["config.json"])["model_type"] == "mel_lstm"
    assert ("model", "someone/tiny-lstm") in hub.repos


def test_engine_pushes_the_pipeline_folder_with_our_model_card(tmp_path, musdb_root, monkeypatch):
    from audiogen_hf.training import MelLSTMArguments, MelLSTMObjective, TrainingArguments, train

    objective = MelLSTMObjective(MelLSTMArguments(musdb_root=str(musdb_root), clip_seconds=2.0, n_mels=16,
                                                  hidden_size=16, num_layers=1, n_fft=512, hop_length=256))
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=1, batch_size=4, report_to=None,
                             validation_samples=0, push_to_hub=True, hub_model_id="someone/jam")
    with fake_hub(monkeypatch) as hub:
        train(objective, args)
    files = hub.uploaded("someone/jam")
    assert {"model_index.json", "model/config.json", "model/model.safetensors", "README.md",
            "converter/spectrogram_config.json"} <= set(files)
    assert set(files) == {str(p.relative_to(tmp_path / "pipeline")) for p in (tmp_path / "pipeline").rglob("*")
                          if p.is_file()}
    card = files["README.md"].decode()
    assert card == (tmp_path / "pipeline" / "README.md").read_text() == (tmp_path / "model" / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    results = meta["model-index"][0]["results"]
    metrics = {m["type"]: m["value"] for r in results for m in r["metrics"]}
    assert {"mse", "centroid"} <= set(metrics) and all(isinstance(v, float) for v in metrics.values())
    assert meta["library_name"] == "audiogen_hf"
    assert 'DiffusionPipeline.from_pretrained("someone/jam")' in card and "a MelContinuationPipeline" in card
    assert "hidden_size: 16" in card and "max_steps: 1" in card  # the recipe
    assert "fretsonfire-songs-muldjord (CC-BY-SA-3.0)" in card  # provenance from the corpus manifest


def test_image_dataset_push_uploads_parquet_and_its_card(tmp_path, real_track, monkeypatch):
    from audiogen_hf.audio import save_audio
    from audiogen_hf.data.image_dataset import build_image_dataset, push_image_dataset

    audio, rate = load_audio(real_track / "mixture.wav", duration=3.0, channels=1)
    save_audio(tmp_path / "music" / "clip.wav", audio, rate, subtype="FLOAT")
    build_image_dataset(tmp_path / "music", tmp_path / "dataset", captions="none", with_bpm=True, progress=False)
    with fake_hub(monkeypatch) as hub:
        push_image_dataset(tmp_path / "dataset", "someone/spectrograms", license="cc-by-sa-3.0")
    files = hub.uploaded("someone/spectrograms")
    parquet = [path for path in files if path.startswith("data/train-") and path.endswith(".parquet")]
    assert len(parquet) == 1 and files[parquet[0]][:4] == b"PAR1"
    card = files["README.md"].decode()
    assert "spectrogram images" in card and "images_to_audio" in card and "clip" in card
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["license"] == "cc-by-sa-3.0" and "audiogen_hf" in meta["tags"]
    assert all(commit["repo_type"] == "dataset" for commit in hub.commits)
    import io

    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(files[parquet[0]]))
    assert table.num_rows == len((tmp_path / "dataset" / "metadata.jsonl").read_text().splitlines())
    from audiogen_hf.data.image_dataset import spectrogram_image_of

    image = spectrogram_image_of(table.column("image")[0].as_py())
    assert image.pixels.dtype.itemsize == 2  # 16 bits survive the upload
