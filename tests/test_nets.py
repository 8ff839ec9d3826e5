"""CycleGAN's networks exactly as the reference: parameter counts, shapes, state-dict keys."""
import torch

from translate.nets import NETS, build_net, count_params, init_weights


def test_resnet_9blocks_matches_reference():
    g = build_net("resnet_9blocks")
    assert count_params(g) == 11_378_179
    sd = g.state_dict()
    assert len(sd) == 48  # .weight/.bias of 24 convs; InstanceNorm has no parameters or buffers
    expected = {"model.1", "model.4", "model.7", "model.19", "model.22", "model.26"}
    expected |= {f"model.{i}.conv_block.{j}" for i in range(10, 19) for j in (1, 5)}
    assert {k.rsplit(".", 1)[0] for k in sd} == expected
    assert sd["model.19.weight"].shape == (256, 128, 3, 3)  # ConvTranspose: [in, out, k, k]
    assert sd["model.26.weight"].shape == (3, 64, 7, 7)
    out = g(torch.zeros(1, 3, 64, 64))
    assert out.shape == (1, 3, 64, 64)


def test_resnet_6blocks_and_configurable():
    g6 = build_net("resnet_6blocks")
    assert count_params(g6) == 11_378_179 - 3 * 2 * (256 * 256 * 9 + 256)
    g3 = build_net("resnet_3blocks", ngf=8)  # the CycleGAN demo's
    assert count_params(g3) == count_params(build_net("resnet_6blocks", ngf=8)) - 3 * 2 * (32 * 32 * 9 + 32)
    g = build_net("resnet", n_blocks=2, ngf=8, in_channels=1, out_channels=1)
    assert g(torch.zeros(2, 1, 16, 20)).shape == (2, 1, 16, 20)


def test_patchgan_70x70():
    d = build_net("patchgan")
    assert count_params(d) == 2_764_737
    assert d(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    assert sorted({k.rsplit(".", 1)[0] for k in d.state_dict()}) == ["model.0", "model.11", "model.2", "model.5", "model.8"]


def test_init_weights_convention():
    torch.manual_seed(0)
    net = init_weights(torch.nn.Sequential(torch.nn.Conv2d(64, 64, 3), torch.nn.BatchNorm2d(64)), std=0.02)
    conv, bn = net[0], net[1]
    assert abs(conv.weight.std().item() - 0.02) < 0.002 and conv.bias.abs().max() == 0
    assert abs(bn.weight.mean().item() - 1.0) < 0.01 and bn.bias.abs().max() == 0


def test_registry_names():
    assert {"resnet_9blocks", "resnet_6blocks", "resnet_3blocks", "patchgan"} <= set(NETS.names())
