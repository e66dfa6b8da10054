# %% [markdown]
# # Assignment 05 — Convolution as matrix multiplication
#
# A convolution layer does a huge number of multiply-adds, and hardware is very good at exactly one
# pattern of them: the **matrix product** (GEMM, "general matrix-matrix multiplication", in the
# name BLAS libraries give it). Decades of work have gone into making GEMM fast on CPUs and GPUs;
# so the question every deep-learning library asks is how to turn a convolution into one.
#
# There are two ways to look at it, and this notebook builds both:
#
# - **The kernel becomes a matrix.** A convolution is linear in its input, so it *is* a matrix
#   $T$ acting on the flattened image: $\vec y = T \vec x$. That matrix has a beautiful structure
#   (Toeplitz, and for images *doubly block Toeplitz*), it explains the backward pass and the
#   "transposed convolution", but it is enormous and almost all zeros.
# - **The input becomes a matrix.** *im2col* copies every window of the input into a column of a
#   matrix; the convolution is then one small matrix (the flattened kernels) times that matrix of
#   columns. This is how Caffe, early PyTorch and many BLAS-based libraries compute convolutions,
#   and it costs memory: each input value is copied about $k_H k_W$ times.
#
# **When you have finished you will be able to**
#
# 1. write a 1-D cross-correlation as a Toeplitz matrix times a vector, and tell true convolution
#    from cross-correlation by the way the kernel runs along the rows;
# 2. build the doubly block Toeplitz matrix of a 2-D convolution, and the single matrix of a whole
#    layer with several input and output channels, and say why nobody computes with it;
# 3. write im2col in PyTorch's layout (`torch.nn.functional.unfold`) with stride and padding, and a
#    convolution layer as im2col followed by one matrix product;
# 4. write a fully connected layer on a batch as one GEMM, and see a convolution layer as a fully
#    connected layer shared by every window;
# 5. estimate the memory im2col needs for the layers of LeNet-5, AlexNet and VGG, and compare the
#    speed of loops, im2col + GEMM and PyTorch.
#
# **How this works.** As in the earlier assignments: each function you write lives in a cell of its
# own, marked `# YOUR CODE HERE`. Replace `raise NotImplementedError()` with your code and run the
# cell. The cell after it runs the *visible checks*, which explain what went wrong when something
# does; when the notebook is graded, more checks on inputs you have not seen decide the score.
#
# **The rules.** NumPy only inside your functions: no `cnnkit`, no `torch` (in particular no
# `torch.nn.functional.unfold`), no `scipy.signal`, `scipy.ndimage` or `scipy.linalg.toeplitz`.
# `np.pad`, `np.eye`, reshapes and matrix products (`@`) are all allowed, and your own functions
# from earlier cells too. The cells outside your functions use PyTorch for comparisons and timings.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import ListedColormap

from cnnkit import reference  # the course's own implementations: used for the figures only
from cnnkit.plot import draw_grid  # small arrays drawn as tables of numbers
from cnnkit.checks import for_assignment

checks = for_assignment("05")  # the visible checks of this assignment: checks.check(name, function)

np.set_printoptions(precision=3, suppress=True, linewidth=120)


def as_pair(v):
    """An int v as (v, v); a pair (height, width) as it is. Use it in your functions if you like."""
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


# %% [markdown]
# ## 1. A convolution is a matrix
#
# Take the valid cross-correlation of assignment 01: a signal $x$ of length $n$, a kernel $k$ of
# length $m$, and
#
# $$ y[i] = \sum_{j=0}^{m-1} k[j]\, x[i + j], \qquad i = 0, \dots, n - m . $$
#
# Every output is a fixed linear combination of the inputs, so the whole operation is a matrix
# product $y = T x$ with a matrix $T$ of shape $(n - m + 1) \times n$. Row $i$ holds the weights
# that output $i$ gives to each input: the kernel, starting at column $i$,
#
# $$ T[i, c] = \begin{cases} k[c - i] & \text{if } 0 \le c - i < m, \\ 0 & \text{otherwise.} \end{cases} $$
#
# Each row is the row above it **shifted one column to the right**. An entry depends only on the
# difference $c - i$, so every diagonal is constant: a matrix like this is called a **Toeplitz
# matrix**. Kernel entry $k[j]$ fills the $j$-th diagonal above the main one.
#
# ### Worked example
#
# With $x = [1, 2, 3, 4]$ and $k = [5, 6, 7]$ (the example of assignment 01), $T$ is $2 \times 4$:
#
# $$ T = \begin{bmatrix} 5 & 6 & 7 & 0 \\ 0 & 5 & 6 & 7 \end{bmatrix}, \qquad
#    T x = \begin{bmatrix} 5 + 12 + 21 \\ 10 + 18 + 28 \end{bmatrix} = \begin{bmatrix} 38 \\ 56 \end{bmatrix}. $$
#
# Read the same matrix by **columns**: column $c$ says how input $x[c]$ is spread over the outputs.
# Column 2 holds 7 above 6: the kernel's entries in reverse order, from top to bottom. That is the
# other way to see a correlation: every input sample drops a reversed copy of the kernel into the
# output.
#
# The matrix of **true convolution** (valid part) is the same with the kernel reversed in every
# row, $[7, 6, 5]$; it gives $[34, 52]$, the middle of the full convolution $[5, 16, 34, 52, 45, 28]$.
# And the matrix of the *full* convolution is $(n + m - 1) \times n$, with the kernel running down
# each column: the picture of assignment 01, "each $x[j]$ adds a copy of $k$ starting at $j$".

# %%
x1 = np.array([1.0, 2, 3, 4])
k1 = np.array([5.0, 6, 7])

T1 = np.zeros((2, 4))
for i in range(2):
    T1[i, i:i + 3] = k1                     # row i: the kernel, from column i on
print("T =\n", T1)
print("T @ x =", T1 @ x1, "| correlate1d(x, k) =", reference.correlate1d(x1, k1))

T1_conv = np.zeros((2, 4))
for i in range(2):
    T1_conv[i, i:i + 3] = k1[::-1]          # true convolution: the kernel reversed in every row
print("\ntrue convolution's matrix:\n", T1_conv, "\n@ x =", T1_conv @ x1,
      "| the valid part of convolve1d(x, k):", reference.convolve1d(x1, k1)[2:4])

T1_full = np.zeros((6, 4))
for c in range(4):
    T1_full[c:c + 3, c] = k1                # full convolution: column c is the kernel, from row c on
print("\nfull convolution's matrix (6 x 4):\n", T1_full, "\n@ x =", T1_full @ x1)

