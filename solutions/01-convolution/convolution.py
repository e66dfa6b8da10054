# %% [markdown]
# # Assignment 01 — Convolution, from one dimension to a layer
#
# A convolutional network is built from one operation: slide a small array of weights (the
# **kernel** or **filter**) over a bigger array (a signal, an image, a stack of feature maps) and,
# at every position, take the weighted sum of what lies under it. This notebook builds that
# operation up step by step, and you write each step yourself in NumPy.
#
# **When you have finished you will be able to**
#
# 1. compute a 1-D *true convolution* and a 1-D *cross-correlation* by hand and in code, and say
#    how the two differ (the kernel is flipped in one and not in the other);
# 2. give the output size of a *full* and of a *valid* convolution;
# 3. do the same in 2-D, on images, and read what an edge or a blur kernel does to a photograph;
# 4. write the convolution layer of a CNN: a batch of images with several input channels, several
#    output channels, and a bias;
# 5. explain what a 1×1 convolution computes and why networks use it.
#
# **How this works.** Each function you write lives in a cell of its own, marked
# `# YOUR CODE HERE`. Replace `raise NotImplementedError()` with your code and run the cell. The
# cell after it runs a few *visible checks* (`checks.check(...)`): they print one line when your
# function is right and explain what went wrong otherwise. When your notebook is graded, more
# checks on inputs you have not seen decide the score, so make your function right in general,
# not just on the visible examples.
#
# **The rules.** Use NumPy only: no `numpy.convolve`/`numpy.correlate`, no `scipy.signal` or
# `scipy.ndimage`, no `cnnkit` inside your functions — the point is to write them. Loops are
# fine; speed is not graded in this assignment.

# %%
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook

from cnnkit import reference  # the course's own implementations: used for the figures only
from cnnkit.plot import draw_grid  # small arrays drawn as tables of numbers
from cnnkit.checks import for_assignment

checks = for_assignment("01")  # the visible checks of this assignment: checks.check(name, function)

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. Convolution in one dimension
#
# Take a signal $x$ of length $n$ and a kernel $k$ of length $m$ (both indexed from 0). Their
# **(true) convolution** is
#
# $$ y[i] = (x * k)[i] = \sum_{j} x[j]\, k[i - j], $$
#
# where the sum runs over every $j$ for which both $x[j]$ and $k[i-j]$ exist. Read it as: to get
# output $i$, **flip** the kernel (index $i - j$ runs backwards as $j$ runs forwards), slide it so
# that it ends at position $i$, multiply what overlaps, and add.
#
# A second way to see it: every input sample $x[j]$ drops a scaled copy of the whole kernel,
# $x[j]\,k$, into the output starting at position $j$, and the copies add up. (That is also why
# convolving with an *impulse* $[0, 1, 0, 0]$ just copies the kernel, shifted.)
#
# **Full convolution** keeps every position where $x$ and $k$ overlap at all, so the output has
#
# $$ n + m - 1 \text{ samples}. $$
#
# ### Worked example
#
# $x = [1, 2, 3, 4]$ and $k = [5, 6, 7]$, so the output has $4 + 3 - 1 = 6$ samples:
#
# | $i$ | terms $x[j]\,k[i-j]$ | $y[i]$ |
# | --- | --- | --- |
# | 0 | $1\cdot5$ | 5 |
# | 1 | $1\cdot6 + 2\cdot5$ | 16 |
# | 2 | $1\cdot7 + 2\cdot6 + 3\cdot5$ | 34 |
# | 3 | $2\cdot7 + 3\cdot6 + 4\cdot5$ | 52 |
# | 4 | $3\cdot7 + 4\cdot6$ | 45 |
# | 5 | $4\cdot7$ | 28 |
#
# Convolution is exactly **polynomial multiplication**: the coefficients of
# $(1 + 2t + 3t^2 + 4t^3)(5 + 6t + 7t^2)$ are $[5, 16, 34, 52, 45, 28]$. The cell below checks
# the table that way, with NumPy's polynomial module, and also builds the table of all products
# $x[j]\,k[l]$: each output sample is the sum of one anti-diagonal ($j + l = i$).

# %%
x = np.array([1, 2, 3, 4])
k = np.array([5, 6, 7])

products = np.outer(x, k)          # products[j, l] = x[j] * k[l]
print("all products x[j] * k[l]:\n", products)
anti_diagonals = [int(np.trace(products[:, ::-1], offset=len(k) - 1 - i)) for i in range(len(x) + len(k) - 1)]
print("sums of the anti-diagonals:", anti_diagonals)
print("polynomial product:        ", np.polynomial.polynomial.polymul(x, k).astype(int))

