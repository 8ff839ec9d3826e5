"""The Variant contract: objectives own their regulariser, and the engine's hooks (nets handed
in, init_from, declared schedules, auxiliary modules, the 0.1 signature refused)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

import translate.losses as losses
from translate import config as C
from translate import train as T
from translate.data import open_data
from translate.engine import checkpoint as ckpt
from translate.engine.step import Step
from translate.engine.trainer import Trainer
from translate.errors import ConfigError, PluginError, WeightsError
from translate.losses import OBJECTIVES
from translate.nets import build_net
from translate.rundir import RunDir
from translate.schedules import step_drop
from translate.variant import VARIANTS, register_variant

from conftest import QUIET, TINY, Toy, tiny_batch, tiny_config, write_images

BUILT_INS = ["cyclegan", "discogan", "srgan", "gan", "cgan", "cogan", "cut", "fastcut"]
DISCRIMINATORS = {"cyclegan": 2, "discogan": 2, "srgan": 1, "gan": 1, "cgan": 1, "cogan": 2, "cut": 1, "fastcut": 1}


def _vgg_standin(layer: str, weights: object) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())


@pytest.mark.parametrize("objective", sorted(OBJECTIVES.names()))
@pytest.mark.parametrize("variant", BUILT_INS)
def test_the_penalty_is_there_exactly_when_the_objective_has_one(variant, objective, monkeypatch):
    calls: list[int] = []

    def spy(disc, real, fake):  # noqa: ANN001, ANN202 - a huge, recognisable penalty
        calls.append(1)
        disc(real)  # the penalty sees the discriminator it regularises
        return real.new_tensor(100.0)

    monkeypatch.setattr(losses, "gradient_penalty", spy)
    monkeypatch.setattr("translate.plugins.srgan.load_vgg19", _vgg_standin)
    extra = {"adversarial": objective}
    if variant == "srgan":
        extra.update(phase="srresnet+srgan", pretrain_epochs=0)  # the GAN phase from the first step
    cfg = tiny_config(variant, **extra)
    v = VARIANTS.get(variant)(cfg)
    nets = {**v.build(cfg), **v.auxiliary(cfg)}
    batch = tiny_batch(variant, cfg)
    with torch.no_grad():
        nets.update(v.data_dependent_initialize(nets, batch))  # CUT's heads
    step = Step(v.optimizers(nets, cfg), {})
    torch.manual_seed(0)
    out = v.train_step(nets, batch, step)  # discogan: iteration 0 updates D
    has = OBJECTIVES.get(objective).has_penalty
    assert len(calls) == (DISCRIMINATORS[variant] if has else 0)
    d_losses = [float(t.detach()) for k, t in out.items() if k.startswith("D")]
    assert len(d_losses) == DISCRIMINATORS[variant]
    assert all((d > 999) == has for d in d_losses), d_losses  # gp_weight 10 × 100 is in every D loss


def _trainer(variant: str, data: Path, tmp: Path, name: str, *sets: str) -> Trainer:
    """A Trainer as `translate train` builds it (nothing trained yet)."""
    plan = T.plan(variant, data=str(data), name=name, sets=C.parse_sets([*TINY[variant], *QUIET, *sets]),
                  runs_dir=tmp / "runs")
    bundle = open_data(plan.variant.data, plan.data, plan.model)
    return Trainer(plan.variant, plan.variant.settle(plan.model, bundle.info), plan.engine, bundle, plan.run_dir)


def test_nets_are_handed_in_read_only_and_never_assigned(unpaired_dir, tmp_path):
    tr = _trainer("toy", unpaired_dir, tmp_path, "n")
    assert not hasattr(tr.variant, "nets")
    with pytest.raises(TypeError):
        tr.train_view["G"] = nn.Identity()  # type: ignore[index]
    losses_ = tr.train_step(next(iter(tr._loader())))
    assert set(losses_) == {"mse"} and not hasattr(tr.variant, "nets")


def test_init_from_a_run_a_checkpoint_and_only_on_fresh_starts(unpaired_dir, tmp_path):
    source = T.plan("toy", data=str(unpaired_dir), name="src", runs_dir=tmp_path / "runs",
                    sets=C.parse_sets([*TINY["toy"], *QUIET, "steps=2"]))
    T.run(source)
    trained = ckpt.load_checkpoint(RunDir(source.run_dir).latest_checkpoint())["nets"]["G"]
    for spec in (str(source.run_dir), str(RunDir(source.run_dir).latest_checkpoint()), f"G={source.run_dir}"):
        tr = _trainer("toy", unpaired_dir, tmp_path, f"init{len(spec)}", f"init_from={spec}")
        assert all(torch.equal(tr.plain_nets["G"].state_dict()[k], trained[k]) for k in trained), spec
        assert tr.started_from == [f"G from {spec.partition('=')[2] or spec}"]
    run = T.plan("toy", data=str(unpaired_dir), name="fine", runs_dir=tmp_path / "runs",
                 sets=C.parse_sets([*TINY["toy"], *QUIET, "steps=1", f"init_from={source.run_dir}"]))
    assert "init_from" in T.run(run)
    shutil.rmtree(source.run_dir)  # a resumed run does not need its source any more
    summary = T.run(T.plan(resume=str(run.run_dir), sets=C.parse_sets(["steps=2"])))
    assert summary["steps"] == 2 and "init_from" not in summary
    with pytest.raises(ConfigError, match="'init_from': .* does not exist"):  # checked before any work
        _trainer("toy", unpaired_dir, tmp_path, "gone", f"init_from={source.run_dir}")


def test_init_from_official_cyclegan_generators_by_translator(unpaired_dir, tmp_path):
    """Fine-tuning CycleGAN from the released per-direction .pth files (legacy norm buffers and all)."""
    files = {}
    for i, direction in enumerate(("AtoB", "BtoA")):
        torch.manual_seed(10 + i)
        sd = build_net("resnet", ngf=4, n_blocks=9).state_dict()
        sd["model.2.running_mean"] = torch.zeros(4)  # what the released files still carry
        files[direction] = tmp_path / f"{direction}.pth"
        torch.save(sd, files[direction])
    spec = ",".join(f"{d}={p}" for d, p in files.items())
    tr = _trainer("cyclegan", unpaired_dir, tmp_path, "ft", f"init_from={spec}")
    for net, direction in (("G_AB", "AtoB"), ("G_BA", "BtoA")):
        want = torch.load(files[direction], weights_only=True)
        got = tr.plain_nets[net].state_dict()
        assert all(torch.equal(got[k], want[k]) for k in got), net
    with pytest.raises(WeightsError, match=r"\[AtoB\]: key 'model.1.weight' has shape"):
        torch.save(build_net("resnet", ngf=8, n_blocks=9).state_dict(), tmp_path / "wide.pth")
        _trainer("cyclegan", unpaired_dir, tmp_path, "bad", f"init_from=AtoB={tmp_path / 'wide.pth'}")


class _Scheduled(Toy):
    name = "toy_scheduled"

    def lr_lambda(self, cfg):  # noqa: ANN001, ANN201
        return {"G": step_drop(1, 0.5)}

    def auxiliary(self, cfg):  # noqa: ANN001, ANN201
        return {"judge": nn.Linear(2, 2)}


def test_declared_schedule_and_auxiliary_modules(unpaired_dir, tmp_path):
    if "toy_scheduled" not in VARIANTS:
        register_variant(_Scheduled)
    TINY["toy_scheduled"] = TINY["toy"]
    tr = _trainer("toy_scheduled", unpaired_dir, tmp_path, "s")
    lr = tr.optimizers["G"].param_groups[0]["lr"]
    tr._end_epoch()
    assert tr.optimizers["G"].param_groups[0]["lr"] == pytest.approx(lr * 0.5)
    judge = tr.train_view["judge"]
    assert not judge.training and not any(p.requires_grad for p in judge.parameters())
    assert set(tr.state_dict()["nets"]) == {"G"}  # auxiliary modules stay out of checkpoints


def test_a_variant_written_for_0_1_gets_one_line(unpaired_dir, tmp_path):
    class Old(Toy):
        name = "toy_v01"

        def train_step(self, batch, step):  # noqa: ANN001, ANN201 - the 0.1 signature
            return {}

    if "toy_v01" not in VARIANTS:
        register_variant(Old)
    TINY["toy_v01"] = TINY["toy"]
    with pytest.raises(PluginError, match=r"0\.1 train_step\(batch, step\).*train_step\(self, nets, batch, step\)"):
        _trainer("toy_v01", unpaired_dir, tmp_path, "old")


def test_srgan_phase_srgan_resumes_without_its_pretrained_run(tmp_path):
    """The SRResNet run a SRGAN run started from can be deleted: resume reads its own checkpoint."""
    from translate.perceptual import vgg19_features

    photos = tmp_path / "photos"
    write_images(photos, 3, size=24)
    vgg = tmp_path / "vgg22.pth"
    torch.save({f"features.{k}": v for k, v in vgg19_features("22").state_dict().items()}, vgg)
    base = [*TINY["srgan"], *QUIET, "vgg_layer=22", f"vgg_weights={vgg}"]
    pre = T.plan("srgan", data=str(photos), name="pre", runs_dir=tmp_path / "runs",
                 sets=C.parse_sets([*base, "phase=srresnet", "steps=1"]))
    T.run(pre)
    gan = T.plan("srgan", data=str(photos), name="gan", runs_dir=tmp_path / "runs",
                 sets=C.parse_sets([*base, "phase=srgan", f"init_from={pre.run_dir}", "steps=1"]))
    assert T.run(gan)["init_from"] == f"G from {pre.run_dir}"
    shutil.rmtree(pre.run_dir)
    summary = T.run(T.plan(resume=str(gan.run_dir), sets=C.parse_sets(["steps=2"])))
    assert summary["steps"] == 2 and "loss/content" in summary


class _Headed(Toy):
    """A head whose width comes from the first batch (as CUT's MLPs come from G's features)."""

    name = "toy_headed"
    ema_nets = ("G", "H")
    first_batches: list[torch.Tensor] = []

    def data_dependent_initialize(self, nets, batch):  # noqa: ANN001, ANN201
        assert not torch.is_grad_enabled() and not nets["G"].training
        _Headed.first_batches.append(batch["A"].clone())
        return {"H": nn.Conv2d(nets["G"](batch["A"]).shape[1], 3, 1)}

    def optimizers(self, nets, cfg):  # noqa: ANN001, ANN201
        return {**super().optimizers(nets, cfg), "H": torch.optim.Adam(nets["H"].parameters(), cfg.lr)}

    def train_step(self, nets, batch, step):  # noqa: ANN001, ANN201
        out = super().train_step(nets, batch, step)
        head = losses.mse(nets["H"](nets["G"](batch["A"]).detach() + 0.01 * torch.randn_like(batch["A"])), batch["B"])
        step.update("H", head)
        return {**out, "head": head}


def test_data_dependent_nets_are_nets_like_the_others(unpaired_dir, tmp_path):
    """Built from the run's first batch, before the optimizers; checkpointed with their Adam state
    and EMA; a resumed run builds them again (from the same batch) before loading their state."""
    from conftest import straight_and_resumed

    if "toy_headed" not in VARIANTS:
        register_variant(_Headed)
    TINY["toy_headed"] = TINY["toy"]
    _Headed.first_batches.clear()
    sets = [*TINY["toy"], *QUIET, "epochs=1", "decay_epochs=2", "ema=0.5"]

    def plan(name, steps, resume):  # noqa: ANN001, ANN202
        if resume is not None:
            return T.plan(resume=str(resume), sets=C.parse_sets([f"steps={steps}"]))
        return T.plan("toy_headed", data=str(unpaired_dir), name=name, runs_dir=tmp_path / "runs",
                      sets=C.parse_sets([*sets, f"steps={steps}"]))

    a, b = straight_and_resumed(plan)  # bit-identical nets (H included) and Adam states
    assert set(a["nets"]) == {"G", "H"} and set(a["optimizers"]) == {"G", "H"} and set(a["ema"]) == {"G", "H"}
    assert a["optimizers"]["H"]["state"], "H was never stepped"
    assert all(torch.equal(a["ema"]["H"][k], b["ema"]["H"][k]) for k in a["ema"]["H"])
    assert len(_Headed.first_batches) == 3  # straight, split, resumed: one call each, on one batch
    assert all(torch.equal(x, _Headed.first_batches[0]) for x in _Headed.first_batches)
    tr = _trainer("toy_headed", unpaired_dir, tmp_path, "h")
    assert tr.train_view["H"] is tr.plain_nets["H"] and "H" not in tr.variant.translators(tr.plain_nets)


def test_a_data_dependent_net_may_not_shadow_a_built_one(unpaired_dir, tmp_path):
    class Shadow(Toy):
        name = "toy_shadow"

        def data_dependent_initialize(self, nets, batch):  # noqa: ANN001, ANN201
            return {"G": nn.Identity()}

    if "toy_shadow" not in VARIANTS:
        register_variant(Shadow)
    TINY["toy_shadow"] = TINY["toy"]
    with pytest.raises(PluginError, match="data-dependent net 'G' has the name of a net from build"):
        _trainer("toy_shadow", unpaired_dir, tmp_path, "sh")
