"""The engine: exact resume, atomic checkpoints, keep-last-k, Ctrl-C, schedules, EMA, run dir."""
from __future__ import annotations

import json
import os
import signal

import pytest
import torch
from conftest import QUIET, TINY, Toy, final_state, plan_run, straight_and_resumed

from translate.jobs import train as T
from translate.engine import checkpoint as ckpt
from translate.jobs.rundir import RunDir
from translate.kit.schedules import lr_factor

SETS = [*TINY["toy"], *QUIET, "epochs=1", "decay_epochs=2", "sample_every=2", "log_every=1"]


def _plan(data, tmp_path, name, steps, resume=None, extra=()):
    return plan_run("toy", data, tmp_path / "runs", name, [*SETS, f"steps={steps}", *extra], resume)


_final_state = final_state


def test_resume_is_bit_identical(unpaired_dir, tmp_path):
    """3 steps + resume + 3 steps = 6 steps straight: weights, Adam state, schedules, RNG, variant state."""
    a, b = straight_and_resumed(lambda name, steps, resume: _plan(unpaired_dir, tmp_path, name, steps, resume))
    assert a["progress"] == {"step": 6, "epoch": 2, "batch_in_epoch": 2}
    assert a["schedulers"]["G"]["last_epoch"] == b["schedulers"]["G"]["last_epoch"] == 2
    assert a["variant_state"] == b["variant_state"] == {"seen": 6}


def test_run_directory_contents(unpaired_dir, tmp_path):
    p = _plan(unpaired_dir, tmp_path, "r", 5, extra=["tensorboard=true"])
    summary = T.run(p)
    run = p.run_dir
    assert summary["steps"] == 5 and not summary["interrupted"]
    cfg = (run / "config.yaml").read_text()
    assert "variant: toy" in cfg and "lr_schedule: linear" in cfg
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5]
    assert {"mse", "lr/G"} <= set(records[0])
    # 2 batches per epoch; epochs=1 then 2 decay epochs: factor 1 − max(0, e − 1)/3
    assert [r["epoch"] for r in records] == [0, 0, 1, 1, 2]
    assert [r["lr/G"] for r in records] == pytest.approx([2e-4] * 4 + [2e-4 * 2 / 3])
    samples = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert samples == ["step_00000002.png", "step_00000004.png", "step_00000005.png"]
    assert "samples/step_00000005.png" in (run / "index.html").read_text()
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert [c.name for c in RunDir(run).checkpoints()] == ["step_00000005.pt"]


def test_keep_last_and_atomic_write(tmp_path):
    run = RunDir(tmp_path)
    folder = run.checkpoints_dir
    for step in range(1, 6):
        ckpt.save_checkpoint({"step": step}, run, step, keep_last=2)
    assert [p.name for p in run.checkpoints()] == ["step_00000004.pt", "step_00000005.pt"]
    assert not list(folder.glob(".*tmp"))  # no temp files left behind

    class Boom:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        ckpt.atomic_save({"x": Boom()}, folder / "step_00000009.pt")
    assert not (folder / "step_00000009.pt").exists() and not list(folder.glob(".*tmp"))


def test_ctrl_c_saves_and_resumes(unpaired_dir, tmp_path, monkeypatch):
    original = Toy.train_step

    def step_then_interrupt(self, nets, batch, step):
        out = original(self, nets, batch, step)
        if step.index == 1:  # during the 2nd step, as a user pressing Ctrl-C would
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(Toy, "train_step", step_then_interrupt)
    p = _plan(unpaired_dir, tmp_path, "c", 6)
    summary = T.run(p)
    assert summary["interrupted"] and summary["steps"] == 2
    assert _final_state(p.run_dir)["progress"]["step"] == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    monkeypatch.setattr(Toy, "train_step", original)
    summary = T.run(_plan(None, tmp_path, None, 6, resume=p.run_dir))
    assert summary["steps"] == 6 and not summary["interrupted"]


def test_existing_run_name_is_refused(unpaired_dir, tmp_path):
    T.run(_plan(unpaired_dir, tmp_path, "same", 1))
    with pytest.raises(Exception, match="already exists: continue it with --resume"):
        _plan(unpaired_dir, tmp_path, "same", 1)


def test_linear_decay_matches_cyclegan_formula():
    f = lr_factor("linear", 100, 100)
    assert [f(e) for e in (0, 100, 101, 150, 199)] == pytest.approx(
        [1.0, 1.0, 1 - 1 / 101, 1 - 50 / 101, 1 - 99 / 101]
    )
    assert lr_factor("constant", 100, 100)(150) == 1.0


def test_ema_and_bf16(unpaired_dir, tmp_path):
    p = _plan(unpaired_dir, tmp_path, "e", 2, extra=["ema=0.5", "precision=bf16", "channels_last=true"])
    summary = T.run(p)
    state = _final_state(p.run_dir)
    assert set(state["ema"]) == {"G"}
    assert not torch.equal(state["ema"]["G"]["weight"], state["nets"]["G"]["weight"])
    assert all(torch.isfinite(torch.tensor(v)) for k, v in summary.items() if k.startswith("loss/"))
