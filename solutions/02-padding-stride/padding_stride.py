# %% [markdown]
# # Assignment 02 — Padding, stride and dilation
#
# In assignment 01 every convolution was *valid* (the kernel stays inside the image) and moved one
# pixel at a time. The convolution layers of real networks have three more settings, and they
# decide almost everything about a layer's geometry:
#
# - **padding**: how many rows and columns of zeros go around the input before the kernel slides;
# - **stride**: how many pixels the kernel moves between two outputs;
# - **dilation**: how far apart the kernel's taps are spread over the input.
#
# Together they fix the size of the output, how much of the input each output "sees" (its
# *receptive field*), and how much work the layer does. This notebook takes them one at a time,
# then puts them together in the convolution layer you will write.
#
# **When you have finished you will be able to**
#
# 1. explain why a valid convolution shrinks its input and under-uses the border, and pad an image
#    with zeros in the three ways the course (and PyTorch) writes padding;
# 2. give the padding of a *valid*, a *same* and a *full* convolution, for odd and even kernels;
# 3. compute a layer's output size from the input size, kernel size, padding, stride and dilation,
#    and say why the formula rounds down;
# 4. write a convolution layer with stride, padding and dilation;
# 5. follow the receptive field through a stack of layers, and explain why networks stack small
#    kernels and use dilated ones.
#
# **How this works.** As in assignment 01: each function you write lives in a cell of its own,
# marked `# YOUR CODE HERE`. Replace `raise NotImplementedError()` with your code and run the cell.
# The cell after it runs a few *visible checks*; when your notebook is graded, more checks on inputs
# you have not seen decide the score. Section 5 has an interactive explorer: change the sizes with
# the sliders and watch the window move.
#
# **The rules.** Use NumPy only: no `cnnkit`, `scipy.signal`, `scipy.ndimage` or PyTorch inside
# your functions. `np.pad` is allowed (giving it the right arguments is part of the exercise), and
# so are your own functions from earlier cells. Loops are fine.

# %%
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook
from matplotlib.patches import Rectangle

from cnnkit import reference  # the course's own implementations: used for the figures only
from cnnkit.plot import draw_grid  # small arrays drawn as tables of numbers
from cnnkit.checks import for_assignment

checks = for_assignment("02")  # the visible checks of this assignment: checks.check(name, function)

np.set_printoptions(precision=3, suppress=True)


# %% [markdown]
# ## 1. Why pad?
#
# A valid convolution with a $k \times k$ kernel turns an $H \times W$ image into an
# $(H - k + 1) \times (W - k + 1)$ one. That has two costs.
#
# - **Shrinking.** Every layer loses $k - 1$ rows and columns. Ten $3 \times 3$ layers take a
#   $32 \times 32$ image down to $12 \times 12$, and a deep network would run out of image.
# - **Neglected borders.** A pixel in the middle lies under $k^2$ of the kernel's positions; a corner
#   pixel lies under exactly one. Whatever happens at the edge of the image counts much less.
#
# The cell below counts, for a $7 \times 7$ image and a $3 \times 3$ kernel, how many windows cover
# each pixel. (The count is the full convolution of a block of ones the size of the output with a
# block of ones the size of the kernel — every window drops a $3 \times 3$ block of ones onto the
# pixels it covers, as in assignment 01.)

# %%
def coverage(size, k, pad):
    """How many k x k windows cover each pixel of a size x size image padded by `pad` (padding cut off)."""
    out = size + 2 * pad - k + 1
    counts = reference.convolve2d(np.ones((out, out)), np.ones((k, k)), mode="full")
    return counts[pad:pad + size, pad:pad + size]


fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
for ax, pad in zip(axes, (0, 1)):
    draw_grid(ax, coverage(7, 3, pad), f"windows covering each pixel, padding {pad}", fontsize=11)
plt.show()

# %% [markdown]
# With no padding the corners are read once and the centre nine times. **Zero padding** fixes both
# problems: surround the image with rows and columns of zeros, then slide the kernel over the
# bigger array. With one ring of zeros around the $7 \times 7$ image, every pixel is covered by at
# least four windows, and the output is $7 \times 7$ again.
#
# Padding an image of shape $(H, W)$ by $t$ rows at the top, $b$ at the bottom, $l$ columns on the
# left and $r$ on the right gives an array of shape $(H + t + b,\; W + l + r)$ with
#
# $$ x_{\text{pad}}[i + t,\; j + l] = x[i, j], \qquad \text{and zeros everywhere else.} $$
#
# The course writes `padding` three ways, like PyTorch:
#
# | `padding` | top, bottom | left, right |
# | --- | --- | --- |
# | an int `p` | `p`, `p` | `p`, `p` |
# | a pair `(ph, pw)` | `ph`, `ph` | `pw`, `pw` |
# | four sides `(left, right, top, bottom)` | `top`, `bottom` | `left`, `right` |
#
# The four-sided form is the one of `torch.nn.functional.pad`: it lists (before, after) pairs
# starting from the **last** axis, so the width comes first. Only the last two axes are padded. A
# batch of images has shape $(N, C, H, W)$; padding the batch or the channel axis would invent empty
# images or empty channels, which is never what a convolution wants.
#
# ### Worked example
#
# `np.pad` takes one `(before, after)` pair per axis. Here is a $3 \times 3$ image with one ring
# of zeros, a $2 \times 3$ image with `padding=(1, 2)`, and the same image with four sides
# `(1, 0, 2, 0)`: one column on the left, two rows on top.