# %%
fig, axes = plt.subplots(1, 5, figsize=(11, 2.6), gridspec_kw={"width_ratios": [4, 0.6, 1, 0.6, 1]})
draw_grid(axes[0], T1, "T (2×4)", boxes=[((0, 0), (1, 3), "tab:blue"), ((1, 1), (1, 3), "tab:orange")],
          dim_zeros=True)
draw_grid(axes[2], x1[:, None], "x")
draw_grid(axes[4], (T1 @ x1)[:, None], "y = T x", boxes=[((0, 0), (1, 1), "tab:blue"),
                                                            ((1, 0), (1, 1), "tab:orange")])
for ax, sign in ((axes[1], "@"), (axes[3], "=")):
    ax.text(0.5, 0.5, sign, ha="center", va="center", fontsize=22)
    ax.axis("off")
fig.suptitle("valid cross-correlation of [1, 2, 3, 4] with [5, 6, 7] as a matrix product")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Your turn: `toeplitz_1d`
#
# Write `toeplitz_1d(k, n)`: the matrix `T` of shape `(n - len(k) + 1, n)` with
# `T @ x == correlate1d(x, k)` for every `x` of length `n` (valid cross-correlation). `k` is a 1-D
# float array no longer than `n`. Return floats in the dtype of `k` (float32 stays float32).
#
# *Hint.* Either fill the rows, `T[i, i:i + m] = k`, or the diagonals:
# `np.eye(rows, n, j)` is a `rows × n` matrix with ones on the `j`-th diagonal above the main one.

# %% nbgrader={"grade": false, "grade_id": "toeplitz_1d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def toeplitz_1d(k, n):
    """The (n - m + 1, n) Toeplitz matrix T of valid cross-correlation with k: T[i, i + j] = k[j]."""
    ### BEGIN SOLUTION
    k = np.asarray(k)
    m = len(k)
    T = np.zeros((n - m + 1, n), dtype=np.result_type(k, 1.0))
    for i in range(n - m + 1):
        T[i, i:i + m] = k
    return T
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "toeplitz_1d_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("toeplitz_1d", toeplitz_1d)

# %% nbgrader={"grade": true, "grade_id": "toeplitz_1d_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("toeplitz_1d", toeplitz_1d)
### BEGIN HIDDEN TESTS
checks.check("toeplitz_1d", toeplitz_1d, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Two dimensions: the doubly block Toeplitz matrix
#
# An image is a 2-D array, but a matrix acts on vectors, so first **flatten** the image row by row
# (NumPy's `ravel`, "row-major"): pixel $(h, w)$ of an $H \times W$ image becomes entry $h W + w$
# of $\vec x$, and output pixel $(i, j)$ becomes entry $i W_{out} + j$ of $\vec y$. The valid 2-D
# cross-correlation
#
# $$ y[i, j] = \sum_{p=0}^{k_H-1} \sum_{q=0}^{k_W-1} k[p, q]\; x[i + p,\, j + q] $$
#
# is then $\vec y = T \vec x$ with
#
# $$ T[(i, j), (h, w)] = k[h - i,\; w - j] \quad (\text{zero where } h - i \text{ or } w - j
#    \text{ falls outside the kernel}). $$
#
# $T$ has $H_{out} W_{out}$ rows and $H W$ columns. Cut it into blocks of $W_{out}$ rows and $W$
# columns: block $(i, h)$ connects output row $i$ to input row $h$, and it is nonzero only when
# $p = h - i$ is a row of the kernel — then it is the **1-D Toeplitz matrix of kernel row $p$**,
# $T_p$ = `toeplitz_1d(k[p], W)`:
#
# $$ T = \begin{bmatrix}
#   T_0 & T_1 & \cdots & T_{k_H-1} & 0 & \cdots & 0 \\
#   0 & T_0 & T_1 & \cdots & T_{k_H-1} & \cdots & 0 \\
#   \vdots & & \ddots & & & \ddots & \vdots \\
#   0 & \cdots & 0 & T_0 & T_1 & \cdots & T_{k_H-1}
# \end{bmatrix}. $$
#
# Each block is Toeplitz, and the blocks themselves repeat along the diagonals (block $(i, h)$
# depends only on $h - i$): a **doubly block Toeplitz** matrix.
#
# ### Worked example
#
# The image `np.arange(9).reshape(3, 3)` and the kernel $k = \begin{bmatrix} 0 & 1 \\ 2 & 3 \end{bmatrix}$
# of assignment 01. Here $T_0 = \begin{bmatrix} 0 & 1 & 0 \\ 0 & 0 & 1 \end{bmatrix}$ (kernel row
# $[0, 1]$ on rows of 3 pixels) and $T_1 = \begin{bmatrix} 2 & 3 & 0 \\ 0 & 2 & 3 \end{bmatrix}$, and
#
# $$ T = \begin{bmatrix} T_0 & T_1 & 0 \\ 0 & T_0 & T_1 \end{bmatrix}
#      = \left[\begin{array}{ccc|ccc|ccc}
#        0 & 1 & 0 & 2 & 3 & 0 & 0 & 0 & 0 \\
#        0 & 0 & 1 & 0 & 2 & 3 & 0 & 0 & 0 \\ \hline
#        0 & 0 & 0 & 0 & 1 & 0 & 2 & 3 & 0 \\
#        0 & 0 & 0 & 0 & 0 & 1 & 0 & 2 & 3
#      \end{array}\right], \qquad
#    T \vec x = [19, 25, 37, 43], $$
#
# the output $\begin{bmatrix} 19 & 25 \\ 37 & 43 \end{bmatrix}$ of assignment 01, flattened.

# %%
x2 = np.arange(9.0).reshape(3, 3)
k2 = np.array([[0.0, 1], [2, 3]])
T_0, T_1 = reference.toeplitz_1d(k2[0], 3), reference.toeplitz_1d(k2[1], 3)
zero = np.zeros((2, 3))
T2 = np.block([[T_0, T_1, zero],
               [zero, T_0, T_1]])
print("T =\n", T2)
print("T @ x.ravel() =", T2 @ x2.ravel(), "-> reshaped:\n", (T2 @ x2.ravel()).reshape(2, 2))
print("the same as the layer's matrix in cnnkit:",
      np.array_equal(T2, reference.toeplitz_matrix(k2[None, None], (1, 3, 3))))

# %% [markdown]
# The picture below is the matrix of a $3 \times 3$ kernel (entries 1 to 9) on a $6 \times 6$ image:
# $16 \times 36$, with the blocks outlined. Each colour is one kernel entry; follow one colour and
# you see a diagonal inside each block, and the same block repeated along the diagonals of blocks.
# White is zero — most of the matrix.

# %%
k3 = np.arange(1.0, 10).reshape(3, 3)
H6 = W6 = 6
T3 = reference.toeplitz_matrix(k3[None, None], (1, H6, W6))
Ho6, Wo6 = H6 - 2, W6 - 2

colours = ListedColormap(["white"] + [plt.cm.tab10(i) for i in range(9)])
fig, (ax, ax_k) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [9, 1]})
ax.imshow(T3, cmap=colours, vmin=-0.5, vmax=9.5)
for (r, c), v in np.ndenumerate(T3):
    if v:
        ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=7)
