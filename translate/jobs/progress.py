"""Progress that works everywhere: a rich bar in a terminal, plain parseable lines elsewhere.

    with Progress("train", total=1000, done=0, unit="it") as bar:
        bar.advance(losses={"G": 0.41})

In a terminal (stderr is a TTY) a live bar shows done/total, rate, elapsed, ETA and the
latest fields. Elsewhere — CI, a SLURM .out file, `nohup ... > log` — one line is printed
every `every_s` seconds and at the end, e.g.

    train 120/1000 (12%) epoch 3 | 2.31 it/s | elapsed 0:00:52 | eta 0:06:21 | G_gan=0.412 cycle=1.234

With -q (the 'translate' logger at WARNING) nothing is shown. Log messages go through the same
console as the bar (translate.jobs.logs), so they never land on the bar's line.
"""
from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

from translate.jobs import logs


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(self, label: str, total: int, done: int = 0, unit: str = "it", enabled: bool = True,
                 every_s: float = 30.0, tty: bool | None = None) -> None:
        self.label, self.total, self.done, self.unit = label, max(0, total), done, unit
        self.enabled = enabled and logs.verbosity() > 0
        self.every_s = every_s
        self.tty = logs.is_tty() if tty is None else tty
        self.fields: dict[str, Any] = {}
        self._bar: Any = None
        self._task: Any = None
        self._t0 = self._last = 0.0
        self._start_done = done

    # --- the two forms ------------------------------------------------------------------------
    def __enter__(self) -> Progress:
        self._t0 = self._last = time.perf_counter()
        if not self.enabled:
            return self
        if self.tty:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn(f"[bold]{self.label}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"), console=logs.console(), refresh_per_second=4, transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total or None, completed=self.done, rate="-", info="")
        return self

    def advance(self, n: int = 1, **fields: Any) -> None:
        self.done += n
        self.fields.update(fields)
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, advance=n, rate=self._rate_text(), info=self._fields_text(6))
        elif self.every_s > 0 and time.perf_counter() - self._last >= self.every_s:
            self.line()

    def line(self) -> str:
        """Print (and return) the plain progress line now."""
        self._last = time.perf_counter()
        text = self.text()
        if self.enabled and self._bar is None:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        return text

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self.enabled:
            self.line()  # the final state, always

    # --- text -------------------------------------------------------------------------------
    def rate(self) -> float:
        elapsed = time.perf_counter() - self._t0
        return (self.done - self._start_done) / elapsed if elapsed > 0 else 0.0

    def _rate_text(self) -> str:
        r = self.rate()
        return f"{r:.2f} {self.unit}/s" if r >= 0.1 or r == 0 else f"{1 / r:.1f} s/{self.unit}"

    def _fields_text(self, limit: int = 12) -> str:
        parts = []
        for key, value in list(self.fields.items())[:limit]:
            parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
        return " ".join(parts)

    def text(self) -> str:
        elapsed = time.perf_counter() - self._t0
        rate = self.rate()
        left = (self.total - self.done) / rate if rate > 0 and self.total else 0.0
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        head = f"{self.label} {self.done}/{self.total}{share}"
        parts = [head, self._rate_text(), f"elapsed {clock(elapsed)}", f"eta {clock(left) if rate > 0 else '-'}"]
        extra = self._fields_text()
        return " | ".join(parts + ([extra] if extra else []))
