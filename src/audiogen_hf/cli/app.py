"""``audiogen app --model DIR_OR_HUB_ID [...]``: one web page (Gradio) with a tab per task of the loaded pipelines.

    audiogen app --model outputs/demo/mel_lstm/pipeline outputs/demo/mel_autoencoder/pipeline --port 7860

Each model's tasks come from ``cli/tasks.py`` (a Jam Assistant gets "Jam continuation", an autoencoder
"Autoencoder reconstruction" and, when variational, "Autoencoder samples"); the "Spectrogram images" tab needs no
model. Upload or record audio, set the options, run: the audio comes back with its spectrogram picture and metrics;
long work shows the pipeline's progress bar. Bad uploads (unreadable, silent, too short, too long) give a message in
the page; the server keeps serving. ``--examples DIR`` offers a few recordings from a folder (the corpus).
"""

import math
import os
import tempfile
from pathlib import Path
from typing import Optional

from .common import UserError, parser, read_audio
from .tasks import TASKS, save_picture, tasks_for

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
APP_MAX_SECONDS = 120.0
MAX_FILE_SIZE = "50mb"


def find_examples(folder, limit: int = 4) -> list[str]:
    """Up to ``limit`` recordings under ``folder`` (MUSDB mixtures and GTZAN clips of the corpus first)."""
    if not folder or not Path(folder).is_dir():
        return []
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    preferred = [p for p in files if p.name == "mixture.wav"] + [p for p in files if "genres" in p.parts]
    chosen = list(dict.fromkeys(preferred + files))
    # one of each kind first (a real recording, a render, a GTZAN clip)
    return [str(p) for p in chosen[:limit]]


def _message(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"**Error:** {text}"


def _widget(option):
    import gradio as gr

    if option.choices:
        return gr.Dropdown(list(option.choices), value=option.default, label=option.name, info=option.help)
    if option.type is bool:
        return gr.Checkbox(value=option.default, label=option.name, info=option.help)
    if option.type in (int, float) and option.minimum is not None:
        return gr.Slider(option.minimum, option.maximum, value=option.default, step=option.step, label=option.name,
                         info=option.help)
    if option.type in (int, float):
        return gr.Number(value=option.default, label=option.name, info=option.help)
    return gr.Textbox(value=option.default, label=option.name, info=option.help)


def make_handler(task, pipe, max_seconds: float, output_dir: Path):
    """The tab's click handler: (audio path?, *options) -> (status, audio file, picture file, metrics)."""
    import gradio as gr
    import numpy as np

    from ..audio import save_audio

    def handler(*inputs, progress=gr.Progress(track_tqdm=True)):
        audio_path, values = (inputs[0], inputs[1:]) if task.needs_audio else (None, inputs)
        try:
            options = {}
            for option, value in zip(task.options, values):
                value = option.type(value) if option.type is not bool else bool(value)
                if option.minimum is not None and not option.minimum <= value <= option.maximum:
                    raise UserError(f"{option.name}={value} is outside [{option.minimum:g}, {option.maximum:g}]")
                options[option.name] = value
            audio = rate = None
            if task.needs_audio:
                if not audio_path:
                    raise UserError("upload or record some audio first")
                audio, rate = read_audio(audio_path, max_seconds=max_seconds)  # the pipelines resample
            progress(0.0, desc=task.title)
            result = task.run(pipe, audio, rate, **options)
            output_dir.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(suffix=".wav", prefix=f"{task.name}_", dir=output_dir)
            os.close(handle)
            wav = save_audio(name, np.clip(result.audio, -1, 1), result.sampling_rate)
            picture = save_picture(result, Path(name).with_suffix(".png"), title=task.title) \
                if result.spectrogram is not None else None
            metrics = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                       for k, v in result.metrics.items()}
            seconds = result.audio.shape[-1] / result.sampling_rate
            return f"Done: {seconds:.2f} s at {result.sampling_rate} Hz.", str(wav), \
                str(picture) if picture else None, metrics
        except Exception as error:  # noqa: BLE001 - a bad upload must never stop the server
            from .main import _user_errors

            if not isinstance(error, _user_errors()) and not isinstance(error, RuntimeError):
                raise
            return _message(error), None, None, None

    return handler