for r in range(0, T3.shape[0] + 1, Wo6):
    ax.axhline(r - 0.5, color="black", lw=1.2)
for c in range(0, T3.shape[1] + 1, W6):
    ax.axvline(c - 0.5, color="black", lw=1.2)
ax.set_xticks(np.arange(W6 / 2 - 0.5, T3.shape[1], W6), [f"input row {h}" for h in range(H6)], fontsize=8)
ax.set_yticks(np.arange(Wo6 / 2 - 0.5, T3.shape[0], Wo6), [f"output row {i}" for i in range(Ho6)], fontsize=8)
ax.set_title(f"doubly block Toeplitz: {Ho6}×{H6} blocks of {Wo6}×{W6}; block (i, h) is T_p with p = h − i")
ax_k.imshow(k3, cmap=colours, vmin=-0.5, vmax=9.5)
for (r, c), v in np.ndenumerate(k3):
    ax_k.text(c, r, f"{v:g}", ha="center", va="center")
ax_k.set_title("kernel")
ax_k.axis("off")
plt.tight_layout()
plt.show()

print(f"T is {T3.shape[0]}×{T3.shape[1]} = {T3.size} entries, {np.count_nonzero(T3)} of them nonzero "
      f"({np.count_nonzero(T3) / T3.size:.0%})")

# %% [markdown]
# **Nobody computes a convolution this way.** Every row has only $k_H k_W$ nonzero entries out of
# $H W$. For a $28 \times 28$ MNIST digit and a $5 \times 5$ kernel, $T$ is $576 \times 784$ and 97%
# zeros; for a $224 \times 224$ image and a $3 \times 3$ kernel it has about $2.5 \cdot 10^9$
# entries (10 GB in float32) of which 0.02% are not zero, for *one* channel. Multiplying by it does
# thousands of times more work than the convolution needs.
#
# **But the view is useful.** Everything linear algebra says about matrices applies. The most
# important one: backpropagation through $\vec y = T \vec x$ gives the gradient with respect to the
# input as $\partial J / \partial \vec x = T^\top\, \partial J / \partial \vec y$ — multiplication
# by the **transposed** matrix. That operation — a full cross-correlation of the gradient with the
# flipped kernel, at stride 1 — is why the upsampling layer of decoders and GANs is called a
# **transposed convolution**. The cell below checks it against the backward pass of cnnkit's layer.

# %%
rng = np.random.default_rng(0)
x_b = rng.standard_normal((1, 1, 5, 5))
w_b = rng.standard_normal((1, 1, 3, 3))
dy = rng.standard_normal((1, 1, 3, 3))                 # a gradient arriving at the output
T_b = reference.toeplitz_matrix(w_b, (1, 5, 5))
dx, dw, db = reference.conv2d_backward(dy, x_b, w_b)
print("T.T @ dy == the input gradient of the layer:", np.allclose(T_b.T @ dy.ravel(), dx.ravel()))
print("               == full cross-correlation of dy with the flipped kernel:",
      np.allclose(T_b.T @ dy.ravel(), reference.correlate2d(dy[0, 0], w_b[0, 0, ::-1, ::-1], mode="full").ravel()))

# %% [markdown]
# ## 3. Several channels and kernels: one matrix for the whole layer
#
# A convolution layer has $C_{in}$ input channels and $C_{out}$ kernels, each of shape
# $C_{in} \times k_H \times k_W$:
#
# $$ y[o, i, j] = \sum_{c=0}^{C_{in}-1} \sum_{p, q} w[o, c, p, q]\; x[c,\, i + p,\, j + q]. $$
#
# It is still linear in $x$, so it is still one matrix. Flatten the input as `x.ravel()`, ordered
# $(c, h, w)$, and the output as `y.ravel()`, ordered $(o, i, j)$. Then
#
# $$ T = \begin{bmatrix} T^{(0,0)} & T^{(0,1)} & \cdots & T^{(0, C_{in}-1)} \\
#                        \vdots & & & \vdots \\
#                        T^{(C_{out}-1, 0)} & & \cdots & T^{(C_{out}-1, C_{in}-1)} \end{bmatrix},
#    \qquad \text{shape } (C_{out} H_{out} W_{out}) \times (C_{in} H W), $$
#
# where block $T^{(o, c)}$ is the doubly block Toeplitz matrix of the 2-D kernel $w[o, c]$. A
# row of blocks multiplies every channel and adds the results: the sum over $c$ happens by itself
# inside the matrix product. Row $(o, i, j)$, number $(o H_{out} + i) W_{out} + j$, holds $w[o, c, p, q]$
# in column $(c, i + p, j + q)$, number $(c H + i + p) W + j + q$.
#
# A **batch** of $N$ images, flattened into the rows of an $N \times C_{in} H W$ matrix $X$, goes
# through the layer in one matrix product:
#
# $$ Y = X\, T^\top \qquad (N \times C_{out} H_{out} W_{out}), $$
#
# which is what `reference.toeplitz_matrix` promises: `conv2d(x, w).reshape(N, -1) == x.reshape(N, -1) @ T.T`.
#
# The figure shows the matrix of a layer with 2 input channels, 3 output channels and $2 \times 2$
# kernels on $4 \times 4$ images: $27 \times 32$, a $3 \times 2$ grid of doubly block Toeplitz
# blocks (thick lines), each made of $3 \times 4$ Toeplitz blocks (thin lines).

# %%
rng = np.random.default_rng(5)
w_layer = rng.integers(1, 10, size=(3, 2, 2, 2)).astype(float)
T_layer = reference.toeplitz_matrix(w_layer, (2, 4, 4))
x_batch = rng.standard_normal((5, 2, 4, 4))
print("T:", T_layer.shape, "| batch as one product:",
      np.allclose(x_batch.reshape(5, -1) @ T_layer.T, reference.conv2d(x_batch, w_layer).reshape(5, -1)))

fig, ax = plt.subplots(figsize=(9, 7.5))
ax.imshow(np.where(T_layer == 0, np.nan, T_layer), cmap="viridis")
for r in range(0, T_layer.shape[0] + 1, 3):
    ax.axhline(r - 0.5, color="black", lw=2.5 if r % 9 == 0 else 0.4)
for c in range(0, T_layer.shape[1] + 1, 4):
    ax.axvline(c - 0.5, color="black", lw=2.5 if c % 16 == 0 else 0.4)
