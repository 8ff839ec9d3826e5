"""A rich progress bar: step, losses, it/s and ETA."""
from __future__ import annotations

from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class ProgressBar:
    def __init__(self, total: int, done: int = 0, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar: Progress | None = None
        self._task = None
        self.total, self.done = total, done

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            self._bar = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} it/s"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[losses]}"),
                refresh_per_second=4,
            )
            self._bar.start()
            self._task = self._bar.add_task("train", total=self.total, completed=self.done, rate="-", losses="")
        return self

    def advance(self, losses: dict[str, float]) -> None:
        if self._bar is None:
            return
        text = " ".join(f"{k}={v:.3f}" for k, v in list(losses.items())[:6])
        task = self._bar.tasks[0]
        speed = task.speed
        self._bar.update(self._task, advance=1, losses=text, rate=f"{speed:.2f}" if speed else "-")

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
