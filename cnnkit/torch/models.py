"""The course's classic networks, each with two interchangeable backends.

backend="cnnkit" builds them from cnnkit.torch's modules (hand-written backward passes);
backend="torch" from torch.nn's layers (cuDNN on a GPU). Both have the same layers in the same
positions, so parameter names and shapes agree and a state_dict moves between them.

    MLP       any (N, in_features)              in*hidden + hidden + hidden*classes + classes
    LeNet5    1x32x32 (28x28 with padding=2)   61,706 parameters
    CifarNet  3x32x32                           62,006
    AlexNet   3x227x227                     62,378,344
    VGG16     3x224x224                    138,357,544
    VGG19     3x224x224                    143,667,240
"""

from types import SimpleNamespace

import torch
from torch import nn

from . import modules

__all__ = ["MLP", "LeNet5", "CifarNet", "AlexNet", "VGG", "VGG16", "VGG19", "layers"]

BACKENDS = ("cnnkit", "torch")


def layers(backend):
    """The layer classes of one backend: Conv2d, Linear, MaxPool2d, AvgPool2d, ReLU, Tanh, LRN."""
    if backend == "cnnkit":
        m = modules
        return SimpleNamespace(Conv2d=m.Conv2d, Linear=m.Linear, MaxPool2d=m.MaxPool2d,
                               AvgPool2d=m.AvgPool2d, ReLU=m.ReLU, Tanh=m.Tanh, LRN=m.LocalResponseNorm)
    if backend == "torch":
        return SimpleNamespace(Conv2d=nn.Conv2d, Linear=nn.Linear, MaxPool2d=nn.MaxPool2d,
                               AvgPool2d=nn.AvgPool2d, ReLU=nn.ReLU, Tanh=nn.Tanh, LRN=nn.LocalResponseNorm)
    raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')


class _Net(nn.Module):
    """features (convolutions and pooling) -> flatten -> classifier (fully connected)."""

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class MLP(nn.Module):
    """A fully connected network with one hidden layer: flatten -> Linear(in_features, hidden) ->
    ReLU -> Linear(hidden, classes). x (N, ...) with in_features values per example -> logits
    (N, classes); in_features*hidden + hidden + hidden*classes + classes parameters."""

    def __init__(self, in_features, hidden, classes, backend="cnnkit"):
        super().__init__()
        L = layers(backend)
        self.backend = backend
        self.classifier = nn.Sequential(L.Linear(in_features, hidden), L.ReLU(), L.Linear(hidden, classes))

    def forward(self, x):
        return self.classifier(torch.flatten(x, 1))


class LeNet5(_Net):
    """LeCun et al. (1998): conv 1->6 k5, tanh, avg pool 2, conv 6->16 k5, tanh, avg pool 2,
    conv 16->120 k5, tanh, FC 120->84, tanh, FC 84->num_classes.

    Input 1x32x32; padding=2 pads the first convolution so that 28x28 MNIST digits fit.
    """

    def __init__(self, num_classes=10, padding=0, backend="cnnkit"):
        super().__init__()
        L = layers(backend)
        self.backend = backend
        self.features = nn.Sequential(
            L.Conv2d(1, 6, 5, padding=padding), L.Tanh(), L.AvgPool2d(2),
            L.Conv2d(6, 16, 5), L.Tanh(), L.AvgPool2d(2),
            L.Conv2d(16, 120, 5), L.Tanh(),
        )
        self.classifier = nn.Sequential(L.Linear(120, 84), L.Tanh(), L.Linear(84, num_classes))


class CifarNet(_Net):
    """The small CIFAR-10 network of the PyTorch tutorial: conv 3->6 k5, relu, max pool 2,
    conv 6->16 k5, relu, max pool 2, FC 400->120, relu, FC 120->84, relu, FC 84->num_classes."""

    def __init__(self, num_classes=10, backend="cnnkit"):
        super().__init__()
        L = layers(backend)
        self.backend = backend
        self.features = nn.Sequential(
            L.Conv2d(3, 6, 5), L.ReLU(), L.MaxPool2d(2),
            L.Conv2d(6, 16, 5), L.ReLU(), L.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            L.Linear(16 * 5 * 5, 120), L.ReLU(), L.Linear(120, 84), L.ReLU(), L.Linear(84, num_classes),
        )


class AlexNet(_Net):
    """Krizhevsky et al. (2012), single-tower, for 3x227x227 input (features end at 256x6x6)."""

    def __init__(self, num_classes=1000, dropout=0.5, backend="cnnkit"):
        super().__init__()
        L = layers(backend)
        self.backend = backend
        lrn = dict(size=5, alpha=1e-4, beta=0.75, k=2.0)
        self.features = nn.Sequential(
            L.Conv2d(3, 96, 11, stride=4), L.ReLU(), L.LRN(**lrn), L.MaxPool2d(3, 2),
            L.Conv2d(96, 256, 5, padding=2), L.ReLU(), L.LRN(**lrn), L.MaxPool2d(3, 2),
            L.Conv2d(256, 384, 3, padding=1), L.ReLU(),
            L.Conv2d(384, 384, 3, padding=1), L.ReLU(),
            L.Conv2d(384, 256, 3, padding=1), L.ReLU(), L.MaxPool2d(3, 2),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), L.Linear(256 * 6 * 6, 4096), L.ReLU(),
            nn.Dropout(dropout), L.Linear(4096, 4096), L.ReLU(),
            L.Linear(4096, num_classes),
        )


CONFIGS = {
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(_Net):
    """Simonyan & Zisserman (2014): 3x3 convolutions (padding 1) with ReLU, max pool 2 after each
    block ("M" in `config`), then FC 512*7*7 -> 4096 -> 4096 -> num_classes for 3x224x224 input."""

    def __init__(self, config, num_classes=1000, dropout=0.5, backend="cnnkit"):
        super().__init__()
        L = layers(backend)
        self.backend = backend
        feats, c = [], 3
        for v in config:
            if v == "M":
                feats.append(L.MaxPool2d(2))
            else:
                feats += [L.Conv2d(c, v, 3, padding=1), L.ReLU()]
                c = v
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(
            L.Linear(512 * 7 * 7, 4096), L.ReLU(), nn.Dropout(dropout),
            L.Linear(4096, 4096), L.ReLU(), nn.Dropout(dropout),
            L.Linear(4096, num_classes),
        )


class VGG16(VGG):
    """VGG configuration D: 13 convolutions, 3 fully connected layers."""

    def __init__(self, num_classes=1000, dropout=0.5, backend="cnnkit"):
        super().__init__(CONFIGS["D"], num_classes, dropout, backend)


class VGG19(VGG):
    """VGG configuration E: 16 convolutions, 3 fully connected layers."""

    def __init__(self, num_classes=1000, dropout=0.5, backend="cnnkit"):
        super().__init__(CONFIGS["E"], num_classes, dropout, backend)
