"""The grader's side of the sandbox: start runner.py on one submission, feed it, read what it reports.

`run(program, cases, limits)` makes a scratch folder, starts the runner in its own session (so that
it and anything it starts can be killed as a group), sends the program, waits for the cells to run
(within the per-cell and per-notebook limits), then sends the cases and collects one result per
case. Whatever happens (a crash, a hang, a flood of output, an exit in the middle), it returns what
it got plus a reason, kills the whole process group, and removes the scratch folder.

Records from the runner are parsed strictly: a bounded length, JSON headers, arrays rebuilt with
`np.frombuffer` from a numeric dtype string and a shape that must match their byte count. Nothing
the student's process sends is unpickled or evaluated.
"""

import json
import os
import pickle
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RUNNER = Path(__file__).resolve().parent / "runner.py"

MAX_RECORD = 256 << 20     # one record (a graded function's output) may not be larger than this
MAX_LOG = 1 << 20          # the student's printed output that is kept


@dataclass
class Limits:
    cell_seconds: float = 60.0       # one cell
    notebook_seconds: float = 300.0  # all cells and calls together
    call_seconds: float = 10.0       # one call of a graded function on one case
    memory_bytes: int = 4 << 30      # address space of the student's process
    file_bytes: int = 16 << 20       # any one file it writes, its printed output included
    # cpu seconds: derived from notebook_seconds

    def as_dict(self):
        return {"cell_seconds": self.cell_seconds, "call_seconds": self.call_seconds,
                "memory_bytes": int(self.memory_bytes), "file_bytes": int(self.file_bytes),
                "cpu_seconds": int(self.notebook_seconds) + 30}


@dataclass
class Outcome:
    """What came back from one run."""
    cells: list = field(default_factory=list)        # [{"id", "error", "seconds"}] per cell that finished
    defined: dict = field(default_factory=dict)      # graded name -> type name, or None
    results: dict = field(default_factory=dict)      # graded name -> list of result dicts per case
    blocked: list = field(default_factory=list)      # actions the audit hook refused
    problem: str = ""                                # why the run ended early, if it did
    finished: bool = False                           # every case was called and reported
    log: str = ""                                    # the end of the student's printed output
    seconds: float = 0.0
    pid: int = 0                                     # the process (and process group) that ran it


class ProtocolError(Exception):
    pass


def _decode(node, blobs):
    """Rebuild a value described by the runner; arrays take their bytes from `blobs` (a _Bytes)."""
    t = node.get("t") if isinstance(node, dict) else None
    if t == "none":
        return None
    if t == "num":
        v = node.get("v")
        if type(v) not in (int, float, bool):
            raise ProtocolError("bad number")
        return v
    if t in ("tuple", "list"):
        items = [_decode(n, blobs) for n in node.get("items", [])]
        return tuple(items) if t == "tuple" else items
    if t == "dict":
        return {str(k): _decode(v, blobs) for k, v in node.get("items", [])}
    if t == "array":
        dtype = np.dtype(str(node["dtype"]))
        if dtype.kind not in "biufc" or dtype.hasobject:
            raise ProtocolError("bad dtype")
        shape = tuple(int(s) for s in node["shape"])
        if any(s < 0 for s in shape) or len(shape) > 32:
            raise ProtocolError("bad shape")
        nbytes = int(node["nbytes"])
        if nbytes != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise ProtocolError("array size does not match its shape")
        data = blobs.take(nbytes)
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if t == "unsupported":
        return Unsupported(str(node.get("type", "?")), str(node.get("dtype", "")), str(node.get("error", "")))
    raise ProtocolError(f"unknown value {t!r}")


@dataclass(frozen=True)
class Unsupported:
    """A return value that is not numbers (a string, an object array, ...): judged as wrong."""
    type: str
    dtype: str = ""
    error: str = ""

    def __repr__(self):
        return f"<a {self.type}{' of dtype ' + self.dtype if self.dtype else ''}>"


