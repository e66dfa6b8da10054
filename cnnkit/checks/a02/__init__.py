"""Assignment 02: padding, stride, dilation and the output size of a convolution.

Graded: pad2d(x, padding), conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1),
conv2d(x, w, b=None, stride=1, padding=0, dilation=1).

Visible cases are small and hand-readable: the notebook's worked examples, one idea each (a ring
of zeros, a stride of 2, a dilation of 2, "same" padding of an even kernel, a batch with every
option at once). Hidden cases are random, in float32 and float64, with non-square inputs and
kernels, paddings given as an int, a pair, four sides, "same", "valid" and "full" (k - 1 on each
side), strides that do not divide the padded size, and dilations. The typical mistakes (padding
the wrong axes or sides, rounding the output size up, the stride applied to the kernel's taps,
a dilation off by one, a flipped kernel, a bias on the wrong axis) are computed with the reference
so that the judge can name them.

One module per graded function registers it; conv2d's mistakes that 01 names too are in
`checks.conv_mistakes`.
"""

from ... import course

ASSIGNMENT = "02"
FUNCTIONS = course.assignment(ASSIGNMENT).functions   # the course table decides what is graded

# after ASSIGNMENT: each module registers its function under it
from . import pad2d, conv_output_size, conv2d  # noqa: E402,F401