# %%
x33 = np.arange(1, 10).reshape(3, 3)
x23 = np.arange(1, 7).reshape(2, 3)
print("padding=1:\n", np.pad(x33, [(1, 1), (1, 1)]))
print("padding=(1, 2): 1 row above and below, 2 columns left and right:\n", np.pad(x23, [(1, 1), (2, 2)]))
print("padding=(1, 0, 2, 0): left 1, right 0, top 2, bottom 0:\n", np.pad(x23, [(2, 0), (1, 0)]))
batch = np.ones((2, 3, 2, 3))                       # (N, C, H, W)
print("a batch of shape", batch.shape, "padded by 1 ->", np.pad(batch, [(0, 0), (0, 0), (1, 1), (1, 1)]).shape)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
for ax, (x, (l, r, t, b), title) in zip(axes, [(x33, (1, 1, 1, 1), "padding=1"),
                                                (x23, (2, 2, 1, 1), "padding=(1, 2)"),
                                                (x23, (1, 0, 2, 0), "padding=(1, 0, 2, 0)")]):
    xp = np.pad(x, [(t, b), (l, r)])
    inside = np.zeros(xp.shape, dtype=bool)
    inside[t:t + x.shape[0], l:l + x.shape[1]] = True
    draw_grid(ax, xp, f"{title}: {x.shape} -> {xp.shape}", shade=~inside, fontsize=11)
plt.show()

# %% [markdown]
# ### Your turn: `pad2d`
#
# Write `pad2d(x, padding)`: zero padding of the **last two axes** of an array of shape
# `(..., H, W)` — a single image `(H, W)`, a stack of channels `(C, H, W)` or a batch
# `(N, C, H, W)`. `padding` is an int, a pair `(ph, pw)` or four sides `(left, right, top, bottom)`,
# all non-negative. The result has the dtype of `x`, and `x` itself is left unchanged.

# %% nbgrader={"grade": false, "grade_id": "pad2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pad2d(x, padding):
    """Zero-pad the last two axes of x: padding is p, (ph, pw) or (left, right, top, bottom)."""
    ### BEGIN SOLUTION
    x = np.asarray(x)
    if np.ndim(padding) == 0:
        left = right = top = bottom = int(padding)
    elif len(padding) == 2:
        top = bottom = padding[0]
        left = right = padding[1]
    else:
        left, right, top, bottom = padding
    H, W = x.shape[-2:]
    y = np.zeros(x.shape[:-2] + (H + top + bottom, W + left + right), dtype=x.dtype)
    y[..., top:top + H, left:left + W] = x      # the image in the middle, zeros around it
    return y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "pad2d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("pad2d", pad2d)

# %% nbgrader={"grade": true, "grade_id": "pad2d_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("pad2d", pad2d)
### BEGIN HIDDEN TESTS
checks.check("pad2d", pad2d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Valid, same and full
#
# With padding $p$ on both sides, an image of $H$ rows becomes $H + 2p$, and a $k$-row kernel fits
# in $H + 2p - k + 1$ positions. Three choices of $p$ have names:
#
# | mode | padding on each side | output size | what it keeps |
# | --- | --- | --- | --- |
# | **valid** | $0$ | $H - k + 1$ | only windows entirely inside the image |
# | **same** | $(k - 1)/2$ | $H$ | the input's size |
# | **full** | $k - 1$ | $H + k - 1$ | every window that overlaps the image at all |
#
# *Same* needs $k - 1$ zeros in all. For an odd kernel that is $(k-1)/2$ on each side: one ring for
# $3 \times 3$, two for $5 \times 5$. For an **even** kernel $k - 1$ is odd and cannot be split
# evenly; the convention (PyTorch's, and the course's) puts $\lfloor (k-1)/2 \rfloor$ at the top
# and left and the extra row and column at the bottom and right. *Full* is the full mode of
# assignment 01: the kernel slides in from outside and out again.
#
# ### Worked example
#
# A $7 \times 7$ image through a $3 \times 3$ and a $4 \times 4$ kernel in the three modes. The last
# line checks that full mode really is assignment 01's: a cross-correlation padded by $k - 1$
# equals `correlate2d(..., mode="full")`.

# %%
image = np.random.default_rng(0).standard_normal((1, 1, 7, 7))
for k in (3, 4):
    kernel = np.ones((1, 1, k, k))
    same = reference.conv2d(image, kernel, padding="same").shape[2:]
    valid = reference.conv2d(image, kernel, padding="valid").shape[2:]
    full = reference.conv2d(image, kernel, padding=k - 1).shape[2:]
    print(f"k = {k}: valid {valid}, same {same}, full {full}")
print("full mode is padding k - 1:",
      np.allclose(reference.conv2d(image, np.ones((1, 1, 3, 3)), padding=2)[0, 0],
                  reference.correlate2d(image[0, 0], np.ones((3, 3)), mode="full")))

# %% [markdown]
# The same three modes on a picture: a $7 \times 7$ binary image (a square with a bar, as in
# assignment 01) through the vertical-edge kernel. *Valid* loses a row and a column on every side;
# *same* keeps the $7 \times 7$ grid, so the response lines up pixel for pixel with the image;
# *full* grows by two, and its outer ring holds the positions where the kernel only partly covers
# the image.

# %%
binary = np.zeros((7, 7))
binary[1:4, 1:4] = 1
binary[4:6, 3] = 1
edge = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=float)

fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
axes[0].imshow(binary, cmap="Greys")
axes[0].set_title("7×7 binary image")
for ax, (mode, pad) in zip(axes[1:], [("valid", 0), ("same", 1), ("full", 2)]):
    out = reference.conv2d(binary[None, None], edge[None, None], padding=pad)[0, 0]
    ax.imshow(out, cmap="RdBu_r", vmin=-3, vmax=3)
    ax.set_title(f"{mode}: padding {pad}, output {out.shape[0]}×{out.shape[1]}")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 3. Stride
#
# With **stride** $s$ the kernel moves $s$ pixels between two outputs. Output $i$ reads the window
# that starts at row $i \cdot s$ of the padded input:
#
# $$ y[i, j] = \sum_{p=0}^{k_H-1} \sum_{q=0}^{k_W-1} x_{\text{pad}}[i s + p,\; j s + q]\; k[p, q]. $$
#
# The windows start at $0, s, 2s, \dots$, and a window must fit inside the padded input:
# $i s + k - 1 \le H + 2p - 1$. The number of outputs is therefore
#
# $$ H_{\text{out}} = \left\lfloor \frac{H + 2p - k}{s} \right\rfloor + 1. $$
#
# The division **rounds down**: a window that would hang over the end of the padded input is not
# computed, and the last rows of the input may never be read at all.
#
# ### Worked example
#
# $H = 8$, $k = 3$, $p = 1$, $s = 2$: the padded input has 10 pixels (0 to 9). Windows start at
# 0, 2, 4 and 6; one starting at 8 would need pixels 8, 9 and 10, and there is no pixel 10. So
# $H_{\text{out}} = \lfloor 7/2 \rfloor + 1 = 4$. Rounding up would give 5, one window too many.

# %%
H, k, p, s = 8, 3, 1, 2
starts = list(range(0, H + 2 * p - k + 1, s))
print("window starts:", starts, "-> H_out =", len(starts), "= floor((H + 2p - k) / s) + 1 =", (H + 2 * p - k) // s + 1)

fig, ax = plt.subplots(figsize=(10, 2.6))
for c in range(H + 2 * p):
    padding_cell = c < p or c >= H + p
    ax.add_patch(Rectangle((c, 0), 1, 1, facecolor="0.85" if padding_cell else "white", edgecolor="0.4"))
    ax.text(c + 0.5, 0.5, "0" if padding_cell else f"x{c - p}", ha="center", va="center")
for n, st in enumerate(starts + [starts[-1] + s]):
    fits = st + k <= H + 2 * p
    ax.add_patch(Rectangle((st + 0.08, 1.15 + 0.35 * n), k - 0.16, 0.25, facecolor="tab:blue" if fits else "none",
                           edgecolor="tab:blue" if fits else "tab:red", ls="-" if fits else "--", alpha=0.7))
    ax.text(st + k + 0.1, 1.27 + 0.35 * n, f"y[{n}]" if fits else "hangs over the end: not computed",
            va="center", fontsize=9, color="black" if fits else "tab:red")
ax.set_xlim(-0.2, H + 2 * p + 5)
ax.set_ylim(-0.1, 1.3 + 0.35 * (len(starts) + 1))
ax.axis("off")
ax.set_title("H = 8, padding 1, kernel 3, stride 2: four windows")
plt.show()

# %% [markdown]
# A strided convolution computes exactly every $s$-th output of the stride-1 convolution, so it is a
# convolution followed by **subsampling** — at $1/s^2$ of the cost, since the skipped outputs are
# never computed. Networks use it to shrink feature maps, the way pooling does (assignment 03).

# %%
x_demo = np.random.default_rng(1).standard_normal((1, 2, 9, 11))
w_demo = np.random.default_rng(2).standard_normal((3, 2, 3, 3))
strided = reference.conv2d(x_demo, w_demo, stride=2, padding=1)
every_other = reference.conv2d(x_demo, w_demo, stride=1, padding=1)[:, :, ::2, ::2]
print(strided.shape, "== stride-1 output[::2, ::2]:", np.allclose(strided, every_other))

# %% [markdown]
# On a photograph: the edge kernel at strides 1, 2 and 4. Each doubling of the stride halves the
# height and the width of the output.

# %%
with cbook.get_sample_data("grace_hopper.jpg") as f:
    grey = plt.imread(f).astype(float).mean(axis=2)[None, None] / 255    # (1, 1, 600, 512)
sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float)[None, None]

