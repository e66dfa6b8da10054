"""The machinery of the checks: cases, verdicts, the judge and the messages.

Generating inputs (`cases`) and judging an output (`judge`) are pure functions of plain NumPy
arrays, so a grader can run a student's function in a sandbox, ship back only what it returned,
and judge it in a clean process. The judge treats that output as hostile: it is only ever touched
through NumPy's conversion (`np.asarray`), inside `try`, and never through its own methods, so an
object with a lying `__eq__` or a raising `__array__` fails cleanly instead of passing or crashing.

Each assignment module (a01, a02, ...) describes its graded functions with a `Graded` record and
registers it here; the judge then looks the function up by name. Judging goes one way: `compare`
judges one array against its reference and the mistakes it can show, and says what is wrong in
words every judge shares; `default_judge` is `compare` on the whole output. A function whose result
is not one array (a pair of arrays, a tuple of gradients, a random sample) brings its own `judge`,
which `judge` hands the output to; it calls `compare` on each part that is a plain array.
"""

import itertools
import traceback
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from .common import with_line

__all__ = ["Case", "Verdict", "Mistake", "Graded", "register", "graded", "cases", "expected",
           "judge", "default_judge", "check", "fmt",
           # the judging path that judges of their own build on
           "Finding", "compare", "with_diagnosis", "fail", "inputs_changed", "heading", "as_plain", "to_float", "close",
           "tolerances", "case_dtype", "modified_inputs", "shape_mistakes"]


# ----------------------------------------------------------------------------- records

@dataclass(frozen=True, eq=False)
class Case:
    """One input of a graded function: call it as `fn(*case.args, **case.kwargs)`.

    eq=False: arrays have no single truth value, so cases compare by identity.
    """
    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    assignment: str = ""   # set by `cases`; tells apart functions of the same name in two assignments
    # a case that is not one call: `probe(fn, others, *args, **kwargs)` does the work (builds a model
    # from a student's class, trains it, ...) and returns plain numbers and arrays to judge. It must
    # be a module-level function (cases are pickled to the grading process). `others`: {name: the
    # student's object} for the graded names in `uses` that the probe needs besides `fn`.
    probe: Callable | None = None
    uses: tuple = ()
    seconds: float | None = None   # a time limit of its own when grading (training takes longer than a call)


@dataclass(frozen=True)
class Verdict:
    """The judgement of one output: `message` is "" when it passed; `diagnosis` names a known mistake."""
    passed: bool
    message: str = ""
    diagnosis: str | None = None


@dataclass(frozen=True, eq=False)
class Mistake:
    """A typical wrong answer, computed with the reference, that the judge recognises.

    `value`: the array that mistake produces (matched by shape and values);
    `shape`: the shape it produces when the values alone cannot tell (matched by shape only).
    """
    code: str
    text: str
    value: np.ndarray | None = None
    shape: tuple | None = None


@dataclass(frozen=True)
class Graded:
    """A graded function: how to make its cases, its reference answer and its typical mistakes."""
    name: str
    assignment: str
    visible: Callable[[], list]                    # () -> [Case]
    hidden: Callable[[np.random.Generator], list]  # rng -> [Case]
    reference: Callable                            # the reference implementation
    mistakes: Callable[[Case, np.ndarray], list]   # (case, expected) -> [Mistake]
    argnames: tuple = ("x", "k")                   # names of the positional args, for messages
    # a judge of its own, (case, output, inputs_after) -> Verdict, for outputs that are not one
    # array (a tuple, a random sample); None: `default_judge` compares with the reference
    judge: Callable | None = None


_REGISTRY: dict[tuple[str, str], Graded] = {}


def register(g: Graded) -> Graded:
    _REGISTRY[(g.assignment, g.name)] = g
    return g


