"""Assignment 01: 1-D and 2-D convolution and cross-correlation, and the batched conv2d layer.

Graded: convolve1d(x, k) (full), correlate1d(x, k) (valid), correlate2d(x, k) (valid),
convolve2d(x, k) (valid), conv2d(x, w, b=None) (batched, multi-channel, stride 1, no padding).

Visible cases are small and hand-readable, including the lectures' worked examples; hidden cases
are random, with float32 and float64, non-square and even-sized kernels, kernels of length 1,
several channels, batches and biases. Each function's typical mistakes are computed with the
reference so the judge can name them.

One module per graded function registers it; the four single-channel functions share their cases
and mistakes (`signal`), and conv2d's mistakes that 02 names too are in `checks.conv_mistakes`.
"""

from ... import course

ASSIGNMENT = "01"
FUNCTIONS = course.assignment(ASSIGNMENT).functions   # the course table decides what is graded

# after ASSIGNMENT: each module registers its function under it
from . import convolve1d, correlate1d, correlate2d, convolve2d, conv2d  # noqa: E402,F401
