"""Assignment 03: pooling — max, max with indices, average, global average and stochastic.

Graded: max_pool2d(x, kernel_size, stride=None), max_pool2d_with_indices(x, kernel_size, stride=None),
avg_pool2d(x, kernel_size, stride=None), global_avg_pool2d(x),
stochastic_pool2d(x, kernel_size, stride=None, training=True, rng=None).

x is a batch (N, C, H, W); kernel_size and stride are an int or a pair (kH, kW); the stride
defaults to the kernel size; windows that do not fit at the bottom and right edges are dropped
(H_out = floor((H - kH) / sH) + 1). Visible cases are small and hand-readable: the 4x4 example,
a 5x5 image of small integers (with ties), overlapping and ragged windows, the default stride. Hidden
cases are random, float32 and float64, with integer-valued inputs (ties) for max pooling.

Two functions bring a judge of their own:
- max_pool2d_with_indices returns a pair (values, indices); the values are judged as max_pool2d's
  output, the indices (PyTorch's flat index h * W + w into each input plane) exactly.
- stochastic_pool2d in training mode draws a random sample, so it is judged by what every correct
  sampler does: each output is a value of its own window that has a non-zero probability (a window
  of zeros gives 0, a constant window its value, a window with one positive value that value), and
  over thousands of windows the values are drawn as often as their probabilities a_i / sum_j a_j
  say (a z-test at 6 standard deviations). In evaluation mode the output is exact.

One module per graded function (its cases, mistakes, judge and registration); `pooling` holds what
they share: the window geometry, the cases of max and average pooling and the mistakes of the geometry.
"""

from ... import course

ASSIGNMENT = "03"
FUNCTIONS = course.assignment(ASSIGNMENT).functions   # the course table decides what is graded

from . import max_pool2d, max_pool2d_with_indices, avg_pool2d, global_avg_pool2d, stochastic_pool2d  # noqa: E402,F401
