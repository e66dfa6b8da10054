"""What only the grader of assignment 06 needs: the training cases of LeNet5 and CifarNet, the
accuracy they must reach, and the real test split they are measured on.

A hidden case of each network trains the student's class with the student's train_one_epoch under
the grader's recipe (`cnnkit.torch.recipe.RECIPES`, a copy of which the case carries) on the real
training split, and must reach `THRESHOLDS` on the real test split. The grader measures that, not
the student's process: the case carries the test images (`TestImages`: the real test split's uint8
images, permuted by the case's seed, sent as a plain array), the probe returns the class the trained
network predicts for each (never the student's evaluate), and `judge_trained` compares them with the
labels, which it reads itself and which never reach the sandbox (whose data root holds only the
training files).
"""

import numpy as np

from ..core import Case, Verdict, heading
from ..probes06 import CLASSES, _probe_trained, describe
from .judging import field, pct, scalar

# what the trained networks must reach on the real test sets (10,000 images each)
THRESHOLDS = {"mnist": 0.985, "cifar10": 0.60}
TRAINING_SECONDS = 300.0       # the time limit of one training case when grading
DATASET_NAME = {"mnist": "MNIST", "cifar10": "CIFAR-10"}


# ----------------------------------------------------------------------------- the test split, in the grader

def read_test_split(dataset):
    """(images, labels) of the real test split, read in the grader's process (and in a notebook that
    runs the checks itself), never in the grading sandbox, whose data root has no test files."""
    from ... import data
    return data.load(dataset, "test")


def image_order(n, seed):
    """The order in which a training case of `seed` sends the n test images."""
    return np.random.default_rng([int(seed), 6]).permutation(n)


def image_labels(dataset, seed):
    """The labels of a training case's test images, in the order it sent them: only the judge sees them."""
    images, labels = read_test_split(dataset)
    return labels[image_order(len(labels), seed)]


class TestImages:
    """The argument of a training case: the real test split's images (uint8, in the publisher's layout),
    in the order the case's seed permutes them, without their labels.

    Made with the cases in the grader, it reads the images only when they are needed: pickled (as the
    grader sends a case to the student's process) it becomes that plain uint8 array, so the sandbox,
    whose data root holds the training files only, gets the images and never the labels; `np.asarray`
    gives the same array where the checks run in the notebook's own process."""

    __test__ = False      # not a pytest test class, whatever its name

    def __init__(self, dataset, seed):
        self.dataset, self.seed = str(dataset), int(seed)

    def array(self):
        images, _ = read_test_split(self.dataset)
        return images[image_order(len(images), self.seed)]

    def __array__(self, dtype=None, copy=None):
        a = self.array()
        return a if dtype is None else a.astype(dtype)

    def __reduce__(self):
        try:
            a = self.array()
        except Exception as e:   # not an OSError: the grader must not take it for a closed pipe
            raise RuntimeError(f"the grader could not read the {DATASET_NAME[self.dataset]} test split to send "
                               f"with a training case: {describe(e)}") from e
        return a.__reduce__()      # pickled exactly as the plain array is

    def __eq__(self, other):
        return isinstance(other, TestImages) and (self.dataset, self.seed) == (other.dataset, other.seed)

    def __hash__(self):
        return hash((TestImages, self.dataset, self.seed))

    def __repr__(self):
        return f"TestImages({self.dataset!r}, seed={self.seed})"


# ----------------------------------------------------------------------------- the training case

def trained_case(name, dataset, seed):
    """Training on the real data: args (dataset, seed, TestImages(dataset, seed), the recipe); the probe
    returns the predicted classes of those images, which the judge compares with the labels it reads
    itself."""
    from ...torch.recipe import RECIPES      # cnnkit.torch imports torch: only when training cases are made
    r = dict(RECIPES[dataset])
    label = (f"{DATASET_NAME[dataset]}, trained with your train_one_epoch for {r['epochs']} epochs (the grader's "
             f"recipe, seed {seed}), then measured on the 10,000 test images")
    return Case(name, (dataset, seed, TestImages(dataset, seed), r), {}, label, probe=_probe_trained,
                uses=("train_one_epoch",), seconds=TRAINING_SECONDS)


def is_trained(case):
    return case.probe is _probe_trained


def judge_trained(case, out, parameters):
    """The accuracy of a trained network of `parameters` parameters, from the classes it predicted."""
    dataset, seed = case.args[0], case.args[1]
    need = THRESHOLDS[dataset]
    predicted = field(out, "predicted")
    losses = field(out, "losses").reshape(-1)
    params = scalar(out, "params")
    labels = image_labels(dataset, seed)
    if predicted.shape != labels.shape:
        return Verdict(False, f"{heading(case)}: [wrong_predictions] the trained network's predictions have shape "
                              f"{predicted.shape} for {len(labels):,} test images: the logits must have shape "
                              f"(N, {CLASSES}) (see the other checks)", "wrong_predictions")
    accuracy = float(np.mean(predicted == labels)) if labels.size else 0.0
    if accuracy >= need:
        return Verdict(True, "", None)
    r = case.args[3]         # the recipe the case was trained by
    recipe = (f"{r['epochs']} epochs, batches of {r['batch_size']}, SGD with Nesterov momentum {r['momentum']:g} "
              f"and a one-cycle learning rate up to {r['lr']:g}" + (", random flips" if r["flip"] else ""))
    text = (f"trained with your train_one_epoch ({recipe}), {case.name} reached {pct(accuracy)} on the "
            f"{DATASET_NAME[dataset]} test set; at least {pct(need)} is needed")
    shown = ", ".join("nan" if not np.isfinite(v) else f"{v:.3f}" for v in losses)
    text += f". The losses your train_one_epoch returned, epoch by epoch: {shown}"
    if params != parameters:
        text += f". The network has {params:,.0f} parameters, not {parameters:,} (see the other checks)"
    if losses.size and not np.all(np.isfinite(losses)):
        code = "loss_nan"
        text += ("\n  likely mistake: the loss is not a finite number: train_one_epoch must return the mean loss as a "
                 "float, and the network's outputs must be finite")
    elif accuracy < 0.2:
        code = "not_learning"
        text += ("\n  likely mistake: the network did not learn at all; make sure train_one_epoch passes its own "
                 "checks (zero_grad, backward, step on every batch) and that forward returns logits")
    else:
        code = "low_accuracy"
        text += ("\n  what to check: the network learns, but not well enough: check that forward returns logits "
                 "(no softmax), that train_one_epoch passes its checks, and the layers against the description")
    return Verdict(False, f"{heading(case)}: [{code}] {text}", code)
