# %% [markdown]
# # Assignment 03 — Pooling: summarising neighbourhoods
#
# After a convolution layer and its nonlinearity, most CNNs put a **pooling layer**: it slides a
# small window over every feature map and replaces what it sees by one number — the largest value,
# or the average. Pooling has no weights to learn, yet it shapes the whole network: it shrinks the
# maps (less computation and memory further on), lets later layers see a larger part of the image,
# and makes the network care a little less about exactly where a feature appeared. In this
# notebook you write the common kinds of pooling yourself in NumPy and look at what they keep and
# what they throw away.
#
# **When you have finished you will be able to**
#
# 1. compute max and average pooling by hand, give the output size for any kernel size and
#    stride, and say what happens to rows and columns that no window fits (they are dropped);
# 2. write max pooling for a batch of multi-channel images, with overlapping or non-overlapping
#    windows, and return *where* each maximum was, in PyTorch's convention;
# 3. write average pooling and global average pooling, and explain why global average pooling
#    lets a network replace its large fully connected layers;
# 4. explain stochastic pooling — a random draw while training, a weighted average when
#    evaluating — and write it;
# 5. describe what pooling does to an image that moves by a few pixels (what stays the same, what
#    moves, what changes), and compare downsampling by pooling with downsampling by a stride.
#
# **How this works.** As in assignment 01: each graded function lives in a cell of its own, marked
# `# YOUR CODE HERE`. Replace `raise NotImplementedError()` with your code and run the cell. The
# cell after it runs the *visible checks* (`checks.check(...)`), which explain what went wrong
# when something does. When the notebook is graded, more checks on inputs you have not seen
# decide the score.
#
# **The rules.** NumPy only inside your functions: no `torch` pooling, no `scipy.ndimage` filters
# (`maximum_filter` and friends), no `skimage.measure.block_reduce`, no `cnnkit`. Loops over the
# output positions are fine and are the clearest way to start.

# %%
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook

from cnnkit import reference  # the course's own implementations: used for the figures only
from cnnkit.plot import draw_grid  # small arrays drawn as tables of numbers
from cnnkit.checks import for_assignment

checks = for_assignment("03")  # the visible checks of this assignment: checks.check(name, function)

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. What a pooling layer computes
#
# A pooling layer works on a batch of feature maps $x$ of shape $(N, C, H, W)$ — the same layout
# as the convolution layer of assignment 01. It treats **every channel of every image on its
# own**: channels are never mixed, so the output has the same $N$ and $C$. A window of
# $k_H \times k_W$ pixels moves over each map in steps of $s_H$ rows and $s_W$ columns (the
# **stride**), and each position of the window gives one output value. For **max pooling**
#
# $$ y[n, c, i, j] = \max_{0 \le a < k_H,\; 0 \le b < k_W} x[n, c,\; i\, s_H + a,\; j\, s_W + b], $$
#
# and for **average pooling** the maximum becomes the mean of the $k_H k_W$ values. Window
# $(i, j)$ starts at row $i\,s_H$ and column $j\,s_W$.
#
# **How many windows?** The first window starts at row 0, and the last one must still fit inside
# the image, so along the height
#
# $$ H_{out} = \left\lfloor \frac{H - k_H}{s_H} \right\rfloor + 1, \qquad
#    W_{out} = \left\lfloor \frac{W - k_W}{s_W} \right\rfloor + 1 . $$
#
# It is the output size of a convolution without padding. The floor matters: when the windows do
# not fit exactly, the rows at the bottom and the columns at the right that no window reaches are
# simply **dropped** (PyTorch does the same unless you ask for `ceil_mode=True`).
#
# **The default stride is the kernel size.** Pooling is usually written "2×2 max pooling" and
# means windows of 2×2 moved by 2: the windows **tile** the image without overlapping, and each
# side of the map is halved. A stride smaller than the kernel makes the windows **overlap**
# (AlexNet uses 3×3 windows with stride 2); a stride larger than the kernel would skip pixels.
#
# ### Worked example
#
# Take the 4×4 map below and 2×2 max pooling with the default stride 2. There are
# $\lfloor (4 - 2)/2 \rfloor + 1 = 2$ windows along each side. The top-left window holds
# $1, 1, 5, 6$, so $y[0, 0] = 6$; the others give 8, 3 and 4. Average pooling of the same windows
# gives $13/4 = 3.25$, $21/4 = 5.25$, $8/4 = 2$ and $8/4 = 2$.

# %%
example = np.array([[1, 1, 2, 4],
                    [5, 6, 7, 8],
                    [3, 2, 1, 0],
                    [1, 2, 3, 4]], dtype=float)

k, s = 2, 2
n_out = (example.shape[0] - k) // s + 1
for i in range(n_out):
    for j in range(n_out):
        window = example[i * s:i * s + k, j * s:j * s + k]
        print(f"window ({i}, {j}) = {window.ravel().tolist()} -> max {window.max():g}, mean {window.mean():g}")