def graded(name, assignment=None) -> Graded:
    """The Graded record of `name`; `assignment` is needed when two assignments grade that name."""
    if assignment:
        try:
            return _REGISTRY[(str(assignment), name)]
        except KeyError:
            known = sorted(n for a, n in _REGISTRY if a == str(assignment))
            raise ValueError(f"no checks for {name!r} in assignment {assignment!r}; "
                             f"its graded functions: {known}") from None
    found = [g for (a, n), g in sorted(_REGISTRY.items()) if n == name]
    if not found:
        raise ValueError(f"no checks for {name!r}; graded functions: {sorted({n for _, n in _REGISTRY})}")
    if len(found) > 1:
        raise ValueError(f"{name!r} is graded in assignments {[g.assignment for g in found]}; "
                         f"say which one (assignment=...)")
    return found[0]


# ----------------------------------------------------------------------------- cases, expected

def _seed_of(name):
    # a stable per-function stream, so adding a function never changes another one's cases
    return sum((i + 1) * ord(c) for i, c in enumerate(name))


def cases(name, seed=0, hidden=False, assignment=None):
    """The cases of graded function `name`: fixed visible ones, or randomised hidden ones for `seed`."""
    g = graded(name, assignment)
    made = g.visible() if not hidden else g.hidden(np.random.default_rng([int(seed), _seed_of(name)]))
    return [replace(c, assignment=g.assignment) for c in made]


def _graded_of(case):
    return graded(case.name, case.assignment or None)


def expected(case):
    """The reference answer for `case`: an array, or a tuple of arrays for a function returning one."""
    out = _graded_of(case).reference(*case.args, **case.kwargs)
    if isinstance(out, tuple):
        return tuple(np.asarray(o) for o in out)
    return np.asarray(out)


# ----------------------------------------------------------------------------- formatting

def fmt(a, limit=60):
    """A small array compactly on a few lines; a big one by shape, dtype and a truncated print."""
    try:
        a = np.asarray(a)
        if a.dtype.kind in "biuf":
            s = np.array2string(a, precision=3, suppress_small=True, threshold=limit, edgeitems=2,
                                max_line_width=100)
        else:
            s = np.array2string(a, threshold=limit, edgeitems=2, max_line_width=100)
        if len(s) > 600:
            s = s[:600] + " ..."
        if a.size > limit or a.ndim > 2:
            s = f"(shape {a.shape}, {a.dtype})\n{s}"
        return s
    except Exception:  # formatting must never be what fails
        return "<unprintable>"


def _indent(s, pad="      "):
    return "\n".join(pad + line for line in s.splitlines())


def _safe_str(e):
    try:
        return f"{type(e).__name__}: {e}"
    except Exception:
        return type(e).__name__


def describe_inputs(case, limit=60):
    """The inputs of a case, printed when they are small enough to read."""
    arrays = [a for a in case.args if isinstance(a, np.ndarray)]
    if sum(a.size for a in arrays) > limit:
        return ""
    names = graded_argnames(case)
    lines = []
    for n, a in list(zip(names, case.args)) + list(case.kwargs.items()):
        # arrays compactly; sizes and padding modes as written; anything else (a generator) by its type
        text = (fmt(a) if isinstance(a, np.ndarray) else repr(a) if isinstance(a, (int, float, str, tuple, type(None)))
                else f"<{type(a).__name__}>")
        lines.append(f"  {n} = " + text.replace("\n", "\n" + " " * (len(n) + 5)))
    return "\n".join(lines)


def heading(case):
    """How a message names a case: "conv2d on <label>"."""
    return f"{case.name} on {case.label}" if case.label else case.name


def problem_message(case, what):
    """`heading: what`, then the inputs when they are small enough to read."""
    inputs = describe_inputs(case)
    return f"{heading(case)}: {what}" + (f"\n{inputs}" if inputs else "")


def graded_argnames(case):
    return _graded_of(case).argnames


def value_mistakes(code, text, value, ref_shape):
    """The Mistakes for a wrong answer `value` computed with the reference (None: it cannot happen in
    this case): recognised by its values, and by its shape alone when that differs from the right one,
    so that an output of that shape is named even when its values are off too."""
    if value is None:
        return []
    found = [Mistake(code, text, value=value)]
    if value.shape != tuple(ref_shape):
        found.append(Mistake(code, text, shape=value.shape))
    return found


