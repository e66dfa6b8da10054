"""torch.nn.Module layers built on cnnkit.torch's operations.

Parameter names, shapes and initialisation are those of the matching torch.nn layers, so a
state_dict moves between them, and with the same random seed both give the same parameters.
"""

import math

import torch
from torch import nn
from torch.nn import init

from .._args import conv_padding, fail, is_int, pair
from .activations import relu, sigmoid, softmax, tanh
from .conv import conv2d
from .linear import linear
from .norm import local_response_norm
from .pool import avg_pool2d, max_pool2d, stochastic_pool2d

__all__ = ["Conv2d", "Linear", "MaxPool2d", "AvgPool2d", "StochasticPool2d",
           "ReLU", "Tanh", "Sigmoid", "Softmax", "LocalResponseNorm"]


def _reset(weight, bias):
    """torch.nn's default: kaiming_uniform_(a=sqrt(5)) for the weight, U(-1/sqrt(fan_in), +) for the bias."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = weight[0].numel()
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Conv2d(nn.Module):
    """2-D convolution layer: weight (out_channels, in_channels/groups, kH, kW), bias (out_channels,)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, device=None, dtype=None):
        super().__init__()
        fn = "Conv2d"
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not is_int(v) or v < 1:
                fail(fn, f"{name} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            fail(fn, f"groups={groups} must divide in_channels ({in_channels}) and out_channels ({out_channels})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size", fn)
        self.stride = pair(stride, "stride", fn)
        self.dilation = pair(dilation, "dilation", fn)
        conv_padding(padding, self.kernel_size, self.stride, self.dilation, fn)     # validate now
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding", fn, minimum=0)
        kw = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size, **kw))
        self.bias = nn.Parameter(torch.empty(out_channels, **kw)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _reset(self.weight, self.bias)

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}")


class Linear(nn.Module):
    """Fully connected layer: weight (out_features, in_features), bias (out_features,)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not is_int(v) or v < 0:
                fail("Linear", f"{name} must be a non-negative int, got {v!r}")
        self.in_features, self.out_features = in_features, out_features
        kw = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(out_features, in_features, **kw))
        self.bias = nn.Parameter(torch.empty(out_features, **kw)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _reset(self.weight, self.bias)

    def forward(self, x):
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class MaxPool2d(nn.Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.return_indices,
                          dilation=self.dilation, ceil_mode=self.ceil_mode)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(nn.Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.ceil_mode = kernel_size, stride, padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class StochasticPool2d(nn.Module):
    """Stochastic pooling: samples in training mode, probability-weighted average in eval mode."""

    def __init__(self, kernel_size, stride=None, generator=None):
        super().__init__()
        self.kernel_size, self.stride, self.generator = kernel_size, stride, generator

    def forward(self, x):
        return stochastic_pool2d(x, self.kernel_size, self.stride, self.training, generator=self.generator)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class ReLU(nn.Module):
    def forward(self, x):
        return relu(x)


class Tanh(nn.Module):
    def forward(self, x):
        return tanh(x)


class Sigmoid(nn.Module):
    def forward(self, x):
        return sigmoid(x)


class Softmax(nn.Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return softmax(x, self.dim)


class LocalResponseNorm(nn.Module):
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
