"""Training a classifier and measuring it: the loop of assignment 06.

    train_one_epoch(model, loader, optimizer, device) -> float   one pass, one optimizer step per batch
    evaluate(model, loader, device) -> float                     the fraction classified correctly

`loader` yields batches (x, y): inputs x (B, ...) and int64 labels y (B,); the model maps x to logits
(B, classes) and is already on `device`. Both return means over the loader's examples, not over its
batches, so that a short last batch counts as much as its examples.

These are the answers the checks of 06 compare students' versions with, and what the 06 notebook
uses until a student's own pass their checks. How the grader trains with them (optimizer, schedule,
data) is `cnnkit.torch.recipe`.
"""

import torch
import torch.nn.functional as F

__all__ = ["train_one_epoch", "evaluate"]


def train_one_epoch(model, loader, optimizer, device):
    """One epoch of training in training mode: for every batch, move it to `device`, zero the
    gradients, take the mean cross-entropy of the logits, backpropagate and step.

    Returns the mean loss over the epoch's examples, a float: sum(n_b L_b) / sum(n_b) over the
    batches b of n_b examples and mean loss L_b.
    """
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count


def evaluate(model, loader, device):
    """The accuracy, in evaluation mode without gradients: the fraction (a float in [0, 1]) of the
    loader's examples whose largest logit is at their label."""
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            correct += (model(x).argmax(dim=1) == y).sum().item()
            count += len(y)
    return correct / count