x_example = example[None, None]           # one image with one channel: (N, C, H, W) = (1, 1, 4, 4)
print("max pooling:\n", reference.max_pool2d(x_example, 2)[0, 0])
print("average pooling:\n", reference.avg_pool2d(x_example, 2)[0, 0])


# %%
colours = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
windows = [((i * 2, j * 2), (2, 2), colours[2 * i + j]) for i in range(2) for j in range(2)]
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
draw_grid(axes[0], example, "input (4×4): four 2×2 windows", windows)
draw_grid(axes[1], reference.max_pool2d(x_example, 2)[0, 0], "2×2 max pooling",
          [((i, j), (1, 1), colours[2 * i + j]) for i in range(2) for j in range(2)])
draw_grid(axes[2], reference.avg_pool2d(x_example, 2)[0, 0], "2×2 average pooling",
          [((i, j), (1, 1), colours[2 * i + j]) for i in range(2) for j in range(2)])
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Overlapping windows and ragged edges
#
# Two more situations come up all the time. Here is a 5×5 map of small integers:
#
# - **3×3 windows with stride 2** overlap by one row and one column:
#   $\lfloor (5 - 3)/2 \rfloor + 1 = 2$ windows per side, and the middle row and column belong to
#   two windows each.
# - **2×2 windows with the default stride 2** do not fit exactly: $\lfloor (5 - 2)/2 \rfloor + 1 = 2$
#   windows per side cover rows and columns 0–3, and the last row and column are never looked at.
#
# The figure counts, for each pixel, how many windows see it.

# %%
small = np.array([[9, 6, 0, 0, 6],
                  [1, 8, 3, 3, 7],
                  [8, 1, 2, 2, 3],
                  [8, 6, 5, 1, 4],
                  [1, 3, 5, 2, 4]], dtype=float)


