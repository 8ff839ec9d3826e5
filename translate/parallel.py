"""Processes under torchrun: the process group from the environment, the few object collectives
training and conversion share, and `--nproc N` (torchrun started for the user).

One process per GPU (NCCL) or per CPU slot (gloo). Imported by the engine and by the folder
conversion alike (inference never imports the trainer).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    owns_group: bool = False  # this process created the process group (and destroys it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_from_env(device_type: str, backend: str | None = None) -> DistInfo:
    """Join the process group torchrun describes (WORLD_SIZE/RANK/...); single process otherwise.

    NCCL for CUDA, gloo for CPU (or `backend`)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(
        int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")),
        int(os.environ.get("LOCAL_WORLD_SIZE", str(world))),
    )
    if not dist.is_initialized():
        dist.init_process_group(backend=backend or ("nccl" if device_type == "cuda" else "gloo"))
        info.owns_group = True
    if device_type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        # processes sharing a machine's cores: split them instead of oversubscribing
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // info.local_world_size))
    return info


def barrier(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and info.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    """Rank 0's `obj` on every rank."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_to_main(obj: Any, info: DistInfo) -> list[Any] | None:
    """Every rank's `obj` (moved to CPU) as a list on rank 0; None on the others."""
    obj = to_cpu(obj)
    if not info.enabled:
        return [obj]
    out = [None] * info.world_size if info.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out


def to_cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


# --- `translate train/convert --nproc N` ----------------------------------------------------------
def torchrun_command(nproc: int, argv: list[str]) -> list[str]:
    """`python -m torch.distributed.run --standalone --nproc-per-node N -m translate ARGS`, where
    ARGS are `argv` (the arguments after the program name) without `--nproc N`."""
    args, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            args.append(arg)
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "translate", *args]


RESULT_ENV = "TRANSLATE_RESULT_FILE"


def launch(nproc: int, argv: list[str]) -> int:
    """Run the same command under torchrun with `nproc` processes; returns its exit code — or the
    code rank 0 wrote to $TRANSLATE_RESULT_FILE (then the workers exit 0 and torchrun stays quiet).

    Ctrl-C reaches torchrun from the terminal, and torchrun passes it on to the workers (which
    finish the step, save and stop together); this process only waits, so it ignores it."""
    import signal
    import subprocess
    import tempfile

    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))  # torchrun's default: 1
    fd, result = tempfile.mkstemp(prefix="translate-result-", suffix=".txt")
    os.close(fd)
    env[RESULT_ENV] = result
    proc = subprocess.Popen(torchrun_command(nproc, argv), env=env)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = proc.wait()
        text = open(result).read().strip()
        return int(text) if text and code == 0 else code
    finally:
        signal.signal(signal.SIGINT, previous)
        os.unlink(result)


def report_result(code: int) -> int:
    """Under `launch`: rank 0 leaves `code` for the launcher and every worker exits 0; else `code`."""
    path = os.environ.get(RESULT_ENV)
    if not path:
        return code
    if int(os.environ.get("RANK", "0")) == 0:
        with open(path, "w") as fh:
            fh.write(str(code))
    return 0
