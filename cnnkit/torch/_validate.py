"""Tensor validation shared by the operations of cnnkit.torch.

Shape rules (ranks, channels, kernel sizes, strides) live in `cnnkit._args` and are shared with
the NumPy reference; what is specific to tensors (type, floating dtype, device) is checked here.
Every failure is a `ValueError` naming the function and the argument. (The checks that grade
students' work are another thing: `cnnkit.checks`.)
"""

import torch

from .._args import fail


def check_tensor(x, name, fn):
    """`x` must be a floating-point torch.Tensor."""
    if not isinstance(x, torch.Tensor):
        fail(fn, f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        fail(fn, f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def check_like(ref, ref_name, fn, **others):
    """Every tensor in `others` (None is skipped) is floating with the dtype and device of `ref`."""
    for name, t in others.items():
        if t is None:
            continue
        check_tensor(t, name, fn)
        if t.dtype != ref.dtype:
            fail(fn, f"{name} has dtype {t.dtype} but {ref_name} has dtype {ref.dtype}")
        if t.device != ref.device:
            fail(fn, f"{name} is on {t.device} but {ref_name} is on {ref.device}")