def build_app(pipelines: dict, examples: Optional[list] = None, max_seconds: float = APP_MAX_SECONDS,
              output_dir: Optional[Path] = None):
    """A ``gr.Blocks`` page: ``pipelines`` {label: loaded pipeline}; one tab per runnable task, then the
    spectrogram-images tab."""
    import gradio as gr

    output_dir = Path(output_dir or tempfile.mkdtemp(prefix="audiogen_app_"))
    tabs = []
    for label, pipe in pipelines.items():
        for task in tasks_for(pipe):
            if task.available(pipe):
                tabs.append((task, pipe, label))
    tabs += [(task, None, "") for task in TASKS.values() if task.pipeline is None]
    with gr.Blocks(title="audiogen_hf") as app:
        gr.Markdown("# audiogen_hf\nTry the models on your own music: upload or record a clip, pick the options, "
                    "run. Every tab returns the audio, its spectrogram picture and metrics.")
        for index, (task, pipe, label) in enumerate(tabs):
            with gr.Tab(task.title + (f" ({Path(label).name or label})" if label else ""), id=f"tab-{index}"):
                gr.Markdown(f"{task.help[0].upper()}{task.help[1:]}." + (f" Model: `{label}`." if label else ""))
                with gr.Row():
                    with gr.Column():
                        inputs = []
                        if task.needs_audio:
                            audio_in = gr.Audio(sources=["upload", "microphone"], type="filepath",
                                                label="input audio", elem_id=f"input-{index}")
                            inputs.append(audio_in)
                        inputs += [_widget(option) for option in task.options]
                        run = gr.Button("Run", variant="primary", elem_id=f"run-{index}")
                        if task.needs_audio and examples:
                            gr.Examples(examples=[[e] for e in examples], inputs=[audio_in],
                                        label="examples from the corpus")
                    with gr.Column():
                        status = gr.Markdown(elem_id=f"status-{index}")
                        audio_out = gr.Audio(type="filepath", label="output audio", interactive=False,
                                             elem_id=f"output-{index}")
                        picture = gr.Image(type="filepath", label="spectrogram", interactive=False,
                                           elem_id=f"picture-{index}")
                        metrics = gr.JSON(label="metrics", elem_id=f"metrics-{index}")
                run.click(make_handler(task, pipe, max_seconds, output_dir), inputs=inputs,
                          outputs=[status, audio_out, picture, metrics], concurrency_limit=1)
    app.queue(default_concurrency_limit=1)
    app.audiogen_output_dir = output_dir
    return app


def main(argv=None, prog="audiogen app"):
    from ..utils.hub_utils import load_pipeline
    from ..utils.import_utils import require

    p = parser(prog, __doc__)
    p.add_argument("--model", nargs="*", default=[], help="pipeline folders or Hub ids (one tab per task each)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--examples", default="data/corpus", help="folder of example recordings (none if missing)")
    p.add_argument("--max_seconds", type=float, default=APP_MAX_SECONDS, help="longest upload accepted")
    args = p.parse_args(argv)
    require("gradio", "the web app")
    pipelines = {model: load_pipeline(model) for model in args.model}
    for model, pipe in pipelines.items():
        if not tasks_for(pipe):
            raise UserError(f"{model} is a {type(pipe).__name__}, which has no tab in the app (cli/tasks.py)")
    app = build_app(pipelines, find_examples(args.examples), args.max_seconds)
    print(f"serving on http://{args.host}:{args.port} (Ctrl+C to stop)")
    app.launch(server_name=args.host, server_port=args.port, max_file_size=MAX_FILE_SIZE, show_error=True)
    return 0
