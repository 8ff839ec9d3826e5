"""Convert across processes: each takes whole chunks of the sorted file list, the outputs equal a
single process's byte for byte, rank 0 reports for all, a rerun skips what is done."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.inference.convert import Job, share
from translate.nets import build_net


def test_shares_are_whole_chunks_and_cover_everything():
    jobs = [Job(Path(f"{i}.png"), Path(f"o{i}.png")) for i in range(11)]
    parts = [share(jobs, 4, r, 3) for r in range(3)]
    assert sum(parts, []) == jobs  # in order, nothing twice, nothing left out
    assert all(len(p) % 4 == 0 for p in parts[:-1])  # whole chunks of batch_size jobs
    assert share(jobs, 4, 0, 1) == jobs


@pytest.mark.slow
def test_two_processes_write_what_one_writes(tmp_path: Path):
    torch.manual_seed(0)
    weights = tmp_path / "g.pth"
    torch.save(build_net("resnet", ngf=4, n_blocks=1).state_dict(), weights)
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(7):
        size = (24, 28) if i % 3 else (36, 20)
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(src / f"{i}.png")
    (src / "broken.png").write_bytes(b"not a png")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    base = [sys.executable, "-m", "translate", "convert", str(weights), str(src)]
    one = subprocess.run([*base, str(tmp_path / "one"), "-b", "2", "--no-progress"], capture_output=True, text=True,
                         env=env, timeout=300)
    two = subprocess.run([*base, str(tmp_path / "two"), "-b", "2", "--no-progress", "--nproc", "2"], capture_output=True,
                         text=True, env=env, timeout=300)
    assert one.returncode == two.returncode == 1, two.stderr[-2000:]  # the broken file fails, in both
    assert "converted 7, skipped 0, failed 1" in one.stdout and "converted 7, skipped 0, failed 1" in two.stdout
    assert two.stdout.count("converted") == 1  # rank 0 alone reports
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir()) and len(names) == 8  # 7 + the manifest
    for name in names:
        one_bytes, two_bytes = ((tmp_path / d / name).read_bytes() for d in ("one", "two"))
        if name.startswith("."):  # the manifest: the same records, in the order the processes finished
            one_bytes, two_bytes = sorted(one_bytes.splitlines()), sorted(two_bytes.splitlines())
        assert one_bytes == two_bytes, name
    again = subprocess.run([*base, str(tmp_path / "two"), "-b", "2", "--no-progress", "--nproc", "2"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert "converted 0, skipped 7 (7 already done), failed 1" in again.stdout
