"""The run directory's layout, in one place: every reader and writer of `runs/NAME/` goes here.

    runs/NAME/
      config.yaml        the resolved config (variant, data, engine, model) — the input of --resume
      provenance.json    versions, command line, host, times, git SHAs
      checkpoints/       step_00001000.pt ... (keep-last-k; everything an exact resume needs)
      metrics.jsonl      one JSON line per logged step (and "eval" lines)
      samples/           step_00001000.png sample grids (+ step_00001000.json: their row labels)
      summary.json       the end-of-run summary;  eval.json  `translate eval` figures
      tb/                TensorBoard events;  index.html  the gallery;  .lock  the writer's lock

This module is torch-free: inference reads run directories without importing the trainer.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from translate.config import load_yaml
from translate.files import atomic_write, stale_temp_files

CHECKPOINT = re.compile(r"^step_(\d+)\.pt$")
SAMPLE = re.compile(r"^step_(\d+)\.png$")
MAX_CONFIG_BYTES = 1 << 20  # a run's config.yaml is a few kB


class RunDir:
    """Paths and small readers/writers of one run directory (nothing is created until written)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # --- layout --------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    @property
    def eval_path(self) -> Path:
        return self.path / "eval.json"

    @property
    def provenance_path(self) -> Path:
        return self.path / "provenance.json"

    @property
    def trackers_path(self) -> Path:  # the MLflow / W&B run ids a resumed run continues
        return self.path / "trackers.json"

    @property
    def gallery_path(self) -> Path:
        return self.path / "index.html"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tb"

    @property
    def lock_path(self) -> Path:
        return self.path / ".lock"

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step_{step:08d}.pt"

    def sample_path(self, step: int) -> Path:
        return self.samples_dir / f"step_{step:08d}.png"

    # --- what is there ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.config_path.is_file()

    def checkpoints(self) -> list[Path]:
        """Checkpoint files, oldest first (by step)."""
        return _by_step(self.checkpoints_dir, CHECKPOINT)

    def latest_checkpoint(self) -> Path | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def samples(self) -> list[Path]:
        """Sample grids, oldest first (by step)."""
        return _by_step(self.samples_dir, SAMPLE)

    @staticmethod
    def step_of(path: str | Path) -> int:
        """The step number in a checkpoint's or sample grid's file name."""
        m = CHECKPOINT.match(Path(path).name) or SAMPLE.match(Path(path).name)
        if m is None:
            raise ValueError(f"{path} is not named step_NNNNNNNN.pt/.png")
        return int(m.group(1))

    @classmethod
    def of_checkpoint(cls, checkpoint: str | Path) -> RunDir | None:
        """The run a checkpoint file belongs to (RUN/checkpoints/step_N.pt), if it is in one."""
        run = cls(Path(checkpoint).resolve().parent.parent)
        return run if Path(checkpoint).resolve().parent.name == "checkpoints" and run.exists() else None

    # --- small files -----------------------------------------------------------------------------
    def read_config(self) -> dict[str, Any]:
        """config.yaml as a mapping ({} when missing, unreadable, not a mapping, or over 1 MiB)."""
        try:
            with open(self.config_path, "rb") as fh:
                text = fh.read(MAX_CONFIG_BYTES + 1)
            if len(text) > MAX_CONFIG_BYTES:
                return {}
            data = load_yaml(text) or {}
        except (OSError, yaml.YAMLError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_config(self, config: dict[str, Any]) -> Path:
        return atomic_write(self.config_path, yaml.safe_dump(config, sort_keys=False))

    def read_json(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_json(self, path: Path, data: dict[str, Any]) -> Path:
        return atomic_write(path, json.dumps(data, indent=2, default=str))

    def metrics(self) -> list[dict[str, Any]]:
        """The records of metrics.jsonl (lines that do not parse are skipped)."""
        out = []
        try:
            lines = self.metrics_path.read_text().splitlines()
        except OSError:
            return []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out


class RunLock:
    """One writer per run directory: the writer holds an `flock` on `.lock`, which names its pid,
    host and start time.

    The kernel drops the flock when its process ends (kill -9 included), so a lock left behind is
    taken over atomically by whichever process gets the flock first, whatever the file holds
    (empty, truncated, a reused pid). A second writer gets one line naming the holder. Lock files
    of earlier versions (no flock) keep their old rule: taken over if their process on this host
    is gone. A lock naming another host is trusted until removed (its flock may not reach here)."""

    def __init__(self, run: RunDir) -> None:
        self.run, self.held, self.fd = run, False, -1

    def acquire(self) -> None:
        import fcntl
        import socket

        from translate.errors import TranslateError
        from translate.jobs.provenance import now

        path = self.run.lock_path
        path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": now(), "lock": "flock"}
        for _ in range(50):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_lock(fd)
                os.close(fd)
                if holder.get("pid") == me["pid"] and holder.get("host") == me["host"]:
                    self.held = True  # this process holds it already (through another RunLock)
                    return
                raise self._busy(holder, TranslateError) from None
            except BaseException:
                os.close(fd)
                raise
            st = os.fstat(fd)
            try:
                current = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                current = None
            if current is None or (current.st_dev, current.st_ino) != (st.st_dev, st.st_ino):
                os.close(fd)  # the holder released (and removed) it between our open and flock: again
                continue
            holder = _read_lock(fd)
            if holder and holder.get("pid") != me["pid"] and (
                    holder.get("host") != me["host"]
                    or (holder.get("lock") != "flock" and isinstance(holder.get("pid"), int) and _alive(holder["pid"]))):
                os.close(fd)  # another host's lock, or a live writer of an earlier version (no flock)
                raise self._busy(holder, TranslateError)
            data = json.dumps(me).encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            self.fd, self.held = fd, True
            for stale in [*stale_temp_files(self.run.checkpoints_dir), *stale_temp_files(self.run.path)]:
                stale.unlink(missing_ok=True)  # half-written files of a writer that was killed
            return
        raise TranslateError(f"cannot take the lock {path}; delete it if no run is writing there")

    def _busy(self, holder: dict[str, Any], error: type[Exception]) -> Exception:
        return error(
            f"run {self.run.path} is being written by pid {holder.get('pid', '?')} on "
            f"{holder.get('host', '?')} (since {holder.get('since', '?')}); wait for it, or, if that "
            f"process is gone, delete {self.run.lock_path}"
        )

    @property
    def owner(self) -> bool:
        """True if this object holds the flock (not just a lock its own process holds)."""
        return self.fd >= 0

    def release(self) -> None:
        if self.fd >= 0:
            try:
                st, current = os.fstat(self.fd), os.stat(self.run.lock_path, follow_symlinks=False)
                if (st.st_dev, st.st_ino) == (current.st_dev, current.st_ino):
                    self.run.lock_path.unlink()  # before the flock goes: a waiting opener then retries
            except OSError:
                pass
            os.close(self.fd)
            self.fd = -1
        self.held = False


def _read_lock(fd: int) -> dict[str, Any]:
    """The holder a lock file names ({} if empty, truncated or not JSON)."""
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _by_step(folder: Path, pattern: re.Pattern[str]) -> list[Path]:
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := pattern.match(p.name))]
    return [p for _, p in sorted(found)]
