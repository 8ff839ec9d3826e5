"""Provenance: what produced a run or a model — versions, command line, host, times, git SHAs.

The same small record goes into `runs/NAME/provenance.json` (one entry per session: the first
run and every resume), into checkpoints and into exported models' metadata, so a file found
later still says what made it.
"""
from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def version() -> str:
    """This package's version, from its installed metadata."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("translate-gan")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def git_sha(folder: str | Path | None) -> str | None:
    """The commit of the git work tree holding `folder` (with "-dirty" for local changes), if any."""
    if folder is None or not Path(folder).exists():
        return None
    cwd = Path(folder) if Path(folder).is_dir() else Path(folder).parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def record(data: str | Path | None = None) -> dict[str, Any]:
    """The facts of this process: versions, command line, host, time, git SHAs (project = cwd)."""
    import torch

    facts: dict[str, Any] = {
        "translate": version(),
        "torch": str(torch.__version__),  # TorchVersion is a str subclass weights_only loading refuses
        "cuda": str(torch.version.cuda) if torch.version.cuda else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else [],
        "cwd": os.getcwd(),
        "time": now(),
    }
    try:
        import torchvision

        facts["torchvision"] = str(torchvision.__version__)
    except ImportError:  # pragma: no cover - a dependency
        pass
    if torch.cuda.is_available():
        facts["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    facts["git"] = {k: v for k, v in (("project", git_sha(os.getcwd())), ("data", git_sha(data))) if v}
    return json.loads(json.dumps(facts, default=str))  # plain values only: it goes into checkpoints