class _Bytes:
    """The raw bytes after a record's JSON line, handed out in order to the arrays that describe them."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, n):
        if n < 0 or self.at + n > len(self.data):
            raise ProtocolError("record length does not match its arrays")
        self.at += n
        return self.data[self.at - n:self.at]

    def finish(self):
        if self.at != len(self.data):
            raise ProtocolError("record length does not match its arrays")


class _Reader:
    """Length-prefixed records from a pipe, with a deadline for each wait."""

    def __init__(self, fd):
        self.fd, self.buf, self.eof = fd, bytearray(), False

    def _fill(self, deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    self.eof = True
                    return False
                self.buf += chunk
                return True

    def record(self, deadline):
        """The next record's (header, raw bytes), or None at end of stream / deadline."""
        while True:
            if len(self.buf) >= 4:
                n = int.from_bytes(self.buf[:4], "big")
                if n > MAX_RECORD:
                    raise ProtocolError(f"a result of {n} bytes is over the limit of {MAX_RECORD}")
                if len(self.buf) >= 4 + n:
                    payload = bytes(self.buf[4:4 + n])
                    del self.buf[:4 + n]
                    line, _, rest = payload.partition(b"\n")
                    header = json.loads(line)
                    if not isinstance(header, dict):
                        raise ProtocolError("bad record")
                    return header, rest
            if self.eof or not self._fill(deadline):
                return None


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _environment(scratch):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch), "TMPDIR": str(scratch), "MPLCONFIGDIR": str(scratch / ".matplotlib"),
        "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "IPYTHONDIR": str(scratch / ".ipython"), "LANG": "C.UTF-8",
        # a notebook may shorten its demonstrations when graded (assignment 06 trains its models
        # for show; the grader trains them again its own way)
        "CNNKIT_GRADING": "1",
    }
    if "CNNKIT_DATA" in os.environ:
        env["CNNKIT_DATA"] = os.environ["CNNKIT_DATA"]
    return env


def run(program, cases, limits=None, python=None):
    """Run `program` (see runner.py) in a fresh scratch folder.

    `cases`: {name: [(args, kwargs, probe, uses, seconds)]}, as `case_tuple` makes them."""
    limits = limits or Limits()
    program = dict(program, limits=limits.as_dict())
    outcome = Outcome()
    start = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="autograde-"))
    read_fd, write_fd = os.pipe()       # records: runner -> grader
    in_read, in_write = os.pipe()       # program and cases: grader -> runner
    log_path = scratch / "output.log"
    proc = None
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [python or sys.executable, "-I", "-B", str(RUNNER), str(in_read), str(write_fd)], cwd=scratch,
                env=_environment(scratch), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(in_read, write_fd), start_new_session=True, close_fds=True)
        outcome.pid = proc.pid
        os.close(write_fd)
        os.close(in_read)
        write_fd = in_read = None
        with os.fdopen(in_write, "wb") as feed:
            in_write = None
            _converse(proc, feed, program, cases, limits, _Reader(read_fd), outcome, start)
    except ProtocolError as e:
        outcome.problem = outcome.problem or f"the notebook's process sent something unreadable ({e})"
    finally:
        if proc is not None:
            _kill_group(proc)
            if not outcome.finished and proc.returncode not in (0, None) and not outcome.problem:
                outcome.problem = _exit_reason(proc.returncode)
        for fd in (read_fd, write_fd, in_read, in_write):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        outcome.log = _tail(log_path)
        outcome.seconds = round(time.monotonic() - start, 3)
        shutil.rmtree(scratch, ignore_errors=True)
    return outcome


def case_tuple(case):
    """What the runner needs of a `cnnkit.checks.Case`: plain, picklable parts."""
    return (case.args, case.kwargs, case.probe, tuple(case.uses), case.seconds)


def _exit_reason(code):
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        why = {"SIGKILL": " (killed: over the memory or time limit)", "SIGXCPU": " (over the CPU time limit)",
               "SIGSEGV": " (a crash)"}.get(name, "")
        return f"the notebook's process died with {name}{why}"
    return f"the notebook's process exited early (exit status {code})"


def _tail(path, limit=4000):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _send(feed, obj, outcome, problem):
    """Pickle `obj` to the runner; False (and `problem` noted) when it is no longer listening."""
    try:
        feed.write(pickle.dumps(obj, protocol=4))
        feed.flush()
        return True
    except (BrokenPipeError, OSError):
        outcome.problem = problem
        return False


