"""The engine's speed paths on CPU: bf16 autocast, fp16 loss scaling (GradScaler on CPU),
channels_last resolution, torch.compile's fallback, and the persistent DataLoader."""
from __future__ import annotations

import warnings

import pytest
import torch
from conftest import TINY_CYCLEGAN
from torch import nn

from translate import config as C
from translate.jobs import train as T
from translate.data import open_data
from translate.engine import Trainer
from translate.engine import checkpoint as ckpt
from translate.jobs.rundir import RunDir
from translate.engine.compile import Compiled
from translate.device import autocast, resolve_channels_last, resolve_precision
from translate.engine.step import Step
from translate.errors import ConfigError
from translate.plugins.cyclegan import CycleGAN, CycleGANConfig

CPU = torch.device("cpu")




def _model_and_loss(seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    x = torch.randn(32, 8)
    return net, x


@pytest.mark.parametrize("clip", [0.0, 0.05])
def test_grad_scaler_step_equals_the_unscaled_step(clip):
    """fp16's path: backward of the loss × 2^16, unscale (before clipping), step. Scaling by a
    power of two is exact, so the update is bit-identical to the plain one."""
    results = []
    for scaled in (False, True):
        net, x = _model_and_loss()
        opt = torch.optim.Adam(net.parameters(), 1e-2)
        scalers = {"G": torch.amp.GradScaler("cpu")} if scaled else {}
        step = Step({"G": opt}, scalers, grad_clip=clip)
        for _ in range(3):
            step.update("G", net(x).pow(2).mean())
        results.append([p.detach().clone() for p in net.parameters()])
        if scaled:
            assert scalers["G"].get_scale() == 2.0**16  # no overflow: the scale stays
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_grad_scaler_skips_the_step_on_overflow_and_backs_off():
    net, x = _model_and_loss()
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    scaler = torch.amp.GradScaler("cpu")
    step = Step({"G": opt}, {"G": scaler}, grad_clip=1.0)
    before = [p.detach().clone() for p in net.parameters()]
    step.update("G", net(x).mean() * float("inf"))
    assert all(torch.equal(a, p) for a, p in zip(before, net.parameters()))  # step skipped
    assert scaler.get_scale() == 2.0**15
    step.update("G", net(x).pow(2).mean())
    assert any(not torch.equal(a, p) for a, p in zip(before, net.parameters()))


def test_fp16_on_cpu_is_refused_and_bf16_warns_without_native_support(monkeypatch):
    with pytest.raises(ConfigError, match="fp16 autocast is for GPUs"):
        resolve_precision("fp16", CPU)
    monkeypatch.setattr("translate.device.cpu_has_fast_bf16", lambda: False)
    with pytest.warns(UserWarning, match="slower than fp32"):
        assert resolve_precision("bf16", CPU) is torch.bfloat16
    with pytest.raises(ConfigError, match="unknown precision"):
        resolve_precision("fp8", CPU)


def test_bf16_cyclegan_step_keeps_losses_pool_and_weights_in_fp32():
    torch.manual_seed(0)
    cfg = CycleGANConfig(generator="resnet", ngf=4, ndf=4, pool_size=4)
    v = CycleGAN(cfg)
    nets = {k: n.to(memory_format=torch.channels_last) for k, n in v.build(cfg).items()}
    step = Step(v.optimizers(nets, cfg), {})
    batch = {k: (torch.rand(2, 3, 32, 32) * 2 - 1).contiguous(memory_format=torch.channels_last) for k in "AB"}
    with autocast(CPU, torch.bfloat16):
        assert nets["G_AB"](batch["A"]).dtype is torch.bfloat16  # autocast is on
        out = v.train_step(nets, batch, step)
    assert all(t.dtype is torch.float32 and torch.isfinite(t) for t in out.values())
    assert len(v.pool_A.images) == 2 and all(im.dtype is torch.float32 for im in v.pool_A.images + v.pool_B.images)
    assert all(p.dtype is torch.float32 for n in nets.values() for p in n.parameters())


def test_channels_last_auto_follows_the_measurements():
    assert resolve_channels_last("auto", torch.device("cuda")) is True
    assert resolve_channels_last("auto", CPU, torch.float32) is False
    assert resolve_channels_last("auto", CPU, torch.bfloat16) is False
    assert resolve_channels_last("auto", torch.device("mps")) is False
    assert resolve_channels_last("true", CPU) is True and resolve_channels_last("False", CPU) is False
    assert resolve_channels_last(True, CPU) is True
    with pytest.raises(ConfigError, match="channels_last must be auto, true or false"):
        resolve_channels_last("fast", CPU)


def test_compile_falls_back_to_eager_when_unsupported(monkeypatch):
    net = nn.Linear(4, 2)
    x = torch.randn(3, 4)

    def refuse(module, **kw):
        raise RuntimeError("Dynamo is not supported on this Python")

    monkeypatch.setattr(torch, "compile", refuse)
    with pytest.warns(UserWarning, match="torch.compile of 'G' unavailable .Dynamo is not supported"):
        wrapped = Compiled(net, "G")
    assert not wrapped.is_compiled and torch.equal(wrapped(x), net(x))

    def broken_backend(module, **kw):  # compiles lazily, fails at the first call (no C++ compiler...)
        def run(*a, **k):
            raise OSError("no working C++ compiler found")
        return run

    monkeypatch.setattr(torch, "compile", broken_backend)
    wrapped = Compiled(net, "D")
    assert wrapped.is_compiled
    with pytest.warns(UserWarning, match="'D' unavailable .no working C\\+\\+ compiler"):
        assert torch.equal(wrapped(x), net(x))
    assert not wrapped.is_compiled
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, eager from now on
        wrapped(x).sum().backward()
    assert net.weight.grad is not None
    assert wrapped.out_features == 2  # attributes of the net stay reachable
    assert set(wrapped.state_dict()) == {"module.weight", "module.bias"}


def test_training_with_compile_falls_back_and_matches_eager(unpaired_dir, tmp_path, monkeypatch):
    def broken_backend(module, **kw):
        def run(*a, **k):
            raise RuntimeError("backend compiler failed")
        return run

    monkeypatch.setattr(torch, "compile", broken_backend)
    finals = []
    for name, extra in (("eager", []), ("compiled", ["compile=true"])):
        sets = C.parse_sets([*TINY_CYCLEGAN, "num_workers=0", "steps=2", *extra])
        p = T.plan("cyclegan", data=str(unpaired_dir), name=name, sets=sets, runs_dir=tmp_path / "runs")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            T.run(p)
        assert any("running it eagerly" in str(w.message) for w in caught) == bool(extra)
        finals.append(ckpt.load_checkpoint(RunDir(p.run_dir).latest_checkpoint()))
    a, b = finals
    assert set(a["nets"]["G_AB"]) == set(b["nets"]["G_AB"])  # checkpoint keys without wrappers
    for net in a["nets"]:
        assert all(torch.equal(t, b["nets"][net][k]) for k, t in a["nets"][net].items())


def test_persistent_loader_workers_give_the_same_run(unpaired_dir, tmp_path):
    """One DataLoader per run, workers kept across epochs: the data (and so the weights) are
    those of the in-process loader, across an epoch boundary."""
    finals = []
    for workers in (0, 1):
        sets = C.parse_sets([*TINY_CYCLEGAN, f"num_workers={workers}", "steps=3"])
        p = T.plan("cyclegan", data=str(unpaired_dir), name=f"w{workers}", sets=sets, runs_dir=tmp_path / "runs")
        T.run(p)
        finals.append(ckpt.load_checkpoint(RunDir(p.run_dir).latest_checkpoint()))
    a, b = finals
    assert a["progress"] == b["progress"] == {"step": 3, "epoch": 1, "batch_in_epoch": 1}
    for net in a["nets"]:
        assert all(torch.equal(t, b["nets"][net][k]) for k, t in a["nets"][net].items())


def test_engine_fp16_path_runs_with_a_scaler_per_optimizer(unpaired_dir, tmp_path, monkeypatch):
    """fp16 is refused on CPU as a user setting (emulated there), but CPU autocast can run it:
    the engine's fp16 path — a GradScaler per optimizer, saved and resumed — runs here."""
    monkeypatch.setattr("translate.engine.trainer.resolve_precision", lambda name, device: torch.float16)
    monkeypatch.setattr("translate.jobs.train.check", lambda *args, **kw: None)  # plan() refuses fp16 on CPU up front
    sets = C.parse_sets([*TINY_CYCLEGAN, "num_workers=0", "steps=2", "precision=fp16"])
    p = T.plan("cyclegan", data=str(unpaired_dir), name="h", sets=sets, runs_dir=tmp_path / "runs")
    summary = T.run(p)
    assert all(torch.isfinite(torch.tensor(v)) for k, v in summary.items() if k.startswith("loss/"))
    state = ckpt.load_checkpoint(RunDir(p.run_dir).latest_checkpoint())
    assert set(state["scalers"]) == {"G", "D"} and state["scalers"]["G"]["scale"] > 0
    assert all(t.dtype is torch.float32 for t in state["nets"]["G_AB"].values())
    resumed = T.plan(resume=str(p.run_dir), sets=C.parse_sets(["steps=3"]))
    trainer = Trainer(resumed.variant, resumed.model, resumed.engine,
                      open_data("unpaired", resumed.data, resumed.model), resumed.run_dir, resume_from=resumed.resume)
    assert trainer.scalers["G"].get_scale() == state["scalers"]["G"]["scale"]
