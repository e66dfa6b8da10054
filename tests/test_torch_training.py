"""cnnkit.torch's training loop and the grader's recipe of assignment 06: train_one_epoch and evaluate
against a loop written out here, and the recipe (its entries, normalisation, flips, the seeded
loader, the one-cycle schedule, the loop over epochs)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import cnnkit.torch as ct
from cnnkit import data
from cnnkit.checks.a06 import train_one_epoch as checks_train
from cnnkit.torch import recipe
from conftest import DEVICES


def small_problem(n=27, seed=0):
    """n seeded examples (N, 12) of 3 classes a linear rule gives, and a network with dropout and
    batch norm (so that the training mode matters)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 12, generator=g)
    y = (x @ torch.randn(12, 3, generator=g)).argmax(dim=1)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    return x, y, model


def written_out(model, x, y, batch_size, lr, device):
    """One epoch written out: per batch the mean cross-entropy, backward, an SGD step by hand; the
    mean loss over the examples."""
    model.train()
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        for p in model.parameters():
            p.grad = None
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        total += loss.item() * len(yb)
    return total / len(x)


# ----------------------------------------------------------------------------- train_one_epoch, evaluate

@pytest.mark.parametrize("device", DEVICES)
def test_train_one_epoch_is_one_pass_of_sgd_and_returns_the_mean_loss_over_the_examples(device):
    x, y, model = small_problem()
    _, _, twin = small_problem()
    model, twin = model.to(device).eval(), twin.to(device)
    # 8, 8, 8 and a short last batch of 3; its own generator: iterating draws no global random numbers
    loader = DataLoader(TensorDataset(x, y), batch_size=8, generator=torch.Generator())
    torch.manual_seed(1)
    loss = ct.train_one_epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.1), device)
    torch.manual_seed(1)                                            # the same dropout masks
    expected = written_out(twin, x, y, 8, 0.1, device)
    assert type(loss) is float and math.isclose(loss, expected, rel_tol=1e-6)
    assert model.training, "train_one_epoch puts the model in training mode"
    for p, q in zip(model.state_dict().values(), twin.state_dict().values(), strict=True):
        torch.testing.assert_close(p, q)


def test_train_one_epoch_steps_once_per_batch():
    x, y, model = small_problem(n=30)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    steps, forwards = [], []
    optimizer.register_step_post_hook(lambda *args: steps.append(1))
    model.register_forward_pre_hook(lambda *args: forwards.append(1))
    ct.train_one_epoch(model, DataLoader(TensorDataset(x, y), batch_size=7), optimizer, "cpu")
    assert len(steps) == len(forwards) == 5


def test_the_checks_train_exactly_as_train_one_epoch():
    """The checks' own loop (which records each batch's loss for the judge) with no change is the
    reference: the same parameters afterwards, the same mean loss."""
    x, y, a = small_problem()
    _, _, b = small_problem()
    loaders = [DataLoader(TensorDataset(x, y), batch_size=8) for _ in range(2)]
    torch.manual_seed(4)
    la = ct.train_one_epoch(a, loaders[0], torch.optim.SGD(a.parameters(), lr=0.1, momentum=0.9), "cpu")
    torch.manual_seed(4)
    record = {}
    lb = checks_train.variant(record)(b, loaders[1], torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9), "cpu")
    assert math.isclose(la, lb, rel_tol=1e-12) and record["sizes"] == [8, 8, 8, 3]
    for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("device", DEVICES)
def test_evaluate_counts_the_correct_predictions_over_all_examples(device):
    x, y, model = small_problem(n=37)
    model = model.to(device).train()
    model.eval()
    with torch.no_grad():
        hits = (model(x.to(device)).argmax(dim=1).cpu() == y).numpy()
    model.train()
    grads = []
    model.register_forward_pre_hook(lambda m, inputs: grads.append(torch.is_grad_enabled() or m.training))
    accuracy = ct.evaluate(model, DataLoader(TensorDataset(x, y), batch_size=10), device)
    assert type(accuracy) is float and accuracy == hits.sum() / 37     # not the mean of the batches' accuracies
    assert not model.training and grads and not any(grads), "evaluation mode, without gradients"


# ----------------------------------------------------------------------------- the recipe

def test_the_recipes_are_the_graders():
    assert recipe.RECIPES == {
        "mnist": {"epochs": 5, "batch_size": 128, "lr": 0.15, "momentum": 0.9, "pct_start": 0.25, "flip": False},
        "cifar10": {"epochs": 6, "batch_size": 128, "lr": 0.05, "momentum": 0.9, "pct_start": 0.25, "flip": True},
    }


