"""The model card a training run writes into its saved model and pipeline folders (and so pushes to the Hub):
the recipe (training and model arguments), where the training data came from (the corpus manifest, when the data
is the offline corpus), the validation metrics as ``eval_results``, and a usage snippet."""

import json
import math
from collections import Counter
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Optional

import yaml

TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

{{ description }}

## Usage

```python
{{ usage }}
```

## Training data

{{ data }}

{{ provenance }}

## Recipe ({{ steps }} optimizer steps)

```yaml
{{ recipe }}
```

## Validation

| metric | value |
|---|---|
{{ results }}
"""


def find_manifest(root) -> Optional[Path]:
    """The corpus ``manifest.json`` of a data folder: in it or up to two folders above."""
    if not root:
        return None
    path = Path(root)
    for folder in [path, *list(path.parents)[:2]]:
        if (folder / "manifest.json").is_file():
            return folder / "manifest.json"
    return None


def data_provenance(roots: list) -> str:
    """Markdown lines on where the data of ``roots`` came from, from their corpus manifests."""
    lines = []
    for root in roots:
        manifest = find_manifest(root)
        if manifest is None:
            lines.append(f"- `{root}`: no corpus manifest (user-supplied data).")
            continue
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError) as error:
            lines.append(f"- `{root}`: unreadable manifest {manifest} ({error}).")
            continue
        items = [item for key in ("tracks", "clips") for item in data.get(key, []) if isinstance(item, dict)]
        sources = Counter((item.get("source_package", "unknown"), item.get("licence", item.get("license", "?")))
                          for item in items)
        packages = data.get("packages", {})
        if sources:
            listed = ", ".join(f"{package} ({licence}): {count}"
                               for (package, licence), count in sorted(sources.items()))
            lines.append(f"- `{root}` ({len(items)} items, manifest `{manifest.name}`): {listed}.")
        elif isinstance(packages, dict) and packages:
            listed = ", ".join(f"{package} ({licence})" for package, licence in sorted(packages.items()))
            lines.append(f"- `{root}` (manifest `{manifest}`): built from Debian packages {listed}.")
        else:
            lines.append(f"- `{root}`: manifest `{manifest}` lists no sources.")
    return "Provenance (from the corpus manifest):\n\n" + "\n".join(lines) if lines else ""


def usage_snippet(pipeline_class: str, repo_id: str) -> str:
    return (f'import audiogen_hf.pipelines  # registers the pipelines with diffusers, the models with transformers\n'
            f'from diffusers import DiffusionPipeline\nfrom transformers import AutoModel\n\n'
            f'pipe = DiffusionPipeline.from_pretrained("{repo_id}")  # a {pipeline_class}\n'
            f'model = AutoModel.from_pretrained("{repo_id}", subfolder="model")\n'
            f'# command line: audiogen --help (e.g. audiogen continue in.wav -o out.wav --model {repo_id})')


def build_model_card(args, model_args, metrics: dict, step: int, objective, pipeline_class: str):
    """A huggingface_hub ``ModelCard`` for a finished run (``args``: TrainingArguments, ``model_args``: the
    objective's arguments dataclass or None)."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    data = objective.card_data()
    title = data.get("title", "audiogen_hf model")
    repo_id = args.hub_model_id or str(Path(args.output_dir) / "pipeline")
    finite = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    datasets = data.get("datasets") or ["audiogen_hf-corpus"]
    eval_results = [EvalResult(task_type="audio-to-audio", dataset_type=datasets[0], dataset_name=datasets[0],
                               dataset_split="validation", metric_type=name, metric_name=name, metric_value=value)
                    for name, value in finite.items()] or None
    card_data = ModelCardData(library_name="audiogen_hf", tags=["audio", "music", "audiogen_hf", pipeline_class],
                              datasets=data.get("datasets"), metrics=sorted(finite) or None,
                              model_name=title if eval_results else None, eval_results=eval_results)
    recipe = {"training": {k: v for k, v in sorted(vars(args).items()) if v is not None}}
    if model_args is not None and is_dataclass(model_args):
        recipe["model"] = asdict(model_args)
    roots = [value for name, value in sorted(recipe.get("model", {}).items())
             if (name.endswith("_root") or name == "data_dir") and value]
    results = "\n".join(f"| {k} | {v:.6g} |" if isinstance(v, float) else f"| {k} | {v} |"
                        for k, v in metrics.items()) or "| (no validation set) | |"
    return ModelCard.from_template(
        card_data, template_str=TEMPLATE, title=title, description=data.get("description", ""),
        usage=usage_snippet(pipeline_class, repo_id), data=data.get("data", "unspecified"),
        provenance=data_provenance(roots), steps=step, recipe=yaml.safe_dump(recipe, sort_keys=False).strip(),
        results=results)
