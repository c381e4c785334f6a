"""One logger for code that may run under several processes: accelerate's ``get_logger`` (each line once, from the
main process, unless ``main_process_only=False``), which falls back to plain ``logging`` where no accelerate state
exists yet (a notebook, a script, the data loaders called outside ``train``), instead of raising as accelerate's own
adapter does there."""

import logging

from accelerate.logging import MultiProcessAdapter
from accelerate.state import PartialState


class _Adapter(MultiProcessAdapter):
    def log(self, level, msg, *args, **kwargs):
        # the same "is there a state?" test accelerate's adapter makes before it raises; no public accessor exists
        if not getattr(PartialState, "_shared_state", None):
            kwargs.pop("main_process_only", None)
            kwargs.pop("in_order", None)
            self.logger.log(level, msg, *args, **kwargs)
            return
        super().log(level, msg, *args, **kwargs)


def get_logger(name: str) -> MultiProcessAdapter:
    """``accelerate.logging.get_logger(name)`` that also works before an ``Accelerator`` / ``PartialState`` exists."""
    return _Adapter(logging.getLogger(name), {})
