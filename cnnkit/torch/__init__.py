"""cnnkit.torch: the course's operations on PyTorch tensors, with hand-written backward passes.

Every operation takes and returns tensors on the device of its input (CPU or CUDA), keeps the
floating dtype, and is differentiable: its backward pass is a custom torch.autograd.Function
written from the formulas of the course (see each submodule's docstring). Names, arguments and
validation match cnnkit.reference; results match torch.nn.functional.

    conv       conv1d, conv2d
    gemm       im2col, col2im, conv2d_gemm, toeplitz_matrix
    pool       max_pool2d, avg_pool2d, global_avg_pool2d, stochastic_pool2d
    linear     linear
    norm       batch_norm, local_response_norm
    activations sigmoid, tanh, relu, softmax
    losses     squared_error, cross_entropy
    modules    Conv2d, Linear, MaxPool2d, AvgPool2d, ... (torch.nn.Module layers)
    models     MLP, LeNet5, CifarNet, AlexNet, VGG16, VGG19 (backend="cnnkit" or "torch")
    training   train_one_epoch, evaluate (assignment 06's loop)
    recipe     the grader's training recipe of assignment 06 (RECIPES, the schedule, the loaders)
"""

import torch

from .activations import relu, sigmoid, softmax, tanh
from .conv import conv1d, conv2d
from .gemm import col2im, conv2d_gemm, im2col, toeplitz_matrix
from .linear import linear
from .losses import cross_entropy, squared_error
from . import recipe
from .models import MLP, VGG, VGG16, VGG19, AlexNet, CifarNet, LeNet5
from .modules import (AvgPool2d, Conv2d, Linear, LocalResponseNorm, MaxPool2d, ReLU, Sigmoid,
                      Softmax, StochasticPool2d, Tanh)
from .norm import batch_norm, local_response_norm
from .pool import avg_pool2d, global_avg_pool2d, max_pool2d, stochastic_pool2d
from .training import evaluate, train_one_epoch


def device():
    """The best available device: torch.device("cuda") when a GPU is present, else "cpu"."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


__all__ = [
    "conv1d", "conv2d", "conv2d_gemm", "im2col", "col2im", "toeplitz_matrix",
    "max_pool2d", "avg_pool2d", "global_avg_pool2d", "stochastic_pool2d",
    "linear", "batch_norm", "local_response_norm",
    "sigmoid", "tanh", "relu", "softmax", "squared_error", "cross_entropy",
    "Conv2d", "Linear", "MaxPool2d", "AvgPool2d", "StochasticPool2d",
    "ReLU", "Tanh", "Sigmoid", "Softmax", "LocalResponseNorm",
    "MLP", "LeNet5", "CifarNet", "AlexNet", "VGG", "VGG16", "VGG19",
    "train_one_epoch", "evaluate", "recipe",
    "device",
]
