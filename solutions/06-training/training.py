# %% [markdown]
# # Assignment 06 — Training CNNs with PyTorch
#
# In assignments 01–05 you wrote the pieces of a convolutional network by hand: convolution,
# padding and stride, pooling, backpropagation, convolution as a matrix product. Now we put them
# to work. PyTorch has all of those layers built in (fast, and with their gradients), so this
# notebook is about everything *around* the layers that makes a network learn: getting the data in,
# describing a network as a `torch.nn.Module`, the training loop, evaluating honestly, and looking
# at what came out. You will train **LeNet-5** on handwritten digits (MNIST) to better than 98.5%
# test accuracy, a small CNN and fully connected networks on photographs (CIFAR-10), compare them,
# and look inside the trained networks.
#
# **When you have finished you will be able to**
#
# 1. load MNIST and CIFAR-10 into PyTorch tensors, normalise them, and serve them in shuffled
#    mini-batches with a `DataLoader`;
# 2. write a network as an `nn.Module` class and count its parameters, by hand and in code;
# 3. write the training loop — forward pass, loss, backward pass, optimizer step, zeroing the
#    gradients — and explain why each line is there, together with training and evaluation modes,
#    `torch.no_grad()` and the device (CPU or GPU);
# 4. train LeNet-5 on MNIST and a CNN on CIFAR-10, and read loss and accuracy curves, a confusion
#    matrix and the examples a network gets wrong;
# 5. explain, with numbers you measured, why a CNN beats a fully connected network with the same
#    number of parameters (or thirteen times more) on images;
# 6. show what a trained network's first layer has learned: its filters and its feature maps.
#
# **How this works.** As before: each graded function or class lives in a cell of its own, marked
# `# YOUR CODE HERE`. Replace `raise NotImplementedError()` with your code and run the cell; the
# cell after it runs the *visible checks*, which explain what went wrong when something does. When
# the notebook is graded, more checks decide the score — for `LeNet5` and `CifarNet` they include
# **training your network with your `train_one_epoch`** on the real training set and measuring it
# on the real test set. Until a function of yours passes its visible checks, the demonstrations
# below use the course's version of it, so you can read (and run) the notebook in any order.
#
# **The rules.** This time you use PyTorch's own layers: `nn.Conv2d`, `nn.Linear`, `nn.MaxPool2d`,
# `torch.nn.functional`, optimizers, everything in `torch`. Only `cnnkit` is off limits inside
# your graded code (the notebook uses it to load the data and for the figures).
#
# **Time.** Every training run in this notebook is short: on a laptop CPU the whole notebook runs
# in a few minutes, and much faster on a GPU. When the notebook is being graded the
# demonstrations train on a tenth of the data for one epoch only, and measure on a slice of the
# training set instead of the test set, which the grader keeps to itself (it then trains your
# networks again, its own way), which is what the `GRADING` switch below is for.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from cnnkit import data  # the course's data sets: used to load the data, outside your graded code
from cnnkit.torch import recipe  # the grader's training recipe: normalisation, flips, optimizer, schedule
from cnnkit.architectures import parameter_table  # the course's parameter tables, for comparison
from cnnkit.checks import for_assignment

checks = for_assignment("06")  # the visible checks of this assignment: checks.check(name, function)

