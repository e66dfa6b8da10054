"""Assignment 04: backpropagation through a small CNN with sigmoid activations.

Graded: sigmoid(z), sigmoid_backward(dout, z), linear_backward(dout, x, w),
avg_pool2d_backward(dout, x, kernel_size, stride=None), max_pool2d_backward(dout, x, kernel_size, stride=None),
conv2d_backward(dout, x, w, stride=1, padding=0), sigmoid_cnn_gradients(params, x, y),
numerical_gradient(f, x, eps=1e-6).

Visible cases are small and hand-readable: the derivative of the sigmoid at a few points, one
and two items through a fully connected layer, the 4x4 map of assignment 03 with its pooled
gradient, windows that overlap or hold ties, a convolution with a batch, a stride and padding,
the lectures' worked network and functions whose gradient is known. Hidden cases are random, in
float32 and float64 (float64 only for the whole network and the numerical gradient: gradient
checks are done in float64).

Functions that return several arrays bring their own judge, which says which part is wrong:
- linear_backward and conv2d_backward return (dx, dw, db); each part is compared on its own and
  its typical mistakes named (a transposed or unsummed weight gradient, a kernel not flipped, ...);
- sigmoid_cnn_gradients returns (J, grads): the loss first, then every gradient, in the order
  backpropagation computes them (W2, b2, W1, b1, W_conv, b_conv). A wrong delta in one layer
  spoils every layer below it, so the judge looks for one mistake (a missing sigmoid derivative,
  an average not divided, a gradient not summed over positions or the batch, a transposed weight
  gradient, ...) that explains every wrong gradient at once;
- numerical_gradient is judged as one array, and must leave x as it found it.

One module per graded function (its cases, mistakes, judge and registration); `parts` is the judge of
a tuple of gradients, `pool_backward` what the two pooling backward passes share. The functions f of
the numerical_gradient cases and the parameters of the network's cases are in `cnnkit.checks.inputs`,
the one part of the checks the grading sandbox shows the student's process.
"""

from ... import course

ASSIGNMENT = "04"
FUNCTIONS = course.assignment(ASSIGNMENT).functions   # the course table decides what is graded

from . import (sigmoid, sigmoid_backward, linear_backward, avg_pool2d_backward, max_pool2d_backward,  # noqa: E402,F401
               conv2d_backward, sigmoid_cnn_gradients, numerical_gradient)
# the course's network with the knobs that make its typical mistakes (the 04 notebook shows them)
from .sigmoid_cnn_gradients import KEYS, network, worked_example  # noqa: E402,F401