# %% [markdown]
# ### Your turn: `convolve1d`
#
# Write `convolve1d(x, k)`, the **full** true convolution of two 1-D arrays. It returns an array
# of length `len(x) + len(k) - 1`. Both arrays have at least one sample, and the kernel may be
# longer than the signal (convolution does not care which is which: $x * k = k * x$).
# Return floating-point numbers: float32 inputs give float32, anything else float64 (multiplying
# by `1.0` in `np.result_type(x, k, 1.0)` gives you that type).

# %% nbgrader={"grade": false, "grade_id": "convolve1d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def convolve1d(x, k):
    """Full 1-D convolution: y[i] = sum_j x[j] * k[i - j], of length len(x) + len(k) - 1."""
    ### BEGIN SOLUTION
    x, k = np.asarray(x), np.asarray(k)
    y = np.zeros(len(x) + len(k) - 1, dtype=np.result_type(x, k, 1.0))
    # every sample of x adds a scaled copy of the kernel, starting at its own position
    for j in range(len(x)):
        y[j:j + len(k)] += x[j] * k
    return y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "convolve1d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("convolve1d", convolve1d)

# %% nbgrader={"grade": true, "grade_id": "convolve1d_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("convolve1d", convolve1d)
### BEGIN HIDDEN TESTS
checks.check("convolve1d", convolve1d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Cross-correlation, and why CNNs use it
#
# **Cross-correlation** slides the kernel *without* flipping it:
#
# $$ y[i] = (x \star k)[i] = \sum_{j=0}^{m-1} x[i + j]\, k[j]. $$
#
# Output $i$ is the dot product of the kernel with the window $x[i], \dots, x[i+m-1]$: it is large
# where the signal looks like the kernel, which makes a kernel a *pattern detector*. Flipping the
# kernel turns one operation into the other:
#
# $$ x \star k = x * \operatorname{flip}(k), \qquad \operatorname{flip}(k)[j] = k[m - 1 - j]. $$
#
# In a CNN the kernel's weights are *learned*, so whether the layer flips them makes no
# difference to what it can represent: a network trained with one would simply learn the flipped
# weights of the other. Deep-learning libraries (PyTorch's `conv2d` included) therefore compute
# cross-correlation and call it "convolution". In this course, a convolution *layer* is a
# cross-correlation too; "true convolution" always means the flipped one.
#
# **Valid** mode keeps only the positions where the kernel lies entirely inside the signal:
#
# $$ n - m + 1 \text{ samples} \quad (m \le n). $$
#
# For the worked example, $[1,2,3,4] \star [5,6,7]$ in valid mode has $4 - 3 + 1 = 2$ samples:
# $1\cdot5 + 2\cdot6 + 3\cdot7 = 38$ and $2\cdot5 + 3\cdot6 + 4\cdot7 = 56$. The same numbers
# come out of true convolution with the flipped kernel $[7, 6, 5]$ — the middle of its full
# result, where the kernel overlaps the signal completely:

# %%
x = np.array([1, 2, 3, 4])
k = np.array([5, 6, 7])
print("windows:", [x[i:i + len(k)].tolist() for i in range(len(x) - len(k) + 1)])
print("x ⋆ k (valid):", [int(x[i:i + len(k)] @ k) for i in range(len(x) - len(k) + 1)])
print("full x * flip(k):", np.polynomial.polynomial.polymul(x, k[::-1]).astype(int),
      "-> the middle two are the valid part")

# %% [markdown]
# ### Your turn: `correlate1d`
#
# Write `correlate1d(x, k)`, the **valid** cross-correlation of two 1-D arrays: an array of length
# `len(x) - len(k) + 1`, where the kernel is never longer than the signal. Same dtype rule as
# before.

# %% nbgrader={"grade": false, "grade_id": "correlate1d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def correlate1d(x, k):
    """Valid 1-D cross-correlation: y[i] = sum_j x[i + j] * k[j], of length len(x) - len(k) + 1."""
    ### BEGIN SOLUTION
    x, k = np.asarray(x), np.asarray(k)
    n, m = len(x), len(k)
    y = np.empty(n - m + 1, dtype=np.result_type(x, k, 1.0))
    for i in range(n - m + 1):
        y[i] = np.dot(x[i:i + m], k)
    return y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "correlate1d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("correlate1d", correlate1d)

# %% nbgrader={"grade": true, "grade_id": "correlate1d_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("correlate1d", correlate1d)
### BEGIN HIDDEN TESTS
checks.check("correlate1d", correlate1d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Two dimensions: images
#
# An image $x$ of size $H \times W$ and a kernel $k$ of size $k_H \times k_W$. The 2-D
# cross-correlation is the same idea with two indices:
#
# $$ y[i, j] = \sum_{p=0}^{k_H-1} \sum_{q=0}^{k_W-1} x[i + p,\, j + q]\; k[p, q]. $$
#
# Put the kernel's top-left corner on pixel $(i, j)$, multiply it element by element with the
# patch under it, and add everything up. In valid mode the output is
#
# $$ (H - k_H + 1) \times (W - k_W + 1). $$
#
# ### Worked example
#
# $x$ is `np.arange(9).reshape(3, 3)` and $k = \begin{bmatrix} 0 & 1 \\ 2 & 3 \end{bmatrix}$.
# The output is $2 \times 2$; its top-left value is
# $0\cdot0 + 1\cdot1 + 3\cdot2 + 4\cdot3 = 19$. The cell below computes all four, one patch at a
# time, and draws the window for the bottom-left output.

# %%
x2 = np.arange(9).reshape(3, 3)
k2 = np.array([[0, 1], [2, 3]])
print("x =\n", x2, "\nk =\n", k2)
for i in range(2):
    for j in range(2):
        patch = x2[i:i + 2, j:j + 2]
        print(f"y[{i}, {j}] = sum of {patch.tolist()} * {k2.tolist()} = {int((patch * k2).sum())}")


# %%
# the sliding window: the kernel over the input at output position (1, 0)
i, j = 1, 0
y2 = np.array([[int((x2[a:a + 2, b:b + 2] * k2).sum()) for b in range(2)] for a in range(2)])
fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
draw_grid(axes[0], x2, "input x (3×3)", boxes=[((i, j), k2.shape, "tab:blue")], fontsize=14)
draw_grid(axes[1], k2, "kernel k (2×2)", boxes=[((0, 0), k2.shape, "tab:blue")], fontsize=14)
draw_grid(axes[2], y2, "output y = x ⋆ k (2×2)", boxes=[((i, j), (1, 1), "tab:orange")], fontsize=14)
fig.suptitle(f"y[{i}, {j}] = 3·0 + 4·1 + 6·2 + 7·3 = {y2[i, j]}")
plt.show()

# %% [markdown]
# ### Your turn: `correlate2d`
#
# Write `correlate2d(x, k)`: the **valid** 2-D cross-correlation of an image `x` of shape
# `(H, W)` with a kernel `k` of shape `(kH, kW)` (never larger than the image in either
# direction). Kernels need not be square or odd-sized. Same dtype rule as before.

# %% nbgrader={"grade": false, "grade_id": "correlate2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def correlate2d(x, k):
    """Valid 2-D cross-correlation: y[i, j] = sum_{p, q} x[i + p, j + q] * k[p, q]."""
    ### BEGIN SOLUTION
    x, k = np.asarray(x), np.asarray(k)
    (H, W), (kH, kW) = x.shape, k.shape
    y = np.empty((H - kH + 1, W - kW + 1), dtype=np.result_type(x, k, 1.0))
    for i in range(H - kH + 1):
        for j in range(W - kW + 1):
            y[i, j] = np.sum(x[i:i + kH, j:j + kW] * k)
    return y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "correlate2d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("correlate2d", correlate2d)

# %% nbgrader={"grade": true, "grade_id": "correlate2d_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("correlate2d", correlate2d)
### BEGIN HIDDEN TESTS
checks.check("correlate2d", correlate2d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. True 2-D convolution
#
# True convolution flips the kernel along **both** axes — a rotation by 180° — before sliding it:
#
# $$ (x * k)[i, j] = \sum_{p, q} x[i + p,\, j + q]\; k[k_H - 1 - p,\; k_W - 1 - q]
#    = \big(x \star \operatorname{rot}_{180}(k)\big)[i, j], $$
#
# where $\operatorname{rot}_{180}(k)$ is `k[::-1, ::-1]`. On the worked example the rotated
# kernel is $\begin{bmatrix} 3 & 2 \\ 1 & 0 \end{bmatrix}$ and the top-left output becomes
# $0\cdot3 + 1\cdot2 + 3\cdot1 + 4\cdot0 = 5$ instead of 19.
#
# For a kernel that is symmetric under that rotation (a box blur, a Gaussian, the Laplacian) the
# two operations agree. For one that is not, they differ, and the difference is easy to see. Take
# a 7×7 binary image — a filled square with a bar hanging from its right column — and the
# vertical-edge filter
#
# $$ k = \begin{bmatrix} 1 & 0 & -1 \\ 1 & 0 & -1 \\ 1 & 0 & -1 \end{bmatrix}. $$
#
# Cross-correlation responds positively where the image goes from bright (left) to dark (right),
# negatively at dark-to-bright; true convolution, with the kernel turned around, gives the same
# map with the opposite sign.

# %%
binary = np.zeros((7, 7))
binary[1:4, 1:4] = 1        # a filled 3×3 square
binary[4:6, 3] = 1          # and a bar continuing its right column downwards
edge = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=float)

corr = reference.correlate2d(binary, edge)
conv = reference.convolve2d(binary, edge)
print("x ⋆ k (cross-correlation):\n", corr)
print("x * k (true convolution):\n", conv)

fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
for ax, img, title in zip(axes, [binary, edge, corr, conv],
                          ["7×7 binary image", "vertical-edge kernel", "cross-correlation (5×5)",
                           "true convolution (5×5)"]):
    lim = np.abs(img).max()
    ax.imshow(img, cmap="RdBu_r" if img.min() < 0 else "Greys", vmin=-lim if img.min() < 0 else 0, vmax=lim)
    ax.set_title(title)
    ax.axis("off")
plt.show()

# %% [markdown]
# ### Your turn: `convolve2d`
#
# Write `convolve2d(x, k)`: the **valid** true 2-D convolution (`(H - kH + 1, W - kW + 1)`
# again). You may call your own `correlate2d`.

# %% nbgrader={"grade": false, "grade_id": "convolve2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def convolve2d(x, k):
    """Valid 2-D true convolution: cross-correlation with the kernel rotated by 180 degrees."""
    ### BEGIN SOLUTION
    return correlate2d(x, np.asarray(k)[::-1, ::-1])
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "convolve2d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("convolve2d", convolve2d)

# %% nbgrader={"grade": true, "grade_id": "convolve2d_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("convolve2d", convolve2d)
### BEGIN HIDDEN TESTS
checks.check("convolve2d", convolve2d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Kernels on a real photograph
#
# Hand-designed kernels were the tools of image processing long before CNNs learned their own.
# Here are four classics, applied to a photograph of Grace Hopper (shipped with matplotlib),
# turned grey by averaging its three colour channels:
#
# - **Sobel** kernels estimate the horizontal and vertical derivative of brightness; they light up
#   at vertical and horizontal edges respectively:
#   $\begin{bmatrix} 1 & 0 & -1 \\ 2 & 0 & -2 \\ 1 & 0 & -1 \end{bmatrix}$ and its transpose.
# - The **Laplacian** $\begin{bmatrix} 0 & 1 & 0 \\ 1 & -4 & 1 \\ 0 & 1 & 0 \end{bmatrix}$ compares
#   each pixel with its four neighbours: near zero where the image is flat, large at fine detail.
# - A **box blur** replaces each pixel with the mean of a $7 \times 7$ neighbourhood; a
#   **Gaussian blur** weights the neighbours by $e^{-(p^2 + q^2)/2\sigma^2}$ so that closer ones
#   count more, which blurs more smoothly. Both kernels add up to 1, so flat regions keep their
#   brightness.
#
# Each filtered image is smaller than the photograph by the kernel's size minus one (valid mode).

# %%
with cbook.get_sample_data("grace_hopper.jpg") as f:
    photo = plt.imread(f).astype(float) / 255    # (600, 512, 3), values in [0, 1]
grey = photo.mean(axis=2)[::2, ::2]               # grey, and every other pixel: (300, 256)

sobel_x = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float)
laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float)
box = np.ones((7, 7)) / 49
r = np.arange(-3, 4)
gaussian = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5 ** 2))
gaussian /= gaussian.sum()

