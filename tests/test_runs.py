"""Runs that do not collide or lose work: one writer per run, unique names, confined names,
resume from the newest *valid* checkpoint, one metrics line per step, provenance, reproducing
a run from its config, and --resume auto."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from translate import config as C
from translate.jobs import train as T
from translate.errors import ConfigError, TranslateError
from translate.jobs.rundir import RunDir

from conftest import QUIET, TINY, final_state, flags, plan_run

SETS = [*TINY["toy"], *QUIET, "ckpt_every=1", "keep_last=0", "log_every=1", "sample_every=0"]


def _plan(data, tmp_path, name, steps, resume=None, extra=()):
    return plan_run("toy", data, tmp_path / "runs", name, [*SETS, f"steps={steps}", *extra], resume)


def test_a_run_has_one_writer(unpaired_dir, tmp_path):
    run = RunDir(tmp_path / "runs" / "busy")
    run.path.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run.lock_path.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "since": "then"}))
        with pytest.raises(TranslateError, match=rf"being written by pid {holder.pid} on .*delete .*\.lock"):
            T.run(_plan(unpaired_dir, tmp_path, "busy", 1))
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its stale lock is taken over, and released at the end
    summary = T.run(_plan(unpaired_dir, tmp_path, "busy", 1))
    assert summary["steps"] == 1 and not run.lock_path.exists()


@pytest.mark.slow
def test_two_runs_started_together_get_their_own_directories(unpaired_dir, tmp_path):
    cmd = [sys.executable, "-m", "translate", "-q", "train", "cyclegan", "--data", str(unpaired_dir), "--runs-dir",
           str(tmp_path / "runs"), "--steps", "1", *flags(*TINY["cyclegan"], *QUIET)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    dirs = sorted(d.name for d in (tmp_path / "runs").iterdir())
    assert dirs == ["cyclegan-data", "cyclegan-data-2"]
    assert all(len(RunDir(tmp_path / "runs" / d).metrics()) == 1 for d in dirs)  # nobody's lines mixed in


def test_run_names_stay_inside_the_runs_dir(unpaired_dir, tmp_path):
    for name in ("../../x", "/abs/x", ".."):
        with pytest.raises(ConfigError, match="outside"):
            _plan(unpaired_dir, tmp_path, name, 1)
    assert _plan(unpaired_dir, tmp_path, "group/run1", 1).run_dir == tmp_path / "runs" / "group" / "run1"


def test_resume_skips_a_broken_newest_checkpoint_and_stale_temp_files(unpaired_dir, tmp_path, caplog):
    p = _plan(unpaired_dir, tmp_path, "r", 3)
    T.run(p)
    run = RunDir(p.run_dir)
    run.checkpoint_path(3).write_bytes(run.checkpoint_path(3).read_bytes()[:100])  # truncated mid-write
    run.checkpoint_path(4).write_bytes(b"")  # an empty one
    stale = run.checkpoints_dir / ".step_00000005.pt.abcd.tmp"
    stale.write_bytes(b"x" * 1000)
    with caplog.at_level("INFO", logger="translate"):
        summary = T.run(_plan(None, tmp_path, None, 5, resume=p.run_dir))
    assert summary["steps"] == 5 and not stale.exists()
    text = caplog.text
    assert "skipped step_00000004.pt" in text and "skipped step_00000003.pt" in text
    assert "resumed from step 2 (epoch 0)" in text
    assert [r["step"] for r in run.metrics() if "mse" in r] == [1, 2, 3, 4, 5]  # step 3 logged once, not twice


def test_metrics_have_one_line_per_step_after_any_number_of_resumes(unpaired_dir, tmp_path):
    p = _plan(unpaired_dir, tmp_path, "m", 2, extra=["ckpt_every=2"])
    T.run(p)
    for steps in (3, 5, 6):
        T.run(_plan(None, tmp_path, None, steps, resume=p.run_dir, extra=["ckpt_every=2"]))
    assert [r["step"] for r in RunDir(p.run_dir).metrics() if "mse" in r] == [1, 2, 3, 4, 5, 6]


def test_provenance_config_reproduction_and_overrides(unpaired_dir, tmp_path):
    p = _plan(unpaired_dir, tmp_path, "orig", 2)
    T.run(p)
    T.run(_plan(None, tmp_path, None, 3, resume=p.run_dir, extra=["lr=1e-3"]))
    run = RunDir(p.run_dir)
    sessions = run.read_json(run.provenance_path)["sessions"]
    assert len(sessions) == 2
    first = sessions[0]
    assert {"translate", "torch", "python", "host", "command", "time", "ended", "final_step"} <= set(first)
    assert first["final_step"] == 2 and sessions[1]["final_step"] == 3
    assert sessions[1]["overrides"]["lr"] == "1e-3" and "overrides" not in first
    assert "lr: 0.0002" in run.config_path.read_text()  # resume kept the original config
    assert final_state(p.run_dir)["provenance"]["host"] == socket.gethostname()
    again = T.plan(config_file=str(run.config_path), name="again", runs_dir=tmp_path / "runs")
    assert again.variant.name == "toy" and again.data == str(unpaired_dir)
    assert C.to_plain(again.model) == C.to_plain(p.model) and again.engine.steps == 2


def test_resume_auto_starts_then_continues(unpaired_dir, tmp_path):
    def go(steps: int) -> dict:
        return T.run(T.plan("toy", data=str(unpaired_dir), name="job", resume="auto", runs_dir=tmp_path / "runs",
                            sets=C.parse_sets([*SETS, f"steps={steps}"])))

    assert go(2)["steps"] == 2
    assert go(4)["steps"] == 4 and final_state(tmp_path / "runs" / "job")["progress"]["step"] == 4
    with pytest.raises(ConfigError, match="--resume auto needs --name"):
        T.plan("toy", resume="auto", runs_dir=tmp_path / "runs")


def test_a_failed_fresh_start_leaves_no_directory(unpaired_dir, tmp_path, monkeypatch):
    import translate.engine.trainer as trainer

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise TranslateError("the trainer could not start")

    monkeypatch.setattr(trainer.Trainer, "__init__", boom)
    with pytest.raises(TranslateError):
        T.run(_plan(unpaired_dir, tmp_path, None, 1))
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.slow
def test_log_lines_and_exit_codes_of_the_real_cli(unpaired_dir, tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    # the toy variant lives in conftest: load it as a plugin file, as a user would
    plugin = tmp_path / "toy_plugin.py"
    plugin.write_text("from conftest import Toy  # noqa: F401 - registers the toy variant\n")
    base = [sys.executable, "-m", "translate", "train", str(plugin)]
    ok = subprocess.run([*base, "--data", str(unpaired_dir), "--runs-dir", str(runs), "--name", "x", "--steps", "2",
                         *flags(*SETS)], capture_output=True, text=True, env=env, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert f"training toy on {unpaired_dir} -> {runs / 'x'}" in ok.stderr and "steps: 2" in ok.stdout
    bad = subprocess.run([*base, "--set", "lr=-1"], capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "'lr'" in bad.stderr
    missing = subprocess.run([*base, "--data", str(tmp_path / "nowhere"), "--runs-dir", str(runs)],
                             capture_output=True, text=True, env=env, timeout=300)
    assert missing.returncode == 1 and missing.stderr.startswith("error: ") and missing.stderr.count("\n") == 1