fig, axes = plt.subplots(1, 4, figsize=(14, 4))
axes[0].imshow(grey[0, 0], cmap="gray")
axes[0].set_title(f"photograph {grey.shape[2:]}")
for ax, stride in zip(axes[1:], (1, 2, 4)):
    out = np.abs(reference.conv2d(grey, sobel, stride=stride, padding=1)[0, 0])
    ax.imshow(out, cmap="gray", vmax=np.percentile(out, 99))
    ax.set_title(f"stride {stride}: {out.shape}")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Dilation
#
# A **dilated** kernel spreads its $k$ taps $d$ pixels apart, leaving $d - 1$ pixels out between
# neighbouring taps:
#
# $$ y[i, j] = \sum_{p, q} x_{\text{pad}}[i s + p\,d,\; j s + q\,d]\; k[p, q]. $$
#
# With $d = 1$ this is the ordinary convolution. A $3 \times 3$ kernel with $d = 2$ covers a
# $5 \times 5$ patch with its 9 weights; in general the kernel spans
#
# $$ d\,(k - 1) + 1 \text{ pixels} $$
#
# (the first tap, then $k - 1$ steps of $d$). It is the same as an ordinary convolution with a
# bigger kernel that has zeros between the weights — but without storing or multiplying the zeros.
# Dilated convolutions see far with few weights and without shrinking the image, which is why
# segmentation networks and audio models (WaveNet) use them.
#
# Putting everything together, the size of a convolution's output along one axis is
#
# $$ \boxed{\; H_{\text{out}} = \left\lfloor \frac{H + 2p - d\,(k - 1) - 1}{s} \right\rfloor + 1 \;} $$
#
# the formula of `torch.nn.Conv2d`'s documentation. With $d = 1$ it is the formula of section 3
# ($d(k-1) + 1 = k$).
#
# ### Worked example
#
# A $3 \times 3$ kernel with $d = 2$ on a $7 \times 7$ image, no padding, stride 1: the kernel spans
# $2 \cdot 2 + 1 = 5$ pixels, so $H_{\text{out}} = 7 - 5 + 1 = 3$. The cell checks that the dilated
# convolution equals an ordinary one with the $5 \times 5$ "holey" kernel.

# %%
k3 = np.array([[1, 2, 0], [0, 1, -1], [-1, 0, 1]], dtype=float)
holey = np.zeros((5, 5))
holey[::2, ::2] = k3                   # the taps 2 apart, zeros in between
print("the 5x5 kernel with holes:\n", holey)
x7 = np.arange(49, dtype=float).reshape(1, 1, 7, 7) % 5
dilated = reference.conv2d(x7, k3[None, None], dilation=2)
print("dilated output", dilated.shape, "== ordinary convolution with the holey kernel:",
      np.allclose(dilated, reference.conv2d(x7, holey[None, None])))

fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
for ax, d in zip(axes, (1, 2, 3)):
    span = d * 2 + 1
    taps = [((1 + p * d, 1 + q * d), (1, 1), "tab:orange") for p in range(3) for q in range(3)]
    cells = np.zeros((span + 2, span + 2))
    draw_grid(ax, cells, f"3×3 kernel, dilation {d}: spans {span}×{span}", shade=cells > 0, boxes=taps, numbers=False,
              alpha=0.45)
plt.show()

# %% [markdown]
# Some networks to try the formula on:
#
# | layer | $H$ | $k$ | $s$ | $p$ | $d$ | $H_{\text{out}}$ |
# | --- | --- | --- | --- | --- | --- | --- |
# | LeNet-5, first convolution | 32 | 5 | 1 | 0 | 1 | 28 |
# | AlexNet, first convolution | 227 | 11 | 4 | 0 | 1 | 55 |
# | VGG, every convolution | 224 | 3 | 1 | 1 | 1 | 224 |
# | ResNet, first convolution | 224 | 7 | 2 | 3 | 1 | 112 |
# | a dilated 3×3 layer | 64 | 3 | 1 | 2 | 2 | 64 |
#
# AlexNet's paper speaks of $224 \times 224$ inputs, but $\lfloor (224 - 11)/4 \rfloor + 1 = 54$,
# not the 55 of its figures; with $227 \times 227$ the arithmetic works out. The formula is a quick
# way to catch such slips.
#
# ### Your turn: `conv_output_size`
#
# Write `conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1)`, the boxed formula.
# It returns a Python `int` (a size, ready for `np.zeros`). Two more forms, as in PyTorch:
#
# - `padding` may be `"valid"` (no padding) or `"same"` (the output has the input's size; it only
#   exists for stride 1, which you may assume);
# - `size` may be a pair `(H, W)`, and then `kernel_size`, `stride`, `padding` and `dilation` are
#   each either one value for both axes or a pair; the result is the pair `(H_out, W_out)`.

