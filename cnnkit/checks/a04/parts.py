"""A judge for a function that returns a tuple of arrays, such as the gradients (dx, dw, db) of a layer.

Each part is compared on its own (`core.compare`), in the order of the tuple: the first wrong part
decides the verdict and is shown with its own expected array, with every mistake of that part whose
values match named. A part that holds another part's answer is named as the tuple in the wrong order.
"""

from dataclasses import replace

from ..common import type_name
from ..core import (Verdict, as_plain, case_dtype, close, compare, expected, fail, heading, inputs_changed,
                    modified_inputs, to_float)


def judge_parts(parts, mistakes):
    """A judge of a function returning the tuple of arrays named `parts` (("dx", "dw", "db")), in the order
    its reference returns them. `mistakes(case, refs)` -> {part: [Mistake]}: what each part can show."""
    n, names = len(parts), ", ".join(parts)

    def judge(case, output, inputs_after=None):
        refs = expected(case)
        modified = modified_inputs(case, inputs_after)
        kind = type(output)
        if kind is not tuple and kind is not list:
            return fail(heading(case), case, None, None,
                        f"[not_a_tuple] the output must be the {n} gradients ({names}), e.g. `return {names}`; got "
                        f"a {type_name(output)}", "not_a_tuple", modified)
        if len(output) != n:
            return fail(heading(case), case, None, None,
                        f"[not_a_tuple] the output must be the {n} gradients ({names}), in that order; got a "
                        f"{kind.__name__} of length {len(output)}", "not_a_tuple", modified)
        dtype = case_dtype(case)
        try:
            per_part = mistakes(case, refs)
        except Exception:
            per_part = {}
        for i, (part, ref) in enumerate(zip(parts, refs)):
            found = compare(output[i], ref, dtype, per_part.get(part, []),
                            part=f"{part} (element {i} of the tuple ({names}))", every=True)
            if found is None:
                continue
            if found.code in (None, "wrong_shape"):
                other = _answer_of(output[i], parts, refs, i, dtype)
                if other is not None:
                    found = replace(found, code="wrong_order",
                                    text=f"this is {other}: return the gradients in the order of the inputs, ({names})")
            return found.verdict(case, ref, modified, ref_label=f"expected {part}")
        return inputs_changed(case, modified) if modified else Verdict(True, "", None)

    return judge


def _answer_of(output, parts, refs, i, dtype):
    """The name of the other part whose answer `output` (given as part i) is, or None."""
    raw = as_plain(output)[0]
    if raw is None:
        return None
    for j, (part, ref) in enumerate(zip(parts, refs)):
        if j != i and raw.shape == ref.shape and close(to_float(raw), ref, dtype):
            return part
    return None