# the grader sets CNNKIT_GRADING=1: the demonstrations below then train briefly, on part of the data
GRADING = os.environ.get("CNNKIT_GRADING") == "1"
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
# networks this small gain little from many CPU threads, and a busy machine loses a lot to them
torch.set_num_threads(max(1, min(4, (os.cpu_count() or 2) // 2)))
torch.manual_seed(0)
np.set_printoptions(precision=4, suppress=True)
print("PyTorch", torch.__version__, "| device:", device, "| CPU threads:", torch.get_num_threads(),
      "| being graded: short demonstrations" if GRADING else "")

# %% [markdown]
# `device` is where the network's weights and the batches will live: `cuda` (the first GPU) when
# PyTorch finds one, the CPU otherwise. Nothing else in the notebook changes between the two:
# moving a model or a tensor is `.to(device)`, and every operation runs where its inputs are.
#
# ## 1. The data: from files to mini-batches
#
# ### MNIST
#
# `cnnkit.data.load_mnist(split)` reads the published MNIST files and returns NumPy arrays: 60,000
# training and 10,000 test images of $28 \times 28$ grey pixels as `uint8` (0 = black, 255 =
# white), and their labels 0–9 as `int64`.

# %%
def load_test_split(load, train_images, train_labels, n=2000):
    """The test split; while grading, the last `n` training images stand in for it: the grader's copy of
    the data has no test split (it measures your networks on the real one itself), and the
    demonstrations only need to run."""
    if GRADING:
        print(f"being graded: the last {n:,} training images stand in for the test split")
        return train_images[-n:].copy(), train_labels[-n:].copy()
    return load("test")


mnist_images, mnist_labels = data.load_mnist("train")
mnist_test_images, mnist_test_labels = load_test_split(data.load_mnist, mnist_images, mnist_labels)
print("training:", mnist_images.shape, mnist_images.dtype, "| labels:", mnist_labels.shape, mnist_labels.dtype)
print("test:    ", mnist_test_images.shape, "| pixel range:", mnist_images.min(), "to", mnist_images.max())
print("images per class in the training set:", np.bincount(mnist_labels))

# %% [markdown]
# ### Normalisation
#
# A network learns fastest when its inputs are centred on 0 with a spread of about 1: then the
# first layer's weighted sums start in a sensible range, and the gradients of all the weights have
# similar sizes, so one learning rate suits them all. So we scale the pixels to $[0, 1]$ and then
# **standardise** them with the mean $\mu$ and standard deviation $\sigma$ of the *training* set
# (per colour channel for colour images):
#
# $$ x = \frac{p / 255 - \mu}{\sigma} . $$
#
# The test images are normalised with the same $\mu$ and $\sigma$ — statistics of the test set
# are not ours to use. For MNIST, $\mu = 0.1307$ and $\sigma = 0.3081$; the cell computes them
# from the 47 million training pixels. `recipe.to_tensors` does the conversion, with these statistics
# (`data.NORMALIZATION`), as the grader does when it trains your networks (`recipe` is the grader's
# training recipe, `cnnkit.torch.recipe`): it turns `(N, H, W)` (or `(N, H, W, C)` colour) arrays into
# `float32` tensors in PyTorch's channels-first layout `(N, C, H, W)`, and the labels into an `int64`
# tensor.

# %%
pixels = mnist_images / 255.0
print(f"mean {pixels.mean():.4f}, standard deviation {pixels.std():.4f}   (data.MNIST_MEAN = {data.MNIST_MEAN}, "
      f"data.MNIST_STD = {data.MNIST_STD})")
del pixels

x_mnist, y_mnist = recipe.to_tensors("mnist", mnist_images, mnist_labels)
x_mnist_test, y_mnist_test = recipe.to_tensors("mnist", mnist_test_images, mnist_test_labels)
print("x:", tuple(x_mnist.shape), x_mnist.dtype, f"| mean {x_mnist.mean():.3f}, std {x_mnist.std():.3f}",
      "| y:", tuple(y_mnist.shape), y_mnist.dtype)

# %% [markdown]
# ### Datasets and data loaders
#
# Training works on **mini-batches**: each step of gradient descent looks at a few dozen or a few
# hundred examples, not at one and not at all 60,000. PyTorch splits the job in two:
#
# - a **`Dataset`** knows how many examples there are (`len(dataset)`) and returns example `i`
#   (`dataset[i]`); `TensorDataset(x, y)` does this for tensors already in memory;
# - a **`DataLoader`** draws the examples in batches: `batch_size` of them at a time, in a new
#   random order every epoch when `shuffle=True`, stacked into one tensor of shape
#   `(batch_size, C, H, W)` and one of labels.
#
# One pass over the whole training set is an **epoch**. With 60,000 images in batches of 128 an
# epoch has $\lceil 60000 / 128 \rceil = 469$ batches, and the last one holds only
# $60000 - 468 \cdot 128 = 96$ images — remember that when you compute averages. The test set is
# not shuffled (its order does not matter) and is read in larger batches, since evaluating needs
# no gradients and so much less memory.
#
# Why shuffle? If the batches came in the same order every epoch (or worse, sorted by class), the
# steps would be correlated from one epoch to the next and the network could learn the order
# instead of the digits. A fresh permutation every epoch makes each batch a fair random sample of
# the data.

# %%
def subset(x, y, fraction=0.1):
    """While grading, the first tenth of a training set (the demonstrations only need to run)."""
    n = int(len(x) * fraction) if GRADING else len(x)
    return x[:n], y[:n]


MNIST, CIFAR10 = recipe.RECIPES["mnist"], recipe.RECIPES["cifar10"]  # the grader's: epochs, batch size, ...

mnist_train = TensorDataset(*subset(x_mnist, y_mnist))
mnist_test = TensorDataset(x_mnist_test, y_mnist_test)
mnist_train_loader = DataLoader(mnist_train, batch_size=MNIST["batch_size"], shuffle=True)
mnist_test_loader = DataLoader(mnist_test, batch_size=1000)

images, labels = next(iter(mnist_train_loader))
print(f"{len(mnist_train)} training images -> {len(mnist_train_loader)} batches;",
      f"the last holds {len(mnist_train) - (len(mnist_train_loader) - 1) * MNIST['batch_size']}")
print("one batch:", tuple(images.shape), images.dtype, "and labels", tuple(labels.shape), labels.dtype)
print("its first labels:", labels[:16].tolist())


# %% [markdown]
# A batch is easiest to check by looking at it. The function below draws images in a grid; for
# normalised images it undoes the normalisation first ($p = \sigma x + \mu$), so they look as they
# did in the file.

# %%
def show_images(images, titles=None, mean=None, std=None, columns=16, size=1.0):
    """Draw a batch (N, C, H, W) in a grid, with a title over each image; `mean` and `std` undo the
    normalisation."""
    images = images.detach().cpu().float()
    if mean is not None:
        images = images * torch.tensor(std).view(1, -1, 1, 1) + torch.tensor(mean).view(1, -1, 1, 1)
    images = images.clamp(0, 1)
    rows = (len(images) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 1.25), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        img = images[i]
        ax.imshow(img[0] if img.shape[0] == 1 else img.permute(1, 2, 0), cmap="gray", vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    plt.tight_layout()
    plt.show()


show_images(images[:32], [str(int(v)) for v in labels[:32]], data.MNIST_MEAN, data.MNIST_STD)

# %% [markdown]
# ### CIFAR-10
#
# CIFAR-10 has 50,000 training and 10,000 test **colour photographs** of $32 \times 32$ pixels in
# ten classes: aeroplane, car, bird, cat, deer, dog, frog, horse, ship and truck. `load_cifar10`
# returns them as published, channels last `(N, 32, 32, 3)`; `recipe.to_tensors` moves the channels first
# and normalises each of the three channels with its own mean and standard deviation. The
# photographs are far harder than the digits: the object can be anywhere, at any size, in any pose,
# against any background, and at $32 \times 32$ even people hesitate between a cat and a dog.
#
# **Data augmentation.** A photograph mirrored left to right still shows the same thing, so a
# random half of each training batch is flipped before it goes in: over the epochs the network
# sees twice as many different images, and learns that left and right do not matter. A loader's
# `collate_fn` is the function that turns the list of examples into a batch; `recipe.Flips()` calls
# the usual one (`default_collate`) and then flips, as the grader's loader does (a few lines, in
# `cnnkit/torch/recipe.py`). The test images are never flipped.

# %%
cifar_images, cifar_labels = data.load_cifar10("train")
cifar_test_images, cifar_test_labels = load_test_split(data.load_cifar10, cifar_images, cifar_labels)
print("training:", cifar_images.shape, cifar_images.dtype, "| test:", cifar_test_images.shape)
print("classes:", data.CIFAR10_CLASSES)
print("channel means", data.CIFAR10_MEAN, "and standard deviations", data.CIFAR10_STD)

x_cifar, y_cifar = recipe.to_tensors("cifar10", cifar_images, cifar_labels)
x_cifar_test, y_cifar_test = recipe.to_tensors("cifar10", cifar_test_images, cifar_test_labels)
print("x:", tuple(x_cifar.shape), x_cifar.dtype, "| per-channel means after normalising:",
      x_cifar.mean(dim=(0, 2, 3)).numpy().round(3))

cifar_train = TensorDataset(*subset(x_cifar, y_cifar))
cifar_test = TensorDataset(x_cifar_test, y_cifar_test)
# a random half of each batch mirrored left to right (CIFAR10["flip"]: the grader's recipe flips too)
cifar_train_loader = DataLoader(cifar_train, batch_size=CIFAR10["batch_size"], shuffle=True,
                                collate_fn=recipe.Flips())
cifar_test_loader = DataLoader(cifar_test, batch_size=1000)

images, labels = next(iter(cifar_train_loader))
show_images(images[:32], [data.CIFAR10_CLASSES[int(v)] for v in labels[:32]], data.CIFAR10_MEAN,
            data.CIFAR10_STD, size=1.1)

# %% [markdown]
# ## 2. Networks as `nn.Module` classes
#
# A PyTorch network is a class derived from `torch.nn.Module` with two methods:
#
# - `__init__` creates the layers that have weights (`nn.Conv2d`, `nn.Linear`, ...) and stores them
#   as attributes (`self.conv1 = nn.Conv2d(...)`) or in an `nn.Sequential`. Storing a layer on the
#   module **registers** its parameters: they then appear in `model.parameters()` (which the
#   optimizer updates), move with `model.to(device)`, and are saved with `model.state_dict()`. A
#   layer kept in a plain Python list is invisible to all three — use `nn.ModuleList` for lists.
#   Always call `super().__init__()` first.
# - `forward(self, x)` computes the output from a batch `x`. You call the model, `model(x)`, not
#   `model.forward(x)`; the call runs `forward` plus PyTorch's hooks.
#
# Layers without weights (ReLU, pooling, flattening) can be modules too (`nn.ReLU()`,
# `nn.MaxPool2d(2)`, `nn.Flatten()`) or plain function calls in `forward` (`F.relu(x)`,
# `F.max_pool2d(x, 2)`, `x.flatten(1)`). Either way they hold no parameters.
#
# **Counting parameters.** A fully connected layer from $n$ to $m$ units has an $m \times n$ weight
# matrix and $m$ biases: $mn + m$ parameters. A convolution from $C_{in}$ to $C_{out}$ channels with
# $k \times k$ kernels has $C_{out} C_{in} k^2 + C_{out}$. In code,
# `sum(p.numel() for p in model.parameters())`.
#
# ### What the network outputs: logits, and the cross-entropy loss
#
# A classifier for $K$ classes ends in a linear layer with $K$ outputs $z_1, \dots, z_K$, the
# **logits**: any real numbers, larger for classes the network believes in more. The softmax turns
# them into probabilities, $p_k = e^{z_k} / \sum_j e^{z_j}$, and the **cross-entropy** loss of an
# example whose label is $y$ is
#
# $$ L = -\log p_y = -z_y + \log \sum_{j=1}^{K} e^{z_j} . $$
#
# `F.cross_entropy(logits, labels)` computes exactly this — softmax included — and averages it
# over the batch. So `forward` returns the logits, **not** probabilities: a softmax at the end of
# `forward` would be applied twice, and its squashed outputs give tiny gradients, so training
# crawls. (When you want probabilities, e.g. to show the network's confidence, apply
# `F.softmax(logits, dim=1)` outside the network.)
#
# ### Worked example
#
# Three classes, logits $z = (2, 1, -1)$, label $y = 0$: $\sum_j e^{z_j} = e^2 + e + e^{-1} =
# 10.475$, so $L = -2 + \log 10.475 = 0.349$ and $p_0 = e^{-0.349} = 0.705$. With label 2 instead,
# the loss is $1 + \log 10.475 = 3.349$: confident and wrong costs a lot. A network that knows
# nothing (all logits equal) has $L = \log K$, which for ten classes is $2.303$ — the loss you will
# see at the very start of training.

# %%
z = torch.tensor([[2.0, 1.0, -1.0]])
by_hand = -z[0, 0] + torch.log(torch.exp(z).sum())
print(f"by hand {by_hand:.4f} | F.cross_entropy {F.cross_entropy(z, torch.tensor([0])):.4f} | "
      f"p = {F.softmax(z, dim=1).numpy().round(3)}")
print(f"label 2: {F.cross_entropy(z, torch.tensor([2])):.4f} | all logits equal, 10 classes: "
      f"{F.cross_entropy(torch.zeros(1, 10), torch.tensor([3])):.4f} = log 10 = {np.log(10):.4f}")

# a batch of four: the mean of the four losses
logits = torch.tensor([[2.0, 1.0, -1.0], [0.5, 0.5, 0.5], [-1.0, 3.0, 0.0], [1.0, 0.0, 4.0]])
targets = torch.tensor([0, 1, 1, 0])
each = F.cross_entropy(logits, targets, reduction="none")
print("per example:", each.numpy().round(4), "| mean:", f"{each.mean():.4f}",
      "| F.cross_entropy:", f"{F.cross_entropy(logits, targets):.4f}")

# %% [markdown]
# ### A fully connected network: the MLP
#
# The simplest network for images ignores that they are images: it **flattens** each one into a
# vector of $C \cdot H \cdot W$ numbers (784 for a digit, 3072 for a CIFAR-10 photograph) and
# feeds that to fully connected layers. With one hidden layer of $h$ units and ReLU,
#
# $$ \text{logits} = W_2\, \max(0,\, W_1 x + b_1) + b_2, \qquad
#    W_1 \in \mathbb{R}^{h \times d},\; W_2 \in \mathbb{R}^{K \times h}, $$
#
# it has $d h + h + h K + K$ parameters. That is the **multi-layer perceptron** (MLP) you write
# now. Every hidden unit is connected to every pixel, and nothing in it knows which pixels are
# neighbours — keep that in mind for section 5.
#
# ### Your turn: `MLP`
#
# Write the class `MLP(in_features, hidden, classes)`:
#
# - `forward(x)` takes a batch of any shape `(N, ...)` with `in_features` numbers per example
#   (images `(N, C, H, W)` or vectors `(N, in_features)`), flattens each example **keeping the
#   batch axis** (`x.flatten(1)` or `nn.Flatten()`), and returns the logits, shape `(N, classes)`;
# - one hidden layer of `hidden` units (an int) with ReLU, then the output layer, both
#   `nn.Linear` with biases: $d h + h + h K + K$ parameters in all;
# - no softmax at the end (logits, as explained above).
#
# The checks build your MLP, count its parameters, run it on a few batches (also a batch of one)
# and recompute the output with your own weights. Accepting a list of sizes for `hidden` (several
# hidden layers) is a nice extra, not checked.

# %% nbgrader={"grade": false, "grade_id": "MLP", "locked": false, "schema_version": 3, "solution": true, "task": false}
class MLP(nn.Module):
    """Flatten, a hidden layer (or several) with ReLU, then a linear output layer giving the logits."""

    def __init__(self, in_features, hidden, classes):
        super().__init__()
        ### BEGIN SOLUTION
        sizes = [in_features] + ([hidden] if isinstance(hidden, int) else list(hidden))
        layers = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], classes))
        self.layers = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.layers(x)
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "MLP_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("MLP", MLP)

# %% nbgrader={"grade": true, "grade_id": "MLP_test", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
checks.check("MLP", MLP)
### BEGIN HIDDEN TESTS
checks.check("MLP", MLP, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The training loop
#
# Training is gradient descent on the loss. For a mini-batch $B$ the loss is the mean of the
# examples' losses, $L_B(\theta) = \frac{1}{|B|} \sum_{i \in B} L_i(\theta)$, and one step moves
# every parameter a little against its gradient:
#
# $$ \theta \leftarrow \theta - \eta\, \nabla_\theta L_B(\theta), $$
#
# with the **learning rate** $\eta$. With **momentum** $\mu$ (0.9 is usual) the step follows a
# running sum of past gradients, $v \leftarrow \mu v + \nabla_\theta L_B$, $\theta \leftarrow
# \theta - \eta v$, which smooths out the noise of single batches and speeds up along directions
# the gradients agree on. In PyTorch one step on one batch is five lines:
#
# ```python
# optimizer.zero_grad()              # 1. forget the previous batch's gradients
# logits = model(x)                  # 2. forward pass (PyTorch records the computation)
# loss = F.cross_entropy(logits, y)  # 3. the mean loss of the batch
# loss.backward()                    # 4. backward pass: p.grad = dL/dp for every parameter p
# optimizer.step()                   # 5. update: p <- p - lr * p.grad (plus momentum)
# ```
#
# `loss.backward()` is the backpropagation of assignment 04, done for you: it walks back through
# the recorded computation and **adds** each parameter's gradient into `p.grad`. *Adds*, not
# stores — which is why step 1 is needed, as the next cell shows: without `zero_grad()` every
# step would use the sum of the gradients of all batches so far.

# %%
w = torch.tensor(3.0, requires_grad=True)
(w ** 2).backward()
print("after one backward pass, dL/dw =", w.grad.item(), "(2w = 6)")
(w ** 2).backward()
print("after a second one, without zeroing:", w.grad.item(), "(accumulated: 6 + 6)")
w.grad = None                             # what optimizer.zero_grad() does to every parameter
(w ** 2).backward()
print("zeroed, then a third:", w.grad.item())

# one step of plain SGD by hand, and the same step by the optimizer
layer = nn.Linear(3, 2)
x_demo, y_demo = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
F.cross_entropy(layer(x_demo), y_demo).backward()
by_hand = layer.weight.detach() - 0.1 * layer.weight.grad
optimizer.step()
print("the optimizer's step == w - lr * grad:", torch.allclose(layer.weight, by_hand))

# %% [markdown]
# ### Training mode and evaluation mode
#
# Some layers behave differently while training. **Dropout** sets a random fraction $p$ of its
# inputs to zero in training (and scales the others by $1/(1-p)$), but lets everything through
# unchanged in evaluation. **Batch normalisation** normalises with the statistics of the current
# batch in training, and with running averages of them in evaluation. A module has a flag for
# this: `model.train()` switches it (and all its layers) to training mode, `model.eval()` to
# evaluation mode. Forgetting `model.eval()` before measuring accuracy measures a randomly
# damaged network; forgetting `model.train()` after it trains without dropout. So each function
# sets the mode it needs at its start.
#
# ### No gradients when evaluating
#
# Recording the computation for `backward` costs memory and time. When only the outputs are
# needed, `with torch.no_grad():` switches the recording off for everything inside.
#
# ### The device
#
# The model's weights and the batch must be on the same device. The model goes there once
# (`model.to(device)`); the loader hands out batches in CPU memory, so each batch moves with
# `x, y = x.to(device), y.to(device)`. On a machine without a GPU, `device` is the CPU and the
# moves cost nothing — but write them anyway, so the same code runs on a GPU.

# %%
dropout = nn.Dropout(p=0.5)
ones = torch.ones(1, 10)
dropout.train()
print("training mode:  ", dropout(ones).numpy())
dropout.eval()
print("evaluation mode:", dropout(ones).numpy())

out = layer(x_demo)
print("output requires grad:", out.requires_grad, end=" | ")
with torch.no_grad():
    print("inside torch.no_grad():", layer(x_demo).requires_grad)

# %% [markdown]
# ### The loss of an epoch
#
# `train_one_epoch` reports how well the network fitted the epoch: the **mean loss over all the
# examples** it trained on. Each batch gives the mean loss of its $n_b$ examples, so the epoch's
# mean weights each batch by its size:
#
# $$ \bar L = \frac{\sum_b n_b\, L_b}{\sum_b n_b} . $$
#
# With equal batches this is just the mean of the batch losses, but the last batch is usually
# smaller. Add up `loss.item() * len(y)` (`.item()` turns the one-number tensor into a Python
# float, and lets go of the computation behind it) and divide by the number of examples at the
# end. The same goes for accuracy: count the correct predictions over all batches and divide by
# the number of examples, rather than averaging per-batch accuracies.
#
# ### Your turn: `train_one_epoch`
#
# Write `train_one_epoch(model, loader, optimizer, device)`:
#
# - put the model in training mode (`model.train()`);
# - for every batch `(x, y)` of `loader`: move both to `device`, zero the gradients, compute the
#   logits and `F.cross_entropy(logits, y)` (the mean over the batch), call `backward()` and
#   `optimizer.step()`;
# - run the model **once** per batch, and step **once** per batch;
# - return the mean loss over the epoch's examples, as a Python `float`.
#
# The model is already on `device`; the optimizer was made for its parameters. The checks train a
# small network with batch normalisation and dropout for one epoch, with your function, and compare
# the loss you return and every weight afterwards with what the reference gives.

# %% nbgrader={"grade": false, "grade_id": "train_one_epoch", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_one_epoch(model, loader, optimizer, device):
    """One pass over `loader`, one optimizer step per batch; the mean loss over the epoch's examples."""
    ### BEGIN SOLUTION
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
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_one_epoch_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("train_one_epoch", train_one_epoch)

# %% nbgrader={"grade": true, "grade_id": "train_one_epoch_test", "locked": true, "points": 10, "schema_version": 3, "solution": false, "task": false}
checks.check("train_one_epoch", train_one_epoch)
### BEGIN HIDDEN TESTS
checks.check("train_one_epoch", train_one_epoch, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Your turn: `evaluate`
#
# Write `evaluate(model, loader, device)`, returning the **accuracy**: the fraction (between 0
# and 1) of the loader's examples whose largest logit is at their label.
#
# - put the model in evaluation mode (`model.eval()`) and compute without gradients
#   (`with torch.no_grad():`);
# - move each batch to `device`; the prediction is `logits.argmax(dim=1)`;
# - count the correct predictions over all batches and divide by the number of examples (the last
#   batch may be smaller than the others); return a Python `float`.

# %% nbgrader={"grade": false, "grade_id": "evaluate", "locked": false, "schema_version": 3, "solution": true, "task": false}
def evaluate(model, loader, device):
    """The fraction of the loader's examples that the model classifies correctly."""
    ### BEGIN SOLUTION
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            correct += (model(x).argmax(dim=1) == y).sum().item()
            count += len(y)
    return correct / count
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "evaluate_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("evaluate", evaluate)

# %% nbgrader={"grade": true, "grade_id": "evaluate_test", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
checks.check("evaluate", evaluate)
### BEGIN HIDDEN TESTS
checks.check("evaluate", evaluate, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Putting it together: `fit`
#
# The cell below is the rest of a training script, written for you: it picks your functions if
# they pass their visible checks (the course's versions otherwise, `cnnkit.torch`'s, which the checks
# compare yours with, so that the notebook runs on), and `fit` trains a model by a recipe, measuring
# the test accuracy after each epoch, with a progress bar.
#
# `fit` uses SGD with Nesterov momentum 0.9 and a **one-cycle learning-rate schedule**: the
# learning rate climbs from $\eta/25$ to its peak $\eta$ over the first quarter of the steps (a
# gentle start while the weights are still random), then falls smoothly to almost 0 (large steps
# to get near a good solution, small ones to settle into it). The schedule advances after every
# optimizer step — a hook on the optimizer does that, so `train_one_epoch` does not need to know
# about it. This is also the recipe the grader uses to train your networks: `fit` and the grader
# both train with `recipe.train`, which calls your `train_one_epoch` once per epoch, and read the
# epochs, batch size and learning rates from `recipe.RECIPES`.

# %%
def ready(name, yours):
    """Your graded function or class if it passes its visible checks; else the course's own version
    (cnnkit.torch's, the one the checks compare yours with)."""
    try:
        checks.check(name, yours)
        return yours
    except Exception as e:
        first = (str(e).splitlines() or [type(e).__name__])[0].rstrip(":")[:120]
        print(f"{name} does not pass its checks yet ({first}):\n"
              f"  the demonstrations use the course's {name} until it does")
        return checks.graded(name).reference


train_fn = ready("train_one_epoch", train_one_epoch)
evaluate_fn = ready("evaluate", evaluate)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def fit(model, train_loader, test_loader, training, name="training"):
    """Train by `training`, a recipe (`recipe.RECIPES[...]`, see `run_of`): SGD with Nesterov momentum
    and a one-cycle learning rate up to training["lr"] over training["epochs"] epochs of your
    train_one_epoch; the test accuracy after every epoch. Returns the history of the run."""
    model = model.to(device)
    history = {"name": name, "parameters": count_parameters(model), "loss": [], "accuracy": []}
    start = time.perf_counter()
    bar = tqdm(total=training["epochs"], desc=name, unit="epoch")

    def after_epoch(epoch, loss):
        history["loss"].append(loss)
        history["accuracy"].append(evaluate_fn(model, test_loader, device))
        bar.update()
        bar.set_postfix(loss=f"{loss:.4f}", test_accuracy=f"{history['accuracy'][-1]:.2%}")

    recipe.train(model, train_loader, train_fn, device, training, after_epoch)
    bar.close()
    history["seconds"] = time.perf_counter() - start
    print(f"{name}: {history['parameters']:,} parameters, {training['epochs']} epochs in "
          f"{history['seconds']:.0f} s, test accuracy {history['accuracy'][-1]:.2%}")
    return history


def run_of(training, **changes):
    """The recipe `training` with `changes` (epochs=3, lr=0.1, ...), for a single epoch while the
    notebook is being graded."""
    run = dict(training, **changes)
    return dict(run, epochs=1) if GRADING else run


# %% [markdown]
# A first run: your MLP on MNIST, with 100 hidden units (784 → 100 → 10). An epoch on the CPU
# takes a few seconds.

# %%
MLPClass = ready("MLP", MLP)
torch.manual_seed(0)
mlp_mnist = MLPClass(28 * 28, 100, 10)
mlp_mnist_history = fit(mlp_mnist, mnist_train_loader, mnist_test_loader, run_of(MNIST, epochs=3, lr=0.1),
                        name="MLP on MNIST")

# %% [markdown]
# ## 4. LeNet-5 on MNIST
#
# LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998) read the digits on cheques. It is the network
# of the lectures: two convolution–subsampling stages that find strokes and then combinations of
# strokes, a third convolution that sees the whole digit, and two fully connected layers. It was
# designed for $32 \times 32$ images; MNIST's digits are $28 \times 28$, so the first convolution
# pads them with 2 pixels on each side — $(28 + 2 \cdot 2 - 5)/1 + 1 = 28$, exactly the maps
# LeNet-5 made from a $32 \times 32$ input. Sizes (channels × height × width) and parameters,
# with $C_{out} C_{in} k^2 + C_{out}$ for a convolution and $mn + m$ for a fully connected layer:
#
# | layer | what it does | output | parameters |
# | --- | --- | --- | --- |
# | input | a digit | 1 × 28 × 28 | 0 |
# | C1 | 6 convolutions 5×5, padding 2 | 6 × 28 × 28 | 6·1·25 + 6 = 156 |
# | S2 | 2×2 pooling, stride 2 | 6 × 14 × 14 | 0 |
# | C3 | 16 convolutions 5×5 | 16 × 10 × 10 | 16·6·25 + 16 = 2,416 |
# | S4 | 2×2 pooling, stride 2 | 16 × 5 × 5 | 0 |
# | C5 | 120 convolutions 5×5 | 120 × 1 × 1 | 120·16·25 + 120 = 48,120 |
# | F6 | fully connected | 84 | 84·120 + 84 = 10,164 |
# | output | fully connected: the logits | 10 | 10·84 + 10 = 850 |
# | | | total | **61,706** |
#
# C5's kernels are as large as its $5 \times 5$ input maps, so each of its 120 outputs sees all
# 400 values: it is a fully connected layer from 400 to 120 (same weights, same count), written as
# a convolution. The original used $\tanh$-like activations and average pooling (its subsampling
# maps also had a trainable weight and bias each, dropped here, and its C3 connected each map to
# only some of S2's maps, where ours connects all of them); modern versions use ReLU and max
# pooling. Either is fine here.
#
# The parameter table of the course's package agrees (for the $32 \times 32$ input; the padded
# $28 \times 28$ one gives the same maps):

# %%
for row in parameter_table("lenet5"):
    print(f"{row['layer']:>7} {str(row['output_shape']):>14} {row['params']:>8,}")
print(f"{'total':>7} {'':>14} {sum(r['params'] for r in parameter_table('lenet5')):>8,}")

# %% [markdown]
# ### Your turn: `LeNet5`
#
# Write the class `LeNet5()` (no arguments) as in the table: input `(N, 1, 28, 28)`, output the
# logits `(N, 10)`.
#
# - convolutions with `nn.Conv2d(in_channels, out_channels, kernel_size=5)`, the first with
#   `padding=2`; pooling 2×2 with stride 2; an activation after C1, C3, C5 and F6 (tanh with
#   average pooling as in 1998, or ReLU with max pooling — your choice);
# - exactly **61,706** trainable parameters (every layer has a bias);
# - flatten with `x.flatten(1)` (or `nn.Flatten()`), which keeps the batch axis even for a batch
#   of one — `squeeze()` would not;
# - no softmax at the end.
#
# The visible checks build your network and run it on random batches. The graded test also
# **trains it**, with your `train_one_epoch`: 5 epochs over the 60,000 training digits in
# shuffled batches of 128, SGD with Nesterov momentum 0.9 and a one-cycle learning rate up to
# 0.15 (the recipe of `fit`), normalised as in section 1 — then measures it on the 10,000 test
# digits. It must reach **98.5%**; LeNet-5 trained this way reaches about 99%. On one CPU core that
# takes about a minute.

# %% nbgrader={"grade": false, "grade_id": "LeNet5", "locked": false, "schema_version": 3, "solution": true, "task": false}
class LeNet5(nn.Module):
    """LeNet-5 for 28x28 digits: C1 (padding 2), S2, C3, S4, C5, F6, output logits (61,706 parameters)."""

    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Tanh(), nn.AvgPool2d(2),  # 6 x 28 x 28 -> 6 x 14 x 14
            nn.Conv2d(6, 16, kernel_size=5), nn.Tanh(), nn.AvgPool2d(2),            # 16 x 10 x 10 -> 16 x 5 x 5
            nn.Conv2d(16, 120, kernel_size=5), nn.Tanh(),                            # 120 x 1 x 1
        )
        self.classifier = nn.Sequential(nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.classifier(self.features(x).flatten(1))
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "LeNet5_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("LeNet5", LeNet5)

# %% nbgrader={"grade": true, "grade_id": "LeNet5_test", "locked": true, "points": 15, "schema_version": 3, "solution": false, "task": false}
checks.check("LeNet5", LeNet5)
### BEGIN HIDDEN TESTS
checks.check("LeNet5", LeNet5, seed=2026, hidden=True, train_one_epoch=train_one_epoch)
### END HIDDEN TESTS

# %% [markdown]
# ### Training LeNet-5
#
# Now train it with `fit`, the grader's recipe. Watch the progress bar: the loss starts near
# $\log 10 = 2.3$ and the test accuracy passes 97% after the first epoch.

# %%
LeNet5Class = ready("LeNet5", LeNet5)
torch.manual_seed(0)
lenet = LeNet5Class()
lenet_history = fit(lenet, mnist_train_loader, mnist_test_loader, run_of(MNIST), name="LeNet-5 on MNIST")
print(f"LeNet-5: {lenet_history['accuracy'][-1]:.2%} on the test set (the graded test asks for at least 98.5%)")


# %% [markdown]
# ### Reading the curves
#
# The training loss (the mean over each epoch, as `train_one_epoch` returns it) and the test
# accuracy after each epoch. The loss of an epoch is measured *while* the network is still
# changing, with dropout and the like switched on, so it lags a little behind the network at the
# end of the epoch. Things to look for in curves like these:
#
# - the loss should fall quickly at first, then slowly; a loss that stays at $\log 10$ means the
#   network learns nothing (a bug in the loop, or a learning rate far too small), one that grows
#   or becomes NaN means the learning rate is too large;
# - the test accuracy should rise with it; when the training loss keeps falling but the test
#   accuracy stops improving (or drops), the network has started to **overfit**: to memorise
#   the training set instead of learning what generalises.

# %%
def plot_histories(histories, title):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for h in histories:
        x = np.arange(1, len(h["loss"]) + 1)
        ax1.plot(x, h["loss"], "o-", label=h["name"])
        ax2.plot(x, 100 * np.array(h["accuracy"]), "o-", label=h["name"])
    ax1.set(xlabel="epoch", ylabel="mean training loss", title=f"{title}: training loss", yscale="log")
    ax2.set(xlabel="epoch", ylabel="test accuracy (%)", title=f"{title}: test accuracy")
    for ax in (ax1, ax2):
        ax.legend()
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    plt.tight_layout()
    plt.show()


plot_histories([mlp_mnist_history, lenet_history], "MNIST")


# %% [markdown]
# ### The confusion matrix
#
# One accuracy figure hides *which* mistakes the network makes. The **confusion matrix** $M$
# counts them: $M_{ij}$ is the number of test images of class $i$ that the network called $j$.
# The diagonal holds the correct answers; everything off it is a mistake, and large off-diagonal
# entries show the pairs of classes the network mixes up. Dividing each row by its total gives
# the fraction of each class that went where (the diagonal is then each class's accuracy).

# %%
def predictions(model, loader):
    """Labels, predicted classes and the softmax probabilities of every example of `loader`."""
    model.eval()
    labels, probs = [], []
    with torch.no_grad():
        for x, y in loader:
            probs.append(F.softmax(model(x.to(device)), dim=1).cpu())
            labels.append(y)
    probs = torch.cat(probs).numpy()
    return torch.cat(labels).numpy(), probs.argmax(axis=1), probs


def confusion_matrix(labels, predicted, classes):
    """M[i, j]: how many examples of class i were predicted as class j."""
    return np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def plot_confusion(matrix, names, title):
    fractions = matrix / matrix.sum(axis=1, keepdims=True)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                color="white" if fractions[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    plt.tight_layout()
    plt.show()


mnist_true, mnist_pred, mnist_probs = predictions(lenet, mnist_test_loader)
mnist_confusion = confusion_matrix(mnist_true, mnist_pred, 10)
plot_confusion(mnist_confusion, [str(d) for d in range(10)], "LeNet-5 on the MNIST test set")
off = mnist_confusion - np.diag(np.diag(mnist_confusion))
i, j = np.unravel_index(off.argmax(), off.shape)
print(f"{off.sum()} mistakes out of {len(mnist_true)}; the most frequent: {off[i, j]} times a {i} taken for a {j}")
print("accuracy per digit:", (np.diag(mnist_confusion) / mnist_confusion.sum(axis=1)).round(4))

# %% [markdown]
# ### The digits it gets wrong
#
# The misclassified test digits, the most confident mistakes first (title: true label → predicted
# label, and the probability the network gave its prediction). Many are digits a person would
# hesitate over too; some are mistakes no person would make.

# %%
wrong = np.flatnonzero(mnist_pred != mnist_true)
wrong = wrong[np.argsort(-mnist_probs[wrong, mnist_pred[wrong]])][:32]
show_images(x_mnist_test[wrong], [f"{mnist_true[k]}→{mnist_pred[k]} ({mnist_probs[k, mnist_pred[k]]:.0%})"
                                  for k in wrong], data.MNIST_MEAN, data.MNIST_STD, size=1.1)

# %% [markdown]
# ## 5. CIFAR-10: a CNN against fully connected networks
#
# **CifarNet** is the small network of PyTorch's tutorial, LeNet-5's layout for colour photographs:
#
# | layer | output | parameters |
# | --- | --- | --- |
# | input | 3 × 32 × 32 | 0 |
# | convolution 3 → 6, 5×5, ReLU | 6 × 28 × 28 | 6·3·25 + 6 = 456 |
# | max pooling 2×2 | 6 × 14 × 14 | 0 |
# | convolution 6 → 16, 5×5, ReLU | 16 × 10 × 10 | 16·6·25 + 16 = 2,416 |
# | max pooling 2×2 | 16 × 5 × 5 | 0 |
# | flatten, fully connected 400 → 120, ReLU | 120 | 120·400 + 120 = 48,120 |
# | fully connected 120 → 84, ReLU | 84 | 84·120 + 84 = 10,164 |
# | fully connected 84 → 10: the logits | 10 | 10·84 + 10 = 850 |
# | | total | **62,006** |
#
# ### Your turn: `CifarNet`
#
# Write the class `CifarNet()` (no arguments) as in the table: input `(N, 3, 32, 32)`, output the
# logits `(N, 10)`, **62,006** trainable parameters, no padding, ReLU and max pooling, no softmax.
#
# The graded test trains it with your `train_one_epoch`: 6 epochs over the 50,000 training images
# in shuffled batches of 128, half of each batch flipped left to right, SGD with Nesterov momentum
# 0.9 and a one-cycle learning rate up to 0.05 — then measures it on the 10,000 test images. It
# must reach **60%**; CifarNet trained this way reaches about 65%. About a minute on one CPU core.

# %% nbgrader={"grade": false, "grade_id": "CifarNet", "locked": false, "schema_version": 3, "solution": true, "task": false}
class CifarNet(nn.Module):
    """Two convolution + max-pooling stages and three fully connected layers for 3x32x32 images."""

    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(3, 6, kernel_size=5)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)    # 6 x 14 x 14
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)    # 16 x 5 x 5
        x = x.flatten(1)                              # 400
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "CifarNet_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("CifarNet", CifarNet)

# %% nbgrader={"grade": true, "grade_id": "CifarNet_test", "locked": true, "points": 15, "schema_version": 3, "solution": false, "task": false}
checks.check("CifarNet", CifarNet)
### BEGIN HIDDEN TESTS
checks.check("CifarNet", CifarNet, seed=2026, hidden=True, train_one_epoch=train_one_epoch)
### END HIDDEN TESTS

# %% [markdown]
# ### Three networks, one data set
#
# Now the comparison. We train, with the same recipe and the same number of epochs:
#
# - **CifarNet**: 62,006 parameters;
# - an **MLP with 20 hidden units**: $3072 \cdot 20 + 20 + 20 \cdot 10 + 10 = 61{,}670$
#   parameters — the same budget as CifarNet;
# - an **MLP with 256 hidden units**: $3072 \cdot 256 + 256 + 256 \cdot 10 + 10 = 789{,}258$
#   parameters — almost thirteen times as many.
#
# Which wins? Each epoch takes a few seconds on a CPU.

# %%
CifarNetClass = ready("CifarNet", CifarNet)
torch.manual_seed(0)
cifarnet = CifarNetClass()
cifarnet_history = fit(cifarnet, cifar_train_loader, cifar_test_loader, run_of(CIFAR10), name="CifarNet")
torch.manual_seed(0)
mlp20 = MLPClass(3 * 32 * 32, 20, 10)
mlp20_history = fit(mlp20, cifar_train_loader, cifar_test_loader, run_of(CIFAR10), name="MLP, 20 hidden units")
torch.manual_seed(0)
mlp256 = MLPClass(3 * 32 * 32, 256, 10)
mlp256_history = fit(mlp256, cifar_train_loader, cifar_test_loader, run_of(CIFAR10),
                     name="MLP, 256 hidden units")
print(f"CifarNet: {cifarnet_history['accuracy'][-1]:.2%} on the test set (the graded test asks for at least 60%)")

# %%
cifar_histories = [cifarnet_history, mlp20_history, mlp256_history]
plot_histories(cifar_histories, "CIFAR-10")

print(f"{'network':<24}{'data set':<10}{'parameters':>12}{'test accuracy':>15}{'seconds':>9}")
for h, data_set in [(mlp_mnist_history, "MNIST"), (lenet_history, "MNIST")] + [(h, "CIFAR-10") for h in cifar_histories]:
    print(f"{h['name'][:23]:<24}{data_set:<10}{h['parameters']:>12,}{h['accuracy'][-1]:>15.2%}{h['seconds']:>9.0f}")

fig, ax = plt.subplots(figsize=(7, 4))
for h, marker in zip(cifar_histories, "os^"):
    ax.scatter(h["parameters"], 100 * h["accuracy"][-1], s=80, marker=marker, label=h["name"])
ax.set(xscale="log", xlabel="trainable parameters (log scale)", ylabel="test accuracy (%)",
       title="CIFAR-10: accuracy against size")
ax.grid(alpha=0.3)
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Why the CNN wins
#
# With the same 62 thousand parameters, CifarNet is far more accurate than the 20-unit MLP, and it
# still beats the MLP with thirteen times as many. The difference is *how* the parameters are
# spent:
#
# - **Locality.** A convolution unit looks at a $5 \times 5$ patch; an MLP's hidden unit is
#   connected to all 3072 numbers of the image at once. Neighbouring pixels belong together (an
#   edge, a texture), far-apart ones mostly do not, and the CNN is built to look for local
#   patterns first and combine them later.
# - **Weight sharing.** The same $5 \times 5$ filter is applied at every position: a pattern
#   learned at the top left is recognised at the bottom right for free. CifarNet's first layer has
#   456 parameters and computes $6 \cdot 28 \cdot 28 = 4704$ outputs; a fully connected layer with
#   the same outputs would need $3072 \cdot 4704 + 4704 \approx 14.5$ million. The MLP has to learn
#   every pattern separately at every position, from the same 50,000 images.
# - **Built-in tolerance to small shifts.** Pooling (assignment 03) keeps the strongest responses
#   of each neighbourhood, so an object that moves a little gives nearly the same features.
#
# Those assumptions fit images, so the CNN needs fewer examples and fewer parameters to learn
# what matters. Thirteen times more parameters do not make up for it: the MLP with 256 units
# learns faster than the one with 20, but both training loss and test accuracy stay behind
# CifarNet's after the same six epochs.
#
# ### What CifarNet confuses
#
# The confusion matrix on the CIFAR-10 test set: the animals get mixed up with each other (cats
# with dogs above all), and the vehicles with each other (cars with trucks, aeroplanes with ships
# — blue backgrounds), but animals are rarely taken for vehicles.

# %%
cifar_true, cifar_pred, cifar_probs = predictions(cifarnet, cifar_test_loader)
cifar_confusion = confusion_matrix(cifar_true, cifar_pred, 10)
plot_confusion(cifar_confusion, data.CIFAR10_CLASSES, "CifarNet on the CIFAR-10 test set")
off = cifar_confusion - np.diag(np.diag(cifar_confusion))
pairs = sorted(((off[i, j] + off[j, i], i, j) for i in range(10) for j in range(i + 1, 10)), reverse=True)[:3]
print("most confused pairs:", ", ".join(f"{data.CIFAR10_CLASSES[i]}/{data.CIFAR10_CLASSES[j]} ({n})"
                                        for n, i, j in pairs))

wrong = np.flatnonzero(cifar_pred != cifar_true)
wrong = wrong[np.argsort(-cifar_probs[wrong, cifar_pred[wrong]])][:24]
show_images(x_cifar_test[wrong], [f"{data.CIFAR10_CLASSES[cifar_true[k]]}→{data.CIFAR10_CLASSES[cifar_pred[k]]}"
                                  for k in wrong], data.CIFAR10_MEAN, data.CIFAR10_STD, columns=12, size=1.3)

# %% [markdown]
# ## 6. Inside the trained networks
#
# ### The first layer's filters
#
# Each of LeNet-5's six first-layer filters is a $5 \times 5$ grid of weights that the network
# chose itself. Below they are drawn red for positive weights and blue for negative ones (each
# filter on its own scale), before and after training. The trained ones are mostly **bands**: a
# red stripe next to a blue one, at some angle. Correlated with the image, such a filter gives a
# large value where the image changes from dark to light across the stripe — an edge or a stroke
# of that orientation. Two numbers say how training changed them: their size (the norm of all
# the weights grows several times from the small random start) and their **roughness**, the
# mean difference between neighbouring weights relative to the mean weight, which drops:
# neighbouring weights became alike, as they must for a smooth pattern like a band.
#
# CifarNet's filters are $3 \times 5 \times 5$ — one $5 \times 5$ grid per colour channel — and
# are drawn as small colour images (each stretched to the full range of colours): they respond to
# edges and to contrasts between colours. (The first layer is whichever `nn.Conv2d` comes first in
# your network.)

# %%
def convolutions(model):
    """The nn.Conv2d layers of a model, in order."""
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def roughness(weights):
    """Mean |difference of neighbouring weights| / mean |weight|, over all the filters."""
    w = weights.detach().cpu().float()
    steps = (w[..., 1:, :] - w[..., :-1, :]).abs().mean() + (w[..., :, 1:] - w[..., :, :-1]).abs().mean()
    return float(steps / 2 / w.abs().mean())


def show_filters(weights, title, colour=False):
    w = weights.detach().cpu().float()
    fig, axes = plt.subplots(1, len(w), figsize=(1.8 * len(w), 2.1))
    for ax, f in zip(np.atleast_1d(axes), w):
        if colour:
            f = (f - f.min()) / (f.max() - f.min() + 1e-8)      # each filter stretched to [0, 1]
            ax.imshow(f.permute(1, 2, 0))
        else:
            limit = float(f.abs().max())                         # each filter on its own scale, 0 = white
            ax.imshow(f[0], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.axis("off")
    fig.suptitle(title)
    plt.tight_layout()
    plt.show()


if convolutions(lenet) and convolutions(cifarnet):
    torch.manual_seed(0)
    before, after = convolutions(LeNet5Class())[0].weight, convolutions(lenet)[0].weight
    show_filters(before, "LeNet-5's first layer before training (random)")
    show_filters(after, "LeNet-5's first layer after training")
    print(f"norm of the first layer's weights: {before.norm():.2f} before training, {after.norm():.2f} after; "
          f"roughness: {roughness(before):.2f} before, {roughness(after):.2f} after")
    show_filters(convolutions(cifarnet)[0].weight, "CifarNet's first layer after training", colour=True)
else:
    print("your networks do not use nn.Conv2d, so there are no filters to draw here")


# %% [markdown]
# ### Feature maps
#
# What the filters do to one digit: the six maps of the first convolution (its outputs, before
# the activation) and the sixteen of the second. A forward **hook** on a layer lets us keep its
# output as the image passes through, without changing the network. The first maps are filtered
# versions of the digit: in each, the strokes and edges of one orientation light up (bright) or
# turn dark, the others fade — compare them with the filters above. The second layer's maps are
# coarser ($10 \times 10$) combinations of them: they respond to parts of the digit (the top bar
# of the 7, its diagonal) rather than to single edges.

# %%
def feature_maps(model, image):
    """The outputs of every nn.Conv2d of `model` for one image (C, H, W)."""
    kept = []
    hooks = [m.register_forward_hook(lambda module, inputs, output: kept.append(output.detach().cpu()))
             for m in convolutions(model)]
    model.eval()
    with torch.no_grad():
        model(image[None].to(device))
    for h in hooks:
        h.remove()
    return kept


def show_maps(maps, title, columns=8, size=1.4, first=None):
    """The maps of one image (1, C, H, W) in a grid; `first`: an image (H, W) to draw before them."""
    panels = ([first] if first is not None else []) + list(maps[0])
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 1.1), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, (ax, m) in enumerate(zip(axes.flat, panels)):
        ax.imshow(m, cmap="gray" if first is not None and k == 0 else "magma")
        ax.set_title("input" if first is not None and k == 0 else f"map {k - (first is not None)}", fontsize=8)
    fig.suptitle(title)
    plt.tight_layout()
    plt.show()


digit = x_mnist_test[0]
maps = feature_maps(lenet, digit)
if len(maps) >= 2:
    show_maps(maps[0], f"LeNet-5's first convolution on a {int(y_mnist_test[0])}: {maps[0].shape[1]} maps of "
                       f"{maps[0].shape[2]}x{maps[0].shape[3]}", columns=maps[0].shape[1] + 1, size=2.0,
              first=digit[0])
    show_maps(maps[1], f"LeNet-5's second convolution: {maps[1].shape[1]} maps of "
                       f"{maps[1].shape[2]}x{maps[1].shape[3]}")
else:
    print("your LeNet5 does not use nn.Conv2d layers, so there are no feature maps to draw here")

# %% [markdown]
# ## 7. Check your understanding
#
# Try each question before opening its answer.
#
# 1. How many parameters does a convolution from 16 to 32 channels with $3 \times 3$ kernels have?
#    And a fully connected layer from a $16 \times 8 \times 8$ map to 32 units?
#
# <details><summary>Answer</summary>
#
# $32 \cdot 16 \cdot 9 + 32 = 4640$ for the convolution, whatever the size of the image.
# $32 \cdot 1024 + 32 = 32{,}800$ for the fully connected layer, since it has a weight for every
# one of the $16 \cdot 8 \cdot 8 = 1024$ inputs.
#
# </details>
#
# 2. A student's training loss goes down for a few batches and then explodes, although the
#    learning rate is sensible. Which line of the loop is most likely missing?
#
# <details><summary>Answer</summary>
#
# `optimizer.zero_grad()`. `backward()` adds to `.grad`, so without zeroing, step $t$ uses the sum
# of the gradients of all $t$ batches so far: the steps grow with every batch until they blow up.
#
# </details>
#
# 3. Why must `forward` return logits rather than softmax probabilities when training with
#    `F.cross_entropy`?
#
# <details><summary>Answer</summary>
#
# `F.cross_entropy` applies (log-)softmax itself. Given probabilities it would apply softmax to
# values already squashed into $[0, 1]$, whose softmax is almost uniform: the loss barely depends
# on the weights, the gradients are tiny, and the network learns very slowly or not at all.
#
# </details>
#
# 4. A network with dropout scores 97% when evaluated right after training, but 98.8% when the
#    same weights are evaluated again later. What was forgotten the first time?
#
# <details><summary>Answer</summary>
#
# `model.eval()`. Left in training mode, dropout kept switching off random units during the
# evaluation, so each test image went through a randomly damaged network.
#
# </details>
#
# 5. 10,000 test images are evaluated in batches of 128. The first 78 batches are each 99%
#    correct and the last one (16 images) is 75% correct. What is the accuracy? What does the
#    mean of the per-batch accuracies give?
#
# <details><summary>Answer</summary>
#
# $(78 \cdot 128 \cdot 0.99 + 16 \cdot 0.75)/10000 = (9884.16 + 12)/10000 = 98.96\%$ (with whole
# counts, 9884 + 12 = 9896 correct). The mean of the 79 batch accuracies is
# $(78 \cdot 0.99 + 0.75)/79 = 98.70\%$: it gives the 16 images of the last batch as much weight as
# 128 images of any other.
#
# </details>
#
# 6. Without its padding, what would LeNet-5's first convolution make of a $28 \times 28$ digit,
#    and what would go wrong further on?
#
# <details><summary>Answer</summary>
#
# $28 - 5 + 1 = 24 \times 24$ maps, $12 \times 12$ after pooling, $8 \times 8$ after C3 and
# $4 \times 4$ after S4 — too small for C5's $5 \times 5$ kernels (an error), or, with a fully
# connected C5, $16 \cdot 4 \cdot 4 = 256$ inputs instead of 400, a different network. Padding by 2
# keeps the $28 \times 28$ size, and the border strokes are seen by as many filter positions as
# the centre ones.
#
# </details>
#
# 7. An MLP with 20 hidden units and CifarNet have about the same number of parameters. Why is the
#    CNN so much better on CIFAR-10?
#
# <details><summary>Answer</summary>
#
# The CNN's filters are small (local) and shared across all positions, so its parameters are
# spent on patterns that can appear anywhere in the image, and pooling tolerates small shifts. The
# MLP connects every hidden unit to every pixel: with only 20 units it can only learn 20 global
# templates, and whatever it learns at one position does not carry over to another.
#
# </details>
#
# 8. You move your notebook to a machine with a GPU. What has to change in your `train_one_epoch`?
#
# <details><summary>Answer</summary>
#
# Nothing, if it moves every batch with `.to(device)`: the model is moved once before training,
# each batch is moved as it arrives, and every operation then runs on the GPU. Code that skips
# the move fails there ("expected all tensors to be on the same device"), even though it ran on
# the CPU.
#
# </details>
