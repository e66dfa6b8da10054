"""Assignment 05: convolution as matrix multiplication — Toeplitz matrices, im2col and conv2d_gemm.

Graded: toeplitz_1d(k, n), toeplitz_matrix(w, input_shape), im2col(x, kernel_size, stride=1, padding=0),
conv2d_gemm(x, w, b=None, stride=1, padding=0).

- toeplitz_1d(k, n) is the (n - m + 1, n) matrix T with T @ x == correlate1d(x, k) (valid
  cross-correlation, m = len(k)): T[i, i + j] = k[j].
- toeplitz_matrix(w, input_shape) is the dense matrix of a whole convolution layer (stride 1, no
  padding) on inputs of shape (C_in, H, W): shape (C_out*H_out*W_out, C_in*H*W), rows ordered as
  y.ravel() (o, i, j) and columns as x.ravel() (c, h, w); for one channel, doubly block Toeplitz.
- im2col(x, ...) is (N, C*kH*kW, L), exactly torch.nn.functional.unfold: rows channel-major
  (c, p, q), columns the windows (i, j) row by row.
- conv2d_gemm is im2col followed by one matrix product, output (N, C_out, H_out, W_out).

Visible cases are small and hand-readable (the lectures' 1-D and 2-D examples, distinct integers so
that every ordering mistake shows); hidden cases are random, float32 and float64, with non-square
images and kernels, strides and paddings given as an int or a pair, and shapes chosen so that a
transposed layout or a bias on the wrong axis still has the right shape and is recognised by its
values. The typical mistakes (a kernel running the wrong way, a transposed matrix, rows or columns
in another order, padding or stride left out of the count of windows, a bias per column instead of
per output channel, the product left unreshaped) are computed with the reference.

One module per graded function registers it; `windows` counts the windows of a convolution for
the messages of three of them.
"""

from ... import course

ASSIGNMENT = "05"
FUNCTIONS = course.assignment(ASSIGNMENT).functions   # the course table decides what is graded

# after ASSIGNMENT: each module registers its function under it
from . import toeplitz_1d, toeplitz_matrix, im2col, conv2d_gemm  # noqa: E402,F401