ax.set_xticks([7.5, 23.5], ["input channel 0", "input channel 1"])
ax.set_yticks([4, 13, 22], ["output channel 0", "output channel 1", "output channel 2"])
ax.set_title("the matrix of a layer: block (o, c) is the doubly block Toeplitz matrix of w[o, c]")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Your turn: `toeplitz_matrix`
#
# Write `toeplitz_matrix(w, input_shape)`: the matrix $T$ of the layer with kernels `w` of shape
# `(C_out, C_in, kH, kW)` (stride 1, no padding) on inputs of shape `input_shape = (C_in, H, W)`:
# shape `(C_out*H_out*W_out, C_in*H*W)`, rows ordered as `y.ravel()` and columns as `x.ravel()`,
# so that `x.reshape(N, -1) @ T.T` is the layer's output, flattened. Keep the dtype of `w`.
#
# *Hint.* Think of $T$ as a 6-D array first, `T6` of shape `(C_out, H_out, W_out, C_in, H, W)`:
# the entry `T6[o, i, j, c, h, w]` is the weight output $(o, i, j)$ gives to input $(c, h, w)$.
# For output pixel $(i, j)$, the window `T6[:, i, j, :, i:i + kH, j:j + kW]` is exactly `w`. Fill
# the windows in a loop over $(i, j)$, then `reshape` — which flattens in the right order.

# %% nbgrader={"grade": false, "grade_id": "toeplitz_matrix", "locked": false, "schema_version": 3, "solution": true, "task": false}
def toeplitz_matrix(w, input_shape):
    """The (C_out*H_out*W_out, C_in*H*W) matrix T with conv2d(x, w).reshape(N, -1) == x.reshape(N, -1) @ T.T."""
    ### BEGIN SOLUTION
    w = np.asarray(w)
    C_out, C_in, kH, kW = w.shape
    C, H, W = input_shape
    H_out, W_out = H - kH + 1, W - kW + 1
    T = np.zeros((C_out, H_out, W_out, C, H, W), dtype=np.result_type(w, 1.0))
    for i in range(H_out):
        for j in range(W_out):
            T[:, i, j, :, i:i + kH, j:j + kW] = w      # output pixel (i, j) reads this window
    return T.reshape(C_out * H_out * W_out, C * H * W)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "toeplitz_matrix_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("toeplitz_matrix", toeplitz_matrix)

# %% nbgrader={"grade": true, "grade_id": "toeplitz_matrix_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
checks.check("toeplitz_matrix", toeplitz_matrix)
### BEGIN HIDDEN TESTS
checks.check("toeplitz_matrix", toeplitz_matrix, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. im2col: copy the windows, then one matrix product
#
# The Toeplitz matrix repeats the *kernel* at every position and fills the rest with zeros. im2col
# ("image to columns") turns this around and repeats the *input*: it copies the window that
# output pixel $(i, j)$ reads — $C_{in} \times k_H \times k_W$ values — into **column** $i W_{out} + j$
# of a matrix. With stride $s$ and zero padding (the padded input $x_{pad}$):
#
# $$ \text{cols}\big[(c, p, q),\ (i, j)\big] = x_{pad}[c,\ i s_H + p,\ j s_W + q], $$
#
# row $(c, p, q)$ being number $(c\, k_H + p)\, k_W + q$ — **channel first**, then the kernel row,
# then the kernel column, the order in which `w[o].ravel()` lists a kernel. The matrix has
# $C_{in} k_H k_W$ rows and $L = H_{out} W_{out}$ columns. Flatten the kernels the same way,
# $W_{mat}$ = `w.reshape(C_out, -1)`, one kernel per row, and the whole layer is **one matrix product**:
#
# $$ Y = W_{mat}\, \text{cols} + b\,\mathbf{1}^\top \qquad
#    (C_{out} \times C_{in} k_H k_W)\,(C_{in} k_H k_W \times L) = (C_{out} \times L), $$
#
# entry $(o, (i, j))$ of $Y$ being the dot product of kernel $o$ with window $(i, j)$: exactly
# $y[o, i, j]$. The bias adds $b[o]$ to every entry of **row** $o$. Reshaping $Y$ to
# $(C_{out}, H_{out}, W_{out})$ gives the output. For a batch, im2col returns
# `(N, C_in*kH*kW, L)`, the layout of PyTorch's `torch.nn.functional.unfold`, and the product
# `W_mat @ cols` is a batched matrix product (NumPy's `@` broadcasts over the leading axis).
#
# ### Worked example
#
# The $3 \times 3$ image and $2 \times 2$ kernel again. The four windows, row by row, are the four
# columns:
#
# $$ \text{cols} = \begin{bmatrix} 0 & 1 & 3 & 4 \\ 1 & 2 & 4 & 5 \\ 3 & 4 & 6 & 7 \\ 4 & 5 & 7 & 8 \end{bmatrix},
#    \qquad W_{mat} = [0, 1, 2, 3], \qquad W_{mat}\, \text{cols} = [19, 25, 37, 43]. $$
#
# The same four numbers as $T \vec x$: two ways of writing the same bilinear map, one with a big
# sparse matrix built from the kernel, one with a small dense matrix built from the input. Pixel
# $x[1, 1] = 4$ lies in all four windows, so it appears four times in `cols`.

# %%
cols2 = np.array([x2[i:i + 2, j:j + 2].ravel() for i in range(2) for j in range(2)]).T   # one window per column
print("cols =\n", cols2)
print("W_mat @ cols =", k2.ravel() @ cols2)
print("PyTorch's unfold gives the same columns:",
      np.array_equal(F.unfold(torch.from_numpy(x2[None, None]), 2)[0].numpy(), cols2))

fig, axes = plt.subplots(1, 4, figsize=(12, 3.2), gridspec_kw={"width_ratios": [3, 2.3, 4, 2.3]})
draw_grid(axes[0], x2, "x: window (0, 1)", boxes=[((0, 1), (2, 2), "tab:orange")])
draw_grid(axes[1], k2.ravel()[None], "W_mat = k.ravel()")
draw_grid(axes[2], cols2, "cols: window (0, 1) is column 1", boxes=[((0, 1), (4, 1), "tab:orange")])
draw_grid(axes[3], (k2.ravel() @ cols2)[None], "W_mat @ cols", boxes=[((0, 1), (1, 1), "tab:orange")])
plt.tight_layout()
plt.show()

# %% [markdown]
# With two channels the rows come in two blocks: first the $k_H k_W$ taps of channel 0, then those
# of channel 1. Here is a two-channel $4 \times 4$ image holding 1 to 16 and 17 to 32, with
# $2 \times 2$ windows and stride 2 (four windows), and then with padding 1 (nine windows, zeros
# where a window hangs over the border):

# %%
x_two = np.arange(1.0, 33).reshape(1, 2, 4, 4)
fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), gridspec_kw={"width_ratios": [4, 4, 4, 9]})
draw_grid(axes[0], x_two[0, 0], "x, channel 0", boxes=[((0, 0), (4, 4), "tab:blue")], fontsize=10)
draw_grid(axes[1], x_two[0, 1], "x, channel 1", boxes=[((0, 0), (4, 4), "tab:green")], fontsize=10)
cols_s2 = reference.im2col(x_two, 2, stride=2)[0]
draw_grid(axes[2], cols_s2, "stride 2: 8 rows, 4 columns", boxes=[((0, 0), (4, 4), "tab:blue"),
                                                                   ((4, 0), (4, 4), "tab:green")], fontsize=10)
