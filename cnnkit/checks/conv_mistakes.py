"""The mistakes of a convolution layer's conv2d(x, w, b=None, ...) that assignments 01 and 02 both name.

01 grades conv2d without options, 02 with stride, padding and dilation; both recognise a flipped
kernel, a bias left out or added along the wrong axis, input channels not summed, and a missing
batch axis, in the same words. Each assignment computes the wrong answers with the reference for
its own options and builds the Mistakes here, in its own order among its other mistakes.

    x (N, C_in, H, W), w (C_out, C_in, kH, kW), b (C_out,), y (N, C_out, H_out, W_out)
"""

from .core import Mistake

__all__ = ["SUMMED", "flipped_kernel", "bias_mistakes", "first_channel_only", "batch_axis_missing"]

# what every channels_not_summed message says; 01 adds the formula of its one-channel functions
SUMMED = "each output channel is the SUM over all input channels"


def flipped_kernel(value):
    """The kernel rotated by 180°: `value` is conv2d(x, w[:, :, ::-1, ::-1], b) with the case's options."""
    return Mistake("flipped_kernel", "the kernel is flipped (rotated by 180°): a convolution layer computes "
                                     "cross-correlation and uses w as it is", value=value)


def bias_mistakes(y0, b, sum_text):
    """The bias left out, and the bias added along an axis whose length happens to be C_out.

    y0: the output without bias, (N, C_out, H_out, W_out); b: (C_out,); `sum_text` ends the message
    "the bias b was not added: y[n, o] = b[o] + <sum_text>".
    """
    found = [Mistake("bias_missing", f"the bias b was not added: y[n, o] = b[o] + {sum_text}", value=y0)]
    Co = b.shape[0]
    for axis, name in ((3, "last (width)"), (2, "height"), (0, "batch")):
        # only where that axis is C_out long does a misplaced b broadcast at all
        if Co > 1 and y0.shape[axis] == Co:
            shape = [1, 1, 1, 1]
            shape[axis] = Co
            found.append(Mistake("bias_wrong_axis", f"b was added along the {name} axis; it belongs to the "
                                                    f"output channels: y + b[None, :, None, None]",
                                 value=y0 + b.reshape(shape)))
    return found


def first_channel_only(value, formula=""):
    """Only input channel 0 used: `value` is conv2d(x[:, :1], w[:, :1], b); `formula` follows SUMMED."""
    return Mistake("channels_not_summed", f"only the first input channel was used; {SUMMED}{formula}", value=value)


def batch_axis_missing(ref_shape):
    """The output of a batch of one returned without its batch axis: (C_out, H_out, W_out)."""
    return Mistake("wrong_shape", "the batch axis is missing: return (N, C_out, H_out, W_out) even for N = 1",
                   shape=tuple(ref_shape[1:]))