def coverage(shape, k, s):
    """How many pooling windows (k×k, stride s, no padding) contain each pixel."""
    count = np.zeros(shape, dtype=int)
    n_out = [(n - k) // s + 1 for n in shape]
    for i in range(n_out[0]):
        for j in range(n_out[1]):
            count[i * s:i * s + k, j * s:j * s + k] += 1
    return count


fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
for col, (k, s) in enumerate([(3, 2), (2, 2)]):
    draw_grid(axes[2 * col], small, f"input, {k}×{k} windows, stride {s}",
              [((i * s, j * s), (k, k), colours[2 * i + j]) for i in range(2) for j in range(2)])
    draw_grid(axes[2 * col + 1], coverage(small.shape, k, s), "windows that see each pixel")
plt.tight_layout()
plt.show()

for k, s in [(3, 2), (2, 2), (3, 1)]:
    print(f"{k}×{k} max pooling, stride {s}:\n", reference.max_pool2d(small[None, None], k, s)[0, 0])

# %% [markdown]
# A few output sizes, from the formula $\lfloor (H - k)/s \rfloor + 1$ (check two or three by
# hand):
#
# | input $H$ | kernel $k$ | stride $s$ | $H_{out}$ | where it appears |
# | --- | --- | --- | --- | --- |
# | 28 | 2 | 2 | 14 | LeNet-5 style, MNIST after a padded 5×5 convolution |
# | 55 | 3 | 2 | 27 | AlexNet's first pooling layer (overlapping) |
# | 7 | 2 | 2 | 3 | a ragged edge: the last row is dropped |
# | 224 | 2 | 2 | 112 | VGG, after each block |
# | 5 | 3 | 1 | 3 | stride 1: no downsampling, each output a 3×3 maximum |
#
# ### A helper you may use
#
# `kernel_size` and `stride` may each be an int (a square window) or a pair `(height, width)`.
# The cell below turns either into a pair; use it in your functions if you like.

# %%
def as_pair(v):
    """An int v as (v, v); a pair (height, width) as it is."""
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


print(as_pair(2), as_pair((2, 3)))

# %% [markdown]
# ### Your turn: `max_pool2d`
#
# Write `max_pool2d(x, kernel_size, stride=None)`:
#
# - `x` has shape `(N, C, H, W)`; `kernel_size` and `stride` are an int or a pair; `stride=None`
#   means "the kernel size";
# - it returns `(N, C, H_out, W_out)` with the sizes above (rows and columns no window reaches are
#   dropped), in the dtype of `x` (float32 stays float32), and leaves `x` unchanged.
#
# *Hint.* Loop over the output positions `(i, j)` only: the block
# `x[:, :, i*sH : i*sH + kH, j*sW : j*sW + kW]` holds window `(i, j)` of every image and channel at
# once, and `.max(axis=(2, 3))` reduces all of them in one call.

# %% nbgrader={"grade": false, "grade_id": "max_pool2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool2d(x, kernel_size, stride=None):
    """Max pooling: (N, C, H, W) -> (N, C, H_out, W_out), the largest value of each window."""
    ### BEGIN SOLUTION
    x = np.asarray(x)
    kH, kW = as_pair(kernel_size)
    sH, sW = (kH, kW) if stride is None else as_pair(stride)
    N, C, H, W = x.shape
    H_out, W_out = (H - kH) // sH + 1, (W - kW) // sW + 1
    y = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            y[:, :, i, j] = x[:, :, i * sH:i * sH + kH, j * sW:j * sW + kW].max(axis=(2, 3))
    return y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "max_pool2d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("max_pool2d", max_pool2d)

# %% nbgrader={"grade": true, "grade_id": "max_pool2d_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check("max_pool2d", max_pool2d)
### BEGIN HIDDEN TESTS
checks.check("max_pool2d", max_pool2d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Where was the maximum?
#
# Max pooling passes on one value of each window and forgets the others. Two things need to know
# **which** value it was:
#
# - **backpropagation** (assignment 04): the gradient of $y[i, j]$ flows back only to the pixel
#   that was the maximum; every other pixel of the window gets nothing;
# - **unpooling**, used by networks that rebuild an image from pooled features (Zeiler and
#   Fergus's deconvolutional network, SegNet): each value is put back where it came from.
#
# PyTorch's `max_pool2d(..., return_indices=True)` records the position as a **flat index into
# each $H \times W$ plane of the input**:
#
# $$ \text{index}[n, c, i, j] = h \cdot W + w, $$
#
# where $(h, w)$ is the row and column of the maximum *in the input map* — counted from the
# map's top-left corner, not from the window's. Every $(n, c)$ plane counts from 0 again. When a
# window holds its maximum more than once (a **tie**), the index is that of the **first** one in
# row-major order (along the first row, then the second, ...), which is what `np.argmax` returns
# on the flattened window.
#
# ### Worked example
#
# In the 4×4 map the maxima are 6 at (1, 1), 8 at (1, 3), 3 at (2, 0) and 4 at (3, 3), so the
# indices are $1\cdot4 + 1 = 5$, $1\cdot4 + 3 = 7$, $2\cdot4 + 0 = 8$ and $3\cdot4 + 3 = 15$.
# `np.unravel_index` turns them back into rows and columns, and putting each maximum back at its
# index gives the unpooled map: the maxima in their places, zeros everywhere else.

# %%
values, indices = reference.max_pool2d(x_example, 2, return_indices=True)
print("values:\n", values[0, 0], "\nindices:\n", indices[0, 0])
rows, cols = np.unravel_index(indices[0, 0], example.shape)
print("rows:", rows.ravel(), "columns:", cols.ravel())

unpooled = np.zeros(example.size)
unpooled[indices[0, 0].ravel()] = values[0, 0].ravel()   # put each maximum back where it came from
unpooled = unpooled.reshape(example.shape)

# a tie: in the 5×5 map, window (1, 0) of 2×2 pooling holds 8 twice, at (2, 0) and (3, 0)
_, tie_indices = reference.max_pool2d(small[None, None], 2, return_indices=True)
print("2×2 pooling of the 5×5 map, indices:\n", tie_indices[0, 0], "-> the 8 at (2, 0) is index 10")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
draw_grid(axes[0], example, "input", [((r, c), (1, 1), colours[n]) for n, (r, c) in
                                      enumerate(zip(rows.ravel(), cols.ravel()))])
draw_grid(axes[1], indices[0, 0], "indices h·W + w", [((i, j), (1, 1), colours[2 * i + j])
                                                     for i in range(2) for j in range(2)])
draw_grid(axes[2], unpooled, "unpooled: maxima put back")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Your turn: `max_pool2d_with_indices`
#
# Write `max_pool2d_with_indices(x, kernel_size, stride=None)`. It returns a **pair**
# `(values, indices)`: `values` exactly as `max_pool2d`, and `indices`, of the same shape, an
# integer array (`np.int64`) holding $h \cdot W + w$ for each maximum, with ties going to the first
# maximum in row-major order. The geometry rules are those of `max_pool2d`.
#
# *Hint.* Reshape window `(i, j)` to `(N, C, kH*kW)` and take `argmax` along the last axis: that
# gives the position `a` inside the window, at row `a // kW` and column `a % kW` of the window.
# Add the window's start `(i*sH, j*sW)` before flattening.

# %% nbgrader={"grade": false, "grade_id": "max_pool2d_with_indices", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool2d_with_indices(x, kernel_size, stride=None):
    """Max pooling and the flat index h * W + w of each maximum in its input plane."""
    ### BEGIN SOLUTION
    x = np.asarray(x)
    kH, kW = as_pair(kernel_size)
    sH, sW = (kH, kW) if stride is None else as_pair(stride)
    N, C, H, W = x.shape
    H_out, W_out = (H - kH) // sH + 1, (W - kW) // sW + 1
    values = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    indices = np.empty((N, C, H_out, W_out), dtype=np.int64)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * sH:i * sH + kH, j * sW:j * sW + kW].reshape(N, C, kH * kW)
            a = window.argmax(axis=2)                     # the first maximum, row-major
            values[:, :, i, j] = np.take_along_axis(window, a[:, :, None], axis=2)[:, :, 0]
            indices[:, :, i, j] = (i * sH + a // kW) * W + (j * sW + a % kW)
    return values, indices
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "max_pool2d_with_indices_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("max_pool2d_with_indices", max_pool2d_with_indices)

# %% nbgrader={"grade": true, "grade_id": "max_pool2d_with_indices_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check("max_pool2d_with_indices", max_pool2d_with_indices)
### BEGIN HIDDEN TESTS
checks.check("max_pool2d_with_indices", max_pool2d_with_indices, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Average pooling
#
# Average pooling replaces each window by its mean:
#
# $$ y[n, c, i, j] = \frac{1}{k_H k_W} \sum_{a=0}^{k_H-1} \sum_{b=0}^{k_W-1}
#    x[n, c,\; i\, s_H + a,\; j\, s_W + b]. $$
#
# That is a cross-correlation of each channel with a constant kernel whose entries are all
# $1/(k_H k_W)$, computed with a stride — a **box blur followed by keeping every $s$-th pixel**.
# The cell below checks it with assignment 01's convolution layer: one output channel per input
# channel, each looking only at its own channel.
#
# Max and average pooling summarise differently. Max pooling asks "is the feature present
# *anywhere* in the window?" and keeps strong, sparse responses (an edge, a corner) at full
# strength; average pooling asks "how much of it is there on average?" and smooths — a thin edge
# that covers one pixel out of four comes out at a quarter of its strength. The figure pools a
# map of vertical edges of a photograph both ways. (The map is 298×254 pixels; 4×4 windows fit
# 74 times down and 63 times across, and the last two rows and columns are dropped.)

# %%
x_demo = np.random.default_rng(0).standard_normal((1, 3, 6, 6))
box = np.zeros((3, 3, 2, 2))
for c in range(3):
    box[c, c] = 1 / 4                     # channel c only, a 2×2 kernel of 1/4
as_conv = reference.conv2d(x_demo, box, stride=2)
print("average pooling == box kernel with stride 2:", np.allclose(as_conv, reference.avg_pool2d(x_demo, 2)))

with cbook.get_sample_data("grace_hopper.jpg") as f:
    photo = plt.imread(f).astype(float) / 255    # (600, 512, 3), values in [0, 1]
grey = photo.mean(axis=2)[::2, ::2]               # (300, 256)
sobel_x = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float)
edges = np.maximum(reference.correlate2d(grey, sobel_x), 0)[None, None]   # ReLU of an edge filter

fig, axes = plt.subplots(1, 3, figsize=(13, 5))
for ax, (img, title) in zip(axes, [(edges, f"edge map after ReLU {edges.shape[2:]}"),
                                   (reference.max_pool2d(edges, 4), "4×4 max pooling"),
                                   (reference.avg_pool2d(edges, 4), "4×4 average pooling")]):
    ax.imshow(img[0, 0], cmap="gray", vmin=0, vmax=np.percentile(edges, 99.5))
    ax.set_title(f"{title} {img.shape[2:]}" if "pooling" in title else title)
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Your turn: `avg_pool2d`
#
# Write `avg_pool2d(x, kernel_size, stride=None)`: the same geometry as `max_pool2d` (and the same
# output shape and dtype), with the mean of each window instead of its maximum.

# %% nbgrader={"grade": false, "grade_id": "avg_pool2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def avg_pool2d(x, kernel_size, stride=None):
    """Average pooling: (N, C, H, W) -> (N, C, H_out, W_out), the mean of each window."""
    ### BEGIN SOLUTION
    x = np.asarray(x)
    kH, kW = as_pair(kernel_size)
    sH, sW = (kH, kW) if stride is None else as_pair(stride)
    N, C, H, W = x.shape
    H_out, W_out = (H - kH) // sH + 1, (W - kW) // sW + 1
    y = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            y[:, :, i, j] = x[:, :, i * sH:i * sH + kH, j * sW:j * sW + kW].mean(axis=(2, 3))
    return y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "avg_pool2d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("avg_pool2d", avg_pool2d)

# %% nbgrader={"grade": true, "grade_id": "avg_pool2d_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("avg_pool2d", avg_pool2d)
### BEGIN HIDDEN TESTS
checks.check("avg_pool2d", avg_pool2d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Global average pooling
#
# Take average pooling to the limit: one window as large as the whole map. Each channel of each
# image becomes **one number**, its mean:
#
# $$ y[n, c] = \frac{1}{H W} \sum_{h=0}^{H-1} \sum_{w=0}^{W-1} x[n, c, h, w], $$
#
# and the output has shape $(N, C)$ — the two spatial axes are gone, not kept with size 1.
#
# Classic CNNs (LeNet-5, AlexNet, VGG) end by flattening the last feature maps into a long vector
# and feeding it to fully connected layers. Network in Network and GoogLeNet replaced that by
# **global average pooling**: with one channel per class (or a small linear layer after it), the
# network reads each channel as "how strongly is this feature present in the image". Two things
# follow:
#
# - far fewer parameters: VGG16 flattens $512 \times 7 \times 7 = 25{,}088$ values into a
#   4096-unit layer (about 103 million weights); global average pooling gives 512 values, and a
#   512 → 1000 classifier has about half a million;
# - the network accepts **any image size**: a larger image gives larger maps, but still one number
#   per channel.

# %%
flatten_fc = 512 * 7 * 7 * 4096 + 4096
gap_fc = 512 * 1000 + 1000
print(f"flatten + FC 4096: {flatten_fc:,} parameters; global average pooling + FC 1000: {gap_fc:,}")

maps = np.random.default_rng(1).random((2, 512, 7, 7))     # a batch of 2, as after VGG's last block
bigger = np.random.default_rng(2).random((2, 512, 12, 9))  # a larger input image: larger maps
print(maps.shape, "->", reference.global_avg_pool2d(maps).shape, "|",
      bigger.shape, "->", reference.global_avg_pool2d(bigger).shape)

# %% [markdown]
# ### Your turn: `global_avg_pool2d`
#
# Write `global_avg_pool2d(x)`: `(N, C, H, W)` → `(N, C)`, the mean of each map, in the dtype of
# `x`.

# %% nbgrader={"grade": false, "grade_id": "global_avg_pool2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def global_avg_pool2d(x):
    """Global average pooling: (N, C, H, W) -> (N, C), the mean of each map."""
    ### BEGIN SOLUTION
    return np.asarray(x).mean(axis=(2, 3))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "global_avg_pool2d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("global_avg_pool2d", global_avg_pool2d)

# %% nbgrader={"grade": true, "grade_id": "global_avg_pool2d_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("global_avg_pool2d", global_avg_pool2d)
### BEGIN HIDDEN TESTS
checks.check("global_avg_pool2d", global_avg_pool2d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Stochastic pooling
#
# Max pooling always keeps the strongest activation of a window and ignores the rest; average
# pooling lets the many weak ones dilute a strong one. **Stochastic pooling** (Zeiler and Fergus,
# 2013) takes a middle road and adds randomness that acts, like dropout, against overfitting. It
# works on non-negative activations $a_1, \dots, a_m$ (the output of a ReLU) and turns each
# window into probabilities
#
# $$ p_i = \frac{a_i}{\sum_{j=1}^{m} a_j}. $$
#
# - **Training:** the output is **one activation of the window, drawn at random**: $a_i$ with
#   probability $p_i$. Large activations are picked most often, a zero is never picked (its
#   probability is 0), and a window of zeros gives 0.
# - **Evaluation:** no randomness; the output is the **probability-weighted average**
#
#   $$ y = \sum_i p_i\, a_i = \frac{\sum_i a_i^2}{\sum_j a_j} \qquad (0 \text{ for a window of zeros}), $$
#
#   which is exactly the *expected value* of the training-time draw. (Dropout does the same: the
#   network seen at test time is the average of the random ones seen while training.)
#
# ### Worked example
#
# A window holding $0, 1, 2, 5$: the sum is 8, so $p = (0, 1/8, 2/8, 5/8)$. While training the
# output is 5 five times out of eight, 2 a quarter of the time, 1 one time in eight, and never 0.
# When evaluating it is $(0 + 1 + 4 + 25)/8 = 3.75$ — between the average (2) and the maximum (5).
# The cell below draws 10,000 times and compares the frequencies with $p$; the mean of the draws
# is close to 3.75.

# %%
window = np.array([0.0, 1.0, 2.0, 5.0])
p = window / window.sum()
rng = np.random.default_rng(0)
draws = window[rng.choice(window.size, size=10_000, p=p)]
freq = np.array([(draws == v).mean() for v in window])
print("p =", p, "| frequencies =", freq)
print(f"mean of the draws {draws.mean():.3f}; evaluation output {(window ** 2).sum() / window.sum():.3f}; "
      f"average {window.mean():g}; maximum {window.max():g}")

fig, ax = plt.subplots(figsize=(6, 3.2))
pos = np.arange(window.size)
ax.bar(pos - 0.2, p, width=0.4, label="probability $p_i = a_i / \\sum_j a_j$")
ax.bar(pos + 0.2, freq, width=0.4, label="frequency in 10,000 draws")
ax.set_xticks(pos, [f"$a_i = {v:g}$" for v in window])
ax.set_title("stochastic pooling of the window (0, 1, 2, 5)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# On a whole feature map, each training pass draws a different output; the evaluation output is
# their average. Here the ReLU edge map from section 3 is pooled with 4×4 windows: two random
# draws, the mean of 200 draws, and the evaluation output.

# %%
crop = edges[:, :, 40:200, 40:200]
draw_a = reference.stochastic_pool2d(crop, 4, training=True, rng=1)
draw_b = reference.stochastic_pool2d(crop, 4, training=True, rng=2)
many = np.mean([reference.stochastic_pool2d(crop, 4, rng=rng) for _ in range(200)], axis=0)
evaluation = reference.stochastic_pool2d(crop, 4, training=False)
print("largest difference between the mean of 200 draws and the evaluation output:",
      f"{np.abs(many - evaluation).max():.3f} (the values go up to {evaluation.max():.2f})")

fig, axes = plt.subplots(1, 4, figsize=(14, 3.8))
for ax, (img, title) in zip(axes, [(draw_a, "training, one draw"), (draw_b, "training, another draw"),
                                   (many, "mean of 200 draws"), (evaluation, "evaluation")]):
    ax.imshow(img[0, 0], cmap="gray", vmin=0, vmax=np.percentile(crop, 99.5))
    ax.set_title(title)
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Your turn: `stochastic_pool2d`
#
# Write `stochastic_pool2d(x, kernel_size, stride=None, training=True, rng=None)`:
#
# - `x` is `(N, C, H, W)` with non-negative values; the geometry (kernel, stride, output size)
#   is that of `max_pool2d`, and the output keeps the dtype of `x`;
# - `training=True` (the default): each output is one value of its window, value $a_i$ drawn with
#   probability $p_i = a_i / \sum_j a_j$; a window of zeros gives 0;
# - `training=False`: each output is $\sum_i a_i^2 / \sum_j a_j$, and 0 for a window of zeros;
# - `rng` is `None`, an int seed or a `np.random.Generator`; `np.random.default_rng(rng)` turns any
#   of the three into a generator (and returns a generator you pass it unchanged). Use it for every
#   random draw, so that the same seed gives the same output.
#
# How is a random output checked? Each output must be a value of its own window that has a
# non-zero probability, and over thousands of windows the values must be drawn about as often as
# their probabilities say — a sampler that always takes the maximum, or picks uniformly, fails.
#
# *Hint.* For one window `w` (flattened, as float64), `rng.choice(w.size, p=w / w.sum())` draws the
# position. To draw for all windows at once instead: with `u = rng.random() * w.sum()`, the first
# position where `np.cumsum(w)` exceeds `u` is position $i$ with probability $p_i$.

# %% nbgrader={"grade": false, "grade_id": "stochastic_pool2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def stochastic_pool2d(x, kernel_size, stride=None, training=True, rng=None):
    """Stochastic pooling: a value drawn with p_i = a_i / sum(a) (training), or sum(a^2) / sum(a)."""
    ### BEGIN SOLUTION
    x = np.asarray(x)
    rng = np.random.default_rng(rng)
    kH, kW = as_pair(kernel_size)
    sH, sW = (kH, kW) if stride is None else as_pair(stride)
    N, C, H, W = x.shape
    H_out, W_out = (H - kH) // sH + 1, (W - kW) // sW + 1
    y = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    w = x[n, c, i * sH:i * sH + kH, j * sW:j * sW + kW].astype(np.float64).ravel()
                    total = w.sum()
                    if total == 0:
                        continue                  # a window of zeros gives 0
                    if training:
                        y[n, c, i, j] = w[rng.choice(w.size, p=w / total)]
                    else:
                        y[n, c, i, j] = (w @ w) / total
    return y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "stochastic_pool2d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("stochastic_pool2d", stochastic_pool2d)

# %% nbgrader={"grade": true, "grade_id": "stochastic_pool2d_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
checks.check("stochastic_pool2d", stochastic_pool2d)
### BEGIN HIDDEN TESTS
checks.check("stochastic_pool2d", stochastic_pool2d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Small shifts: what pooling keeps
#
# Move an image one pixel to the right. A convolution layer's output moves one pixel to the right
# too — convolution is **shift-equivariant**: shifting the input shifts the output by the same
# amount. A classifier, though, should not care at all where the cat is: it should be
# **shift-invariant**. Pooling sits in between, and it helps to look closely.
#
# Below, a small pattern of bright pixels moves right by 0, 1, 2 and 3 pixels, and each version
# goes through 2×2 max pooling and 2×2 average pooling (stride 2).
#
# - Shift by **1**: the pattern stays inside the same windows for some of its pixels and crosses
#   into the next window for others. Max pooling's output changes only where a bright pixel
#   crossed a window border; average pooling's output changes wherever a window gained or lost
#   brightness.
# - Shift by **2** (the stride): every pixel lands in the next window, so both outputs are the
#   unshifted outputs moved by exactly one output pixel. Shifts by multiples of the stride are
#   passed on, scaled down by the stride.
#
# So pooling gives **invariance only to shifts that stay within a window**, and only partly:
# what a shift by one pixel does depends on where the pattern sits relative to the window grid.

# %%
pattern = np.zeros((8, 8))
pattern[2, 1] = pattern[3, 1] = pattern[3, 2] = pattern[5, 2] = 1.0    # a few bright pixels
pattern[4, 3] = 0.6

fig, axes = plt.subplots(3, 4, figsize=(12, 9))
for col, shift in enumerate(range(4)):
    moved = np.roll(pattern, shift, axis=1)[None, None]
    for row, (img, name) in enumerate([(moved, "input"), (reference.max_pool2d(moved, 2), "2×2 max pooling"),
                                       (reference.avg_pool2d(moved, 2), "2×2 average pooling")]):
        ax = axes[row, col]
        ax.imshow(img[0, 0], cmap="gray", vmin=0, vmax=1)
        step = 2 if row == 0 else 1                          # the windows on the input, the pixels below
        ax.set_xticks(np.arange(-0.5, img.shape[-1], step))
        ax.set_yticks(np.arange(-0.5, img.shape[-2], step))
        ax.grid(color="tab:orange" if row == 0 else "0.5", lw=1.5 if row == 0 else 0.8)
        ax.tick_params(length=0, labelbottom=False, labelleft=False)
        ax.set_title(f"{name}, shift {shift}")
fig.suptitle("a pattern moving right; orange lines: the 2×2 pooling windows", y=1.0)
plt.tight_layout()
plt.show()

# %% [markdown]
# How much does the output change, on a real feature map? The next experiment takes the ReLU
# edge map of the photograph from section 3, moves it right by 0 to 8 pixels (wrapping around at
# the edge, so nothing is lost), pools it, and measures the relative change of the output,
# $\lVert P(\text{shifted}) - P(\text{original}) \rVert / \lVert P(\text{original}) \rVert$:
#
# - **without pooling** a shift of one pixel already changes most of the map: the edges are thin
#   lines, and they move off their pixels;
# - **max pooling** changes less, and the larger its windows the less: a strong edge that moves
#   within a window still gives the same maximum there;
# - **average pooling** of the same size changes more than max pooling: every pixel that moves
#   into the next window shifts some of the mass with it;
# - **global average pooling** does not change at all: the mean over the whole map does not
#   depend on where things are. This is where a classifier's invariance comes from in the end:
#   its last layers summarise the whole image.
#
# None of the pooled maps is *invariant* to larger shifts, and at a shift equal to the stride the
# pooled map is exactly the original pooled map moved by one output pixel (the last line below
# checks it) — equivariance, with the shift divided by the stride.

# %%
def relative_change(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


shifts = np.arange(9)
poolings = {"no pooling": lambda m: m,
            "2×2 max pooling": lambda m: reference.max_pool2d(m, 2),
            "4×4 max pooling": lambda m: reference.max_pool2d(m, 4),
            "8×8 max pooling": lambda m: reference.max_pool2d(m, 8),
            "4×4 average pooling": lambda m: reference.avg_pool2d(m, 4),
            "global average pooling": lambda m: reference.global_avg_pool2d(m)}
edge_map = edges[:, :, 40:200, 40:200]                       # a 160×160 crop of the ReLU edge map
edge_maps = [np.roll(edge_map, d, axis=3) for d in shifts]   # moved right by d, wrapping around
fig, ax = plt.subplots(figsize=(8, 4.5))
for name, pool in poolings.items():
    base = pool(edge_maps[0])
    ax.plot(shifts, [relative_change(pool(m), base) for m in edge_maps], "o-", label=name)
ax.set_xlabel("shift of the input (pixels)")
ax.set_ylabel("relative change of the output")
ax.set_title("how much a shifted photograph changes the pooled edge map")
ax.legend()
plt.tight_layout()
plt.show()

moved_then_pooled = reference.max_pool2d(edge_maps[4], 4)
pooled_then_moved = np.roll(reference.max_pool2d(edge_map, 4), 1, axis=3)
print("4×4 max pooling of the map moved by 4 pixels == the pooled map moved by 1 pixel:",
      np.array_equal(moved_then_pooled, pooled_then_moved))

# %% [markdown]
# ## 7. Downsampling: pooling or a stride?
#
# Pooling with stride $s$ does two things at once: it **summarises** each window and it
# **downsamples** (keeps one value per $s \times s$ block). The downsampling alone is cheaper:
# a convolution with stride $s$, or just keeping every $s$-th pixel. A convolution with stride 2
# computes the stride-1 convolution only at every second position — it is the stride-1 result
# with three values out of four thrown away:

# %%
x_small = np.random.default_rng(3).standard_normal((1, 2, 9, 9))
w_small = np.random.default_rng(4).standard_normal((4, 2, 3, 3))
strided = reference.conv2d(x_small, w_small, stride=2)
print("conv with stride 2 == conv with stride 1, every second row and column:",
      np.allclose(strided, reference.conv2d(x_small, w_small)[:, :, ::2, ::2]), "| shapes:",
      reference.conv2d(x_small, w_small).shape, "->", strided.shape)

# %% [markdown]
# Throwing values away has a price when the map holds detail finer than the new pixel spacing:
# that detail does not disappear, it comes back as a false, coarser pattern — **aliasing** (the
# moiré on a striped shirt photographed on a screen). The test image below is a ring pattern
# whose rings get finer towards the edges. Downsampled by 4:
#
# - **keeping every 4th pixel** (a stride of 4) turns the fine rings into false rings that were
#   never there;
# - **4×4 average pooling** blurs before it downsamples: the rings too fine to represent fade
#   towards an even grey, and the false patterns that are left are much weaker (a 4×4 box is not a
#   perfect blur, so some remain);
# - **4×4 max pooling** keeps the brightest value of each block: the fine rings become a bright
#   area — strong responses are kept, but their exact position within the block is lost.
#
# This is why a network that downsamples by striding alone is less stable under small shifts
# than one that pools or blurs first, and why some architectures (the all-convolutional network)
# replace pooling by strided convolutions whose kernels are *learned* and can learn to smooth.
# The choice is a trade-off: pooling has no parameters and is robust; a learned strided
# convolution is cheaper than "convolve, then pool" and can decide for itself what to keep.

# %%
r = np.arange(256) - 127.5
rings = 0.5 + 0.5 * np.cos(np.pi * (r[:, None] ** 2 + r[None, :] ** 2) / 512)[None, None]
fig, axes = plt.subplots(1, 4, figsize=(15, 4.2))
for ax, (img, title) in zip(axes, [(rings, "rings"), (rings[:, :, ::4, ::4], "every 4th pixel (stride 4)"),
                                   (reference.avg_pool2d(rings, 4), "4×4 average pooling"),
                                   (reference.max_pool2d(rings, 4), "4×4 max pooling")]):
    ax.imshow(img[0, 0], cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{title}\n{img.shape[2]}×{img.shape[3]}")
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 8. Check your understanding
#
# Try each question before opening its answer.
#
# 1. AlexNet's first convolution gives 96 maps of 55×55, followed by 3×3 max pooling with
#    stride 2. What is the output shape? How many parameters does the pooling layer have?
#
# <details><summary>Answer</summary>
#
# $\lfloor (55 - 3)/2 \rfloor + 1 = 27$, so 96 maps of 27×27. A pooling layer has no parameters
# at all: it only takes maxima.
#
# </details>
#
# 2. A 7×7 map goes through 2×2 max pooling with the default stride. What size is the output,
#    and which pixels does it ignore?
#
# <details><summary>Answer</summary>
#
# The stride is 2, so $\lfloor (7 - 2)/2 \rfloor + 1 = 3$: a 3×3 output. The windows cover rows
# and columns 0–5; the last row and the last column (13 pixels) are never looked at.
#
# </details>
#
# 3. In the 4×4 map $\begin{bmatrix} 0 & 2 & 1 & 1 \\ 2 & 0 & 3 & 0 \\ 0 & 0 & 0 & 4 \\ 1 & 0 & 4 & 0 \end{bmatrix}$,
#    what are the values and indices of 2×2 max pooling?
#
# <details><summary>Answer</summary>
#
# Values $\begin{bmatrix} 2 & 3 \\ 1 & 4 \end{bmatrix}$, indices
# $\begin{bmatrix} 1 & 6 \\ 12 & 11 \end{bmatrix}$: the top-left window holds 2 twice, at (0, 1)
# and (1, 0), and the first in row-major order, (0, 1), wins; the bottom-right window holds 4
# twice, at (2, 3) and (3, 2), and (2, 3) comes first, $2 \cdot 4 + 3 = 11$.
#
# </details>
#
# 4. A window holds $0, 3, 1, 0$. What does stochastic pooling output while training, and when
#    evaluating?
#
# <details><summary>Answer</summary>
#
# While training, 3 with probability $3/4$ and 1 with probability $1/4$ (never 0). When
# evaluating, $(0 + 9 + 1 + 0)/4 = 2.5$, the expected value of the training output.
#
# </details>
#
# 5. Why can a network that ends in global average pooling classify images of different sizes,
#    while one that ends in "flatten, then fully connected" cannot?
#
# <details><summary>Answer</summary>
#
# Global average pooling gives one number per channel whatever the size of the maps, so the
# layer after it always gets $C$ inputs. Flattening gives $C \cdot H \cdot W$ values, which
# changes with the image size and no longer matches the fully connected layer's weights.
#
# </details>
#
# 6. Is 2×2 max pooling invariant to a shift of the input by one pixel? By two pixels?
#
# <details><summary>Answer</summary>
#
# Neither, in general. By one pixel: the output stays the same only where each window's maximum
# stays inside the same window; where a maximum crosses a window border, the output changes. By
# two pixels (the stride): the output moves by exactly one output pixel — equivariance, not
# invariance. Full invariance comes only from pooling over the whole map.
#
# </details>
#
# 7. Why does keeping every 4th pixel produce patterns that were not in the image, while 4×4
#    average pooling does not?
#
# <details><summary>Answer</summary>
#
# Detail finer than the new spacing of 4 pixels cannot be represented after downsampling; picking
# single pixels samples it at a coarse spacing, and the samples line up into a false, coarser
# pattern (aliasing). Averaging first removes that fine detail (a blur), so what is left can be
# sampled every 4 pixels without creating false patterns.
#
# </details>
