"""The grader's training recipe of assignment 06: how LeNet-5 and CifarNet are trained when graded,
and how the 06 notebook trains its networks (its `fit`).

    RECIPES                 {"mnist": {...}, "cifar10": {...}}: epochs, batch size, peak learning rate,
                            momentum, warm-up fraction, random flips
    to_tensors, normalise   the images as the networks see them: (x / 255 - mean) / std with the
                            training split's mean and std (cnnkit.data.NORMALIZATION)
    Flips                   a DataLoader collate function flipping a random half of each batch
    training_loader         the shuffled, seeded training loader of a recipe
    sgd, one_cycle          SGD with Nesterov momentum; the one-cycle learning rate, stepped by a hook
    train                   a model trained for the recipe's epochs by a given `train_one_epoch`

The recipe holds no answer: no network, no `train_one_epoch`, no `evaluate`. The caller hands over
the training loop (the student's, when graded), and `train` calls it once per epoch. While a
notebook of 06 is graded, the rest of `cnnkit.torch` is a stub and this module stays real
(autograde/grader.py: HIDE keeps it, and RUNTIME lets the training probe run it while a case runs):
it imports nothing but torch and `cnnkit.data`.
"""

import torch
from torch.utils.data import DataLoader, TensorDataset, default_collate

from .. import data

__all__ = ["RECIPES", "to_tensors", "normalise", "Flips", "training_loader", "sgd", "one_cycle", "train"]

# SGD with Nesterov momentum and a one-cycle learning rate (up to `lr` after `pct_start` of the steps,
# then down to almost 0), stepped with each optimizer step; the images normalised with the data set's
# mean and standard deviation; CIFAR-10 images flipped left-right at random. On one CPU thread each
# takes about a minute when graded; the classic LeNet-5 (tanh, average pooling) and a ReLU/max-pooling
# one reach 98.9-99.2% on the test set over seeds, CifarNet 65-67%. A training case of the grader
# carries a copy of its entry, and its probe trains by that copy.
RECIPES = {
    "mnist": {"epochs": 5, "batch_size": 128, "lr": 0.15, "momentum": 0.9, "pct_start": 0.25, "flip": False},
    "cifar10": {"epochs": 6, "batch_size": 128, "lr": 0.05, "momentum": 0.9, "pct_start": 0.25, "flip": True},
}


# ----------------------------------------------------------------------------- the data

def to_tensors(dataset, images, labels):
    """uint8 images (N, H, W) or (N, H, W, C) and labels (N,) as the networks train on them: float32
    (N, C, H, W) normalised with `dataset`'s training statistics, and int64 labels (N,)."""
    mean, std = data.NORMALIZATION[dataset]
    return data.to_tensors(images, labels, mean=mean, std=std)


def normalise(dataset, images):
    """uint8 images (N, H, W) or (N, H, W, C) as float32 (N, C, H, W), normalised as `to_tensors` does."""
    mean, std = data.NORMALIZATION[dataset]
    return data.images_to_tensor(images, mean=mean, std=std)


class Flips:
    """A DataLoader collate function: the usual batch (x (B, C, H, W), y (B,)), with a random half of
    the images mirrored left to right. Its own generator, seeded with `seed`, draws which."""

    def __init__(self, seed=0):
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, examples):
        x, y = default_collate(examples)
        flip = torch.rand(len(x), generator=self.generator) < 0.5
        return [torch.where(flip[:, None, None, None], x.flip(3), x), y]     # dim 3: the width


def training_loader(x, y, recipe, seed):
    """The training loader of `recipe` over x (N, C, H, W) and y (N,): shuffled by a generator seeded
    with `seed` (never torch's global random state), flipped when the recipe says so (seed + 1)."""
    collate = Flips(seed + 1) if recipe["flip"] else None
    return DataLoader(TensorDataset(x, y), batch_size=recipe["batch_size"], shuffle=True,
                      generator=torch.Generator().manual_seed(seed), collate_fn=collate)


# ----------------------------------------------------------------------------- the optimizer

def sgd(model, recipe):
    """SGD with Nesterov momentum over the model's parameters, at the recipe's peak learning rate."""
    return torch.optim.SGD(model.parameters(), lr=recipe["lr"], momentum=recipe["momentum"], nesterov=True)


class StepCount:
    """The optimizer steps taken so far (`steps`), each of which advanced the schedule."""

    def __init__(self):
        self.steps = 0


def one_cycle(optimizer, recipe, total_steps):
    """A one-cycle learning rate over `total_steps` optimizer steps: from lr / 25 up to the recipe's
    `lr` over its first `pct_start`, then down to almost 0. A hook advances it after every
    `optimizer.step()`, so the training loop need not know about it, and never past its end,
    whatever the loop does. Returns the StepCount the hook keeps."""
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe["lr"], total_steps=total_steps,
                                                   pct_start=recipe["pct_start"])
    count = StepCount()

    def advance(opt, args, kwargs):
        count.steps += 1
        if count.steps < total_steps:
            schedule.step()

    optimizer.register_step_post_hook(advance)
    return count


# ----------------------------------------------------------------------------- training

def train(model, loader, train_one_epoch, device, recipe, after_epoch=None):
    """Train `model` (already on `device`) for the recipe's epochs: SGD with Nesterov momentum and the
    one-cycle schedule over all the epochs' steps, calling `train_one_epoch(model, loader, optimizer,
    device)` once per epoch; `after_epoch(epoch, loss)` (epochs from 1) is called after each.

    Returns (losses, steps): what `train_one_epoch` returned for each epoch, and how many optimizer
    steps it took in all. Draws no random numbers of its own: a seeded model, loader and dropout make
    the run repeatable.
    """
    optimizer = sgd(model, recipe)
    count = one_cycle(optimizer, recipe, recipe["epochs"] * len(loader))
    losses = []
    for epoch in range(1, recipe["epochs"] + 1):
        losses.append(train_one_epoch(model, loader, optimizer, device))
        if after_epoch is not None:
            after_epoch(epoch, losses[-1])
    return losses, count.steps
