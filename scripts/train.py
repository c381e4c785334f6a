"""Train a model with the Accelerate engine.

    accelerate launch scripts/train.py --config configs/mel_lstm_musdb.yaml [--field value ...]

The config (YAML/JSON) names the model (``model: mel_lstm``) and sets TrainingArguments and the model's arguments;
command-line ``--field value`` pairs override it.
"""

import logging
import sys

from audiogen_hf.training import OBJECTIVES, TrainingArguments, parse_config, read_config, train


def main(argv=None) -> dict:
    values, argv = read_config(sys.argv[1:] if argv is None else argv)
    model = values.pop("model", "mel_lstm")
    if "--model" in argv:
        index = argv.index("--model")
        model, argv = argv[index + 1], argv[:index] + argv[index + 2 :]
    if model not in OBJECTIVES:
        raise SystemExit(f"unknown model {model!r}; choose one of {sorted(OBJECTIVES)}")
    arguments_class, objective_class = OBJECTIVES[model]
    training_args, model_args = parse_config((TrainingArguments, arguments_class), argv, values)
    metrics = train(objective_class(model_args), training_args)
    print(metrics)
    return metrics


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main()
