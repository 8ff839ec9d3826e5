"""The one atomic writer: honours the umask, leaves nothing partial, names its temp files."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from translate.errors import WeightsError
from translate.files import atomic_write, first_line, load_torch, stale_temp_files

WRITE = "from translate.files import atomic_write; atomic_write({path!r}, b'x')"


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_outputs_get_the_mode_open_would_give(tmp_path: Path, umask: int, mode: int) -> None:
    out = tmp_path / "sub" / "out.bin"
    code = WRITE.format(path=str(out))
    subprocess.run([sys.executable, "-c", f"import os; os.umask({umask}); {code}"], check=True)
    assert stat.S_IMODE(out.stat().st_mode) == mode and out.read_bytes() == b"x"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    atomic_write(out, "old")

    def boom(fh) -> None:  # noqa: ANN001
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(out, boom)
    assert out.read_text() == "old" and stale_temp_files(tmp_path) == []
    (tmp_path / ".out.txt.abc123.tmp").write_bytes(b"left by a killed writer")
    assert [p.name for p in stale_temp_files(tmp_path)] == [".out.txt.abc123.tmp"]


def test_load_torch_refuses_pickled_code_in_one_line(tmp_path: Path) -> None:
    import torch

    class Evil:
        def __reduce__(self):  # noqa: ANN204
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, path)
    with pytest.raises(WeightsError, match="loading never runs code") as err:
        load_torch(path)
    assert "\n" not in str(err.value)
    with pytest.raises(WeightsError, match="not found"):
        load_torch(tmp_path / "missing.pt")
    assert first_line(ValueError("\n  first\nsecond")) == "first" and first_line(KeyError()) == "KeyError"