kernels = {"Sobel x (vertical edges)": sobel_x, "Sobel y (horizontal edges)": sobel_x.T,
           "Laplacian": laplacian, "box blur 7×7": box, "Gaussian blur σ=1.5": gaussian}
fig, axes = plt.subplots(2, 3, figsize=(12, 9))
axes = axes.ravel()
axes[0].imshow(grey, cmap="gray")
axes[0].set_title(f"grey photograph {grey.shape}")
for ax, (name, kern) in zip(axes[1:], kernels.items()):
    out = reference.correlate2d(grey, kern)
    if kern.sum() == 0:   # edge detectors: show the size of the response
        ax.imshow(np.abs(out), cmap="gray", vmax=np.percentile(np.abs(out), 99))
    else:
        ax.imshow(out, cmap="gray")
    ax.set_title(f"{name} {out.shape}")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 6. Many channels in, many channels out: the convolution layer
#
# A colour image has $C = 3$ **channels** (red, green, blue), and the feature maps inside a
# network have dozens or hundreds. A convolution layer therefore works on a stack of maps, and
# produces a stack. In the course's layout (the same as PyTorch's):
#
# - input $x$ of shape $(N, C, H, W)$: a batch of $N$ images, each with $C$ channels;
# - weights $w$ of shape $(C_{out}, C, k_H, k_W)$: one kernel **per output channel**, and each of
#   those kernels is itself a stack of $C$ 2-D kernels, one for every input channel;
# - bias $b$ of shape $(C_{out},)$: one number per output channel, added everywhere in that map;
# - output $y$ of shape $(N, C_{out}, H - k_H + 1, W - k_W + 1)$ (stride 1, no padding).
#
# $$ y[n, o, i, j] = b[o] + \sum_{c=0}^{C-1} \sum_{p=0}^{k_H-1} \sum_{q=0}^{k_W-1}
#    x[n, c, i + p, j + q]\; w[o, c, p, q]. $$
#
# In words: output channel $o$ cross-correlates *every* input channel with its own 2-D kernel
# $w[o, c]$ and **adds the results up**, plus the bias. The input channels are mixed; the output
# channels are computed independently of each other, each by its own set of weights. The layer has
# $C_{out} \cdot C \cdot k_H \cdot k_W$ weights and $C_{out}$ biases, however large the image.
#
# Below, the colour photograph goes through a layer with three output channels: a vertical-edge
# detector that looks at brightness (the Sobel kernel on all three channels), a "red minus green
# and blue" detector, and a blur of the blue channel only. Each output channel is one feature map.