@pytest.mark.parametrize("dataset,shape", [("mnist", (5, 28, 28)), ("cifar10", (5, 32, 32, 3))])
def test_the_images_are_normalised_with_the_training_statistics(dataset, shape):
    images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    labels = np.arange(5)
    x, y = recipe.to_tensors(dataset, images, labels)
    mean, std = data.NORMALIZATION[dataset]
    channels = images[..., None] if images.ndim == 3 else images
    expected = (torch.from_numpy(channels).permute(0, 3, 1, 2).double() / 255
                - torch.tensor(mean).double().view(1, -1, 1, 1)) / torch.tensor(std).double().view(1, -1, 1, 1)
    assert x.dtype == torch.float32 and x.shape == expected.shape and y.dtype == torch.int64
    torch.testing.assert_close(x.double(), expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(recipe.normalise(dataset, images), x, rtol=0, atol=0)


def test_flips_mirror_a_random_half_of_a_batch_by_their_own_generator():
    x = torch.randn(400, 3, 4, 5)
    examples = list(zip(x, torch.arange(400)))
    state = torch.get_rng_state()
    xa, ya = recipe.Flips(seed=3)(examples)
    xb, _ = recipe.Flips(seed=3)(examples)
    assert torch.equal(torch.get_rng_state(), state), "the flips draw from a generator of their own"
    assert torch.equal(xa, xb) and torch.equal(ya, torch.arange(400))
    flipped = torch.tensor([torch.equal(a, b.flip(2)) and not torch.equal(a, b) for a, b in zip(xa, x)])
    kept = torch.tensor([torch.equal(a, b) for a, b in zip(xa, x)])
    assert bool((flipped | kept).all()) and 150 < int(flipped.sum()) < 250
    assert not torch.equal(recipe.Flips(seed=4)(examples)[0], xa)


def test_the_training_loader_is_shuffled_by_its_seed_and_flips_when_the_recipe_says():
    x, y = torch.arange(10.0).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous(), torch.arange(10)
    r = dict(recipe.RECIPES["mnist"], batch_size=4)
    state = torch.get_rng_state()
    order = [torch.cat([b for _, b in recipe.training_loader(x, y, r, seed)]).tolist() for seed in (0, 0, 1)]
    assert torch.equal(torch.get_rng_state(), state)
    assert order[0] == order[1] != order[2] and sorted(order[0]) == list(range(10))
    assert [len(b) for _, b in recipe.training_loader(x, y, r, 0)] == [4, 4, 2]
    assert recipe.training_loader(x, y, r, 0).collate_fn is not None      # the DataLoader's default
    assert isinstance(recipe.training_loader(x, y, dict(r, flip=True), 0).collate_fn, recipe.Flips)


def test_the_learning_rate_rises_for_a_quarter_of_the_steps_then_falls_and_never_runs_past_the_end():
    model = nn.Linear(2, 2)
    r = recipe.RECIPES["mnist"]
    optimizer = recipe.sgd(model, r)
    assert optimizer.defaults["nesterov"] and optimizer.defaults["momentum"] == r["momentum"]
    count = recipe.one_cycle(optimizer, r, total_steps=40)
    rates = []
    for _ in range(45):                     # more steps than planned: the schedule stays at its end
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
    assert count.steps == 45
    assert math.isclose(rates[0], r["lr"] / 25) and math.isclose(max(rates), r["lr"])
    assert int(np.argmax(rates)) == 9 and rates[39] < 1e-4 * r["lr"] and rates[39:] == [rates[39]] * 6


def test_train_runs_the_recipes_epochs_through_the_given_loop():
    x, y, model = small_problem(n=40)
    r = dict(recipe.RECIPES["cifar10"], epochs=3, batch_size=16, flip=False)
    loader = recipe.training_loader(x, y, r, seed=0)
    calls, seen = [], []

    def train_one_epoch(m, batches, optimizer, device):
        calls.append((m, batches, device))
        return ct.train_one_epoch(m, batches, optimizer, device)

    losses, steps = recipe.train(model, loader, train_one_epoch, "cpu", r,
                                 after_epoch=lambda epoch, loss: seen.append((epoch, loss)))
    assert len(calls) == 3 and all(c == (model, loader, "cpu") for c in calls)
    assert steps == 3 * 3 and seen == list(zip((1, 2, 3), losses)) and losses[-1] < losses[0]


def test_train_is_repeatable_under_a_seed():
    def run():
        x, y, model = small_problem(n=40, seed=2)
        r = dict(recipe.RECIPES["mnist"], epochs=2, batch_size=16)
        losses, _ = recipe.train(model, recipe.training_loader(x, y, r, seed=5), ct.train_one_epoch, "cpu", r)
        return losses, [p.detach().clone() for p in model.parameters()]

    (la, pa), (lb, pb) = run(), run()
    assert la == lb and all(torch.equal(p, q) for p, q in zip(pa, pb))