def off_by_one(ref_shape, explain, axes=((2, "in height:"), (3, "in width:"))):
    """wrong_size Mistakes, recognised by shape, for an output one too short or too long along an axis.

    `axes`: (axis, how the message names it); the text reads "the output is one too short <name> <explain>".
    """
    found = []
    for axis, where in axes:
        for d in (-1, 1):
            shape = list(ref_shape)
            shape[axis] += d
            if shape[axis] > 0:
                found.append(Mistake("wrong_size", f"the output is one {'too short' if d < 0 else 'too long'} "
                                                   f"{where} {explain}", shape=tuple(shape)))
    return found


# ----------------------------------------------------------------------------- judging one array
# The one judging path. `compare` judges one array against its reference and the mistakes it can show,
# and words what is wrong (a `Finding`); `default_judge` is `compare` on a whole output, and a judge of
# its own (a tuple of gradients, values and their indices, a network's loss and gradients) calls it
# once per part, so that every judge words its sentences the same way.

def tolerances(dtype, ref):
    """(rtol, atol): float32 gets a looser rtol; atol scales with the size of the expected values."""
    scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
    if dtype == np.float32:
        return 1e-4, 1e-4 * scale
    return 1e-5, 1e-6 * scale


def close(out, ref, dtype):
    """Whether the float array `out` is `ref` (same shape, within `tolerances(dtype, ref)`)."""
    if out.shape != ref.shape:
        return False
    rtol, atol = tolerances(dtype, ref)
    return bool(np.allclose(out, ref, rtol=rtol, atol=atol, equal_nan=False))