# %% nbgrader={"grade": false, "grade_id": "conv_output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1, per axis for pairs."""
    ### BEGIN SOLUTION
    if isinstance(size, (tuple, list)):
        both = lambda v: v if isinstance(v, (tuple, list)) else (v, v)
        return tuple(conv_output_size(*axis) for axis in zip(size, both(kernel_size), both(stride),
                                                             both(padding), both(dilation)))
    if padding == "same":
        return int(size)
    if padding == "valid":
        padding = 0
    span = dilation * (kernel_size - 1) + 1       # the pixels the dilated kernel covers
    return (size + 2 * padding - span) // stride + 1
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "conv_output_size_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("conv_output_size", conv_output_size)

# %% nbgrader={"grade": true, "grade_id": "conv_output_size_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("conv_output_size", conv_output_size)
### BEGIN HIDDEN TESTS
checks.check("conv_output_size", conv_output_size, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The convolution layer, with every option
#
# The layer of assignment 01 gains its three settings. For a batch $x$ of shape $(N, C, H, W)$,
# weights $w$ of shape $(C_{out}, C, k_H, k_W)$ and a bias $b$ of shape $(C_{out},)$: pad $x$ to
# $x_{\text{pad}}$, then
#
# $$ y[n, o, i, j] = b[o] + \sum_{c=0}^{C-1} \sum_{p=0}^{k_H-1} \sum_{q=0}^{k_W-1}
#    x_{\text{pad}}[n, c,\; i\,s_H + p\,d_H,\; j\,s_W + q\,d_W]\; w[o, c, p, q], $$
#
# for $0 \le i < H_{\text{out}}$ and $0 \le j < W_{\text{out}}$ given by the formula of section 4,
# each axis with its own stride $s$, padding and dilation $d$. **The stride multiplies the output
# index** $i$ (where the window starts); **the dilation multiplies the kernel index** $p$ (where the
# taps are inside the window). Mixing the two up is the most common mistake in this assignment.
#
# ### The explorer
#
# Change the input size, the kernel, the padding, the stride and the dilation, and pick an output
# position $(i, j)$. The left panel shows the padded input (padding in grey) with the taps that
# output reads in orange; the right panel shows the output, with $(i, j)$ in blue, and the sum that
# gives it. The input is a fixed pattern of small integers and the kernel is the top-left corner of
# a fixed $5 \times 5$ kernel (its $3 \times 3$ corner is the kernel of section 4), so you can check
# the arithmetic by hand. The next cell draws it once, for the worked example of section 3 in two
# dimensions ($8 \times 8$ pixels, padding 1, stride 2); the cell after it makes the interactive
# version, with sliders (run the notebook in Jupyter to use them).

# %%
EXPLORER_KERNEL = np.array([[1, 2, 0, 1, -1], [0, 1, -1, 2, 0], [-1, 0, 1, 0, 2],
                            [2, -1, 0, 1, 0], [0, 1, 2, -1, 1]], dtype=float)


def explore(H=8, W=8, kernel_h=3, kernel_w=3, padding=1, stride=2, dilation=1, i=1, j=2):
    """Draw the padded input, the taps read by output (i, j), and the output, for these settings."""
    x = ((np.arange(H * W).reshape(H, W) * 7) % 10).astype(float)      # a fixed pattern of 0..9
    w = EXPLORER_KERNEL[:kernel_h, :kernel_w]
    d = dilation
    if padding == "full":
        pads = ((d * (kernel_h - 1),) * 2, (d * (kernel_w - 1),) * 2)
    elif padding == "same":
        pads = tuple((t // 2, t - t // 2) for t in (d * (kernel_h - 1), d * (kernel_w - 1)))
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    else:
        pads = ((padding, padding), (padding, padding))
    (top, bottom), (left, right) = pads
    xp = np.pad(x, pads)
    inside = np.zeros(xp.shape, dtype=bool)
    inside[top:top + H, left:left + W] = True
    span_h, span_w = d * (kernel_h - 1) + 1, d * (kernel_w - 1) + 1
    H_out = (xp.shape[0] - span_h) // stride + 1
    W_out = (xp.shape[1] - span_w) // stride + 1
    formula = (f"H_out = floor(({H} + {top + bottom} - {d}·({kernel_h} - 1) - 1) / {stride}) + 1 = {H_out},   "
               f"W_out = floor(({W} + {left + right} - {d}·({kernel_w} - 1) - 1) / {stride}) + 1 = {W_out}")

    fig, axes = plt.subplots(1, 3, figsize=(11, 4.4),
                             gridspec_kw={"width_ratios": [xp.shape[1], kernel_w + 1, max(W_out, 3)]})
    draw_grid(axes[1], w, f"kernel {kernel_h}×{kernel_w}, dilation {d}", fontsize=10)
    small = xp.size <= 400
    if padding == "same" and stride != 1:
        problem = "'same' padding is defined for stride 1 only"
    elif H_out < 1 or W_out < 1:
        problem = f"the dilated kernel ({span_h}×{span_w}) is larger than the padded input {xp.shape}: no output"
    else:
        problem = None
    if problem:
        draw_grid(axes[0], xp, f"padded input {xp.shape}", shade=~inside, numbers=small, fontsize=8)
        axes[2].axis("off")
        fig.suptitle(f"{problem}\n{formula}", color="tab:red", fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.92))
        plt.show()
        return
    i, j = min(i, H_out - 1), min(j, W_out - 1)              # the sliders may point past the output
    taps = [(i * stride + p * d, j * stride + q * d) for p in range(kernel_h) for q in range(kernel_w)]
    y = reference.conv2d(xp[None, None], w[None, None], stride=stride, dilation=d)[0, 0]
    draw_grid(axes[0], xp, f"padded input {xp.shape}\norange: the taps of y[{i}, {j}]",
              shade=~inside, boxes=[((r, c), (1, 1), "tab:orange") for r, c in taps], numbers=small, fontsize=8,
              alpha=0.45)
    draw_grid(axes[2], y, f"output {H_out}×{W_out}", boxes=[((i, j), (1, 1), "gold" if y.size > 144 else "tab:blue")],
              numbers=y.size <= 144, fontsize=9, alpha=0.45)
    num = lambda v: f"{v:g}" if v >= 0 else f"({v:g})"
    terms = " + ".join(f"{num(xp[r, c])}·{num(w[p, q])}" for (r, c), (p, q) in zip(taps, np.ndindex(w.shape))
                       if w[p, q] != 0)
    fig.suptitle(formula, fontsize=10)
    fig.text(0.5, 0.02, f"y[{i}, {j}] = {terms} = {y[i, j]:g}   (taps with weight 0 left out)",
             ha="center", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    plt.show()


explore()   # the worked example of section 3, in two dimensions

# %%
widgets.interact(
    explore,
    H=widgets.IntSlider(8, 3, 12, description="H"),
    W=widgets.IntSlider(8, 3, 12, description="W"),
    kernel_h=widgets.IntSlider(3, 1, 5, description="kernel H"),
    kernel_w=widgets.IntSlider(3, 1, 5, description="kernel W"),
    padding=widgets.Dropdown(options=[0, 1, 2, 3, "valid", "same", "full"], value=1, description="padding"),
    stride=widgets.IntSlider(2, 1, 4, description="stride"),
    dilation=widgets.IntSlider(1, 1, 3, description="dilation"),
    i=widgets.IntSlider(1, 0, 11, description="output i"),
    j=widgets.IntSlider(2, 0, 11, description="output j"),
);

# %% [markdown]
# Things to try: set the stride to 1 and the padding to `"same"` and move $(i, j)$ to a corner —
# five of the nine taps fall on zeros. Choose an even kernel with `"same"` and see the extra row and column
# go to the bottom and right. Set $H = 9$, kernel 3, padding 0, stride 2 and then $H = 10$: the
# output size does not change, and in the second case the last row is never read. Raise the
# dilation and watch the taps spread while the number of weights stays the same.
#
# ### Your turn: `conv2d`
#
# Write `conv2d(x, w, b=None, stride=1, padding=0, dilation=1)`, the layer above: `x` of shape
# `(N, C, H, W)`, `w` of shape `(C_out, C, kH, kW)`, `b` of shape `(C_out,)` or `None`. `stride` and
# `dilation` are an int or a pair `(for H, for W)`; `padding` is an int, a pair, `"valid"` or
# `"same"` (stride 1 only; for an even total the extra row and column go at the bottom and right).
# It returns `(N, C_out, H_out, W_out)`, float32 for float32 inputs, and leaves its inputs unchanged.
#
# *Hint.* Pad with your `pad2d` (padding `"same"` means $d(k-1)$ zeros in all, split as above) and
# get the output size from your `conv_output_size`. Then loop over the kernel's taps $(p, q)$: the
# pixels that tap $(p, q)$ reads for *every* output at once are the slice
# `xp[:, :, p*dH : p*dH + sH*(H_out - 1) + 1 : sH, q*dW : q*dW + sW*(W_out - 1) + 1 : sW]`, of shape
# `(N, C, H_out, W_out)`; weight it by `w[:, :, p, q]` (`np.einsum` does the channel sum) and add.

# %% nbgrader={"grade": false, "grade_id": "conv2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """Convolution layer (cross-correlation) with stride, zero padding and dilation."""
    ### BEGIN SOLUTION
    x, w = np.asarray(x), np.asarray(w)
    dtype = np.result_type(x, w, 1.0)
    kH, kW = w.shape[2:]
    (sH, sW), (dH, dW) = [(v, v) if np.ndim(v) == 0 else tuple(v) for v in (stride, dilation)]
    if padding == "same":
        total_h, total_w = dH * (kH - 1), dW * (kW - 1)
        sides = (total_w // 2, total_w - total_w // 2, total_h // 2, total_h - total_h // 2)
    elif padding == "valid":
        sides = 0
    else:
        sides = padding
    xp = pad2d(x, sides)
    H_out, W_out = conv_output_size(xp.shape[2:], (kH, kW), (sH, sW), 0, (dH, dW))
    y = np.zeros((x.shape[0], w.shape[0], H_out, W_out), dtype=dtype)
    for p in range(kH):
        for q in range(kW):
            # what tap (p, q) reads for every output position: rows p*dH, p*dH + sH, ...
            patch = xp[:, :, p * dH:p * dH + sH * (H_out - 1) + 1:sH, q * dW:q * dW + sW * (W_out - 1) + 1:sW]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, p, q])
    if b is not None:
        y += np.asarray(b, dtype=dtype)[None, :, None, None]
    return y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "conv2d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("conv2d", conv2d)

# %% nbgrader={"grade": true, "grade_id": "conv2d_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
checks.check("conv2d", conv2d)
### BEGIN HIDDEN TESTS
checks.check("conv2d", conv2d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Receptive fields through layers
#
# The **receptive field** of an output pixel is the patch of the network's *input* that can change
# it. One $k \times k$ layer with stride 1 has a receptive field of $k \times k$. Stacking layers
# grows it: each layer adds $k - 1$ of *its own input's* pixels, and after a stride those pixels are
# further apart in the original image. Along one axis, with $r_0 = 1$ and $j_0 = 1$ (the input pixel
# itself, and the distance between neighbouring input pixels):
#
# $$ r_l = r_{l-1} + d_l\,(k_l - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l, $$
#
# where $j_l$, the *jump*, is how many input pixels apart two neighbouring outputs of layer $l$
# are. (A pooling layer counts as a layer with its own kernel and stride.)
#
# ### Worked example
#
# Three stacks, computed with the recurrence:
#
# - three $3 \times 3$ convolutions: $r = 3, 5, 7$ — the receptive field of one $7 \times 7$ layer,
#   with $3 \cdot 9 = 27$ weights per channel pair instead of 49, and three nonlinearities instead of
#   one. This is the argument of the VGG networks for using $3 \times 3$ kernels only;
# - LeNet-5's front: a $5 \times 5$ convolution, $2 \times 2$ pooling with stride 2, again both:
#   $r = 5, 6, 14, 16$;
# - three $3 \times 3$ convolutions with dilations 1, 2, 4: $r = 3, 7, 15$ — exponential growth with
#   the same 27 weights.

# %%
def receptive_fields(layers):
    """[(r, jump)] after each layer of a stack given as (kernel, stride, dilation) triples."""
    r, jump, out = 1, 1, []
    for k, s, d in layers:
        r, jump = r + d * (k - 1) * jump, jump * s
        out.append((r, jump))
    return out


stacks = {"three 3×3": [(3, 1, 1)] * 3,
          "LeNet-5: conv 5, pool 2, conv 5, pool 2": [(5, 1, 1), (2, 2, 1), (5, 1, 1), (2, 2, 1)],
          "3×3 with dilation 1, 2, 4": [(3, 1, 1), (3, 1, 2), (3, 1, 4)]}
for name, layers in stacks.items():
    print(f"{name:42s} receptive fields {[r for r, _ in receptive_fields(layers)]}, "
          f"jumps {[j for _, j in receptive_fields(layers)]}")

# %% [markdown]
# The recurrence can be checked without any formula: give every layer a kernel of ones, ask which
# input pixels the centre output depends on, and count along how many paths. The gradient of the
# centre output with respect to the input answers both questions (assignment 04 derives
# `conv2d_backward`; here it is simply used). Its non-zero part is the receptive field, and its
# values show that the middle of the field, reached by many more paths, weighs much more than its
# edge. With dilations 2, 2, 2 instead of 1, 2, 4 the field has holes: dilations have to be chosen
# so that the taps of the later layers fall between those of the earlier ones.

# %%
def influence(layers, size=41):
    """How many paths lead from each input pixel to the centre output of a stack of all-ones kernels."""
    xs, ws = [np.zeros((1, 1, size, size))], []
    for k, s, d in layers:
        ws.append(np.ones((1, 1, k, k)))
        xs.append(reference.conv2d(xs[-1], ws[-1], stride=s, dilation=d))
    grad = np.zeros_like(xs[-1])
    grad[0, 0, grad.shape[2] // 2, grad.shape[3] // 2] = 1
    for (k, s, d), w, x in reversed(list(zip(layers, ws, xs[:-1]))):
        grad, _, _ = reference.conv2d_backward(grad, x, w, stride=s, dilation=d)
    return grad[0, 0]


fig, axes = plt.subplots(1, 4, figsize=(11, 3.4))
for ax, (name, layers) in zip(axes, list(stacks.items()) + [("3×3 with dilation 2, 2, 2", [(3, 1, 2)] * 3)]):
    g = influence(layers)
    rows = np.flatnonzero(g.any(axis=1))
    extent = rows[-1] - rows[0] + 1
    ax.imshow(g[10:-10, 10:-10], cmap="magma")          # the middle 21×21 of the 41×41 input
    ax.set_title(f"{name}\nreceptive field {extent}×{extent}", fontsize=10)
    ax.axis("off")
    if name in stacks:
        assert extent == receptive_fields(layers)[-1][0]
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 7. Check your understanding
#
# Try each question before opening its answer.
#
# 1. A $32 \times 32$ image goes through a $5 \times 5$ convolution with padding 2. What size is the
#    output at stride 1? At stride 2?
#
# <details><summary>Answer</summary>
#
# At stride 1, $32 + 4 - 5 + 1 = 32$: padding 2 is "same" for a $5 \times 5$ kernel. At stride 2,
# $\lfloor (32 + 4 - 5)/2 \rfloor + 1 = \lfloor 15.5 \rfloor + 1 = 16$.
#
# </details>
#
# 2. What padding keeps the size of the image for a $3 \times 3$ kernel with dilation 2? For a
#    $4 \times 4$ kernel with dilation 1?
#
# <details><summary>Answer</summary>
#
# The dilated $3 \times 3$ kernel spans $2 \cdot 2 + 1 = 5$ pixels, so it needs $d(k-1) = 4$ zeros
# in all: 2 on each side. The $4 \times 4$ kernel needs 3 in all, which does not split evenly: 1 at
# the top and left, 2 at the bottom and right.
#
# </details>
#
# 3. An image of 9 pixels goes through a 3-pixel kernel with stride 2 and no padding, and another of
#    10 pixels through the same layer. How many outputs does each give, and what happens to the
#    tenth pixel?
#
# <details><summary>Answer</summary>
#
# Both give $\lfloor 6/2 \rfloor + 1 = \lfloor 7/2 \rfloor + 1 = 4$ outputs, with windows starting at
# 0, 2, 4 and 6 and covering pixels 0 to 8. The tenth pixel (index 9) is never read: the floor in
# the formula drops the window that would need a pixel 10.
#
# </details>
#
# 4. What is the difference between the stride and the dilation, when both are 2?
#
# <details><summary>Answer</summary>
#
# The stride spaces the *windows*: neighbouring outputs start 2 pixels apart, so the output is
# about half the size. The dilation spaces the *taps* within one window: the kernel covers a larger
# patch with gaps, and the output keeps (nearly) its size. In the formula, the stride multiplies the
# output index $i$, the dilation the kernel index $p$: $x_{\text{pad}}[i s + p d]$.
#
# </details>
#
# 5. Two $3 \times 3$ convolutions, the first with stride 2: what is the receptive field of an
#    output of the second? What if the stride is in the second layer instead?
#
# <details><summary>Answer</summary>
#
# Stride first: $r_1 = 3$, $j_1 = 2$, then $r_2 = 3 + 2 \cdot 2 = 7$. Stride second: $r_1 = 3$,
# $j_1 = 1$, $r_2 = 3 + 2 \cdot 1 = 5$. A stride enlarges the receptive field of every later layer,
# not of its own.
#
# </details>
#
# 6. What does a $1 \times 1$ convolution with stride 2 compute? Where have you seen one?
#
# <details><summary>Answer</summary>
#
# Every other pixel of every other row, with its channel vector multiplied by the layer's
# $C_{out} \times C$ matrix: a subsampling combined with a change in the number of channels. ResNets
# use it on the shortcut path of a block that halves the resolution and changes the number of
# channels, so that the shortcut matches the block's output.
#
# </details>
#
# 7. Why would a segmentation network use dilated $3 \times 3$ convolutions rather than strided ones
#    or $7 \times 7$ kernels?
#
# <details><summary>Answer</summary>
#
# Segmentation needs an answer for every pixel, so the feature maps should keep their resolution
# (no stride), while each output still needs a wide view of the image. Dilation grows the receptive
# field (exponentially, with dilations 1, 2, 4, ...) without reducing the resolution and without
# more weights than a $3 \times 3$ kernel; a $7 \times 7$ kernel would need 49 weights per channel
# pair for a field that three dilated layers reach with 27.
#
# </details>
