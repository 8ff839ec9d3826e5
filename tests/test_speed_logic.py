"""The decisions behind the speed settings: precision=auto (one cached bf16 probe, one place) and
the bf16 quality gate (ground-truth PSNR within 0.3 dB of fp32)."""
from __future__ import annotations

import logging

import torch

import translate.device as dev
from translate.jobs.evaluate import quality_gate

CPU = torch.device("cpu")


def test_auto_precision_picks_bf16_only_where_native_and_fast(monkeypatch, caplog):
    monkeypatch.setattr(dev, "cpu_has_fast_bf16", lambda: False)
    assert dev.bf16_verdict(CPU)[0] is False and "emulation" in dev.bf16_verdict(CPU)[1]
    monkeypatch.setattr(dev, "cpu_has_fast_bf16", lambda: True)
    monkeypatch.setattr(dev, "cpu_bf16_speedup", lambda: 0.9)
    assert dev.bf16_verdict(CPU)[0] is False  # native but not faster: fp32
    monkeypatch.setattr(dev, "cpu_bf16_speedup", lambda: 1.8)
    with caplog.at_level(logging.INFO, logger="translate"):
        assert dev.resolve_precision("auto", CPU) is torch.bfloat16
    assert "precision auto: bf16 (native bf16: a probe convolution ran 1.80× the fp32 speed)" in caplog.text
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: "H200")
    assert dev.bf16_verdict(torch.device("cuda")) == (True, "H200 supports bf16")
    assert dev.bf16_verdict(torch.device("mps"))[0] is False


def test_the_bf16_probe_runs_once_per_process():
    dev.cpu_bf16_speedup.cache_clear()
    first = dev.cpu_bf16_speedup()
    second = dev.cpu_bf16_speedup()
    assert first == second > 0 and dev.cpu_bf16_speedup.cache_info().hits == 1


def test_quality_gate():
    fp32 = {"psnr_AtoB": 19.97, "psnr_BtoA": 21.45, "psnr_identity": 9.58}
    assert quality_gate(fp32, {"psnr_AtoB": 19.80, "psnr_BtoA": 21.50, "psnr_identity": 9.58})["ok"]
    bad = quality_gate(fp32, {"psnr_AtoB": 19.60, "psnr_BtoA": 21.45, "psnr_identity": 5.0})
    assert not bad["ok"] and abs(bad["worst_drop_db"] - 0.37) < 1e-9 and set(bad["drops"]) == {"psnr_AtoB", "psnr_BtoA"}
    assert not quality_gate({"loss": 1.0}, {"loss": 1.0})["ok"]  # nothing to compare is no pass
