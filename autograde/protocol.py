"""The conversation between the grader and the runner: its record kinds and fields, named once.

Both sides import this file: `sandbox.py` (the grader) as ``autograde.protocol``, and `runner.py`
(the student's process) from the file beside it. The runner runs without the autograde package (in
the kernel sandbox it is /opt/autograde/runner.py, and this file is mounted read-only beside it), so
this module uses the standard library only and holds no code that runs student objects.

The conversation, in order, on two pipes (the runner's stdin is /dev/null):

  grader -> runner   pickles of plain data
    the program      {"cells": [{"id", "source"}], "graded": [name], "preload": [module],
                      "probes": ["module:function"], "protected": [path], "forbidden": rules,
                      "limits": {...}, "isolation": mode, "landlock": {"read", "write"} (optional),
                      "python_layer": bool (optional, tests only)}
    the cases        {graded name: [a Case as a plain tuple]}, sent only after CELLS_DONE
  runner -> grader   records: a 4-byte big-endian length, then the payload: one line of JSON
                     (the header: {"type": a kind below, and that kind's FIELDS}), then the raw
                     bytes of any arrays the header describes, in order
    CELL             for each cell, in order: START, then END (with its error, if any)
    CELLS_DONE       once: which graded names the cells defined
    RESULT           one per case, function by function and case by case as sent
    DONE             once, last: what the audit hook refused
"""

from collections import namedtuple

# ----------------------------------------------------------------------------- records (runner -> grader)

CELL, CELLS_DONE, RESULT, DONE = "cell", "cells_done", "result", "done"
START, END = "start", "end"          # a CELL record's "event"

# the fields each kind of record may carry besides "type"
FIELDS = {
    CELL: frozenset({"index", "id", "event", "error", "seconds"}),
    CELLS_DONE: frozenset({"defined"}),      # {graded name: type name of what the cells bound, or None}
    RESULT: frozenset({"name", "case", "ok", "seconds", "output", "inputs_after", "error", "forbidden"}),
    DONE: frozenset({"blocked"}),            # [what the audit hook refused]
}

LENGTH_BYTES = 4                     # a record's length prefix, big-endian


def frame(payload):
    """A record as it goes on the pipe: its length, then `payload` (bytes)."""
    return len(payload).to_bytes(LENGTH_BYTES, "big") + payload


def payload_length(prefix):
    """The length a record's prefix (its first LENGTH_BYTES bytes) announces."""
    return int.from_bytes(prefix[:LENGTH_BYTES], "big")


# what the runner sends back at most, and what the grader takes: a little more, so that a record over
# the grader's bounds can only be a forgery
MAX_OUTPUT = 32 << 20      # one answer's arrays
MAX_OUTPUTS = 192 << 20    # every answer's arrays of one run together
MAX_RECORD = 64 << 20      # one record
MAX_TOTAL = 256 << 20      # every record of one run together: the grader's memory per job stays bounded

# ----------------------------------------------------------------------------- values (in RESULT records)

# an encoded value is {"t": a kind below, ...}: NUM {"v"}; TUPLE and LIST {"items": [value]};
# DICT {"items": [[key, value]]}; ARRAY {"dtype", "shape", "nbytes"} (its bytes follow the header);
# UNSUPPORTED {"type", "dtype", "error"}: what is not numbers, judged as wrong
NONE, NUM, TUPLE, LIST, DICT, ARRAY, UNSUPPORTED = "none", "num", "tuple", "list", "dict", "array", "unsupported"
MAX_ITEMS = 64             # items of one tuple, list or dict

# ----------------------------------------------------------------------------- cases (grader -> runner)

Case = namedtuple("Case", "args kwargs probe uses seconds")
Case.__doc__ = """One call of a graded function, as the runner makes it.

`args`, `kwargs`: what it is called with (arrays are copied before each call); `probe`: None (the
function is called itself) or the name ("module:function") of a probe, loaded before any student code,
that calls it its own way; `uses`: the other graded names the probe is handed; `seconds`: this case's
time limit, or None for the job's own."""
