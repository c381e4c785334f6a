"""``audiogen train --config NAME_OR_FILE [--field value ...]``: the Accelerate engine.

``NAME`` is a built-in recipe (shipped with the package: ``audiogen train --list``) or a YAML/JSON file; the
config names the model (``model: mel_lstm``) and sets TrainingArguments and the model's arguments; command-line
``--field value`` pairs override it. Several processes: ``accelerate launch -m audiogen_hf.cli.train --config ...``.
"""

import sys
from pathlib import Path

from .common import UserError


def recipe_dirs() -> list[Path]:
    """Where built-in recipes live: ``audiogen_hf/configs`` in an installed wheel, ``configs/`` of a checkout."""
    package = Path(__file__).resolve().parents[1]
    return [d for d in (package / "configs", package.parents[1] / "configs") if d.is_dir()]


def builtin_recipes() -> list[str]:
    return sorted({p.stem for d in recipe_dirs() for p in d.glob("*.yaml")})


def resolve_recipe(name_or_path: str) -> Path:
    """A config file path, or the built-in recipe of that name (``mel_lstm_musdb`` / ``mel_lstm_musdb.yaml``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    stem = path.name[: -len(path.suffix)] if path.suffix in (".yaml", ".yml", ".json") else path.name
    if path.parent == Path("."):
        for directory in recipe_dirs():
            for suffix in (".yaml", ".yml", ".json"):
                if (directory / f"{stem}{suffix}").is_file():
                    return directory / f"{stem}{suffix}"
    raise UserError(f"config {name_or_path!r} is neither a file nor a built-in recipe; built-in: "
                    f"{', '.join(builtin_recipes()) or 'none found'}")


def main(argv=None, prog="audiogen train"):
    import logging

    from ..training import OBJECTIVES, TrainingArguments, parse_config, read_config, train

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--list" in argv:
        print("\n".join(builtin_recipes()))
        return 0
    if "--config" in argv:
        index = argv.index("--config")
        if index + 1 >= len(argv):
            raise UserError("--config needs a recipe name or a YAML/JSON file")
        argv[index + 1] = str(resolve_recipe(argv[index + 1]))
    values, argv = read_config(argv)
    model = values.pop("model", "mel_lstm")
    if "--model" in argv:
        index = argv.index("--model")
        model, argv = argv[index + 1], argv[:index] + argv[index + 2 :]
    if model not in OBJECTIVES:
        raise UserError(f"unknown model {model!r}; choose one of {sorted(OBJECTIVES)}")
    arguments_class, objective_class = OBJECTIVES[model]
    if "-h" in argv or "--help" in argv:
        from .common import hf_parser

        epilog = (f"built-in recipes: {', '.join(builtin_recipes())}\nmodels: {', '.join(sorted(OBJECTIVES))} "
                  f"(shown: {model}; --model NAME --help or --config RECIPE --help for another's arguments)")
        help_parser = hf_parser(prog, (TrainingArguments, arguments_class), __doc__)
        print(help_parser.format_help() + "\n" + epilog)
        return 0
    try:
        training_args, model_args = parse_config((TrainingArguments, arguments_class), argv, values)
    except SystemExit as error:  # HfArgumentParser's own message was printed
        raise UserError(f"bad training options (see {prog} --help)") from error
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metrics = train(objective_class(model_args), training_args)
    print(metrics)
    return metrics


if __name__ == "__main__":  # accelerate launch -m audiogen_hf.cli.train ...
    main()