cols_p1 = reference.im2col(x_two, 2, stride=2, padding=1)[0]
draw_grid(axes[3], cols_p1, "stride 2, padding 1: 8 rows, 9 columns",
          boxes=[((0, 0), (4, 9), "tab:blue"), ((4, 0), (4, 9), "tab:green")], fontsize=10, dim_zeros=True)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Your turn: `im2col`
#
# Write `im2col(x, kernel_size, stride=1, padding=0)`:
#
# - `x` has shape `(N, C, H, W)`; `kernel_size`, `stride` and `padding` are each an int or a pair
#   `(height, width)` (`as_pair` above turns either into a pair); the padding is zeros, on both
#   sides of H and W;
# - it returns `cols` of shape `(N, C*kH*kW, L)` with `L = H_out * W_out`,
#   $H_{out} = \lfloor (H + 2 p_H - k_H) / s_H \rfloor + 1$ (the same for $W$), and
#   `cols[n, (c*kH + p)*kW + q, i*W_out + j] = x_pad[n, c, i*sH + p, j*sW + q]` — exactly what
#   `torch.nn.functional.unfold` returns; in the dtype of `x`, leaving `x` unchanged.
#
# *Hint.* There are many windows but only $k_H k_W$ taps. For one tap $(p, q)$, the values it
# reads in every window at once form a strided slice of the padded input,
# `x_pad[:, :, p : p + sH*H_out : sH, q : q + sW*W_out : sW]`, of shape `(N, C, H_out, W_out)`.
# Store them in an array of shape `(N, C, kH, kW, H_out, W_out)` and `reshape` it at the end.

# %% nbgrader={"grade": false, "grade_id": "im2col", "locked": false, "schema_version": 3, "solution": true, "task": false}
def im2col(x, kernel_size, stride=1, padding=0):
    """Every window of x as a column: (N, C, H, W) -> (N, C*kH*kW, H_out*W_out), as torch's unfold."""
    ### BEGIN SOLUTION
    x = np.asarray(x)
    kH, kW = as_pair(kernel_size)
    sH, sW = as_pair(stride)
    pH, pW = as_pair(padding)
    N, C, H, W = x.shape
    H_out, W_out = (H + 2 * pH - kH) // sH + 1, (W + 2 * pW - kW) // sW + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pH, pH), (pW, pW)))
    cols = np.empty((N, C, kH, kW, H_out, W_out), dtype=x.dtype)
    for p in range(kH):
        for q in range(kW):
            # tap (p, q) of every window: rows p, p + sH, ... and columns q, q + sW, ...
            cols[:, :, p, q] = xp[:, :, p:p + sH * H_out:sH, q:q + sW * W_out:sW]
    return cols.reshape(N, C * kH * kW, H_out * W_out)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "im2col_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("im2col", im2col)

