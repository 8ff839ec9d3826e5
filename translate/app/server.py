"""`translate demo MODEL`: serve the demo page on 127.0.0.1 from a private temp folder.

    server = serve("runs/h2z", port=7860, open_browser=False, block=False)
    ... server.url ...
    server.close()                     # the temp folder goes with it

Every file the server writes — uploads, results, examples, Gradio's cache — lies in one temp
folder, removed on exit. Uploads are capped in size (`Limits.max_file_mb`), requests queue with a
concurrency limit (`Limits.concurrency`, `Limits.queue`), and images go through convert's
decompression-bomb guard (`Limits.max_pixels`).
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translate.app.session import Limits, Session
from translate.errors import ConfigError

HINT = "the browser demo needs Gradio: pip install 'translate-gan[demo]'"


@dataclass
class Server:
    url: str
    session: Session
    page: Any
    workdir: Path
    saved_env: dict[str, str | None] = field(default_factory=dict)

    def wait(self) -> None:
        """Serve until Ctrl-C (or SIGTERM), then close and remove the temp folder."""
        def stop(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, stop) if threading.current_thread() is threading.main_thread() else None
        try:
            while True:  # Gradio's own block_thread() would swallow the interrupt and leave the folder
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def close(self) -> None:
        try:
            self.page.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
            _set_env(self.saved_env)


def _set_env(values: dict[str, str | None]) -> dict[str, str | None]:
    """Set (None: remove) environment variables; returns what they were."""
    before = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    return before


def serve(model: str, *, host: str = "127.0.0.1", port: int | None = None, open_browser: bool = True,
          share: bool = False, variant: str | None = None, plugins: Sequence[str] = (), device: str = "auto",
          precision: str = "fp32", limits: Limits | None = None, block: bool = True) -> Server:
    """Open MODEL (anything `translate convert` takes) and serve its page; with `block` until Ctrl-C."""
    limits = limits or Limits()
    for name, value in (("max_files", limits.max_files), ("queue", limits.queue), ("concurrency", limits.concurrency)):
        if value < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if limits.max_file_mb <= 0 or limits.max_pixels < 1:
        raise ConfigError("--max-file-mb and --max-pixels must be positive")
    workdir = Path(tempfile.mkdtemp(prefix="translate-demo-")).resolve()
    # Gradio reads these on import, when the page is built and on uploads: its cache, and matplotlib's
    # (which it imports), go into the temp folder too; no usage statistics are sent. Put back on close.
    saved = _set_env({"GRADIO_TEMP_DIR": str(workdir / "gradio"), "GRADIO_ANALYTICS_ENABLED": "False",
                      "MPLCONFIGDIR": os.environ.get("MPLCONFIGDIR") or str(workdir / "matplotlib")})
    try:
        try:
            import gradio  # noqa: F401
        except ImportError:
            raise ConfigError(HINT) from None
        session = Session(model, workdir=workdir, variant=variant, plugins=plugins, device=device,
                          precision=precision, limits=limits)
        from translate.app.page import CSS, build

        page = build(session)
        page.queue(default_concurrency_limit=limits.concurrency, max_size=limits.queue)
        _, url, _ = page.launch(server_name=host, server_port=port, inbrowser=open_browser, share=share,
                                max_file_size=int(limits.max_file_mb * 1_000_000), prevent_thread_lock=True,
                                quiet=True, show_error=False, ssr_mode=False, css=CSS)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        _set_env(saved)
        raise
    server = Server(url=str(url), session=session, page=page, workdir=workdir, saved_env=saved)
    if block:
        server.wait()
    return server
