"""The generation commands of the task table (``audiogen continue | reconstruct | sample | generate | ...``):

    audiogen continue IN.wav -o OUT.wav --model DIR_OR_HUB_ID --seconds 5
    audiogen reconstruct IN.wav -o OUT.wav --model DIR_OR_HUB_ID [--phase input]
    audiogen sample -o OUT.wav --model DIR_OR_HUB_ID --num_samples 4 --seed 0
    audiogen generate -o OUT.wav --model DIR_OR_HUB_ID --genre metal --num_samples 2 --guidance_scale 2
    audiogen vary IN.wav -o OUT.wav --model DIR_OR_HUB_ID --genre electronic --strength 0.5

Writes the audio (more samples as OUT_1.wav, ...), ``--picture PNG`` its spectrogram, and prints the metrics
(``--json FILE`` writes them).
"""

import json
from pathlib import Path

from .common import UserError, parser, read_audio
from .tasks import TASKS


def _bool(text: str) -> bool:
    if str(text).lower() in ("1", "true", "yes", "y", "on"):
        return True
    if str(text).lower() in ("0", "false", "no", "n", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def build_parser(task, prog: str):
    p = parser(prog, f"{task.help}.\n\n" + __doc__.split("\n\n")[1])
    if task.needs_audio:
        p.add_argument("input", help="input audio file (wav, flac, ogg, mp3, ...)")
    p.add_argument("-o", "--output", required=True, help="output audio file (.wav / .flac)")
    if task.pipeline is not None:
        p.add_argument("--model", required=True, help=f"{task.pipeline} folder or Hub id (owner/name)")
    for option in task.options:
        kind = _bool if option.type is bool else option.type
        limits = f" [{option.minimum:g}, {option.maximum:g}]" if option.minimum is not None else ""
        p.add_argument(f"--{option.name}", type=kind, default=option.default, choices=option.choices or None,
                       help=f"{option.help}{limits} (default: {option.default!r})")
    p.add_argument("--picture", default=None, help="also write the output's spectrogram picture (PNG) here")
    p.add_argument("--json", default=None, help="also write the metrics as JSON here")
    p.add_argument("--max_seconds", type=float, default=600.0, help="refuse longer input recordings")
    return p


def quiet_loading() -> None:
    """No "Loading weights" / "Loading pipeline components" bars: the command's own progress is what matters."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def check_options(task, values: dict) -> None:
    for option in task.options:
        value = values[option.name]
        if option.minimum is not None and not option.minimum <= value <= option.maximum:
            raise UserError(f"--{option.name} {value} is outside [{option.minimum:g}, {option.maximum:g}]")


def load_task_pipeline(task, model_id):
    """The pipeline ``model_id`` when it is the task's kind and can run it, else a ``UserError`` saying why."""
    from ..utils.hub_utils import load_pipeline

    pipe = load_pipeline(model_id)
    if type(pipe).__name__ != task.pipeline:
        raise UserError(f"{model_id} holds a {type(pipe).__name__}; `audiogen {task.name}` needs a {task.pipeline}")
    if not task.available(pipe):
        raise UserError(f"`audiogen {task.name}` cannot use {model_id}: {task.unavailable_reason}")
    return pipe


def main(argv, prog="audiogen", task=None) -> int:
    from ..audio import save_audio

    task = TASKS[task]
    args = build_parser(task, prog).parse_args(argv)
    values = {option.name: getattr(args, option.name) for option in task.options}
    check_options(task, values)
    output = Path(args.output)
    if output.suffix.lower() not in (".wav", ".flac", ".ogg"):
        raise UserError(f"-o {output}: write .wav, .flac or .ogg")
    # the input is checked before the model is loaded: a bad file fails at once
    audio, audio_rate = read_audio(args.input, max_seconds=args.max_seconds) if task.needs_audio else (None, None)
    quiet_loading()
    pipe = load_task_pipeline(task, args.model) if task.pipeline is not None else None
    if pipe is not None:
        pipe.set_progress_bar_config(desc=task.name)
    result = task.run(pipe, audio, audio_rate, **values)
    import numpy as np

    written = [save_audio(output, np.clip(result.audio, -1, 1), result.sampling_rate)]
    for index, extra in enumerate(result.extra_audio, start=1):
        written.append(save_audio(output.with_name(f"{output.stem}_{index}{output.suffix}"), np.clip(extra, -1, 1),
                                  result.sampling_rate))
    if args.picture and result.spectrogram is not None:
        from .tasks import save_picture

        save_picture(result, args.picture, title=f"{task.title}: {output.name}")
    for name, value in result.metrics.items():
        print(f"{name}: {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result.metrics, indent=2))
    seconds = result.audio.shape[-1] / result.sampling_rate
    print(f"wrote {', '.join(map(str, written))} ({seconds:.2f} s at {result.sampling_rate} Hz)")
    return 0
