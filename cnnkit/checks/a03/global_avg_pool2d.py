"""global_avg_pool2d(x): the mean of each (image, channel) map, (N, C, H, W) -> (N, C).

Its mistakes are the axes (kept, too many, too few), the sum and the maximum in place of the mean.
"""

from ... import reference as R
from ..common import EXAMPLE, F32, F64, dtype_name, image, varied
from ..core import Case, Graded, Mistake, register
from . import ASSIGNMENT


def visible():
    c = lambda x, note: Case("global_avg_pool2d", (x,), {}, f"x of shape {x.shape} ({note})")
    return [c(image([[1, 2, 3], [4, 5, 6]]), "one 2x3 map: its mean is 3.5"),
            c(image(EXAMPLE), "the 4x4 example"),
            c(varied((2, 3, 4, 4), 7, 23, 11), "a batch of 2 images with 3 channels"),
            c(varied((3, 3, 2, 5), 7, 23, 11), "as many images as channels"),
            c(varied((2, 4, 1, 1), 7, 23, 11), "1x1 maps: the output is the input without its last two axes")]


def global_mistakes(case, ref):
    x = case.args[0]
    N, C, H, W = x.shape
    return [Mistake("global_keepdims", "the output keeps the two spatial axes of size 1, (N, C, 1, 1); global "
                                       "average pooling returns (N, C): x.mean(axis=(2, 3)) without keepdims",
                    value=ref[:, :, None, None]),
            Mistake("wrong_axes", "the batch was averaged too; each image keeps its own averages, (N, C)",
                    value=x.mean(axis=(0, 2, 3))),
            Mistake("wrong_axes", "the channels were averaged too; each channel keeps its own average, (N, C)",
                    value=x.mean(axis=(1, 2, 3))),
            Mistake("wrong_axes", "everything was averaged into one number; average each (image, channel) map, "
                                  "giving (N, C)", value=x.mean()),
            Mistake("wrong_axes", "only the rows were averaged (axis 2); average over both spatial axes, "
                                  "axis=(2, 3)", value=x.mean(axis=2)),
            Mistake("wrong_axes", "only the columns were averaged (axis 3); average over both spatial axes, "
                                  "axis=(2, 3)", value=x.mean(axis=3)),
            Mistake("avg_sum", f"this is the sum of each map; the average divides it by H*W = {H * W}",
                    value=x.sum(axis=(2, 3))),
            Mistake("wrong_reduction", "this is the largest value of each map (global max pooling); global average "
                                       "pooling takes the mean", value=x.max(axis=(2, 3))),
            Mistake("wrong_axes", "the output should be (N, C): one number per channel of each image",
                    shape=(C,)),
            Mistake("wrong_axes", "the output should be (N, C): one number per channel of each image",
                    shape=(N,)),
            Mistake("global_keepdims", "the output keeps the two spatial axes of size 1; global average pooling "
                                       "returns (N, C)", shape=(N, C, 1, 1))]


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    shapes = [(1, 1, r(2, 6), r(2, 6)), (r(2, 4), r(2, 5), r(3, 8), r(3, 8)), (3, 3, r(4, 7), r(4, 7)),
              (r(1, 3), r(2, 6), 1, 1), (2, r(2, 4), r(1, 3), r(5, 9)), (1, r(4, 9), 7, 7)]
    return [Case("global_avg_pool2d", (rng.standard_normal(sh).astype(dt) + 0.5,), {},
                 f"random {dtype_name(dt)} x of shape {sh}") for dt in (F64, F32) for sh in shapes]


register(Graded("global_avg_pool2d", ASSIGNMENT, visible, hidden, R.global_avg_pool2d, global_mistakes,
                argnames=("x",)))
