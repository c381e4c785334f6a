"""audiogen_hf: Hugging Face-native music audio generation.

Pins: each dependency has a lower bound and an upper range we test against; `constraints.txt` holds the exact set
the test suite last passed with (`make setup` installs with it: `pip install -c constraints.txt -e ".[dev]"`).
Heavy dependencies used by one feature are extras; a missing one raises an error naming its extra.
"""

from setuptools import find_packages, setup

# The torch stack is pinned as a set: torchaudio 2.11 wheels only import beside torch 2.11,
# and torchcodec 0.11 (needed by `datasets` for any Audio column) is the release built for it. torchaudio 2.11.1
# (released later) fails to load beside torch 2.11.0 ("undefined symbol: torch_exception_get_what_without_backtrace").
TORCH_STACK = ["torch>=2.11,<2.12", "torchaudio==2.11.0", "torchcodec>=0.11,<0.12"]

EXTRAS = {
    "captioning": ["librosa>=0.10,<0.12"],  # beat tracking for the tempo in captions
    "images": ["opencv-python-headless>=4.8,<6"],  # Pillow cannot write 16-bit RGB PNG
    "metrics": ["pesq>=0.0.4,<0.1"],
    "tensorboard": ["tensorboard>=2.15,<3"],
    "wandb": ["wandb>=0.17,<1"],
    "app": ["gradio>=5.0,<7", "playwright>=1.40,<2"],  # playwright drives the system Chromium in the app's tests
}
# librosa is also the reference the spectral code is tested and benchmarked against
EXTRAS["dev"] = sorted({r for extra in EXTRAS.values() for r in extra} | {"pytest>=8,<10", "ruff>=0.5,<1"})

setup(
    name="audiogen_hf",
    version="0.1.0.dev0",
    description="Hugging Face-native music audio generation: models, pipelines, training and data.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    # the recipes in configs/ ship inside the package (audiogen_hf/configs), so `audiogen train --config NAME`
    # works without a clone
    package_dir={"": "src", "audiogen_hf.configs": "configs"},
    packages=find_packages("src") + ["audiogen_hf.configs"],
    package_data={
        "audiogen_hf.data": ["gtzan_splits/*.txt", "musdb_validation_tracks.txt"],
        "audiogen_hf.captioning": ["vocabularies/*.txt"],
        "audiogen_hf.evaluation": ["metric_modules/*/*.py"],
        "audiogen_hf.configs": ["*.yaml", "*.json", "*/*.yaml", "*/*.json"],
    },
    python_requires=">=3.10",
    install_requires=TORCH_STACK
    + [
        "transformers>=5.0,<6",
        "diffusers>=0.42,<1",
        "accelerate>=1.15,<2",
        "datasets>=5.2,<6",
        "huggingface_hub>=1.0,<3",
        "safetensors>=0.4,<1",
        "evaluate>=0.4,<0.5",
        "soundfile>=0.12,<1",
        "numpy>=1.26,<3",
        "pyyaml>=6,<7",
        "mido>=1.3,<2",
        "matplotlib>=3.8,<4",
        "tqdm>=4.66,<5",
        "torchmetrics>=1.4,<2",  # FID / KID (over features of a classifier trained here: no Inception weights offline)
    ],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["audiogen = audiogen_hf.cli.main:main"]},
)
