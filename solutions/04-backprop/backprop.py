# %% [markdown]
# # Assignment 04 — Backpropagation through a small CNN
#
# A network learns by changing its weights a little at a time in the direction that lowers the
# loss. That direction is the **gradient** of the loss with respect to every weight, and
# **backpropagation** is the way to compute all of them at once: one pass forward through the
# network to compute the output and the loss, one pass backward that applies the chain rule layer
# by layer, from the loss down to the first convolution. In this notebook you write that backward
# pass yourself, in NumPy, for the small network of the lectures:
#
# $$ x \xrightarrow{\text{conv}} z_c \xrightarrow{\sigma} a_c \xrightarrow{\text{2×2 avg pool}} p
#    \xrightarrow{\text{flatten}} f \xrightarrow{\text{FC 1}} z_1 \xrightarrow{\sigma} a_1
#    \xrightarrow{\text{FC 2}} z_2 \xrightarrow{\sigma} h, \qquad J = \tfrac12 \lVert h - y \rVert^2 , $$
#
# then check it two ways (with finite differences and with PyTorch's automatic differentiation) and
# train the network on real handwritten digits.
#
# **When you have finished you will be able to**
#
# 1. explain backpropagation as the chain rule applied backwards, one layer at a time, and define
#    the **δ** of a layer, $\delta = \partial J / \partial z$;
# 2. differentiate the sigmoid and say why deep sigmoid networks learn slowly;
# 3. derive and write the backward pass of a fully connected layer — $dx$, $dW$, $db$ — and explain
#    why a weight gradient has the shape of the weight and sums over the batch;
# 4. pass a gradient back through average pooling (spread evenly, divided by the pool area) and max
#    pooling (routed to the maximum, the first one on ties);
# 5. derive the gradients of a convolution layer: $dW$ as a correlation of the input with δ,
#    **summed over every position and every image**, $db$ as a sum of δ, and $dx$ as a full
#    cross-correlation of δ with the kernel rotated by 180°;
# 6. assemble all of it into the gradients of the whole network, check them numerically with
#    central differences and against PyTorch's autograd, and train the network by gradient descent.
#
# **How this works.** As in the earlier assignments: each graded function lives in a cell of its
# own, marked `# YOUR CODE HERE`. Replace `raise NotImplementedError()` with your code and run the
# cell. The cell after it runs the *visible checks* (`checks.check(...)`), which explain what went
# wrong when something does. When the notebook is graded, more checks on inputs you have not seen
# decide the score.
#
# **The rules.** NumPy only inside your functions: no `torch`, no `scipy`, no `cnnkit`. Later
# functions may call your earlier ones (that is the point of section 6). Functions keep the
# floating dtype they are given (float32 stays float32) and never change their inputs.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle
from tqdm.auto import tqdm

from cnnkit import reference  # the course's own implementations: for the worked examples and figures only
from cnnkit.plot import draw_grid  # small arrays drawn as tables of numbers
from cnnkit.checks import for_assignment
from cnnkit.data import load_mnist

checks = for_assignment("04")  # the visible checks of this assignment: checks.check(name, function)

np.set_printoptions(precision=4, suppress=True)


def yours_or_course(name, yours, course):
    """Your function once it passes its visible checks; until then the course's own version.

    The demonstrations in sections 7 to 9 run with your code as soon as it works.
    """
    try:
        checks.check(name, yours)
        return yours
    except AssertionError:
        print(f"({name} does not pass its checks yet: the course's version is used below)")
        return course


# %% [markdown]
# ## 1. The chain rule, backwards
#
# Start with the smallest network there is: one input $x$, one weight $w$, one bias $b$, a sigmoid
# $\sigma$, and the squared error against a target $y$:
#
# $$ z = w x + b, \qquad h = \sigma(z), \qquad J = \tfrac12 (h - y)^2 . $$
#
# How does $J$ change when $w$ changes? $w$ acts on $J$ only through $z$, and $z$ only through
# $h$, so the **chain rule** multiplies the three local derivatives:
#
# $$ \frac{\partial J}{\partial w} = \underbrace{\frac{\partial J}{\partial h}}_{h - y}
#    \cdot \underbrace{\frac{\partial h}{\partial z}}_{\sigma'(z)} \cdot
#    \underbrace{\frac{\partial z}{\partial w}}_{x} . $$
#
# Backpropagation computes such products **from the loss backwards**. The product of the first two
# factors, the gradient of the loss with respect to the layer's *pre-activation* $z$, gets a name
# of its own, the **delta** of the layer:
#
# $$ \delta = \frac{\partial J}{\partial z} = (h - y)\, \sigma'(z), \qquad
#    \frac{\partial J}{\partial w} = \delta\, x, \qquad \frac{\partial J}{\partial b} = \delta,
#    \qquad \frac{\partial J}{\partial x} = \delta\, w . $$
#
# Once δ is known, every gradient of the layer is one multiplication away, and
# $\partial J / \partial x$ is what the layer *before* it needs to compute its own δ. A deep network
# repeats this: each layer receives the gradient of the loss with respect to its output (we call
# it `dout`), and returns the gradients with respect to its inputs and its parameters.
#
# ### Worked example
#
# With $x = 2$, $w = 0.5$, $b = -0.5$ and $y = 1$: $z = 0.5$, $h = \sigma(0.5) \approx 0.6225$,
# $J \approx 0.0713$. Then $\partial J / \partial h = h - y \approx -0.3775$, $\sigma'(z) = h(1 - h)
# \approx 0.2350$, so $\delta \approx -0.0887$ and $\partial J / \partial w = \delta x \approx
# -0.1774$: increasing $w$ lowers the loss. The cell below checks it by nudging $w$ by $\pm 10^{-6}$
# and measuring how $J$ moves — a *numerical* derivative, which section 8 makes into a tool.

# %%
x0, w0, b0, y0 = 2.0, 0.5, -0.5, 1.0


def tiny_loss(w):
    h = 1 / (1 + np.exp(-(w * x0 + b0)))
    return 0.5 * (h - y0) ** 2


z0 = w0 * x0 + b0
h0 = 1 / (1 + np.exp(-z0))
delta0 = (h0 - y0) * h0 * (1 - h0)
print(f"z = {z0:g}, h = {h0:.4f}, J = {tiny_loss(w0):.4f}")
print(f"delta = (h - y) * h * (1 - h) = {delta0:.4f};  dJ/dw = delta * x = {delta0 * x0:.4f}")
step = 1e-6
print(f"numerically: (J(w + 1e-6) - J(w - 1e-6)) / 2e-6 = {(tiny_loss(w0 + step) - tiny_loss(w0 - step)) / (2 * step):.4f}")

# %% [markdown]
# ### The network of the lectures
#
# The network of this assignment is a convolution layer followed by average pooling and two fully
# connected layers, with a sigmoid after each layer that has weights. For a batch of $N$ images
# $x$ of shape $(N, C, H, W)$:
#
# | step | computes | shape |
# | --- | --- | --- |
# | convolution | $z_c = \text{conv}(x, W_c) + b_c$ ($D$ filters $k \times k$, stride 1, no padding) | $(N, D, H - k + 1, W - k + 1)$ |
# | sigmoid | $a_c = \sigma(z_c)$ | same |
# | 2×2 average pooling | $p = \text{avgpool}(a_c)$ | $(N, D, H_p, W_p)$, halved (rounded down) |
# | flatten | $f$ = `p.reshape(N, -1)` | $(N, D H_p W_p)$ |
# | FC 1 + sigmoid | $z_1 = f W_1^\top + b_1$, $a_1 = \sigma(z_1)$ | $(N, H_1)$ |
# | FC 2 + sigmoid | $z_2 = a_1 W_2^\top + b_2$, $h = \sigma(z_2)$ | $(N, K)$ |
# | loss | $J = \tfrac12 \sum_n \sum_k (h_{nk} - y_{nk})^2$, summed over the batch | a number |
#
# The backward pass visits the same steps in reverse order. The **worked example** of the lectures,
# used all through this notebook, is as small as possible: one 5×5 image (a ring of ones), one 2×2
# filter that responds to diagonal changes, 4 pooled values, 2 hidden units and 2 outputs with
# target $y = (1, 0)$. Its forward pass:

# %%
x_ex = np.array([[0, 0, 1, 0, 0],
                 [0, 1, 1, 1, 0],
                 [1, 1, 0, 1, 1],
                 [0, 1, 1, 1, 0],
                 [0, 0, 1, 0, 0]], dtype=float).reshape(1, 1, 5, 5)
params_ex = {"W_conv": np.array([[1.0, -1.0], [-1.0, 1.0]]).reshape(1, 1, 2, 2), "b_conv": np.array([0.5]),
             "W1": np.array([[1.0, -1.0, 0.5, 0.0], [0.0, 1.0, -1.0, 0.5]]), "b1": np.array([0.0, -0.5]),
             "W2": np.array([[1.0, -2.0], [-1.0, 1.0]]), "b2": np.array([0.5, 0.0])}
y_ex = np.array([[1.0, 0.0]])

z_c = reference.conv2d(x_ex, params_ex["W_conv"], params_ex["b_conv"])
a_c = reference.sigmoid(z_c)
p_ex = reference.avg_pool2d(a_c, 2)
f_ex = p_ex.reshape(1, -1)
z_1 = f_ex @ params_ex["W1"].T + params_ex["b1"]
a_1 = reference.sigmoid(z_1)
z_2 = a_1 @ params_ex["W2"].T + params_ex["b2"]
h_ex = reference.sigmoid(z_2)
J_ex = 0.5 * np.sum((h_ex - y_ex) ** 2)
print("z_c =\n", z_c[0, 0], "\na_c = sigmoid(z_c) =\n", a_c[0, 0], "\np (2x2 average) =\n", p_ex[0, 0])
print("f =", f_ex, "\nz_1 =", z_1, " a_1 =", a_1, "\nz_2 =", z_2, " h =", h_ex, f"\nJ = {J_ex:.4f}")


# %%
def draw_network(ax):
    """The lectures' network as boxes, forward to the right and backward (the deltas) to the left."""
    steps = [("x\n(N,C,H,W)", "0.85"), ("conv\n$z_c$", "tab:blue"), ("σ\n$a_c$", "tab:green"),
             ("2×2 avg\npool $p$", "tab:orange"), ("flatten\n$f$", "0.85"), ("FC 1\n$z_1$", "tab:blue"),
             ("σ\n$a_1$", "tab:green"), ("FC 2\n$z_2$", "tab:blue"), ("σ\n$h$", "tab:green"),
             ("loss\n$J$", "tab:red")]
    for i, (text, colour) in enumerate(steps):
        ax.add_patch(Rectangle((i * 1.4, 0), 1.0, 1.0, color=colour, alpha=0.35))
        ax.text(i * 1.4 + 0.5, 0.5, text, ha="center", va="center", fontsize=10)
        if i:
            ax.add_patch(FancyArrowPatch(((i - 1) * 1.4 + 1.0, 0.75), (i * 1.4, 0.75), arrowstyle="->",
                                         mutation_scale=12))
            ax.add_patch(FancyArrowPatch((i * 1.4, 0.25), ((i - 1) * 1.4 + 1.0, 0.25), arrowstyle="->",
                                         mutation_scale=12, color="tab:red"))
    for i, label in [(1, "$\\delta_c$"), (5, "$\\delta_1$"), (7, "$\\delta_2$")]:
        ax.text(i * 1.4 + 0.5, -0.25, label, ha="center", color="tab:red", fontsize=12)
    ax.text(6.7, 1.35, "forward: values", ha="center")
    ax.text(6.7, -0.6, "backward: gradients (red), δ = ∂J/∂z of each layer with weights", ha="center",
            color="tab:red")
    ax.set_xlim(-0.2, 14)
    ax.set_ylim(-0.8, 1.6)
    ax.axis("off")


fig, ax = plt.subplots(figsize=(13, 2.6))
draw_network(ax)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. The sigmoid and its derivative
#
# The logistic sigmoid squashes any number into $(0, 1)$:
#
# $$ \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma(0) = \tfrac12, \qquad \sigma(-z) = 1 - \sigma(z). $$
#
# Its derivative has a form that makes backpropagation cheap — it needs only the sigmoid's own
# output:
#
# $$ \sigma'(z) = \frac{e^{-z}}{(1 + e^{-z})^2} = \sigma(z)\,\bigl(1 - \sigma(z)\bigr). $$
#
# So the backward pass of a sigmoid layer, given `dout` $= \partial J / \partial a$ and the forward
# input $z$, is element by element
#
# $$ \frac{\partial J}{\partial z} = \texttt{dout} \cdot \sigma(z)\,\bigl(1 - \sigma(z)\bigr). $$
#
# Two things to notice in the figure below:
#
# - $\sigma'(z)$ is at most $\tfrac14$ (at $z = 0$). Every sigmoid a gradient passes through
#   multiplies it by at most a quarter, so after five sigmoid layers it has shrunk by a factor of at
#   least $4^5 \approx 1000$: the **vanishing gradient** that makes deep sigmoid networks learn
#   slowly (and one reason later networks use the ReLU);
# - for large $|z|$ the sigmoid **saturates**: $\sigma'(z) \approx e^{-|z|}$, and a unit stuck
#   there hardly learns at all.
#
# **Computing it safely.** For $z = -800$, `np.exp(-z)` overflows to infinity. `1 / (1 + np.exp(-z))`
# survives that (one divided by infinity is 0, the right answer, with a warning), but the equivalent
# `np.exp(z) / (1 + np.exp(z))` gives infinity over infinity = NaN for $z = 800$. A form that never
# overflows uses $e = e^{-|z|} \le 1$: $\sigma(z) = 1/(1 + e)$ for $z \ge 0$ and $e/(1 + e)$ for $z < 0$.

# %%
zz = np.linspace(-8, 8, 401)
s = reference.sigmoid(zz)
fig, ax = plt.subplots(figsize=(8, 3.6))
ax.plot(zz, s, label="$\\sigma(z)$")
ax.plot(zz, s * (1 - s), label="$\\sigma'(z) = \\sigma(z)(1 - \\sigma(z))$")
ax.axhline(0.25, color="0.6", ls=":", lw=1)
ax.annotate("largest slope 1/4 at z = 0", (0, 0.25), (2.5, 0.3), arrowprops=dict(arrowstyle="->"))
ax.set_xlabel("z")
ax.set_title("the sigmoid and its derivative")
ax.legend(loc="upper left")
plt.tight_layout()
plt.show()
print("sigmoid'(z) at z = 0, 2, 5, 10:", (s * (1 - s))[[200, 250, 325, 400]])

# %% [markdown]
# ### Your turn: `sigmoid` and `sigmoid_backward`
#
# - `sigmoid(z)`: $\sigma(z)$ element by element, for an array of any shape; no NaN for large $|z|$.
# - `sigmoid_backward(dout, z)`: `dout` times $\sigma'(z)$, where `z` is the **forward input** of the
#   sigmoid (not its output) and `dout` has the shape of `z`.
#
# Both return an array of the shape and floating dtype of `z`.

# %% nbgrader={"grade": false, "grade_id": "sigmoid", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid(z):
    """The logistic sigmoid 1 / (1 + e^(-z)), element by element, without overflow."""
    ### BEGIN SOLUTION
    z = np.asarray(z)
    e = np.exp(-np.abs(z))                       # e <= 1: nothing overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "sigmoid_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("sigmoid", sigmoid)

