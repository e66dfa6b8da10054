"""What the judges of assignment 06 share: reading a probe's record, writing a verdict, and the
references they point at.

A probe (cnnkit.checks.probes06) answers a case with a record {key: number or array}, which came
from the student's process and is treated as hostile: `field` and `scalar` read it through NumPy only
(core.as_plain) and raise `Unreadable` when it is not what a probe returns; `guarded` turns that into
a failed verdict. A judge collects its findings as [(mistake code, sentence)] and `verdict` words them.
"""

import importlib

import numpy as np

from ..core import Verdict, as_plain, heading


class Unreadable(Exception):
    """A probe's record is not what the probe returns; the message says which part."""


def field(out, key):
    """The record's `key` as a float64 array (a copy)."""
    if not isinstance(out, dict):
        raise Unreadable(f"a {type(out).__name__}, not the probe's record")
    v = dict.get(out, key)
    raw, problem = as_plain(v)
    if problem is not None:
        raise Unreadable(f"its {key!r} {problem}")
    return np.array(raw, dtype=np.float64, copy=True)


def scalar(out, key):
    """The record's `key` as one float."""
    a = field(out, key)
    if a.size != 1:
        raise Unreadable(f"its {key!r} is not one number")
    return float(a.reshape(()))


def verdict(case, problems):
    """A Verdict from [(code, sentence)]: passed when empty; else the first code, every sentence."""
    if not problems:
        return Verdict(True, "", None)
    lines = [f"{heading(case)}: [{problems[0][0]}] {problems[0][1]}"]
    lines += [f"  also [{code}]: {text}" for code, text in problems[1:]]
    return Verdict(False, "\n".join(lines), problems[0][0])


def guarded(judge):
    """`judge(case, out)` as a Graded judge (case, output, inputs_after): an unreadable record fails."""
    def judged(case, output, inputs_after=None):
        try:
            return judge(case, output)
        except Unreadable as e:
            return Verdict(False, f"{heading(case)}: the result could not be read ({e})", "unreadable")
    judged.__name__ = judge.__name__
    return judged


def close(a, b, rtol=1e-4, atol=1e-5):
    """Same shape and allclose, atol relative to the largest |b| (when it is over 1)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol * max(1.0, float(np.max(np.abs(b)))
                                                                                   if b.size else 1.0)))


def pct(v):
    return f"{100 * v:.2f}%"


def unmoved_problem(counts, where):
    """(code, sentence) for batches that were not moved to the device: images that reached the model as
    they came, labels that met the model's output on the device (`where`) as they came."""
    what = []
    if counts["unmoved_x"]:
        what.append("the images of a batch reached the model without being moved to `device`")
    if counts["unmoved_y"]:
        what.append(f"the labels of a batch were {where} without being moved to `device`, while the model's "
                    f"output is on the device")
    text = (" and ".join(what) + ": x, y = x.to(device), y.to(device) for every batch (on a GPU the model's "
            "weights live there, and mixing devices fails)")
    if counts["unmoved_y"] and not counts["unmoved_x"] and where.startswith("compared"):
        text += "; or bring the predictions back with .cpu() before comparing them with the labels"
    return "not_on_device", text


def no_mistakes(case, ref):
    """The Graded record's catalogue of mistakes: empty, since the judges here name the mistakes themselves."""
    return []


class CourseReference:
    """`cnnkit.torch.<name>`, with `options` bound (as functools.partial binds them: `func`, `keywords`),
    imported when first used, so that importing the checks never imports torch."""

    def __init__(self, name, **options):
        self.__name__ = self.__qualname__ = name
        self.keywords = options

    @property
    def func(self):
        return getattr(importlib.import_module("cnnkit.torch"), self.__name__)

    def __call__(self, *args, **kwargs):
        return self.func(*args, **self.keywords, **kwargs)

    def __repr__(self):
        options = "".join(f", {k}={v!r}" for k, v in self.keywords.items())
        return f"CourseReference(cnnkit.torch.{self.__name__}{options})"
