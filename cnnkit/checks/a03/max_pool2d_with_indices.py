"""max_pool2d_with_indices(x, kernel_size, stride=None): max pooling's values and where each maximum was.

The output is the pair (values, indices): the values are judged as max_pool2d's output (its cases and
mistakes), the indices exactly. An index is PyTorch's flat position h * W + w of the window's maximum in
its (image, channel) plane, the first maximum in row-major order when a window holds it twice; the
mistakes are the other ways of counting it (inside the window, over the whole batch, with another width,
column-major, the last of tied maxima, (row, column) pairs).
"""

import numpy as np

from ... import reference as R
from ..common import type_name
from ..core import (Graded, Mistake, Verdict, as_plain, case_dtype, compare, expected, fail, heading,
                    modified_inputs, register, to_float)
from . import ASSIGNMENT
from .max_pool2d import max_mistakes
from .pooling import ARGS, geometry, hidden_pool, visible_pool, windows

VALUES, INDICES = "the values (the first element of the pair)", "the indices (the second element of the pair)"


def visible():
    return visible_pool("max_pool2d_with_indices")


def index_mistakes(case, ref):
    """Wrong index conventions, each computed from the reference's (row, column) of the maxima."""
    x = case.args[0]
    N, C, H, W = x.shape
    k, s, out = geometry(case)
    win = windows(x, k, s)
    a = np.argmax(win, axis=-1)                              # index inside the window, row-major
    rows = np.arange(out[0])[:, None] * s[0] + a // k[1]    # rows and columns in the plane
    cols = np.arange(out[1])[None, :] * s[1] + a % k[1]
    found = [Mistake("indices_origin", "the indices count inside each window (0 .. kH*kW - 1); they are positions in "
                                       "the whole input plane, counted from its top-left corner: row * W + col",
                     value=a),
             Mistake("indices_origin", "the indices are relative to each window's top-left corner; they are counted "
                                       "from the plane's origin (0, 0): add the window's start (i*sH, j*sW) to the "
                                       "row and column before flattening", value=(a // k[1]) * W + a % k[1])]
    if N * C > 1:
        plane = (np.arange(N)[:, None] * C + np.arange(C)[None, :])[:, :, None, None] * (H * W)
        found.append(Mistake("indices_origin", "the indices count from the start of the whole batch; each (image, "
                                               "channel) plane starts again at 0: row * W + col",
                             value=plane + rows * W + cols))
    for width, what in ((out[1], "the output's width W_out"), (k[1], "the kernel's width"),
                        (out[1] * s[1], "the width of the part the windows cover")):
        if width != W:
            found.append(Mistake("indices_width", f"the flat index used {what} ({width}); it is row * W + col with W "
                                                  f"the input's width ({W})", value=rows * width + cols))
    found.append(Mistake("indices_order", "the index is column-major (col * H + row); it is row-major, row * W + col, "
                                          "as NumPy's ravel and PyTorch count", value=cols * H + rows))
    last = win.shape[-1] - 1 - np.argmax(win[..., ::-1], axis=-1)
    if not np.array_equal(last, a):
        rl = np.arange(out[0])[:, None] * s[0] + last // k[1]
        cl = np.arange(out[1])[None, :] * s[1] + last % k[1]
        found.append(Mistake("ties_last", "where a window holds its maximum more than once the index is that of the "
                                          "last one; it is the first in row-major order (np.argmax gives that)",
                             value=rl * W + cl))
    for shape in ((2,) + ref.shape, ref.shape + (2,)):
        found.append(Mistake("indices_rowcol", "the indices are (row, column) pairs; return one flat index per "
                                               "output, row * W + col", shape=shape))
    return found


def judge(case, output, inputs_after=None):
    """The pair (values, indices): the values as max_pool2d's output, the indices exactly."""
    head = heading(case)
    kind = type(output)
    if kind is not tuple and kind is not list:
        return fail(head, case, expected(case)[1], None,
                    f"[not_a_pair] the output must be a pair (values, indices), e.g. `return y, idx`; got a "
                    f"{type_name(output)}",
                    "not_a_pair", modified_inputs(case, inputs_after))
    if len(output) != 2:
        return fail(head, case, expected(case)[1], None,
                    f"[not_a_pair] the output must be a pair (values, indices); got a {kind.__name__} of length "
                    f"{len(output)}",
                    "not_a_pair", modified_inputs(case, inputs_after))
    values, idx = output[0], output[1]
    y_ref, ref = expected(case)
    modified = modified_inputs(case, inputs_after)
    found = compare(values, y_ref, case_dtype(case), lambda: max_mistakes(case, y_ref))
    if found is not None:
        return fail(head, case, y_ref, found.raw, f"{VALUES}: {found.line()}", found.code, modified)
    if modified:
        return fail(head, case, y_ref, None, f"{VALUES}: [input_modified] the output is right, but {modified}",
                    "input_modified", None)
    return _judge_indices(case, idx, ref)


def _judge_indices(case, idx, ref):
    """The indices exactly: integers equal to the reference's, or the index convention they follow."""
    head = heading(case)
    raw, problem = as_plain(idx)
    if problem is not None:
        return fail(head, case, ref, None, f"{INDICES} {problem}", None, None)
    if raw.shape == ref.shape and raw.dtype.kind in "iu" and np.array_equal(raw, ref):
        return Verdict(True, "", None)
    if raw.dtype.kind not in "iu":
        if raw.shape == ref.shape and np.array_equal(to_float(raw), ref):
            return fail(head, case, ref, raw, f"[indices_dtype] the indices are right but their dtype is {raw.dtype}; "
                                              f"indices are integers (e.g. np.zeros(shape, dtype=np.int64))",
                        "indices_dtype", None)
    mistake = None
    candidates = index_mistakes(case, ref)
    out_f = None
    for m in candidates:
        if m.value is not None and m.value.shape == raw.shape:
            out_f = to_float(raw) if out_f is None else out_f
            if np.array_equal(out_f, m.value):
                mistake = m
                break
    if mistake is None and raw.shape != ref.shape:
        mistake = next((m for m in candidates if m.shape is not None and tuple(m.shape) == raw.shape), None)
    if raw.shape != ref.shape:
        what = f"{INDICES} should have shape {ref.shape}, got shape {raw.shape}"
        code = mistake.code if mistake else "wrong_shape"
    else:
        out_f = to_float(raw) if out_f is None else out_f
        bad = np.argwhere(out_f != ref)
        what = f"{INDICES} are wrong"
        if raw.dtype.kind not in "iu":
            what += f" (and they should be integers, not {raw.dtype})"
        if len(bad):
            i = tuple(int(t) for t in bad[0])
            what += (f" ({len(bad)} of {ref.size} entries; first at index {i}: expected {int(ref[i])}, "
                     f"got {out_f[i]:.6g})")
        code = mistake.code if mistake else None
    if mistake is not None:
        what += f"\n  likely mistake [{mistake.code}]: {mistake.text}"
    return fail(head, case, ref, raw, what, code, None)


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    return hidden_pool("max_pool2d_with_indices", rng, ties=True)


register(Graded("max_pool2d_with_indices", ASSIGNMENT, visible, hidden, R.max_pool2d_with_indices, max_mistakes,
                argnames=ARGS, judge=judge))
