"""audiogen_hf: Hugging Face-native music audio generation."""
from setuptools import find_packages, setup

# The torch stack is pinned as a set: torchaudio 2.11 wheels only import beside torch 2.11,
# and torchcodec 0.11 (needed by `datasets` for any Audio column) is the release built for it. torchaudio 2.11.1
# (released later) fails to load beside torch 2.11.0 ("undefined symbol: torch_exception_get_what_without_backtrace").
TORCH_STACK = ["torch>=2.11,<2.12", "torchaudio==2.11.0", "torchcodec>=0.11,<0.12"]

setup(
    name="audiogen_hf",
    version="0.1.0.dev0",
    description="Hugging Face-native music audio generation: models, pipelines, training and data.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"audiogen_hf.data": ["gtzan_splits/*.txt", "musdb_validation_tracks.txt"],
                  "audiogen_hf.captioning": ["vocabularies/*.txt"]},
    python_requires=">=3.10",
    install_requires=TORCH_STACK
    + [
        "transformers>=5.0,<6",
        "diffusers>=0.42,<0.43",
        "accelerate>=1.15,<2",
        "datasets>=5.2,<6",
        "huggingface_hub>=1.0",
        "safetensors>=0.4",
        "evaluate>=0.4,<0.5",
        "soundfile>=0.12",
        "numpy>=1.26",
        "pyyaml>=6",
        "mido>=1.3",
        "matplotlib>=3.8",
        "tensorboard>=2.15",
        "pesq>=0.0.4",
        "librosa>=0.10",  # beat tracking for captions; also the reference our spectral code is tested against
        "opencv-python-headless>=4.8",  # Pillow cannot write 16-bit RGB PNG
        "tqdm>=4.66",
        "torchmetrics>=1.4",  # FID / KID (over features of a classifier trained here: no Inception weights offline)
    ],
    extras_require={
        "dev": ["pytest>=8", "ruff>=0.8"],
    },
)