# %% nbgrader={"grade": true, "grade_id": "sigmoid_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("sigmoid", sigmoid)
### BEGIN HIDDEN TESTS
checks.check("sigmoid", sigmoid, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "sigmoid_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid_backward(dout, z):
    """dJ/dz = dout * sigmoid(z) * (1 - sigmoid(z)); z is the sigmoid's forward input."""
    ### BEGIN SOLUTION
    s = sigmoid(z)
    return dout * s * (1 - s)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "sigmoid_backward_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("sigmoid_backward", sigmoid_backward)

# %% nbgrader={"grade": true, "grade_id": "sigmoid_backward_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
checks.check("sigmoid_backward", sigmoid_backward)
### BEGIN HIDDEN TESTS
checks.check("sigmoid_backward", sigmoid_backward, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Fully connected layers and the deltas of the output and hidden layers
#
# A fully connected (FC) layer maps a batch $x$ of shape $(N, \text{in})$ to
#
# $$ y = x W^\top + b, \qquad y_{no} = \sum_i x_{ni} W_{oi} + b_o , $$
#
# with $W$ of shape $(\text{out}, \text{in})$ as in PyTorch. Given `dout` $= \partial J / \partial y$
# of shape $(N, \text{out})$, the chain rule goes through every $y_{no}$ that an entry touches:
#
# - $W_{oi}$ appears in $y_{no}$ for **every item $n$ of the batch**, with coefficient $x_{ni}$:
#   $$ \frac{\partial J}{\partial W_{oi}} = \sum_n \texttt{dout}_{no}\, x_{ni}, \qquad
#      dW = \texttt{dout}^\top x \quad (\text{out}, \text{in}); $$
# - $b_o$ appears in $y_{no}$ for every $n$ with coefficient 1: $db = \sum_n \texttt{dout}_{n\cdot}$,
#   of shape $(\text{out},)$;
# - $x_{ni}$ appears in $y_{no}$ for every output $o$, with coefficient $W_{oi}$:
#   $dx = \texttt{dout}\, W$, of shape $(N, \text{in})$.
#
# Two rules of thumb catch most mistakes: **a gradient has the shape of what it is the gradient
# of** (so $dW$ is $(\text{out}, \text{in})$ like $W$, never its transpose), and **a parameter
# shared by several items (or positions) collects the sum of their gradients** — the loss is a sum
# over the batch, so its gradient is too.
#
# ### The deltas of the worked example
#
# The output layer is FC 2 followed by a sigmoid, so its delta is the loss gradient times the
# sigmoid's derivative:
#
# $$ \delta_2 = \frac{\partial J}{\partial z_2} = (h - y) \odot \sigma'(z_2) = (h - y) \odot h \odot (1 - h). $$
#
# FC 2 then gives $dW_2 = \delta_2^\top a_1$, $db_2 = \sum_n \delta_2$ and passes back
# $\partial J / \partial a_1 = \delta_2 W_2$; the sigmoid of the hidden layer turns it into
#
# $$ \delta_1 = (\delta_2 W_2) \odot \sigma'(z_1), \qquad dW_1 = \delta_1^\top f, \qquad
#    db_1 = \sum_n \delta_1, \qquad \frac{\partial J}{\partial f} = \delta_1 W_1 . $$

# %%
delta_2 = (h_ex - y_ex) * h_ex * (1 - h_ex)
dW2_ex, db2_ex = delta_2.T @ a_1, delta_2.sum(axis=0)
delta_1 = (delta_2 @ params_ex["W2"]) * a_1 * (1 - a_1)
dW1_ex, db1_ex = delta_1.T @ f_ex, delta_1.sum(axis=0)
df_ex = delta_1 @ params_ex["W1"]
print("h - y =", h_ex - y_ex, "\ndelta_2 =", delta_2, "\ndW2 =\n", dW2_ex, "\ndb2 =", db2_ex)
print("delta_1 =", delta_1, "\ndW1 =\n", dW1_ex, "\ndb1 =", db1_ex, "\ndJ/df =", df_ex)

# %% [markdown]
# Look at the signs: the first output is below its target 1 ($h_1 - y_1 < 0$), so its delta is
# negative and gradient descent ($W \leftarrow W - \eta\, dW$) *raises* the weights that feed it from
# active units; the second output should be 0 and is pushed down.
#
# ### Your turn: `linear_backward`
#
# Write `linear_backward(dout, x, w)` for the layer $y = x w^\top + b$: `dout` is $(N, \text{out})$,
# `x` the forward input $(N, \text{in})$, `w` the weight $(\text{out}, \text{in})$. Return the
# **tuple** `(dx, dw, db)` — the gradients in the order of the layer's inputs — with shapes
# $(N, \text{in})$, $(\text{out}, \text{in})$ and $(\text{out},)$. (The bias is not needed: the
# gradients do not depend on it.)

# %% nbgrader={"grade": false, "grade_id": "linear_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def linear_backward(dout, x, w):
    """Backward pass of y = x @ w.T + b: returns (dx, dw, db), shaped like x, w and b."""
    ### BEGIN SOLUTION
    dx = dout @ w                  # (N, out) @ (out, in)
    dw = dout.T @ x                # (out, N) @ (N, in): a sum over the batch
    db = dout.sum(axis=0)
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "linear_backward_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("linear_backward", linear_backward)

# %% nbgrader={"grade": true, "grade_id": "linear_backward_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check("linear_backward", linear_backward)
### BEGIN HIDDEN TESTS
checks.check("linear_backward", linear_backward, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Back through the pooling layer
#
# Flattening only rearranges numbers, so its backward pass rearranges them back:
# $\partial J / \partial p$ is `df.reshape(p.shape)`. Pooling itself has no weights, but the
# gradient must still find its way back to every pixel of $a_c$.
#
# **Average pooling.** Output $(i, j)$ is the mean of its $k_H \times k_W$ window,
# $p_{ij} = \frac{1}{k_H k_W} \sum_{a,b} a_{i s_H + a,\, j s_W + b}$, so every pixel of the window has
# the same coefficient $1/(k_H k_W)$ and receives
#
# $$ \frac{\partial J}{\partial a_{i s_H + a,\, j s_W + b}} \mathrel{+}= \frac{\texttt{dout}_{ij}}{k_H k_W} : $$
#
# the gradient is **spread evenly over the window, divided by the pool area**. Where windows
# overlap, a pixel collects the sum over the windows it belongs to (hence $\mathrel{+}=$); pixels in
# no window (the ragged edge of assignment 03) get 0.
#
# **Max pooling.** Output $(i, j)$ equals one pixel of its window, the maximum; the others do not
# influence it at all (a small change does not change which pixel is largest). So the **whole
# gradient goes to the position of the maximum**, and the rest of the window gets 0:
#
# $$ \frac{\partial J}{\partial a_{r c}} = \sum_{(i,j):\ (r, c) = \operatorname{argmax}(\text{window } ij)}
#    \texttt{dout}_{ij} . $$
#
# When the maximum appears more than once (a **tie**), the forward pass took one of them — the first
# in row-major order, `np.argmax`'s choice and PyTorch's — and only that one gets the gradient.
# Sending it to every tied pixel would count it several times.
#
# ### Worked example
#
# The 4×4 map of assignment 03 with $\texttt{dout} = \begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}$:
# average pooling hands every pixel of the top-left window $1/4$, of the top-right window $2/4$, and
# so on; max pooling hands 1 to the 6 at (1, 1), 2 to the 8 at (1, 3), 3 to the 3 at (2, 0) and 4 to
# the 4 at (3, 3). In the second map the top-left window holds 2 twice and the bottom-right one 4
# twice (the tied pixels are shaded darker): the first of each, at (0, 1) and at (2, 3), gets
# everything, the other (grey) nothing.

# %%
colours = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
windows = [((i * 2, j * 2), (2, 2), colours[2 * i + j]) for i in range(2) for j in range(2)]
cells = [((i, j), (1, 1), colours[2 * i + j]) for i in range(2) for j in range(2)]
map03 = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)[None, None]
ties = np.array([[0, 2, 1, 1], [2, 0, 3, 0], [0, 0, 0, 4], [1, 0, 4, 0]], dtype=float)[None, None]
dout_ex = np.array([[1.0, 2.0], [3.0, 4.0]])[None, None]

tied = [((0, 1), (1, 1), "tab:blue"), ((1, 0), (1, 1), "0.5"), ((2, 3), (1, 1), "tab:red"), ((3, 2), (1, 1), "0.5")]
fig, axes = plt.subplots(2, 4, figsize=(14, 7.2))
for row, (x_map, name) in enumerate([(map03, "the map of assignment 03"), (ties, "a map with ties")]):
    draw_grid(axes[row, 0], dout_ex[0, 0], "dout at the 2×2 output", cells)
    draw_grid(axes[row, 1], x_map[0, 0], name, windows if row == 0 else windows + tied)
    draw_grid(axes[row, 2], reference.avg_pool2d_backward(dout_ex, x_map, 2)[0, 0], "average: dout / 4 everywhere",
              windows)
    draw_grid(axes[row, 3], reference.max_pool2d_backward(dout_ex, x_map, 2)[0, 0],
              "max: all to the maximum" if row == 0 else "max: all to the FIRST maximum",
              windows if row == 0 else [((0, 1), (1, 1), "tab:blue"), ((2, 3), (1, 1), "tab:red")])
plt.tight_layout()
plt.show()

# %% [markdown]
# Now the worked example of the network: $\partial J / \partial f$ from section 3, reshaped to the
# 2×2 pooled map, spread over the 4×4 map $a_c$ — every pixel gets a quarter of its window's value.
# The sum is unchanged by the spreading (four quarters make a whole), which is a quick check of any
# average-pooling backward pass.

# %%
dp_ex = df_ex.reshape(p_ex.shape)
da_c = reference.avg_pool2d_backward(dp_ex, a_c, 2)
print("dJ/dp =\n", dp_ex[0, 0], "\ndJ/da_c (spread, divided by 4) =\n", da_c[0, 0])
print("sums:", dp_ex.sum(), da_c.sum())

# %% [markdown]
# ### Your turn: `avg_pool2d_backward` and `max_pool2d_backward`
#
# Both take `dout` (the gradient at the pooled output, $(N, C, H_{out}, W_{out})$), the forward
# input `x` $(N, C, H, W)$, and the `kernel_size` and `stride` of the forward pass, with the
# conventions of assignment 03 (an int or a pair; `stride=None` means the kernel size; windows that
# do not fit are dropped). They return `dx`, shaped like `x`, in its dtype.
#
# - `avg_pool2d_backward`: every pixel of window $(i, j)$ gets `dout[:, :, i, j] / (kH * kW)`; add up
#   where windows overlap. (`x` is only needed for its shape.)
# - `max_pool2d_backward`: the whole of `dout[:, :, i, j]` goes to the first maximum (row-major) of
#   window $(i, j)$; add up where a pixel is the maximum of several windows.
#
# *Hint.* Loop over the output positions as in assignment 03 and write into the window's block of
# `dx` with `+=`. For the maximum, `window.reshape(N, C, kH * kW).argmax(axis=2)` gives its position
# $a$ in each window, at row $a$ `// kW` and column $a$ `% kW` of the window; fancy indexing with
# arrays for $n$ and $c$ (`np.meshgrid(np.arange(N), np.arange(C), indexing="ij")`) places all the
# $N \times C$ gradients of one window at once.

# %%
def as_pair(v):
    """An int v as (v, v); a pair (height, width) as it is."""
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


print(as_pair(2), as_pair((2, 3)))


# %% nbgrader={"grade": false, "grade_id": "avg_pool2d_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def avg_pool2d_backward(dout, x, kernel_size, stride=None):
    """Gradient of average pooling: each window's dout spread evenly over it, divided by kH * kW."""
    ### BEGIN SOLUTION
    kH, kW = as_pair(kernel_size)
    sH, sW = (kH, kW) if stride is None else as_pair(stride)
    H_out, W_out = dout.shape[2:]
    dx = np.zeros(x.shape, dtype=x.dtype)
    share = dout / (kH * kW)
    for i in range(H_out):
        for j in range(W_out):
            dx[:, :, i * sH:i * sH + kH, j * sW:j * sW + kW] += share[:, :, i, j, None, None]
    return dx
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "avg_pool2d_backward_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("avg_pool2d_backward", avg_pool2d_backward)

# %% nbgrader={"grade": true, "grade_id": "avg_pool2d_backward_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check("avg_pool2d_backward", avg_pool2d_backward)
### BEGIN HIDDEN TESTS
checks.check("avg_pool2d_backward", avg_pool2d_backward, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "max_pool2d_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool2d_backward(dout, x, kernel_size, stride=None):
    """Gradient of max pooling: each window's dout goes, whole, to its first maximum."""
    ### BEGIN SOLUTION
    kH, kW = as_pair(kernel_size)
    sH, sW = (kH, kW) if stride is None else as_pair(stride)
    N, C, H_out, W_out = dout.shape
    dx = np.zeros(x.shape, dtype=x.dtype)
    n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * sH:i * sH + kH, j * sW:j * sW + kW].reshape(N, C, kH * kW)
            a = window.argmax(axis=2)                       # the first maximum, row-major
            dx[n, c, i * sH + a // kW, j * sW + a % kW] += dout[:, :, i, j]
    return dx
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "max_pool2d_backward_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("max_pool2d_backward", max_pool2d_backward)

# %% nbgrader={"grade": true, "grade_id": "max_pool2d_backward_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check("max_pool2d_backward", max_pool2d_backward)
### BEGIN HIDDEN TESTS
checks.check("max_pool2d_backward", max_pool2d_backward, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Back through the convolution layer
#
# After the pooling, the sigmoid of the convolution layer turns $\partial J / \partial a_c$ into the
# convolution layer's delta, exactly as for the FC layers:
#
# $$ \delta_c = \frac{\partial J}{\partial z_c} = \frac{\partial J}{\partial a_c} \odot \sigma'(z_c). $$
#
# The convolution computes (stride $s$, the input padded by $p$, one output channel $d$ from input
# channels $c$)
#
# $$ z_{n d i j} = b_d + \sum_{c} \sum_{a, b} W_{d c a b}\; x^{\text{pad}}_{n,\, c,\, i s + a,\, j s + b} . $$
#
# The same weight $W_{dcab}$ is used at **every output position $(i, j)$ of every image $n$** —
# that is what makes it a convolution (weight sharing). Its gradient therefore collects one term
# from each of them:
#
# $$ \frac{\partial J}{\partial W_{d c a b}} = \sum_n \sum_{i, j} \delta_{n d i j}\;
#    x^{\text{pad}}_{n,\, c,\, i s + a,\, j s + b}, \qquad
#    \frac{\partial J}{\partial b_d} = \sum_n \sum_{i,j} \delta_{n d i j} . $$
#
# For stride 1, $dW_{dc}$ is the (valid) **cross-correlation of the input with the delta map** —
# slide $\delta_{nd}$ over $x_{nc}$ like a kernel — summed over the batch. Forgetting either sum (over
# the positions, or over the images) is the classic mistake.
#
# The input gradient runs the forward pass backwards: every output $(i, j)$ sends
# $\delta_{ndij} W_{dcab}$ back to the input pixel it read, $x^{\text{pad}}_{c,\, is + a,\, js + b}$, and
# each pixel adds up what it receives. For stride 1 that is a **full cross-correlation of δ with the
# kernel rotated by 180°** — in the words of assignment 01, a full *true* convolution of δ with the
# kernel, whose flip undoes the rotation; summed over the output channels $d$. With padding, the rows and
# columns of the padding are cut off at the end, since they are not inputs. The first layer of a
# network does not need $dx$ (nothing learns below it), but every deeper convolution layer does: it
# is the `dout` of the layer below.
#
# ### Worked example
#
# The network's $\delta_c$ is $\partial J / \partial a_c$ from section 4 times $\sigma'(z_c)$. The
# filter is 2×2 and the output 4×4, so each of the four weights collects 16 products, one per
# position. For $W_{00}$ (the top-left weight) they pair $\delta_c$ with the top-left 4×4 block of $x$;
# the cell computes that sum by hand and compares it with the whole gradient.

# %%
delta_c = da_c * a_c * (1 - a_c)
dx_c, dWc_ex, dbc_ex = reference.conv2d_backward(delta_c, x_ex, params_ex["W_conv"])
print("delta_c =\n", delta_c[0, 0])
print("dW_conv[0, 0, 0, 0] by hand: sum of delta_c * x[0:4, 0:4] =", np.sum(delta_c[0, 0] * x_ex[0, 0, 0:4, 0:4]))
print("dW_conv =\n", dWc_ex[0, 0], "\ndb_conv = sum of delta_c =", dbc_ex)

# the input gradient: delta padded by k - 1 = 1 all round, cross-correlated with the rotated kernel
rotated = params_ex["W_conv"][0, 0, ::-1, ::-1]
full = reference.correlate2d(np.pad(delta_c[0, 0], 1), rotated)
print("dx == full cross-correlation of delta with the rotated kernel:", np.allclose(full, dx_c[0, 0]))
print("   == full true convolution of delta with the kernel:",
      np.allclose(reference.convolve2d(delta_c[0, 0], params_ex["W_conv"][0, 0], mode="full"), dx_c[0, 0]))

fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
draw_grid(axes[0], x_ex[0, 0], "x (5×5)", [((0, 0), (4, 4), "tab:blue")])
draw_grid(axes[1], delta_c[0, 0], "$\\delta_c$ (4×4)", fmt="{:.3f}")
draw_grid(axes[2], dWc_ex[0, 0], "$dW_c$: x correlated with $\\delta_c$", [((0, 0), (1, 1), "tab:blue")],
          fmt="{:.4f}")
draw_grid(axes[3], dx_c[0, 0], "dx: δ spread back through W", fmt="{:.3f}")
plt.tight_layout()
plt.show()

# %% [markdown]
# In the left panel the shaded block is what $W_{00}$ saw at the 16 positions; its gradient (shaded
# in the third panel) is the sum of those pixels weighted by $\delta_c$.
#
# ### Your turn: `conv2d_backward`
#
# Write `conv2d_backward(dout, x, w, stride=1, padding=0)` for the convolution layer of
# assignment 02 (cross-correlation, zero padding; `stride` and `padding` an int or a pair): `dout` is
# $(N, C_{out}, H_{out}, W_{out})$, `x` is $(N, C_{in}, H, W)$, `w` is $(C_{out}, C_{in}, k_H, k_W)$.
# Return the tuple `(dx, dw, db)` shaped like `x`, `w` and the bias $(C_{out},)$, in the dtype of `x`.
#
# *Hint.* Pad `x` first. Looping over the **kernel offsets** $(a, b)$ is short and fast: for each,
# the block `xp[:, :, a : a + s*(H_out-1) + 1 : s, b : ...]` holds the input pixel that weight
# $(a, b)$ met at every output position, shape $(N, C_{in}, H_{out}, W_{out})$, and
# `np.einsum("nohw,nchw->oc", dout, block)` sums the products over images and positions at once. The
# same block of `dx_pad` receives `np.einsum("nohw,oc->nchw", dout, w[:, :, a, b])` (with `+=`). Crop
# the padding off `dx_pad` at the end. Loops over positions, images and channels work too; they are
# only slower.

# %% nbgrader={"grade": false, "grade_id": "conv2d_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv2d_backward(dout, x, w, stride=1, padding=0):
    """Gradients of the convolution layer: (dx, dw, db), shaped like x, w and the bias."""
    ### BEGIN SOLUTION
    sH, sW = as_pair(stride)
    pH, pW = as_pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (pH, pH), (pW, pW)))
    H_out, W_out = dout.shape[2:]
    kH, kW = w.shape[2:]
    dxp = np.zeros(xp.shape, dtype=x.dtype)
    dw = np.zeros(w.shape, dtype=x.dtype)
    for a in range(kH):
        for b in range(kW):
            rows = slice(a, a + sH * (H_out - 1) + 1, sH)      # the pixels weight (a, b) met
            cols = slice(b, b + sW * (W_out - 1) + 1, sW)
            dw[:, :, a, b] = np.einsum("nohw,nchw->oc", dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nohw,oc->nchw", dout, w[:, :, a, b])
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pH:pH + x.shape[2], pW:pW + x.shape[3]]
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "conv2d_backward_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("conv2d_backward", conv2d_backward)

# %% nbgrader={"grade": true, "grade_id": "conv2d_backward_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
checks.check("conv2d_backward", conv2d_backward)
### BEGIN HIDDEN TESTS
checks.check("conv2d_backward", conv2d_backward, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. The whole network
#
# Everything is in place. For a batch, the backward pass of the lectures' network is, in order:
#
# | step | gradient | with |
# | --- | --- | --- |
# | loss | $\partial J / \partial h = h - y$ | |
# | output sigmoid | $\delta_2 = (h - y) \odot \sigma'(z_2)$ | `sigmoid_backward` |
# | FC 2 | $\partial J / \partial a_1,\ dW_2,\ db_2$ | `linear_backward` |
# | hidden sigmoid | $\delta_1 = \partial J / \partial a_1 \odot \sigma'(z_1)$ | `sigmoid_backward` |
# | FC 1 | $\partial J / \partial f,\ dW_1,\ db_1$ | `linear_backward` |
# | flatten | $\partial J / \partial p$ = reshape to $(N, D, H_p, W_p)$ | `reshape` |
# | 2×2 average pooling | $\partial J / \partial a_c$ | `avg_pool2d_backward` |
# | conv sigmoid | $\delta_c = \partial J / \partial a_c \odot \sigma'(z_c)$ | `sigmoid_backward` |
# | convolution | $dW_c,\ db_c$ (no $dx$ needed: $x$ is the data) | `conv2d_backward` |
#
# The forward pass needs a convolution and an average pooling. You wrote both in assignments 01 to
# 03; here are compact versions to use (they loop over the kernel offsets, like the hint of
# section 5).

# %%
def conv2d(x, w, b=None):
    """The convolution layer of assignment 01: (N, C, H, W) with (D, C, kH, kW) -> (N, D, H-kH+1, W-kW+1)."""
    N, C, H, W = x.shape
    D, _, kH, kW = w.shape
    y = np.zeros((N, D, H - kH + 1, W - kW + 1), dtype=np.result_type(x, w))
    for a in range(kH):
        for b_ in range(kW):
            y += np.einsum("nchw,dc->ndhw", x[:, :, a:a + H - kH + 1, b_:b_ + W - kW + 1], w[:, :, a, b_])
    return y if b is None else y + b[None, :, None, None]


def avg_pool2d(x, k=2):
    """k×k average pooling with stride k (assignment 03); rows and columns left over are dropped."""
    N, C, H, W = x.shape
    Ho, Wo = H // k, W // k
    return x[:, :, :Ho * k, :Wo * k].reshape(N, C, Ho, k, Wo, k).mean(axis=(3, 5))


print("same as the course's:", np.allclose(conv2d(x_ex, params_ex["W_conv"], params_ex["b_conv"]), z_c),
      np.allclose(avg_pool2d(a_c), p_ex))

# %% [markdown]
# ### Your turn: `sigmoid_cnn_gradients`
#
# Write `sigmoid_cnn_gradients(params, x, y)` for the network above:
#
# - `params` is a dict with `"W_conv"` $(D, C, k, k)$, `"b_conv"` $(D,)$, `"W1"` $(H_1, D H_p W_p)$,
#   `"b1"` $(H_1,)$, `"W2"` $(K, H_1)$ and `"b2"` $(K,)$; `x` is $(N, C, H, W)$ and `y` is $(N, K)$;
# - the convolution has stride 1 and no padding, the pooling is 2×2 average pooling with stride 2,
#   flattening is `p.reshape(N, -1)`;
# - it returns the pair `(J, grads)`: the loss $J = \tfrac12 \sum (h - y)^2$ (a number, summed over
#   the batch) and a **new** dict `grads` with the same keys as `params`, each gradient shaped like
#   its parameter. (Do not write into `params`.)
#
# Use your functions from the sections above. The worked example is the first visible check: if it
# fails, compare your intermediate values with the ones printed in sections 1 to 5.

# %% nbgrader={"grade": false, "grade_id": "sigmoid_cnn_gradients", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid_cnn_gradients(params, x, y):
    """Loss and gradients of conv -> sigmoid -> 2x2 avg pool -> FC -> sigmoid -> FC -> sigmoid: (J, grads)."""
    ### BEGIN SOLUTION
    N = x.shape[0]
    # forward
    z_conv = conv2d(x, params["W_conv"], params["b_conv"])
    a_conv = sigmoid(z_conv)
    p = avg_pool2d(a_conv, 2)
    f = p.reshape(N, -1)
    z1 = f @ params["W1"].T + params["b1"]
    a1 = sigmoid(z1)
    z2 = a1 @ params["W2"].T + params["b2"]
    h = sigmoid(z2)
    J = 0.5 * np.sum((h - y) ** 2)
    # backward
    delta2 = sigmoid_backward(h - y, z2)
    da1, dW2, db2 = linear_backward(delta2, a1, params["W2"])
    delta1 = sigmoid_backward(da1, z1)
    df, dW1, db1 = linear_backward(delta1, f, params["W1"])
    da_conv = avg_pool2d_backward(df.reshape(p.shape), a_conv, 2)
    delta_conv = sigmoid_backward(da_conv, z_conv)
    _, dW_conv, db_conv = conv2d_backward(delta_conv, x, params["W_conv"])
    return J, {"W_conv": dW_conv, "b_conv": db_conv, "W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "sigmoid_cnn_gradients_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("sigmoid_cnn_gradients", sigmoid_cnn_gradients)

# %% nbgrader={"grade": true, "grade_id": "sigmoid_cnn_gradients_test", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
checks.check("sigmoid_cnn_gradients", sigmoid_cnn_gradients)
### BEGIN HIDDEN TESTS
checks.check("sigmoid_cnn_gradients", sigmoid_cnn_gradients, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 7. A second opinion: PyTorch's autograd
#
# PyTorch computes gradients for you. Every operation on a tensor with `requires_grad=True` is
# recorded; `J.backward()` then walks that record backwards applying each operation's own backward
# pass — backpropagation, automated. It is the tool you will use from assignment 06 on, and it makes
# an independent check of the gradients you wrote. `retain_grad()` asks it to keep the gradient of
# an intermediate tensor too, so it can show the deltas $\partial J / \partial z$ of each layer.

# %%
import torch
import torch.nn.functional as F

torch.set_num_threads(1)   # the tensors here are tiny: one thread is faster than several that wait for each other


def torch_gradients(params, x, y, deltas=False):
    """(J, grads) of the lectures' network by PyTorch's autograd; with deltas=True also {name: dJ/dz}."""
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    x_t, y_t = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    z_conv = F.conv2d(x_t, t["W_conv"], t["b_conv"])
    p = F.avg_pool2d(torch.sigmoid(z_conv), 2)
    z1 = F.linear(p.flatten(1), t["W1"], t["b1"])
    z2 = F.linear(torch.sigmoid(z1), t["W2"], t["b2"])
    J = 0.5 * ((torch.sigmoid(z2) - y_t) ** 2).sum()
    for z in (z_conv, z1, z2):
        z.retain_grad()
    J.backward()
    grads = {k: v.grad.numpy() for k, v in t.items()}
    if deltas:
        return J.item(), grads, {"delta_c": z_conv.grad.numpy(), "delta_1": z1.grad.numpy(),
                                 "delta_2": z2.grad.numpy()}
    return J.item(), grads


J_t, grads_t, deltas_t = torch_gradients(params_ex, x_ex, y_ex, deltas=True)
mine = {"delta_c": delta_c, "delta_1": delta_1, "delta_2": delta_2}
print(f"worked example: J = {J_t:.6f} (section 1: {J_ex:.6f})")
for name, d in deltas_t.items():
    print(f"  {name}: largest difference from sections 3 and 5 = {np.abs(d - mine[name]).max():.1e}")

gradients = yours_or_course("sigmoid_cnn_gradients", sigmoid_cnn_gradients, torch_gradients)
rng = np.random.default_rng(0)
x_b = rng.random((4, 2, 10, 10))
params_b = {"W_conv": rng.normal(0, 0.5, (3, 2, 3, 3)), "b_conv": rng.normal(0, 0.1, 3),
            "W1": rng.normal(0, 0.3, (6, 3 * 4 * 4)), "b1": rng.normal(0, 0.1, 6),
            "W2": rng.normal(0, 0.5, (3, 6)), "b2": rng.normal(0, 0.1, 3)}
y_b = np.eye(3)[[0, 2, 1, 2]]
J_b, grads_b = gradients(params_b, x_b, y_b)
J_bt, grads_bt = torch_gradients(params_b, x_b, y_b)
print(f"a batch of 4 two-channel 10x10 images, 3 filters: J = {J_b:.6f}, autograd {J_bt:.6f}")
for k in params_b:
    print(f"  {k:7s} {str(grads_b[k].shape):14s} largest difference from autograd {np.abs(grads_b[k] - grads_bt[k]).max():.1e}")

# %% [markdown]
# ## 8. Gradient checking with finite differences
#
# Autograd is not always at hand, and even when it is, a hand-written backward pass (a new layer, a
# custom loss) must be checked. The oldest check needs nothing but the forward pass: the derivative
# is the limit of a difference quotient, so for a small step $\varepsilon$
#
# $$ \frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2 \varepsilon}, $$
#
# where $e_i$ is the array with a 1 at entry $i$ and 0 elsewhere. This **central difference** is
# accurate to $O(\varepsilon^2)$: the Taylor terms of order $\varepsilon^2$ cancel between the two
# sides. The one-sided $\bigl(f(x + \varepsilon e_i) - f(x)\bigr)/\varepsilon$ is only $O(\varepsilon)$.
# But $\varepsilon$ cannot be made arbitrarily small: $f$ is computed with about 16 significant
# digits, and dividing its round-off error ($\approx 10^{-16} |f|$) by $\varepsilon$ grows as
# $\varepsilon$ shrinks. In float64, $\varepsilon \approx 10^{-6}$ to $10^{-5}$ balances the two
# (the figure below shows both effects).
#
# Compare the two gradients with the **relative error**
# $\lVert g_{\text{analytic}} - g_{\text{numeric}} \rVert / \max(\lVert g_{\text{analytic}} \rVert, \lVert g_{\text{numeric}} \rVert)$.
# As a rule of thumb in float64 with the sigmoid: around $10^{-7}$ or below is right; $10^{-4}$ or
# above means a bug (a missing factor, a missing sum, a transposed gradient).
#
# It costs two evaluations of $f$ **per entry** — two million forward passes for a network with a
# million weights — so it is a test, run on a small network or a few entries, never a way to train.
#
# ### Your turn: `numerical_gradient`
#
# Write `numerical_gradient(f, x, eps=1e-6)`: `f` takes an array shaped like `x` and returns a
# number; return the array of central differences, shaped like `x` (float64 for float64 `x`). Shift
# one entry at a time: set `x[i]` to `old + eps`, evaluate, set it to `old - eps`, evaluate, and
# **put it back** to `old` before the next entry — the caller's array (a network's weights, often)
# must be left exactly as it was. `np.ndindex(x.shape)` visits every index of an array of any shape.

# %% nbgrader={"grade": false, "grade_id": "numerical_gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
def numerical_gradient(f, x, eps=1e-6):
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for every entry i of x."""
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape, dtype=float)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old - eps
        f_minus = f(x)
        x[i] = old                      # put it back
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "numerical_gradient_check", "locked": true, "schema_version": 3, "solution": false, "task": false}
checks.check("numerical_gradient", numerical_gradient)

# %% nbgrader={"grade": true, "grade_id": "numerical_gradient_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
checks.check("numerical_gradient", numerical_gradient)
### BEGIN HIDDEN TESTS
checks.check("numerical_gradient", numerical_gradient, seed=2026, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Checking the network
#
# Now check the gradients of the network on the batch of section 7, one parameter array at a time:
# $f$ is the loss as a function of that array, with the other parameters fixed. It needs only the
# **forward pass** — that is what makes the check independent of the backward pass it tests.
# (`numerical_gradient` changes the array in place while it works, so `loss_b` can ignore its
# argument and read the array through `params_b`.)

# %%
numeric = yours_or_course("numerical_gradient", numerical_gradient, reference.numerical_gradient)


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)


def forward_loss(params, x, y):
    """J = 1/2 sum((h - y)**2) of the lectures' network: the forward pass only."""
    a_conv = reference.sigmoid(conv2d(x, params["W_conv"], params["b_conv"]))
    f = avg_pool2d(a_conv, 2).reshape(len(x), -1)
    a1 = reference.sigmoid(f @ params["W1"].T + params["b1"])
    h = reference.sigmoid(a1 @ params["W2"].T + params["b2"])
    return 0.5 * np.sum((h - y) ** 2)


def loss_b(_):
    return forward_loss(params_b, x_b, y_b)


for k in params_b:
    g_num = numeric(loss_b, params_b[k])
    print(f"{k:7s} relative error {relative_error(grads_b[k], g_num):.1e}")

# %% [markdown]
# What a bug looks like: the same check on gradients with the sigmoid's derivative left out of
# $\delta_2$ (a mistake the checks of section 6 name), and on gradients of the pooling not divided
# by 4. The relative errors jump from about $10^{-8}$ to the order of 1 — the check does not say
# *where* the bug is, but the first parameter that fails (going backwards from the output) does.
#
# The figure shows the relative error of the numerical gradient of $W_2$ as the step shrinks:
# the central difference improves like $\varepsilon^2$ and the one-sided like $\varepsilon$, until
# round-off takes over below about $10^{-5}$ (central) and $10^{-7}$ (one-sided).

# %%
from cnnkit.checks.a04 import network   # the course's network, with switches that make typical mistakes

for what, kw in [("delta_2 without sigmoid'", dict(no_derivative=("out",))),
                 ("pooling not divided by 4", dict(pool_divide=False))]:
    _, wrong = network(params_b, x_b, y_b, **kw)
    errors = {k: relative_error(wrong[k], numeric(loss_b, params_b[k])) for k in ("W2", "W1", "W_conv")}
    print(f"{what:25s}", "  ".join(f"{k}: {e:.1e}" for k, e in errors.items()))


def one_sided(f, x, eps):
    grad = np.zeros(x.shape)
    base = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        grad[i] = (f(x) - base) / eps
        x[i] = old
    return grad


steps = np.logspace(-12, -1, 23)
W2 = params_b["W2"]
central_err = [relative_error(grads_b["W2"], reference.numerical_gradient(loss_b, W2, eps)) for eps in steps]
forward_err = [relative_error(grads_b["W2"], one_sided(loss_b, W2, eps)) for eps in steps]
fig, ax = plt.subplots(figsize=(7.5, 4.2))
ax.loglog(steps, central_err, "o-", label="central difference")
ax.loglog(steps, forward_err, "s-", label="one-sided difference")
ax.set_xlabel("step $\\varepsilon$")
ax.set_ylabel("relative error against the backward pass")
ax.set_title("gradient check of $dW_2$: truncation error (right) vs round-off (left)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 9. Training on handwritten digits
#
# With the gradients, training is a loop: take a small batch of images, compute $J$ and the
# gradients, and move every parameter a little against its gradient,
#
# $$ \theta \leftarrow \theta - \frac{\eta}{B}\, \frac{\partial J}{\partial \theta}, $$
#
# with learning rate $\eta$ and batch size $B$ (dividing by $B$ makes the step the average over the
# batch, since $J$ sums it). This is **(mini-batch) gradient descent**. Here it trains the lectures'
# network — 4 filters of 5×5, 32 hidden units, 10 outputs — on 5000 digits of MNIST, with the target
# $y$ the one-hot vector of the label (1 for the right digit, 0 for the others) and the prediction the
# output unit with the largest $h$.
#
# MNIST digits are 28×28, centred, and the four-pixel border holds only about 3% of the ink; to
# train twice as fast we keep the central 20×20 box (a few strokes are cut short). The data are read with
# `cnnkit.data.load_mnist` from the folder in the `CNNKIT_DATA` environment variable (or downloaded
# once into a cache). The training uses your `sigmoid_cnn_gradients` once it passes its checks.

# %%
images, labels = load_mnist("train")
test_images, test_labels = load_mnist("test")
n_train, n_test = 5000, 2000
grading = bool(os.environ.get("CNNKIT_GRADING"))      # set when the notebook is graded: a short run
epochs = 1 if grading else 6
if grading:
    n_train, n_test = 500, 500


def prepare(imgs):
    return (imgs[:, 4:24, 4:24] / 255.0)[:, None]     # (N, 1, 20, 20), values in [0, 1]


X_train, Y_train = prepare(images[:n_train]), np.eye(10)[labels[:n_train]]
X_test, t_test = prepare(test_images[:n_test]), test_labels[:n_test]
print("training images", X_train.shape, "targets", Y_train.shape, "| test images", X_test.shape)

fig, axes = plt.subplots(1, 10, figsize=(12, 1.6))
for ax, img, lab in zip(axes, X_train, labels):
    ax.imshow(img[0], cmap="gray_r")
    ax.set_title(str(lab))
    ax.axis("off")
plt.show()

# %%
train_gradients = yours_or_course("sigmoid_cnn_gradients", sigmoid_cnn_gradients, torch_gradients)


def predict(params, x):
    """The network's output h for a batch x (the forward pass only)."""
    a_conv = reference.sigmoid(conv2d(x, params["W_conv"], params["b_conv"]))
    f = avg_pool2d(a_conv, 2).reshape(len(x), -1)
    a1 = reference.sigmoid(f @ params["W1"].T + params["b1"])
    return reference.sigmoid(a1 @ params["W2"].T + params["b2"])


rng = np.random.default_rng(4)
D, k, H1 = 4, 5, 32
F_in = D * 8 * 8                                         # 20 - 5 + 1 = 16, pooled to 8x8
params = {"W_conv": rng.normal(0, 1 / k, (D, 1, k, k)), "b_conv": np.zeros(D),
          "W1": rng.normal(0, 1 / np.sqrt(F_in), (H1, F_in)), "b1": np.zeros(H1),
          "W2": rng.normal(0, 1 / np.sqrt(H1), (10, H1)), "b2": np.zeros(10)}
lr, batch = 4.0, 20
losses, accuracies = [], [np.mean(predict(params, X_test).argmax(axis=1) == t_test)]
for epoch in range(epochs):
    order = rng.permutation(n_train)
    for start in tqdm(range(0, n_train, batch), desc=f"epoch {epoch + 1}/{epochs}", leave=False):
        idx = order[start:start + batch]
        J, grads = train_gradients(params, X_train[idx], Y_train[idx])
        for name in params:
            params[name] = params[name] - lr / len(idx) * grads[name]
        losses.append(J / len(idx))
    accuracies.append(np.mean(predict(params, X_test).argmax(axis=1) == t_test))
    print(f"epoch {epoch + 1}: mean loss of the last 50 batches {np.mean(losses[-50:]):.4f}, "
          f"test accuracy {accuracies[-1]:.1%}")

# %%
per_epoch = n_train // batch
fig, axes = plt.subplots(1, 2, figsize=(13, 4))
axes[0].plot(np.arange(len(losses)) / per_epoch, losses, lw=0.5, alpha=0.5, label="each batch")
running = np.cumsum(np.concatenate([[0.0], losses]))
smooth = (running[25:] - running[:-25]) / 25                    # the mean of each 25 consecutive batches
axes[0].plot((np.arange(len(smooth)) + 12) / per_epoch, smooth, label="average of 25 batches")
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("loss per image, $J / B$")
axes[0].set_title("training loss")
axes[0].legend()
axes[1].plot(np.arange(len(accuracies)), accuracies, "o-")
axes[1].set_xlabel("epoch")
axes[1].set_ylabel(f"accuracy on {n_test} test digits")
axes[1].set_ylim(0, 1)
axes[1].set_title(f"test accuracy: {accuracies[-1]:.1%} after {epochs} epoch{'s' if epochs > 1 else ''}")
plt.tight_layout()
plt.show()

# %% [markdown]
# The loss stays almost flat at first: with random weights all ten outputs sit near $\tfrac12$, the
# sigmoids' derivatives are small and the gradient that reaches the filters has passed through three
# of them. Then the network finds its footing and the loss drops quickly. A few epochs on 5000 digits
# reach about 90% on digits it has never seen — far from the 99% of the CNNs of assignment 06, which
# use ReLUs, cross-entropy, more filters and better optimisers, but learned entirely with the
# gradients you wrote.
#
# Below, the four 5×5 filters after training and what they do to a test digit: each has become a
# detector of strokes in some direction.

# %%
digit = X_test[:1]
maps = reference.sigmoid(conv2d(digit, params["W_conv"], params["b_conv"]))
fig, axes = plt.subplots(2, D + 1, figsize=(2.2 * (D + 1), 4.4))
axes[0, 0].imshow(digit[0, 0], cmap="gray_r")
axes[0, 0].set_title(f"test digit ({t_test[0]})")
axes[1, 0].bar(range(10), predict(params, digit)[0])
axes[1, 0].set_xticks(range(10))
axes[1, 0].set_title("output h")
for d in range(D):
    lim = np.abs(params["W_conv"][d, 0]).max()
    axes[0, d + 1].imshow(params["W_conv"][d, 0], cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[0, d + 1].set_title(f"filter {d}")
    axes[1, d + 1].imshow(maps[0, d], cmap="gray_r")
    axes[1, d + 1].set_title("its map $a_c$")
for ax in axes[:, 1:].ravel().tolist() + [axes[0, 0]]:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 10. Check your understanding
#
# Try each question before opening its answer.
#
# 1. A gradient passes backwards through five sigmoid layers. By what factor, at most, can the five
#    sigmoids multiply it?
#
# <details><summary>Answer</summary>
#
# Each sigmoid multiplies the gradient by $\sigma'(z) \le \tfrac14$, so five of them by at most
# $4^{-5} \approx 0.001$ (less where a unit saturates). That is the vanishing gradient of deep sigmoid
# networks.
#
# </details>
#
# 2. A fully connected layer has $W$ of shape $(10, 84)$ and sees a batch of 32. What are the shapes
#    of `dout`, `dx`, `dw` and `db`? Which of them add up the 32 items?
#
# <details><summary>Answer</summary>
#
# `dout` $(32, 10)$, `dx` $(32, 84)$, `dw` $(10, 84)$ like $W$, `db` $(10,)$. `dw` $=$ `dout.T @ x` and
# `db` $=$ `dout.sum(axis=0)` add up the items (every item used the same weights); `dx` keeps one row
# per item (each item has its own input).
#
# </details>
#
# 3. In 2×2 average pooling, one output has gradient 8. What does each of the four pixels of its
#    window receive? And with 2×2 max pooling, for the window $\begin{bmatrix} 3 & 5 \\ 5 & 1 \end{bmatrix}$?
#
# <details><summary>Answer</summary>
#
# Average: $8/4 = 2$ each. Max: the whole 8 goes to the first 5 in row-major order (top right), the
# other three pixels — the second 5 included — get 0: $\begin{bmatrix} 0 & 8 \\ 0 & 0 \end{bmatrix}$.
#
# </details>
#
# 4. Why is the gradient of a convolution weight a **sum over all output positions**, while the
#    gradient of a fully connected weight is not?
#
# <details><summary>Answer</summary>
#
# Weight sharing: the same kernel weight multiplies an input pixel at every output position, so it
# influences the loss through all of them and its gradient adds up their contributions. A fully
# connected weight $W_{oi}$ is used at one place only (input $i$ to output $o$) — though it is still
# summed over the items of a batch, like the convolution's.
#
# </details>
#
# 5. The first layer of a CNN does not need $dx$. Which layers do, and what is it, for stride 1?
#
# <details><summary>Answer</summary>
#
# Every layer above the first: its $dx$ is the `dout` of the layer below (through that layer's
# activation and pooling). For stride 1 and no padding it is the full cross-correlation of δ with the
# kernel rotated by 180° — a full true convolution of δ with the kernel — summed over the output
# channels.
#
# </details>
#
# 6. A gradient check of $dW_1$ gives a relative error of $0.3$, and of $dW_2$ one of $10^{-9}$.
#    Where would you look for the bug?
#
# <details><summary>Answer</summary>
#
# $dW_2$ is right, so the loss, the output delta and FC 2's backward pass are right. The error
# enters between $\delta_2$ and $dW_1$: the gradient passed back by FC 2 ($\delta_2 W_2$), the hidden
# sigmoid's derivative, or FC 1's own weight gradient (a transpose, a missing sum).
#
# </details>
#
# 7. Why use the central difference with $\varepsilon = 10^{-6}$ rather than the one-sided one, or a
#    much smaller $\varepsilon$ like $10^{-12}$? How many evaluations of $f$ does a check of a
#    network with 60,000 weights take?
#
# <details><summary>Answer</summary>
#
# The central difference's error shrinks like $\varepsilon^2$, the one-sided like $\varepsilon$, so
# at the same step it is far more accurate. A much smaller step makes the difference of two nearly
# equal values of $f$ lose its digits to round-off, which grows like $1/\varepsilon$. Two
# evaluations per weight: 120,000 forward passes — fine for a test, far too slow to train with.
#
# </details>
#
# 8. `numerical_gradient` changes `x` while it works. Why must it put every entry back, even though
#    it returns a new array?
#
# <details><summary>Answer</summary>
#
# `x` is often the caller's own parameter array (as in section 8, where $f$ reads the weights
# through `params_b`). An entry left at `old - eps` would change the network for every later entry
# and for everything the caller does afterwards; the gradient of later entries would be measured at
# the wrong point.
#
# </details>
