"""Architecture registry: networks by name, so variants and configs refer to them by string.

Third-party plugins add their own with ``@register_net("name")`` on a class or factory.
"""
from __future__ import annotations

from translate.nets import coupled, dcgan, discogan, mlp, patchgan, resnet, srresnet, unet  # noqa: F401 - they register
from translate.nets.init import init_weights
from translate.nets.registry import NETS, build_net, count_params, register_net
from translate.nets.unet import TEST_MODES, has_test_modes, set_test_mode

__all__ = ["NETS", "TEST_MODES", "register_net", "build_net", "count_params", "has_test_modes", "init_weights",
           "set_test_mode"]
