"""What every sub-command shares: argument parsers whose errors are one line, and user errors without tracebacks."""

import argparse
import math
import sys
from pathlib import Path
from typing import Optional


class UserError(Exception):
    """A problem with what the user asked for (missing file, corrupt audio, bad option): printed as one line."""


class Parser(argparse.ArgumentParser):
    """``argparse`` with the one-line error of the ``audiogen`` command (``--help`` shows the usage)."""

    def error(self, message):
        raise UserError(f"{message} (see {self.prog} --help)")


def parser(prog: str, description: str, **kwargs) -> Parser:
    return Parser(prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
                  **kwargs)


def hf_parser(prog: str, dataclass_types, description: str):
    """An ``HfArgumentParser`` (dataclass fields as ``--field value``) with one-line errors."""
    from transformers import HfArgumentParser

    class _HfParser(HfArgumentParser):
        def error(self, message):
            raise UserError(f"{message} (see {self.prog} --help)")

    result = _HfParser(dataclass_types, prog=prog, description=description)
    return result


MIN_SECONDS = 0.5
SILENCE_PEAK = 1e-4


def read_audio(path, sampling_rate: Optional[int] = None, max_seconds: float = 600.0,
               min_seconds: float = MIN_SECONDS):
    """Mono ``[samples]`` float32 and its rate, or a ``UserError`` saying what is wrong with the file: missing,
    unreadable/corrupt, empty, too short, too long, silent."""
    from ..audio import AudioLoadError, load_audio

    if path is None or not str(path):
        raise UserError("no audio file given")
    path = Path(path)
    if not path.is_file():
        raise UserError(f"audio file not found: {path}")
    try:
        from ..audio.io import audio_info

        info = audio_info(path)
        duration = getattr(info, "duration", None)
    except (AudioLoadError, RuntimeError, OSError, ValueError) as error:
        raise UserError(f"{path.name}: not a readable audio file ({error})") from None
    if duration is not None and duration > max_seconds:
        raise UserError(f"{path.name} is {duration:.0f} s long; the limit is {max_seconds:.0f} s (cut it first)")
    try:
        audio, rate = load_audio(path, sampling_rate=sampling_rate, channels=1)
    except (AudioLoadError, RuntimeError, OSError, ValueError) as error:
        raise UserError(f"{path.name}: not a readable audio file ({error})") from None
    audio = audio[0]
    seconds = audio.shape[-1] / rate
    if seconds < min_seconds:
        raise UserError(f"{path.name} is {seconds:.2f} s long; at least {min_seconds:g} s of audio is needed")
    peak = float(audio.abs().max())
    if not math.isfinite(peak):
        raise UserError(f"{path.name} holds NaN or infinite samples")
    if peak < SILENCE_PEAK:
        raise UserError(f"{path.name} is silent (peak {peak:.1e}); give a recording with sound in it")
    return audio, rate


def fail(prog: str, error: BaseException) -> int:
    print(f"{prog}: error: {error}", file=sys.stderr)
    return 1
