"""Runs and downloads that cannot go on forever: a loss turning NaN stops the run with one line
naming the step and the last checkpoint; a server trickling bytes meets the download's
deadline; a malformed Content-Length is one line."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from translate.jobs import train as T
from translate.hub.download import download
from translate.engine.trainer import Trainer
from translate.errors import DataError, TranslateError
from translate.jobs.rundir import RunDir

from conftest import QUIET, TINY, plan_run


def test_a_loss_turning_nan_stops_the_run_naming_the_step_and_the_last_checkpoint(unpaired_dir, tmp_path, monkeypatch):
    real = Trainer.train_step
    calls = [0]

    def poisoned(self, batch):
        losses = real(self, batch)
        calls[0] += 1
        return {**losses, "G": float("nan")} if calls[0] >= 3 else losses

    monkeypatch.setattr(Trainer, "train_step", poisoned)
    p = plan_run("toy", unpaired_dir, tmp_path / "runs", "nan", [*TINY["toy"], *QUIET, "steps=6", "ckpt_every=1",
                                                              "keep_last=0", "sample_every=0", "log_every=1"])
    with pytest.raises(TranslateError) as info:
        T.run(p)
    line = str(info.value)
    run = RunDir(tmp_path / "runs" / "nan")
    assert "\n" not in line and "step 3" in line and "loss 'G' is nan" in line
    assert [RunDir.step_of(c) for c in run.checkpoints()] == [1, 2]  # nothing of the NaN step was saved
    assert str(run.checkpoint_path(2)) in line
    assert not run.lock_path.exists()


def _serve(handler) -> tuple[str, threading.Thread, socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)

    def loop() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/f.zip", thread, sock


def _trickle(conn: socket.socket) -> None:
    try:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        for _ in range(2000):  # one byte every 20 ms: each read succeeds, the whole never ends
            conn.sendall(b"x")
            time.sleep(0.02)
    except OSError:
        pass
    finally:
        conn.close()


def test_a_trickling_server_meets_the_download_deadline(tmp_path: Path) -> None:
    url, _, sock = _serve(_trickle)
    try:
        with pytest.raises(DataError, match="past its deadline"):
            download(url, tmp_path / "f.zip", retries=1, timeout=5, backoff=0, deadline=0.5)
    finally:
        sock.close()
    assert not (tmp_path / "f.zip").exists() and (tmp_path / "f.zip.part").stat().st_size < 1000


@pytest.mark.parametrize("value", ["abc", "-5", "1e9", "12\x1b[2J"])
def test_a_malformed_content_length_is_one_line(value: str, tmp_path: Path) -> None:
    def bad(conn: socket.socket) -> None:
        try:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: " + value.encode() + b"\r\n\r\nxyz")
        finally:
            conn.close()

    url, _, sock = _serve(bad)
    try:
        with pytest.raises(DataError, match="invalid Content-Length") as info:
            download(url, tmp_path / "f.zip", retries=0, timeout=5, backoff=0)
    finally:
        sock.close()
    assert "\x1b" not in str(info.value) and "\n" not in str(info.value)