def case_dtype(case):
    """The floating dtype an answer keeps: float32 when every array input is float32, else float64."""
    arrays = [a for a in case.args if isinstance(a, np.ndarray)]
    if arrays and all(a.dtype == np.float32 for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_plain(output):
    """(array, problem): `output` as a plain ndarray of its own dtype, or why it is not numeric.

    Only NumPy touches the object; subclasses come back as base-class ndarrays, so their
    overridden operators are never used afterwards.
    """
    try:
        raw = np.asarray(output)
        if type(raw) is not np.ndarray:
            raw = raw.view(np.ndarray)
    except BaseException as e:  # a hostile __array__ may raise anything
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return None, f"could not be converted to a NumPy array ({_safe_str(e)})"
    kind = raw.dtype.kind
    if kind in "biuf":
        return raw, None
    if kind == "c":
        return None, f"is complex ({raw.dtype}); a real-valued array is expected"
    if kind == "O":
        # object arrays: None (which NumPy would silently turn into NaN), or arbitrary objects
        try:
            if any(e is None for e in raw.flat):
                raise TypeError("None is not a number")
            return raw.astype(np.float64), None
        except BaseException as e:
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            what = "None" if output is None else f"a {type(output).__name__}"
            return None, (f"is not a numeric array: got {what}"
                          + ("" if output is None else f" ({_safe_str(e)})")
                          + (" (did the function forget to `return` its result?)" if output is None else ""))
    return None, f"is not a numeric array (dtype {raw.dtype}): got {fmt(raw)}"


def to_float(raw):
    """A float64 copy of a plain array, to compute with."""
    return np.array(raw, dtype=np.float64, copy=True)


def shape_mistakes(raw, ref, dtype):
    """Mistakes recognisable from the shape alone or from a permutation / reshape of the answer."""
    found = []
    if raw.ndim == ref.ndim and raw.ndim <= 6:
        for perm in itertools.permutations(range(ref.ndim)):
            if perm == tuple(range(ref.ndim)):
                continue
            t = ref.transpose(perm)
            if t.shape == raw.shape and close(to_float(raw), t, dtype):
                what = "transposed" if ref.ndim == 2 else f"its axes in the order {perm} of the expected ones"
                found.append(Mistake("wrong_shape", f"the values are right but the output is {what}"))
                break
    if not found and raw.size == ref.size and raw.shape != ref.shape and raw.size <= 10 ** 6:
        if close(to_float(raw).reshape(ref.shape), ref, dtype):
            found.append(Mistake("wrong_shape", "the values are right but the array has the wrong shape "
                                                "(check reshape / squeeze / missing axes)"))
    return found


@dataclass(frozen=True)
class Finding:
    """What is wrong with one array of an output, as `compare` found it.

    `what`: the sentence ("dw is wrong (3 of 6 entries; ...)"); `code`, `text`: the known mistake it
    shows (text "" when the sentence names it itself, or only its code is known); `raw`: the output
    as a plain ndarray, None when it is not one.
    """
    what: str
    code: str | None = None
    text: str = ""
    raw: np.ndarray | None = None

    def line(self):
        """The sentence, followed by its 'likely mistake' line when the mistake has a text."""
        return self.what + (f"\n  likely mistake [{self.code}]: {self.text}" if self.text else "")

    def verdict(self, case, ref, modified="", ref_label="expected"):
        """The failing Verdict of `case`: the finding, the inputs when small, `ref` (under `ref_label`; left
        out when None) and what came back; `modified` names the inputs the call changed."""
        return fail(heading(case), case, ref, self.raw, self.line(), self.code, modified, ref_label)


def compare(output, ref, dtype, mistakes=(), part=None, every=False):
    """Judge one array: None when `output` is `ref` within the tolerances of `dtype` and in the right
    dtype, else a Finding that says what is wrong and which known mistake it is.

    output: anything (it is only touched through `as_plain`); ref: the expected array, any shape.
    mistakes: the [Mistake] this array can show, in the order they are tried, or a function () -> [Mistake]
    that is only called when the output is wrong (one that raises counts as no mistakes).
    part: how the sentences name this array when it is one part of an output ("dw (element 1 of the
    tuple (dx, dw, db))", "grads['W1']"); None: the output is this one array.
    every: name every mistake whose values match (up to three), not only the first.
    """
    name = "the output" if part is None else part
    raw, problem = as_plain(output)
    if problem is not None:
        return Finding(f"{name} {problem}")
    ref = np.asarray(ref)
    if raw.shape == ref.shape and close(to_float(raw), ref, dtype):
        return _kept_type(raw, ref, dtype, part)
    code, text = _likely_mistake(raw, ref, dtype, mistakes, every)
    if raw.shape != ref.shape:
        return Finding(_shape_sentence(raw, ref, part), code or "wrong_shape", text, raw)
    return Finding(_values_sentence(to_float(raw), ref, dtype, part), code, text, raw)


def _kept_type(raw, ref, dtype, part):
    """The Finding of right values in the wrong type (a float64 answer for float32 inputs, a float for a
    whole number), or None."""
    if dtype == np.float32 and raw.dtype != np.float32:
        values, its = ("the values", "the output's") if part is None else (f"the values of {part}", "its")
        return Finding(f"[wrong_dtype] {values} are right, but {its} dtype is {raw.dtype} for {dtype} inputs; "
                       f"functions keep the floating dtype they are given (compute in x.dtype, e.g. "
                       f"np.zeros(shape, dtype=x.dtype))", "wrong_dtype", raw=raw)
    if ref.dtype.kind in "iu" and raw.dtype.kind not in "iu":
        value = "the value" if part is None else f"the value of {part}"
        return Finding(f"[not_integer] {value} is right, but it is a {raw.dtype}; the answer is a whole number "
                       f"that shapes and ranges use: return an int (// or int(...))", "not_integer", raw=raw)
    return None


def _likely_mistake(raw, ref, dtype, mistakes, every):
    """(code, text) of the known mistake a wrong `raw` shows, (None, "") when none does: by its values
    first, then by its shape alone, then as the right values transposed or reshaped."""
    if callable(mistakes):
        try:
            mistakes = mistakes()
        except Exception:
            mistakes = []
    out_f = None
    matches = []
    for m in mistakes:
        if m.value is not None and m.value.shape == raw.shape:
            if out_f is None:
                out_f = to_float(raw)
            if close(out_f, m.value, dtype):
                matches.append(m)
                if not every:
                    break
    if matches:
        # two mistakes that give the same numbers here are both named
        texts = list(dict.fromkeys(m.text for m in matches))
        return matches[0].code, "; or: ".join(texts[:3])
    if raw.shape != ref.shape:
        m = next((m for m in mistakes if m.shape is not None and tuple(m.shape) == raw.shape), None)
        if m is not None:
            return m.code, m.text
    # the right numbers in the wrong places: transposed (even a square output), or reshaped
    found = shape_mistakes(raw, ref, dtype)
    return (found[0].code, found[0].text) if found else (None, "")


def _shape_sentence(raw, ref, part):
    got = "a single number" if raw.shape == () else f"shape {raw.shape}"
    if part is None:
        return f"expected {'a single number' if ref.shape == () else f'an output of shape {ref.shape}'}, got {got}"
    return f"{part} should have {'a single number' if ref.shape == () else f'shape {ref.shape}'}, got {got}"


def _values_sentence(out_f, ref, dtype, part):
    wrong, it = ("the values are wrong", "the output") if part is None else (f"{part} is wrong", "it")
    if np.isnan(out_f).any() or np.isinf(out_f).any():
        return f"{wrong} ({it} contains NaN or infinity)"
    if ref.ndim == 0:
        return ("the value is wrong" if part is None else wrong) + f": expected {ref[()]:.6g}, got {out_f[()]:.6g}"
    bad = np.argwhere(~np.isclose(out_f, ref, *tolerances(dtype, ref)))
    if not len(bad):
        return wrong
    i = tuple(int(v) for v in bad[0])
    return wrong + f" ({len(bad)} of {ref.size} entries; first at index {i}: expected {ref[i]:.6g}, got {out_f[i]:.6g})"


# ----------------------------------------------------------------------------- verdicts

def fail(head, case, ref, raw, what, code, modified, ref_label="expected"):
    """A failing verdict: what is wrong, the inputs when small, the reference (under `ref_label`, left out
    when None) and what came back."""
    lines = [f"{head}: {what}"]
    if modified:
        lines.append(f"  also [input_modified]: {modified}")
    inputs = describe_inputs(case)
    if inputs:
        lines.append(inputs)
    if ref is not None:
        lines.append(f"  {ref_label}:\n" + _indent(fmt(ref)))
    if raw is not None:
        lines.append("  got:\n" + _indent(fmt(raw)))
    return Verdict(False, "\n".join(lines), code)


def modified_inputs(case, inputs_after):
    """A sentence naming the inputs changed by the call, or "" when none was (or it is unknown)."""
    if inputs_after is None:
        return ""
    names = graded_argnames(case)
    changed = []
    try:
        after = tuple(inputs_after)
    except Exception:
        return ""
    for n, before, a in zip(names, case.args, after):
        if not isinstance(before, np.ndarray):   # None, sizes, a random generator: not data to keep
            continue
        try:
            a = np.asarray(a)
            same = a.shape == before.shape and bool(np.array_equal(a.astype(np.float64), before, equal_nan=True))
        except Exception:
            same = False
        if not same:
            changed.append(n)
    if not changed:
        return ""
    return (f"the function changed its input{'s' if len(changed) > 1 else ''} {', '.join(changed)} in place; "
            f"graded functions must not modify their arguments (work on a copy, e.g. x = x.copy(), "
            f"and avoid `x *= ...` / `x[...] = ...` on inputs)")


def inputs_changed(case, modified, ref=None, ref_label="expected"):
    """The failing verdict of a right output whose call changed its inputs (`modified`, a sentence)."""
    return fail(heading(case), case, ref, None, "[input_modified] the output is right, but " + modified,
                "input_modified", None, ref_label)


def judge(case, output, inputs_after=None):
    """Judge `output` (anything) as the result of `case`; `inputs_after` are the args after the call.

    Never raises because of `output`: every problem becomes a failing Verdict. A graded function
    with a judge of its own is judged by it, any other by `default_judge`.
    """
    own = _graded_of(case).judge
    if own is not None:
        return own(case, output, inputs_after)
    return default_judge(case, output, inputs_after)


def default_judge(case, output, inputs_after=None):
    """Judge `output` as one array, against the reference answer, naming a known mistake if it is one."""
    ref = expected(case)
    modified = modified_inputs(case, inputs_after)
    found = compare(output, ref, case_dtype(case), lambda: _graded_of(case).mistakes(case, ref))
    if found is not None:
        return found.verdict(case, ref, modified)
    if modified:
        return inputs_changed(case, modified, ref)
    return Verdict(True, "", None)


def with_diagnosis(diagnose):
    """A judge that is `default_judge` plus a known mistake a list of Mistakes cannot hold (NaN where a
    formula overflowed, a random draw where an average was asked for).

    When the output is wrong, has the expected shape and no Mistake names it, `diagnose(case, y, ref)`
    -> (code, text) or None looks at it (y: the output in float64, ref: the expected answer); a
    diagnosis adds its 'likely mistake' line to the default verdict.
    """
    def judge(case, output, inputs_after=None):
        v = default_judge(case, output, inputs_after)
        if v.passed or v.diagnosis is not None:
            return v
        try:
            raw, problem = as_plain(output)
            ref = expected(case)
            found = None if problem is not None or raw.shape != ref.shape else diagnose(case, to_float(raw), ref)
        except Exception:  # the extra diagnosis is a bonus; the verdict stands without it
            return v
        if not found:
            return v
        code, text = found
        return Verdict(False, with_line(v.message, code, text), code)

    return judge


# ----------------------------------------------------------------------------- check (notebooks)

def _copy(a):
    return a.copy() if isinstance(a, np.ndarray) else a


def _where(e):
    """The last line of an exception's traceback: file, line number and source text."""
    try:
        tb = traceback.extract_tb(e.__traceback__)
        if not tb:
            return ""
        f = tb[-1]
        src = f" `{f.line.strip()}`" if f.line else ""
        return f" (raised at line {f.lineno} of {f.filename}{src})"
    except Exception:
        return ""


def run_case(case, fn, others=None):
    """What `fn` gives for `case`: `fn(*args, **kwargs)`, or the case's probe of `fn`.

    Returns (output, args): the copies of the inputs that `fn` got, to see whether it changed them.
    """
    args = tuple(_copy(a) for a in case.args)
    kwargs = {k: _copy(v) for k, v in case.kwargs.items()}
    if case.probe is None:
        return fn(*args, **kwargs), args
    return case.probe(fn, dict(others or {}), *args, **kwargs), args


def check(name, fn, seed=0, hidden=False, assignment=None, **others):
    """Run `fn` on every case of `name`, raise AssertionError listing every failure, else print a line.

    `fn` gets copies of the inputs, so an in-place change is caught by comparing them afterwards.
    `others`: the other graded objects some cases need (training a model class needs the notebook's
    `train_one_epoch`), by name.
    """
    __tracebackhide__ = True   # IPython and pytest show the message, not this function's frames
    all_cases = cases(name, seed=seed, hidden=hidden, assignment=assignment)
    failures = []
    for case in all_cases:
        missing = [u for u in case.uses if u not in others]
        if missing:
            raise TypeError(f"checking {name} needs your {', '.join(missing)} too: "
                            f"checks.check({name!r}, {name}, " + ", ".join(f"{u}={u}" for u in missing) + ")")
        try:
            out, args = run_case(case, fn, {u: others[u] for u in case.uses})
        except Exception as e:
            failures.append(problem_message(case, f"raised {_safe_str(e)}{_where(e)}"))
            continue
        v = judge(case, out, inputs_after=args)
        if not v.passed:
            failures.append(v.message)
    if failures:
        header = f"{len(failures)} of {len(all_cases)} checks failed for {name}"
        raise AssertionError(header + ":\n\n" + "\n\n".join(failures))
    print(f"all {len(all_cases)} checks passed for {name}")