# %%
rgb = photo[::2, ::2].transpose(2, 0, 1)[None]   # (1, 3, 300, 256): one image, channels first
w = np.zeros((3, 3, 3, 3))
w[0] = sobel_x / 3                               # the same edge kernel on R, G and B: brightness edges
w[1, 0, 1, 1], w[1, 1, 1, 1], w[1, 2, 1, 1] = 1, -0.5, -0.5   # red minus the mean of green and blue
w[2, 2] = 1 / 9                                  # a 3×3 box blur of the blue channel only
b = np.array([0.0, 0.0, 0.0])

maps = reference.conv2d(rgb, w, b)
print("x", rgb.shape, "* w", w.shape, "->", maps.shape)

fig, axes = plt.subplots(1, 4, figsize=(14, 4))
axes[0].imshow(photo[::2, ::2])
axes[0].set_title("input: 3 channels")
for o, (ax, title) in enumerate(zip(axes[1:], ["map 0: brightness edges", "map 1: red − (green + blue)/2",
                                               "map 2: blurred blue"])):
    if o < 2:   # signed responses: zero in white, positive red, negative blue
        lim = np.abs(maps[0, o]).max()
        ax.imshow(maps[0, o], cmap="RdBu_r", vmin=-lim, vmax=lim)
    else:
        ax.imshow(maps[0, o], cmap="Blues_r")
    ax.set_title(title)
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### The 1×1 convolution
#
# With $k_H = k_W = 1$ the sums over $p$ and $q$ disappear:
#
# $$ y[n, o, i, j] = b[o] + \sum_{c} w[o, c, 0, 0]\; x[n, c, i, j]. $$
#
# No neighbouring pixels are involved: at every pixel, the vector of $C$ channel values is
# multiplied by the same $C_{out} \times C$ matrix — a fully connected layer applied at each
# position. Networks use 1×1 convolutions to change the number of channels cheaply (GoogLeNet's
# Inception modules and ResNet's bottlenecks shrink 256 channels to 64 before an expensive 3×3
# convolution) and, followed by a nonlinearity, to mix channels in a way a linear colour
# transform cannot. Turning a colour image into grey levels is a 1×1 convolution with one output
# channel:

# %%
to_grey = np.array([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1)   # (C_out=1, C=3, 1, 1)
grey_1x1 = reference.conv2d(rgb, to_grey)
per_pixel = np.einsum("oc,nchw->nohw", to_grey[:, :, 0, 0], rgb)  # the same, as a matrix per pixel
print("1×1 convolution:", rgb.shape, "->", grey_1x1.shape, "| equals the per-pixel matrix product:",
      np.allclose(grey_1x1, per_pixel))

# %% [markdown]
# ### Your turn: `conv2d`
#
# Write `conv2d(x, w, b=None)`, the convolution layer above: `x` of shape `(N, C, H, W)`, `w` of
# shape `(C_out, C, kH, kW)`, `b` of shape `(C_out,)` or `None` (no bias). Stride 1, no padding,
# cross-correlation (no flip). It returns `(N, C_out, H - kH + 1, W - kW + 1)`, float32 when the
# inputs are float32 and float64 otherwise, and leaves its inputs unchanged.
#
# *Hint.* Loops over `n`, `o`, `i`, `j` and one `np.sum` over a `(C, kH, kW)` block work. For a
# faster version, loop over the kernel offsets `(p, q)` only and add
# `x[:, :, p:p+H_out, q:q+W_out]` weighted by `w[:, :, p, q]` (`np.einsum` or `np.tensordot` do the
# channel sum); `numpy.lib.stride_tricks.sliding_window_view` is another way.

# %% nbgrader={"grade": false, "grade_id": "conv2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv2d(x, w, b=None):
    """Convolution layer: (N, C, H, W) with (C_out, C, kH, kW) -> (N, C_out, H - kH + 1, W - kW + 1)."""
    ### BEGIN SOLUTION
    x, w = np.asarray(x), np.asarray(w)
    dtype = np.result_type(x, w, 1.0)
    kH, kW = w.shape[2:]
    # windows[n, c, i, j, p, q] = x[n, c, i + p, j + q]: a view, nothing is copied
    windows = np.lib.stride_tricks.sliding_window_view(x, (kH, kW), axis=(2, 3))
    y = np.einsum("ncijpq,ocpq->noij", windows, w).astype(dtype, copy=False)
    if b is not None:
        y = y + np.asarray(b, dtype=dtype)[None, :, None, None]
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
# ## 7. Check your understanding
#
# Try each question before opening its answer.
#
# 1. What is the full convolution of $[1, 1]$ with $[1, 2, 1]$, and how long is it?
#
# <details><summary>Answer</summary>
#
# $[1, 3, 3, 1]$, of length $2 + 3 - 1 = 4$ (the coefficients of $(1 + t)(1 + 2t + t^2) = (1+t)^3$).
#
# </details>
#
# 2. For which kernels do true convolution and cross-correlation give the same result?
#
# <details><summary>Answer</summary>
#
# For kernels that equal their own flip — in 2-D, that are unchanged by a rotation of 180°, such
# as the box, Gaussian and Laplacian kernels. For any other kernel the two differ, e.g. the
# Sobel kernel gives the opposite sign.
#
# </details>
#
# 3. A 28×28 image goes through a valid 5×5 cross-correlation. What size is the output?
#
# <details><summary>Answer</summary>
#
# $(28 - 5 + 1) \times (28 - 5 + 1) = 24 \times 24$ — the first layer of LeNet-5 on MNIST digits
# padded to 32×32 gives 28×28 the same way.
#
# </details>
#
# 4. A layer takes 64 input channels to 128 output channels with 3×3 kernels. How many weights
#    and biases does it have? How many for a 1×1 convolution with the same channels?
#
# <details><summary>Answer</summary>
#
# $128 \cdot 64 \cdot 3 \cdot 3 = 73{,}728$ weights and 128 biases. With 1×1 kernels:
# $128 \cdot 64 = 8{,}192$ weights and 128 biases. Neither number depends on the image size.
#
# </details>
#
# 5. Why does it not matter to a CNN that its "convolution" layers do not flip their kernels?
#
# <details><summary>Answer</summary>
#
# Because the kernels are learned. Whatever a true convolution with kernel $k$ computes, a
# cross-correlation with the flipped kernel computes too, and training finds that flipped kernel
# just as easily.
#
# </details>
#
# 6. What does a 1×1 convolution compute at each pixel, and what is it used for?
#
# <details><summary>Answer</summary>
#
# A linear map of the pixel's channel vector ($C$ values in, $C_{out}$ out) plus a bias — the same
# matrix at every pixel. It changes the number of channels cheaply, e.g. to shrink them before an
# expensive larger convolution.
#
# </details>