def _converse(proc, feed, program, cases, limits, reader, outcome, start):
    notebook_deadline = start + limits.notebook_seconds
    if not _send(feed, program, outcome, "the notebook's process did not start"):
        return

    # the cells: each must end within its limit (plus a grace period for the runner's own interrupt)
    current = None
    while True:
        cell_deadline = (current[1] + limits.cell_seconds + 5) if current else time.monotonic() + 60
        got = reader.record(min(notebook_deadline, cell_deadline))
        if got is None:
            if reader.eof:
                outcome.problem = outcome.problem or "the notebook's process stopped while running its cells"
            elif time.monotonic() >= notebook_deadline:
                outcome.problem = f"the notebook ran past its time limit of {limits.notebook_seconds:g} s"
            else:
                cell = current[0] if current else "?"
                outcome.problem = f"cell {cell} ran past its time limit of {limits.cell_seconds:g} s"
            return
        header, _ = got
        kind = header.get("type")
        if kind == "cell" and header.get("event") == "start":
            current = (str(header.get("id")), time.monotonic())
        elif kind == "cell":
            outcome.cells.append({"id": str(header.get("id")), "error": header.get("error"),
                                  "seconds": header.get("seconds")})
            current = None
        elif kind == "cells_done":
            defined = header.get("defined")
            outcome.defined = {str(k): (None if v is None else str(v)) for k, v in
                               (defined.items() if isinstance(defined, dict) else [])}
            break
        else:
            raise ProtocolError(f"unexpected record {kind!r} while running cells")

    if not _send(feed, cases, outcome, "the notebook's process stopped before its functions were called"):
        return
    expected = {name: len(c) for name, c in cases.items()}
    # one call may take call_seconds, or the longest time a case of its own asks for (plus grace)
    call_wait = max([limits.call_seconds] + [c[4] for cs in cases.values() for c in cs if c[4]]) + 5
    for name in cases:
        outcome.results[name] = [None] * expected[name]
    while True:
        # all the calls together stay within the notebook limit
        got = reader.record(min(notebook_deadline, time.monotonic() + call_wait))
        if got is None:
            if not outcome.problem:
                if reader.eof:
                    outcome.problem = "the notebook's process stopped while its functions were being called"
                else:
                    outcome.problem = f"the notebook ran past its time limit of {limits.notebook_seconds:g} s"
            return
        header, rest = got
        kind = header.get("type")
        if kind == "done":
            outcome.finished = True
            outcome.blocked = [str(b)[:300] for b in (header.get("blocked") or [])][:20]
            return
        if kind != "result":
            raise ProtocolError(f"unexpected record {kind!r}")
        name, i = header.get("name"), header.get("case")
        if name not in outcome.results or type(i) is not int or not 0 <= i < expected[name]:
            raise ProtocolError("a result for a case that was not asked for")
        result = {"ok": bool(header.get("ok")), "seconds": header.get("seconds"),
                  "forbidden": [str(f) for f in header.get("forbidden") or []][:5]}
        if result["ok"]:
            blobs = _Bytes(rest)
            result["output"] = _decode(header.get("output"), blobs)
            result["inputs_after"] = tuple(None if a is None else _decode(a, blobs)
                                           for a in header.get("inputs_after") or [])
            blobs.finish()
        else:
            result["error"] = str(header.get("error"))[:800]
        outcome.results[name][i] = result


# ----------------------------------------------------------------------------- isolation (interface)

@dataclass(frozen=True)
class Isolation:
    """Which isolation a grading run has in force. `name`: "bwrap", "landlock" or "python";
    `weak`: True when the kernel does not keep the student's code in (a loud warning is due);
    `detail`: one sentence for the terminal, the CSV and the report."""
    name: str
    weak: bool
    detail: str


MODES = ("auto", "bwrap", "landlock", "python")


def isolation(mode="auto"):
    """The isolation that `mode` gives on this machine (auto: the strongest available).
    Raises SandboxUnavailable when an explicitly requested mode cannot be had here."""
    return Isolation("python", True, "in-process checks only (placeholder until the kernel sandbox lands)")


class SandboxUnavailable(Exception):
    """The isolation asked for cannot be had on this machine."""