# %% nbgrader={"grade": true, "grade_id": "im2col_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check("im2col", im2col)
### BEGIN HIDDEN TESTS
checks.check("im2col", im2col, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Your turn: `conv2d_gemm`
#
# Write `conv2d_gemm(x, w, b=None, stride=1, padding=0)`: the convolution layer of assignment 02
# (without dilation) as **im2col followed by one matrix product**. `x` is `(N, C_in, H, W)`, `w` is
# `(C_out, C_in, kH, kW)`, `b` is `(C_out,)` or `None`; the result is `(N, C_out, H_out, W_out)`
# in the dtype of `x`. Use your `im2col`.
#
# *Watch out for.* The product `w.reshape(C_out, -1) @ cols` is `(N, C_out, L)`: it still has to be
# reshaped to `(N, C_out, H_out, W_out)`. The bias belongs to the output channels — the *rows* of
# the product — so it is `b[:, None]`, not `b` (which NumPy would add along the last axis, the
# columns, or refuse to add when the sizes differ).

# %% nbgrader={"grade": false, "grade_id": "conv2d_gemm", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv2d_gemm(x, w, b=None, stride=1, padding=0):
    """The convolution layer as im2col and one matrix product: (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
    ### BEGIN SOLUTION
    x, w = np.asarray(x), np.asarray(w)
    N, _, H, W = x.shape
    C_out, _, kH, kW = w.shape
    (sH, sW), (pH, pW) = as_pair(stride), as_pair(padding)
    H_out, W_out = (H + 2 * pH - kH) // sH + 1, (W + 2 * pW - kW) // sW + 1
    cols = im2col(x, (kH, kW), stride, padding)          # (N, C_in*kH*kW, L)
    y = w.reshape(C_out, -1) @ cols                      # (C_out, C_in*kH*kW) @ (N, C_in*kH*kW, L) -> (N, C_out, L)
    if b is not None:
        y = y + np.asarray(b)[:, None]                   # one bias per output channel: per row
    return y.reshape(N, C_out, H_out, W_out)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "conv2d_gemm_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("conv2d_gemm", conv2d_gemm)

# %% nbgrader={"grade": true, "grade_id": "conv2d_gemm_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check("conv2d_gemm", conv2d_gemm)
### BEGIN HIDDEN TESTS
checks.check("conv2d_gemm", conv2d_gemm, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Fully connected layers on a batch: one GEMM
#
# A fully connected layer with weights $W$ ($D_{out} \times D_{in}$) and bias $b$ maps one input
# vector $x$ to $W x + b$. A batch of $N$ inputs could go through it one at a time — $N$
# matrix-vector products — but stacked as the rows of $X$ ($N \times D_{in}$) it is **one** matrix
# product,
#
# $$ Y = X W^\top + \mathbf{1}\, b^\top \qquad (N \times D_{out}). $$
#
# Both do the same $2 N D_{in} D_{out}$ floating-point operations, yet the GEMM is much faster. A
# matrix-vector product reads every weight from memory to use it once: its speed is the speed of
# memory. A matrix-matrix product uses every weight $N$ times, and BLAS libraries cut the matrices
# into tiles that stay in the processor's caches and registers, so the arithmetic units, not the
# memory, set the pace. This is why networks are trained on *mini-batches*, and why a GPU, which
# has far more arithmetic than memory bandwidth, needs them even more.
#
# Below: a layer of 784 inputs (an MNIST image) and 256 outputs on a batch of 256.

# %%
def best_time(fn, repeat=5, budget=0.1, warm_up=True):
    """The fastest run of fn(), in seconds: the one least disturbed by anything else the machine does.

    After a warm-up run (memory, thread pools), fn runs at least `repeat` times and until `budget`
    seconds have passed.
    """
    if warm_up:
        fn()
    times, start = [], time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


rng = np.random.default_rng(1)
X_fc = rng.standard_normal((256, 784)).astype(np.float32)
W_fc = rng.standard_normal((256, 784)).astype(np.float32) * 0.05
b_fc = np.zeros(256, dtype=np.float32)

one_at_a_time = lambda: np.stack([W_fc @ x + b_fc for x in X_fc])
one_gemm = lambda: X_fc @ W_fc.T + b_fc
print("same result:", np.allclose(one_at_a_time(), one_gemm(), atol=1e-4))
t_loop = t_gemm = np.inf
for _ in range(3):   # the best of three rounds: a moment when the machine is busy cannot spoil one side alone
    t_loop, t_gemm = min(t_loop, best_time(one_at_a_time)), min(t_gemm, best_time(one_gemm))
flops = 2 * X_fc.shape[0] * W_fc.size
print(f"256 matrix-vector products: {t_loop * 1e3:.2f} ms ({flops / t_loop / 1e9:.1f} GFLOP/s); "
      f"one GEMM: {t_gemm * 1e3:.2f} ms ({flops / t_gemm / 1e9:.1f} GFLOP/s): {t_loop / t_gemm:.1f}× as fast")

# %% [markdown]
# **A convolution layer is a fully connected layer shared by every window.** In
# $Y = W_{mat}\, \text{cols}$, $W_{mat}$ is the weight matrix of a fully connected layer with
# $C_{in} k_H k_W$ inputs and $C_{out}$ outputs, and the columns of `cols` are its batch of inputs:
# the $L$ windows of an image. For $N$ images the batch has $N L$ windows, and one GEMM handles them
# all: put the columns of every image side by side, a $C_{in} k_H k_W \times N L$ matrix.
#
# It works the other way round too: a fully connected layer on a $C \times H \times W$ feature map
# is a convolution whose kernels are as large as the map ($H_{out} = W_{out} = 1$). AlexNet's first
# fully connected layer, on the $256 \times 6 \times 6$ maps of its last pooling layer, is 4096
# kernels of $256 \times 6 \times 6$. This is how a network trained on $224 \times 224$ crops can
# be run on a larger image: the fully connected layers, read as convolutions, slide over it.

# %%
rng = np.random.default_rng(2)
x_c = rng.standard_normal((4, 3, 8, 8))
w_c = rng.standard_normal((5, 3, 3, 3))
cols_all = reference.im2col(x_c, 3)                                   # (4, 27, 36)
wide = cols_all.transpose(1, 0, 2).reshape(27, 4 * 36)                # every window of the batch: (27, 144)
Y_all = (w_c.reshape(5, -1) @ wide).reshape(5, 4, 6, 6).transpose(1, 0, 2, 3)
print("one GEMM for the whole batch:", wide.shape, "->", np.allclose(Y_all, reference.conv2d(x_c, w_c)))

maps = rng.standard_normal((4, 16, 6, 6))                             # pooled maps, as before an FC layer
W_fc6 = rng.standard_normal((10, 16 * 6 * 6))                         # a fully connected layer on them
as_fc = maps.reshape(4, -1) @ W_fc6.T
as_conv = reference.conv2d(maps, W_fc6.reshape(10, 16, 6, 6))         # 10 kernels as large as the maps
print("FC layer == convolution with kernels as large as the input:", as_conv.shape,
      np.allclose(as_fc, as_conv[:, :, 0, 0]))

# %% [markdown]
# ## 6. The price: im2col's memory
#
# im2col copies each window, and windows overlap. The input has $C H W$ values; `cols` has
# $C k_H k_W \cdot H_{out} W_{out}$. With "same" padding, $H_{out} W_{out} \approx H W / s^2$ for a
# stride $s$, so the **blow-up factor** is about
#
# $$ \frac{C\, k_H k_W\, H_{out} W_{out}}{C H W} \approx \frac{k_H k_W}{s^2}: $$
#
# 9 for the $3 \times 3$ convolutions of VGG, 25 for a $5 \times 5$ kernel at stride 1, and about 7.6
# for AlexNet's $11 \times 11$ kernels at stride 4. A $1 \times 1$ convolution at stride 1 costs
# nothing at all: `cols` is `x.reshape(N, C, H*W)`, no copy. The table computes the exact factors
# and the size of `cols` for a batch of 64 images in float32, next to the size of the layer's
# Toeplitz matrix (which does not even depend on the batch).

# %%
# (layer, C, H, W, kernel, stride, padding, C_out)
layers = [("LeNet-5 C1", 1, 32, 32, 5, 1, 0, 6), ("LeNet-5 C3", 6, 14, 14, 5, 1, 0, 16),
          ("AlexNet conv1", 3, 227, 227, 11, 4, 0, 96), ("AlexNet conv2", 96, 27, 27, 5, 1, 2, 256),
          ("AlexNet conv3", 256, 13, 13, 3, 1, 1, 384), ("VGG16 conv1_2", 64, 224, 224, 3, 1, 1, 64),
          ("VGG16 conv3_2", 256, 56, 56, 3, 1, 1, 256), ("VGG16 conv5_3", 512, 14, 14, 3, 1, 1, 512),
          ("1×1 conv (ResNet)", 256, 56, 56, 1, 1, 0, 64)]
batch, bytes_per_value = 64, 4
rows = []
print(f"{'layer':18} {'input':>13} {'k/s/p':>8} {'H_out':>5} {'factor':>7} {'≈ k²/s²':>7} "
      f"{'x (MB)':>8} {'cols (MB)':>10} {'Toeplitz (GB)':>14}")
for name, C, H, W, k, s, p, C_out in layers:
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    factor = (C * k * k * Ho * Wo) / (C * H * W)
    x_mb = batch * C * H * W * bytes_per_value / 2 ** 20
    toeplitz_gb = (C_out * Ho * Wo) * (C * H * W) * bytes_per_value / 2 ** 30
    rows.append((name, factor, k * k / s ** 2))
    print(f"{name:18} {f'{C}×{H}×{W}':>13} {f'{k}/{s}/{p}':>8} {Ho:5d} {factor:7.1f} {k * k / s ** 2:7.1f} "
          f"{x_mb:8.1f} {x_mb * factor:10.1f} {toeplitz_gb:14,.1f}")

fig, ax = plt.subplots(figsize=(10, 3.8))
names, factors, approx = zip(*rows)
pos = np.arange(len(names))
ax.bar(pos - 0.2, factors, width=0.4, label="exact: C kH kW H_out W_out / (C H W)")
ax.bar(pos + 0.2, approx, width=0.4, label="kH kW / s²")
ax.set_xticks(pos, names, rotation=25, ha="right")
ax.set_ylabel("size of cols / size of x")
ax.set_title("how much larger im2col's matrix is than the input")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# VGG16's second layer would need 7 GB for the columns of a batch of 64 — far more than the layer's
# input and output together. Libraries that use im2col therefore work through the batch a few
# images at a time, reusing one buffer; GPU libraries (cuDNN) go further and use an **implicit
# GEMM**: they run the matrix product as if `cols` existed, building each tile of it in fast on-chip
# memory just before it is used, so it never exists in full. Other algorithms avoid the copy
# altogether: Winograd's minimal filtering for $3 \times 3$ kernels, the FFT for large kernels
# (the convolution theorem), or carefully written direct loops (oneDNN on CPUs).
#
# ## 7. How fast is it?
#
# Now the three ways of computing the same layer, on a batch of 8 images with 16 channels, 16
# kernels of $3 \times 3$, padding 1, for images from $8 \times 8$ to $32 \times 32$:
#
# - **loops** over the output channels and pixels, each output a NumPy dot product of a window with
#   a kernel — the definition, written out;
# - **im2col + GEMM**: your `conv2d_gemm` (cnnkit's, while yours is not written or not right yet);
# - **PyTorch's** `conv2d` on the CPU (oneDNN), and on the GPU when there is one (cuDNN). GPU work
#   runs asynchronously, so its timing waits for the GPU to finish (`torch.cuda.synchronize`).
#
# Every method computes $2 N C_{out} C_{in} k_H k_W H_{out} W_{out}$ floating-point operations; the
# plot shows the time per batch, and the table the rate in GFLOP/s.

# %%
def conv2d_loops(x, w, b, padding):
    """The convolution layer by its definition: one dot product per output channel and pixel."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    N, C_out, (kH, kW) = x.shape[0], w.shape[0], w.shape[2:]
    H_out, W_out = xp.shape[2] - kH + 1, xp.shape[3] - kW + 1
    y = np.empty((N, C_out, H_out, W_out), dtype=x.dtype)
    for o in range(C_out):
        for i in range(H_out):
            for j in range(W_out):
                window = xp[:, :, i:i + kH, j:j + kW].reshape(N, -1)
                y[:, o, i, j] = window @ w[o].ravel() + b[o]
    return y


rng = np.random.default_rng(3)
N_t, C_t, D_t, k_t = 8, 16, 16, 3
w_t = rng.standard_normal((D_t, C_t, k_t, k_t)).astype(np.float32)
b_t = rng.standard_normal(D_t).astype(np.float32)

x_try = rng.standard_normal((2, C_t, 5, 5)).astype(np.float32)
try:   # your conv2d_gemm once it is written and right, cnnkit's until then
    yours_works = np.allclose(conv2d_gemm(x_try, w_t, b_t, padding=1),
                              reference.conv2d_gemm(x_try, w_t, b_t, padding=1), rtol=1e-3, atol=1e-3)
except Exception:
    yours_works = False
gemm, gemm_label = ((conv2d_gemm, "im2col + GEMM (your conv2d_gemm)") if yours_works
                    else (reference.conv2d_gemm, "im2col + GEMM (cnnkit's conv2d_gemm)"))

methods = {"loops": lambda x: conv2d_loops(x, w_t, b_t, 1),
           gemm_label: lambda x: gemm(x, w_t, b_t, padding=1)}
w_torch, b_torch = torch.from_numpy(w_t), torch.from_numpy(b_t)
methods["PyTorch conv2d, CPU"] = lambda x: F.conv2d(torch.from_numpy(x), w_torch, b_torch, padding=1)
if torch.cuda.is_available():
    w_gpu, b_gpu = w_torch.cuda(), b_torch.cuda()

    def on_gpu(fn):
        def run(x_gpu):
            out = fn(x_gpu)
            torch.cuda.synchronize()          # wait until the GPU has finished, or the time means nothing
            return out
        return run

    methods["PyTorch conv2d, GPU"] = on_gpu(lambda x: F.conv2d(x, w_gpu, b_gpu, padding=1))
    methods["im2col + GEMM, GPU"] = on_gpu(
        lambda x: (w_gpu.reshape(D_t, -1) @ F.unfold(x, k_t, padding=1) + b_gpu[:, None])
        .reshape(x.shape[0], D_t, x.shape[2], x.shape[3]))

sizes = [8, 16, 24, 32]
inputs = [rng.standard_normal((N_t, C_t, size, size)).astype(np.float32) for size in sizes]
timings = {name: [np.inf] * len(sizes) for name in methods}   # seconds per batch
with torch.no_grad():
    want = F.conv2d(torch.from_numpy(inputs[0]), w_torch, b_torch, padding=1).numpy()
    for name, fn in methods.items():          # every method computes the same layer
        out = fn(torch.from_numpy(inputs[0]).cuda() if "GPU" in name else inputs[0])
        out = out.cpu().numpy() if torch.is_tensor(out) else out
        # within 1% of the largest value: a GPU may round float32 products to TF32 (10-bit mantissa)
        assert np.abs(out - want).max() <= 1e-2 * np.abs(want).max(), name
    # a machine shared with other work slows some runs down: take the best of three rounds, each
    # timing every method and size once, so that a busy moment cannot spoil one method alone
    for _ in range(3):
        for name, fn in methods.items():
            for n, x_t in enumerate(inputs):
                data = torch.from_numpy(x_t).cuda() if "GPU" in name else x_t
                if name == "loops":   # slow enough to time in one run
                    t = best_time(lambda: fn(data), repeat=1, budget=0, warm_up=False)
                else:
                    t = best_time(lambda: fn(data), repeat=3, budget=0.05)
                timings[name][n] = min(timings[name][n], t)

flops = [2 * N_t * D_t * C_t * k_t * k_t * s * s for s in sizes]
print(f"{'time per batch, ms (GFLOP/s)':36}" + "".join(f"{f'{s}×{s}':>17}" for s in sizes))
for name, t in timings.items():
    print(f"{name:36}" + "".join(f"{ti * 1e3:10.2f} ({f / ti / 1e9:4.1f})" for ti, f in zip(t, flops)))

fig, ax = plt.subplots(figsize=(8, 4.5))
for name, t in timings.items():
    ax.plot(sizes, np.array(t) * 1e3, "o-", label=name)
ax.set_yscale("log")
ax.set_xticks(sizes, [f"{s}×{s}" for s in sizes])
ax.set_xlabel("image size (batch of 8, 16 channels in, 16 out, 3×3 kernels, padding 1)")
ax.set_ylabel("time per batch (ms, log scale)")
ax.set_title("the same convolution layer, three ways")
ax.legend()
plt.tight_layout()
plt.show()

print(f"at {sizes[-1]}×{sizes[-1]}: im2col + GEMM is {timings['loops'][-1] / timings[gemm_label][-1]:.0f}× faster "
      f"than the loops; PyTorch on the CPU {timings[gemm_label][-1] / timings['PyTorch conv2d, CPU'][-1]:.1f}× "
      f"faster than im2col + GEMM in NumPy")

# %% [markdown]
# What the plot shows (the exact numbers depend on the machine):
#
# - The **loops** pay Python's overhead — a few microseconds — for every output channel and pixel,
#   thousands of times per image; each dot product is far too small to keep the processor busy.
#   Their time grows with the number of output pixels and they stay at a small fraction of a
#   GFLOP/s.
# - **im2col + GEMM** does the same arithmetic in a handful of NumPy calls: one copy into `cols`
#   and one matrix product, which BLAS runs at close to the processor's peak. It is typically a
#   hundred times faster or more, and the gap grows with the size of the layer. The price is the
#   copy, and the memory of section 6.
# - **PyTorch** on the CPU is faster still: no Python at all between the steps, no full copy of the
#   columns, and kernels tuned for each processor. On a **GPU** (when the notebook runs on one) the
#   small sizes are dominated by the fixed cost of launching work on the device; the large ones
#   run at many times the CPU's rate.
# - On a machine busy with other work, a multithreaded library can **stall**: its threads wait for
#   each other while one of them waits for a free core. The cell keeps each method's best time over
#   three rounds, but a point far above its neighbours is such a stall, not the method. Run the
#   cell again to see how much the numbers move.
#
# The lesson for the rest of the course: write the arithmetic of a layer as large matrix products
# over whole batches, and let the library do the rest.
#
# ## 8. Check your understanding
#
# Try each question before opening its answer.
#
# 1. Write the Toeplitz matrix of $k = [1, -1]$ for signals of length 4. What does $T x$ compute?
#
# <details><summary>Answer</summary>
#
# $T = \begin{bmatrix} 1 & -1 & 0 & 0 \\ 0 & 1 & -1 & 0 \\ 0 & 0 & 1 & -1 \end{bmatrix}$, a
# $3 \times 4$ matrix; $T x = [x_0 - x_1,\ x_1 - x_2,\ x_2 - x_3]$, the differences of neighbours.
#
# </details>
#
# 2. How does the matrix of *true* (valid) convolution with $k$ differ from that of
#    cross-correlation? Which way does the kernel run along a row?
#
# <details><summary>Answer</summary>
#
# It has the kernel reversed in each row: $T[i, i + j] = k[m - 1 - j]$, the same as the
# cross-correlation matrix of $\operatorname{flip}(k)$. For cross-correlation the row reads
# $k[0], k[1], \dots$ from left to right; for convolution $k[m-1], \dots, k[0]$.
#
# </details>
#
# 3. A layer has 64 kernels of $3 \times 3 \times 3$ and gets $3 \times 32 \times 32$ images (no
#    padding). What is the shape of its Toeplitz matrix, and how many nonzero entries does a row
#    have?
#
# <details><summary>Answer</summary>
#
# $H_{out} = W_{out} = 30$, so $T$ is $(64 \cdot 30 \cdot 30) \times (3 \cdot 32 \cdot 32) =
# 57{,}600 \times 3{,}072$. Each row holds one kernel: $3 \cdot 3 \cdot 3 = 27$ nonzero entries out of
# 3,072.
#
# </details>
#
# 4. What is the shape of `im2col(x, 5, stride=1, padding=2)` for `x` of shape `(8, 3, 32, 32)`? How
#    many times larger than `x` is it?
#
# <details><summary>Answer</summary>
#
# Padding 2 keeps the size, so $L = 32 \cdot 32 = 1024$ and the shape is `(8, 75, 1024)`
# ($3 \cdot 5 \cdot 5 = 75$ rows). It has $75 \cdot 1024 / (3 \cdot 1024) = 25$ times as many values
# as `x`: each pixel is copied into the 25 windows that contain it.
#
# </details>
#
# 5. Why must the rows of `cols` be ordered channel first, then kernel row, then kernel column?
#
# <details><summary>Answer</summary>
#
# Because `w.reshape(C_out, -1)` lists each kernel in that order ($w[o]$ is $C \times k_H \times k_W$,
# flattened row-major), and the product pairs entry $r$ of a kernel with row $r$ of `cols`. Any
# order works if both sides use it — but PyTorch's `unfold` and the weights' memory layout agree on
# $(c, p, q)$, so that is the order everyone uses.
#
# </details>
#
# 6. What does im2col produce for a $1 \times 1$ kernel at stride 1, and what does the convolution
#    become?
#
# <details><summary>Answer</summary>
#
# `cols` is just `x.reshape(N, C, H*W)`: every window is one pixel's channel vector, and nothing is
# copied twice. The convolution is $W_{mat} = $ `w.reshape(C_out, C)` applied to every pixel: a fully
# connected layer on the channels, shared by all positions.
#
# </details>
#
# 7. Backpropagation needs $\partial J / \partial \vec x = T^\top \partial J / \partial \vec y$.
#    In im2col terms, how is it computed?
#
# <details><summary>Answer</summary>
#
# $\partial J / \partial \text{cols} = W_{mat}^\top\, \partial J / \partial Y$ (one GEMM), and then
# each entry of that matrix is *added back* onto the input pixel it was copied from — the adjoint of
# im2col, called **col2im** (`torch.nn.functional.fold`). A pixel that appeared in several windows
# collects the sum of their gradients.
#
# </details>
#
# 8. A batch of 256 inputs goes through a fully connected layer one input at a time, and then as
#    one matrix product. Both do the same number of operations; why is the second much faster?
#
# <details><summary>Answer</summary>
#
# One at a time, every weight is read from memory for a single multiply-add, so the speed is set by
# memory bandwidth. In the matrix product every weight is used 256 times once loaded, and BLAS
# arranges the work in tiles that stay in the caches and registers, so the arithmetic units run at
# full speed.
#
# </details>
