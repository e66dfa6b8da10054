"""What the checks of every assignment build their cases and mistakes from.

Only plain NumPy here, no judging (that is `core`'s) and nothing one assignment alone needs. An
assignment's modules import these by name; they never import each other's private helpers.

    arr, rand, both_dtypes, dtype_name     making inputs
    varied, image, EXAMPLE, SMALL, K3      fixed inputs that make every mistake visible
    pair, attempt                          reading arguments, computing a mistake with the reference
    short_list, with_line, type_name       writing labels and messages
    draw, pool_geometry, pool_label        random sizes, the windows of a pooling case and its label
"""

import numpy as np

from .. import _args

__all__ = ["F64", "F32", "arr", "rand", "both_dtypes", "dtype_name", "varied", "image", "EXAMPLE", "SMALL", "K3",
           "pair", "attempt", "short_list", "with_line", "type_name", "draw", "pool_geometry", "pool_label"]

F64, F32 = np.float64, np.float32


# ----------------------------------------------------------------------------- making inputs

def arr(values, dtype=F64):
    """A new array of `values` (float64 unless told)."""
    return np.array(values, dtype=dtype)


def rand(rng, shape, dtype=F64, scale=1.0):
    """Standard normal values times `scale`, drawn from `rng`, in `dtype`."""
    return (scale * rng.standard_normal(shape)).astype(dtype)


def both_dtypes(specs):
    """Every hidden shape once in float64 and once in float32: (spec, dtype) pairs."""
    return [(s, dt) for dt in (F64, F32) for s in specs]


def dtype_name(dt):
    return np.dtype(dt).name


# ----------------------------------------------------------------------------- fixed inputs

def varied(shape, mult=7, mod=11, shift=5):
    """Small integers without a period that lines up with a kernel or window: every mistake changes
    the output."""
    n = int(np.prod(shape))
    return (np.arange(n) * mult % mod - shift).astype(F64).reshape(shape)


def image(a):
    """A 2-D array as a batch of one image of one channel, (1, 1, H, W), float64."""
    return np.asarray(a, dtype=F64).reshape((1, 1) + np.shape(a))


# the 4x4 example of the lectures: 2x2 max pooling with stride 2 gives [[6, 8], [3, 4]]
EXAMPLE = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=F64)
# a 5x5 image of small integers: some windows hold their maximum twice (ties), two pixels are 0,
# and every way of pooling it (3x3 overlapping, 2x2 with a row and a column left over) gives
# outputs that differ from window to window
SMALL = np.array([[9, 6, 0, 0, 6], [1, 8, 3, 3, 7], [8, 1, 2, 2, 3], [8, 6, 5, 1, 4], [1, 3, 5, 2, 4]], dtype=F64)
# a kernel with no symmetry, so that a flipped or transposed kernel changes the output
K3 = arr([[1, 2, 0], [0, 1, -1], [-1, 0, 1]])


# ----------------------------------------------------------------------------- arguments, mistakes

def pair(v, name="size"):
    """An int or a pair (kernel_size, stride, padding, dilation) as a pair of ints: cnnkit's own rule."""
    return _args.pair(v, name, "checks", minimum=0)


def attempt(fn, *args, **kwargs):
    """fn(...) as an array (a tuple of arrays for a tuple), or None when the reference cannot even form
    that mistake (an invalid mode, a kernel too large): such a mistake is skipped."""
    try:
        out = fn(*args, **kwargs)
        return tuple(np.asarray(o) for o in out) if isinstance(out, tuple) else np.asarray(out)
    except Exception:
        return None


# ----------------------------------------------------------------------------- labels and messages

def short_list(a):
    """A short literal of a small integer array for a label: [1,2,3] or [[0,1],[2,3]]."""
    return str(np.asarray(a).astype(int).tolist()).replace(" ", "")


def with_line(message, code, text):
    """`message` with a 'likely mistake' line after its first line."""
    first, _, rest = message.partition("\n")
    return f"{first}\n  likely mistake [{code}]: {text}" + (f"\n{rest}" if rest else "")


def type_name(output):
    """The type name of a (possibly hostile) output, never raising."""
    try:
        return type(output).__name__
    except Exception:
        return "object"


# ----------------------------------------------------------------------------- sizes and pooling windows

def draw(rng, v):
    """A size of a hidden case: `v` itself, or an int drawn from [low, high) when `v` is (low, high)."""
    return int(rng.integers(v[0], v[1])) if isinstance(v, tuple) else v


def pool_geometry(shape, kernel_size, stride=None):
    """(k, s, (H_out, W_out)) of pooling an (N, C, H, W) `shape` without padding: windows that do not fit
    at the bottom and right are dropped; the stride defaults to the kernel size."""
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None else pair(stride, "stride")
    return k, s, tuple((n - kk) // ss + 1 for n, kk, ss in zip(shape[2:], k, s))


def _compact(v):
    return "omitted" if v is None else str(v).replace(" ", "")


def pool_label(x, kernel_size, stride=None, note="", prefix=""):
    """How a pooling case names itself: "x of shape (1, 1, 4, 4), kernel_size=2, stride omitted (...)"."""
    what = f"{prefix}x of shape {x.shape}, kernel_size={_compact(kernel_size)}"
    what += f", stride={_compact(stride)}" if stride is not None else ", stride omitted (default: the kernel size)"
    return what + (f" ({note})" if note else "")
