"""Train a model with the Accelerate engine; the same as `audiogen train` (audiogen_hf/cli/train.py).

    accelerate launch scripts/train.py --config configs/mel_lstm_musdb.yaml [--field value ...]
    accelerate launch scripts/train.py --config mel_lstm_musdb      # a built-in recipe name works too
"""

import logging

from audiogen_hf.cli.train import main

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main()
