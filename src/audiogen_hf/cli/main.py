"""``audiogen``: the command line of audiogen_hf.

    audiogen --help
    audiogen corpus build --output_dir data/corpus
    audiogen train --config mel_lstm_musdb [--field value ...]     (accelerate launch -m audiogen_hf.cli.train ...)
    audiogen continue IN.wav -o OUT.wav --model DIR_OR_HUB_ID --seconds 5
    audiogen app --model DIR [DIR ...]

User errors (missing file, corrupt audio, bad option, a model that cannot be had) print one line and exit 1;
``AUDIOGEN_DEBUG=1`` shows the traceback instead.
"""

import importlib
import os
import sys

from .common import UserError, fail

# sub-command -> (module in audiogen_hf.cli with main(argv, prog), one-line help). Generation commands come from
# the task table (cli/tasks.py), so a new pipeline's command is its entry there.
COMMANDS = {
    "corpus": ("corpus", "build the offline real-music corpus (MUSDB18-HQ / GTZAN layouts): corpus build"),
    "train": ("train", "train a model with the Accelerate engine from a recipe name or YAML file"),
    "evaluate": ("evaluate", "metrics (and audio pairs) of a trained pipeline on test data"),
    "images": ("images", "spectrogram images: encode | decode | compare | dataset | push"),
    "app": ("app", "serve the web app (Gradio): one tab per pipeline"),
}


def _commands() -> dict:
    from .tasks import TASKS

    commands = dict(COMMANDS)
    for name, task in TASKS.items():
        if task.pipeline is not None:
            commands[name] = ("generate", task.help)
    return dict(sorted(commands.items()))


def usage(commands: dict) -> str:
    width = max(map(len, commands))
    lines = [f"  {name:{width}s}  {help_text}" for name, (_, help_text) in commands.items()]
    return ("usage: audiogen <command> [options]   (audiogen <command> --help for its options)\n\ncommands:\n"
            + "\n".join(lines))


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = _commands()
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.split("\n\n")[0] + "\n\n" + usage(commands))
        return 0
    if argv[0] == "--version":
        from .. import __version__

        print(f"audiogen_hf {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    prog = f"audiogen {name}"
    if name not in commands:
        return fail("audiogen", UserError(f"unknown command {name!r}; choose one of {', '.join(commands)}"))
    module = importlib.import_module(f".{commands[name][0]}", __package__)
    try:
        result = module.main(rest, prog=prog) if commands[name][0] != "generate" else module.main(rest, prog=prog,
                                                                                                  task=name)
    except SystemExit as exit_:  # argparse --help (0)
        return int(exit_.code or 0) if isinstance(exit_.code, int) or exit_.code is None else fail(prog, exit_)
    except KeyboardInterrupt:
        return fail(prog, UserError("interrupted"))
    except Exception as error:  # noqa: BLE001 - the one place where errors become one line
        if os.environ.get("AUDIOGEN_DEBUG"):
            raise
        if isinstance(error, _user_errors()):
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return fail(prog, UserError(message))
        raise
    return result if isinstance(result, int) else 0


def _user_errors() -> tuple:
    """Errors that describe the user's input (our library raises these with a message that says what to do)."""
    from ..audio.io import AudioLoadError
    from ..utils.hub_utils import ModelNotAvailableError
    from ..utils.import_utils import MissingExtraError

    errors = [UserError, AudioLoadError, ModelNotAvailableError, MissingExtraError, FileNotFoundError, ValueError,
              NotADirectoryError, IsADirectoryError, PermissionError]
    try:
        from ..captioning.loading import CaptionModelUnavailableError

        errors.append(CaptionModelUnavailableError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


if __name__ == "__main__":
    sys.exit(main())
