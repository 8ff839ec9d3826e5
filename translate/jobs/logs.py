"""Where messages go: the library logs through `logging.getLogger("translate")`; the CLI calls
`configure(verbosity)` (-q: warnings only, default: info, -v: debug).

Messages and progress share one stream, stderr (results go to stdout). In a terminal they are
printed through the same rich Console as the live progress bar, so a message lands above the
bar instead of on it; elsewhere (a file, CI, a SLURM .out) they are plain lines, flushed.
"""
from __future__ import annotations

import logging
import re
import sys
from typing import Any

logger = logging.getLogger("translate")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # all but tab and newline
LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}

_console: Any = None
_console_stream: Any = None


def is_tty(stream: Any = None) -> bool:
    stream = stream if stream is not None else sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def console() -> Any:
    """The rich Console on the current stderr (made again if stderr was swapped, as tests do)."""
    global _console, _console_stream
    if _console is None or _console_stream is not sys.stderr:
        from rich.console import Console

        _console, _console_stream = Console(file=sys.stderr, soft_wrap=True), sys.stderr
    return _console


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = _CONTROL.sub(lambda m: ascii(m.group())[1:-1], self.format(record))  # no terminal control codes
            if record.levelno >= logging.WARNING:
                text = f"{record.levelname.lower()}: {text}"
            if is_tty():
                console().print(text, markup=False, highlight=False)
            else:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
        except Exception:  # pragma: no cover - logging must never break the work
            self.handleError(record)


def configure(verbosity: int = 1) -> None:
    """Route translate's log records to stderr at the level -q/-v asks for (idempotent)."""
    for h in [h for h in logger.handlers if isinstance(h, _Handler)]:
        logger.removeHandler(h)
    handler = _Handler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(LEVELS.get(max(0, min(verbosity, 2)), logging.INFO))
    logger.propagate = False


def verbosity() -> int:
    """0 (quiet), 1 (normal) or 2 (verbose), from the logger's level."""
    level = logger.getEffectiveLevel()
    return 0 if level >= logging.WARNING else 2 if level <= logging.DEBUG else 1
