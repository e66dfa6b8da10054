"""The grader's side of the sandbox: start runner.py on one submission, feed it, read what it reports.

`run(program, cases, limits)` makes a scratch folder, starts the runner in its own session (so that
it and anything it starts can be killed as a group), sends the program, waits for the cells to run
(within the per-cell and per-notebook limits), then sends the cases and collects one result per
case. Whatever happens (a crash, a hang, a flood of output, an exit in the middle), it returns what
it got plus a reason, kills the whole process group, and removes the scratch folder.

Records from the runner (their kinds and fields are `protocol.py`'s, shared with the runner) are
parsed strictly: a bounded length, JSON headers of the kinds and fields the protocol names, in the
order it sets, arrays rebuilt with `np.frombuffer` from a numeric dtype string and a shape that
must match their byte count. Nothing the student's process sends is unpickled or evaluated.
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

from . import confine, hidden, protocol
from .confine import MODES, Isolation, SandboxUnavailable, isolation  # noqa: F401 (the grade command's)
from .protocol import ARRAY, CELL, CELLS_DONE, DICT, DONE, END, LIST, NONE, NUM, RESULT, START, TUPLE, UNSUPPORTED
from .protocol import MAX_RECORD, MAX_TOTAL  # noqa: F401 (the bounds on what the grader takes)

RUNNER = Path(__file__).resolve().parent / "runner.py"     # protocol.py lies beside it


@dataclass
class Limits:
    cell_seconds: float = 60.0       # one cell
    notebook_seconds: float = 300.0  # all cells and calls together
    call_seconds: float = 10.0       # one call of a graded function on one case
    memory_bytes: int = 4 << 30      # address space of the student's process
    file_bytes: int = 16 << 20       # any one file it writes, its printed output included
    scratch_bytes: int = 256 << 20   # its private scratch folder in all (kernel sandbox)
    scratch_inodes: int = 4096       # files and folders in the scratch folder (kernel sandbox, as root)
    max_processes: int = 64          # processes and threads of the job (kernel sandbox)
    # cpu seconds: derived from notebook_seconds

    def as_dict(self):
        return {"cell_seconds": self.cell_seconds, "call_seconds": self.call_seconds,
                "memory_bytes": int(self.memory_bytes), "file_bytes": int(self.file_bytes),
                "cpu_seconds": int(self.notebook_seconds) + 30, "max_processes": int(self.max_processes)}


@dataclass
class CellRun:
    """One cell that ran to its end (a CELL record's END)."""
    id: str
    error: str = None                # what it raised, or None
    seconds: float = None            # since the first cell started


@dataclass
class Answer:
    """What one call of a graded function on one case came back with (a RESULT record)."""
    ok: bool                         # it returned (else it raised, ran out of time or was not run)
    seconds: float = None
    output: object = None            # what it returned (an array, a number, a tuple..., or Unsupported)
    inputs_after: tuple = None       # its array arguments after the call (None for any other argument)
    error: str = ""                  # what it raised, when not ok
    forbidden: list = field(default_factory=list)   # forbidden implementations it called


@dataclass
class Outcome:
    """What came back from one run."""
    cells: list = field(default_factory=list)        # [CellRun] per cell that finished
    defined: dict = field(default_factory=dict)      # graded name -> type name, or None
    results: dict = field(default_factory=dict)      # graded name -> [Answer, or None: never called] per case
    blocked: list = field(default_factory=list)      # actions the audit hook refused
    problem: str = ""                                # why the run ended early, if it did
    violation: str = ""                              # records that were not the runner's: forged output
    finished: bool = False                           # every case was called and reported
    log: str = ""                                    # the end of the student's printed output
    seconds: float = 0.0
    pid: int = 0                                     # the process (and process group) that ran it


class ProtocolError(Exception):
    pass


def _decode(node, blobs, depth=0):
    """Rebuild a value described by the runner; arrays take their bytes from `blobs` (a _Bytes)."""
    if depth > 8:
        raise ProtocolError("a value nested too deep")
    t = node.get("t") if isinstance(node, dict) else None
    if t == NONE:
        return None
    if t == NUM:
        v = node.get("v")
        if type(v) not in (int, float, bool):
            raise ProtocolError("bad number")
        return v
    if t in (TUPLE, LIST):
        items = [_decode(n, blobs, depth + 1) for n in _items(node)]
        return tuple(items) if t == TUPLE else items
    if t == DICT:
        pairs = [p for p in _items(node) if isinstance(p, list) and len(p) == 2]
        return {str(k)[:100]: _decode(v, blobs, depth + 1) for k, v in pairs}
    if t == ARRAY:
        dtype = np.dtype(str(node["dtype"]))
        if dtype.kind not in "biufc" or dtype.hasobject:
            raise ProtocolError("bad dtype")
        if not isinstance(node.get("shape"), list):
            raise ProtocolError("bad shape")
        shape = tuple(int(s) for s in node["shape"])
        if any(s < 0 for s in shape) or len(shape) > 32:
            raise ProtocolError("bad shape")
        nbytes = int(node["nbytes"])
        if nbytes != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise ProtocolError("array size does not match its shape")
        data = blobs.take(nbytes)
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if t == UNSUPPORTED:
        return Unsupported(str(node.get("type", "?")), str(node.get("dtype", "")), str(node.get("error", "")))
    raise ProtocolError(f"unknown value {t!r}")


def _items(node):
    items = node.get("items", [])
    if not isinstance(items, list) or len(items) > protocol.MAX_ITEMS:
        raise ProtocolError("a list of values that is not one")
    return items


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
    """Length-prefixed records from a pipe, with a deadline for each wait; each one's header must be
    of a kind the protocol names, with only that kind's fields."""

    def __init__(self, fd):
        self.fd, self.buf, self.eof, self.total = fd, bytearray(), False, 0

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
                self.total += len(chunk)
                if self.total > MAX_TOTAL:
                    raise ProtocolError(f"it sent more than {MAX_TOTAL >> 20} MiB of results in all")
                self.buf += chunk
                return True

    def record(self, deadline):
        """The next record's (header, raw bytes), or None at end of stream / deadline."""
        while True:
            prefix = protocol.LENGTH_BYTES
            if len(self.buf) >= prefix:
                n = protocol.payload_length(self.buf)
                if n > MAX_RECORD:
                    raise ProtocolError(f"a result of {n} bytes is over the limit of {MAX_RECORD}")
                if len(self.buf) >= prefix + n:
                    payload = bytes(self.buf[prefix:prefix + n])
                    del self.buf[:prefix + n]
                    line, _, rest = payload.partition(b"\n")
                    try:
                        header = json.loads(line)
                    except (ValueError, RecursionError) as e:
                        raise ProtocolError("a record that is not JSON") from e
                    if not isinstance(header, dict):
                        raise ProtocolError("bad record")
                    fields = protocol.FIELDS.get(header.get("type"))
                    if fields is None or not set(header) - {"type"} <= fields:
                        raise ProtocolError(f"a record the protocol does not have ({str(header)[:80]})")
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


def _environment(home, data=None, python=None):
    bindir = os.path.dirname(python or sys.executable)
    env = {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home), "TMPDIR": str(home), "MPLCONFIGDIR": f"{home}/.matplotlib",
        "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "IPYTHONDIR": f"{home}/.ipython", "LANG": "C.UTF-8",
        # a notebook may shorten its demonstrations when graded (assignment 06 trains its models
        # for show; the grader trains them again its own way); the data loaders never try the network
        "CNNKIT_GRADING": "1", "CNNKIT_OFFLINE": "1",
    }
    if data:
        env["CNNKIT_DATA"] = str(data)
    return env


@dataclass
class Jail:
    """How a job is kept in: the isolation mode and what it shows the student's process.

    `hide`: {"stub": [package], "poison": {module: [names]}} (see hidden.py); `data_files`: glob
    patterns under the data root to show (None: the whole folder); `protected`: host paths that must
    never be visible (the course root, the submissions, the instructor's files, the gradebook)."""
    mode: str = "python"
    hide: dict = field(default_factory=dict)
    data_files: list = None
    protected: list = field(default_factory=list)


def _command(jail, limits, python, in_read, write_fd, scratch):
    """(argv, cwd, env, cgroup) that start the runner under `jail`."""
    python = os.path.realpath(python or sys.executable)
    data_root = os.environ.get("CNNKIT_DATA") or None
    if jail.mode != "bwrap":
        argv = [python, "-I", "-B", str(RUNNER), str(in_read), str(write_fd)]
        return argv, scratch, _environment(scratch, data_root, python), None
    data = confine.data_mounts(data_root, jail.data_files)
    argv = [python, "-I", "-B", confine.RUNNER_AT, str(in_read), str(write_fd)]
    cmd = confine.bwrap_command(
        argv, protected=jail.protected, hide=hidden.plan(jail.hide), data=data,
        scratch_bytes=limits.scratch_bytes, scratch_inodes=limits.scratch_inodes, uid=confine.fresh_uid(),
        runner=RUNNER)
    group = confine.Cgroup(limits.memory_bytes + limits.scratch_bytes + (256 << 20), limits.max_processes)
    env = _environment(confine.SCRATCH, confine.DATA_AT if data else None, python)
    return group.wrap(cmd), scratch, env, group


def run(program, cases, limits=None, python=None, jail=None):
    """Run `program` (see runner.py) under `jail` (default: the Python layer only).

    `cases`: {name: [protocol.Case, or the plain tuple (args, kwargs, probe, uses, seconds)]}, as
    `case_tuple` makes them."""
    limits = limits or Limits()
    jail = jail or Jail()
    cases = {name: [protocol.Case(*c) for c in cs] for name, cs in cases.items()}
    program = dict(program, limits=limits.as_dict(), isolation=jail.mode, probes=probe_names(cases))
    outcome = Outcome()
    start = time.monotonic()
    # the grader's own folder for the log (and, outside bwrap, the student's scratch)
    scratch = Path(tempfile.mkdtemp(prefix="autograde-"))
    work = scratch / "work"
    work.mkdir()
    if jail.mode == "landlock":
        program["landlock"] = _landlock_rules(work)
    read_fd, write_fd = os.pipe()       # records: runner -> grader
    in_read, in_write = os.pipe()       # program and cases: grader -> runner
    log_path = scratch / "output.log"
    proc = group = None
    try:
        argv, cwd, env, group = _command(jail, limits, python, in_read, write_fd, work)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, pass_fds=(in_read, write_fd),
                                    start_new_session=True, close_fds=True)
        outcome.pid = proc.pid
        os.close(write_fd)
        os.close(in_read)
        write_fd = in_read = None
        os.set_blocking(in_write, False)
        _converse(proc, _Feed(in_write), program, cases, limits, _Reader(read_fd), outcome, start)
    except ProtocolError as e:
        outcome.violation = f"the notebook's process wrote to the grader's channel itself ({e})"
        outcome.problem = outcome.problem or outcome.violation
    finally:
        if proc is not None:
            _kill_group(proc)
            if not outcome.finished and proc.returncode not in (0, None) and not outcome.problem:
                outcome.problem = _exit_reason(proc.returncode)
        if group is not None:
            group.remove()
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


def _landlock_rules(scratch):
    """What the runner may do under Landlock: read the system, the Python environment, cnnkit and the
    data; write its scratch folder."""
    read = ["/usr", "/etc", "/lib", "/lib64", "/bin", "/dev/null", "/dev/urandom", "/proc/self",
            *confine.python_mounts([])]
    if os.environ.get("CNNKIT_DATA"):
        read.append(os.environ["CNNKIT_DATA"])
    return {"read": [p for p in read if os.path.exists(p)], "write": [str(scratch)]}


def case_tuple(case):
    """What the runner needs of a `cnnkit.checks.Case`: a `protocol.Case` of plain, picklable parts."""
    return protocol.Case(case.args, case.kwargs, probe_name(case.probe), tuple(case.uses), case.seconds)


def probe_name(probe):
    """A probe by name ("module:function"): the runner looks it up among the probes it loaded before
    any student code ran, so a notebook that replaces a probe in its module changes nothing."""
    return None if probe is None else f"{probe.__module__}:{probe.__qualname__}"


def probe_names(cases):
    """Every probe the cases of a job name, for the runner to load first."""
    return sorted({c.probe for cs in cases.values() for c in cs if c.probe})


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


class _Feed:
    """The grader's end of the runner's input pipe, non-blocking: a runner that stops reading can
    never make the grader wait past a deadline."""

    def __init__(self, fd):
        self.fd = fd

    def write(self, data, deadline):
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the notebook's process stopped reading its input")
            _, ready, _ = select.select([], [self.fd], [], min(left, 1.0))
            if ready:
                try:
                    n = os.write(self.fd, view[:1 << 16])
                except BlockingIOError:
                    continue
                view = view[n:]


def _send(feed, obj, outcome, problem, deadline):
    """Pickle `obj` to the runner; False (and `problem` noted) when it is no longer listening."""
    try:
        feed.write(pickle.dumps(obj, protocol=4), deadline)
        return True
    except (BrokenPipeError, OSError, TimeoutError):
        outcome.problem = problem
        return False


def _why_stopped(reader, notebook_deadline, limits, during, late):
    """Why no record came: the process ended (`during` what), the notebook's time ran out, or `late`."""
    if reader.eof:
        return f"the notebook's process stopped {during}"
    if time.monotonic() >= notebook_deadline:
        return f"the notebook ran past its time limit of {limits.notebook_seconds:g} s"
    return late


def _converse(proc, feed, program, cases, limits, reader, outcome, start):
    """Feed the runner and read its records, which must come exactly in the order asked for: for each
    cell a start and an end, then `cells_done`; then one result per case, function by function and
    case by case as sent, then `done`; nothing after it. Anything else is a protocol error."""
    notebook_deadline = start + limits.notebook_seconds
    if not _send(feed, program, outcome, "the notebook's process did not start",
                 min(notebook_deadline, time.monotonic() + 60)):
        return

    # the cells: each must end within its limit (plus a grace period for the runner's own interrupt)
    cells = program["cells"]
    for index, cell in enumerate(cells):
        for event in (START, END):
            wait = 90 if index == 0 and event == START else (limits.cell_seconds + 5 if event == END else 10)
            got = reader.record(min(notebook_deadline, time.monotonic() + wait))
            if got is None:
                outcome.problem = outcome.problem or _why_stopped(
                    reader, notebook_deadline, limits, "while running its cells",
                    f"cell {cell['id']} ran past its time limit of {limits.cell_seconds:g} s")
                return
            header, _ = got
            if header.get("type") != CELL or header.get("event") != event or header.get("index") != index:
                raise ProtocolError(f"a record out of order while running the cells ({str(header)[:80]})")
            if event == END:
                error = header.get("error")
                outcome.cells.append(CellRun(str(cell["id"]), None if error is None else str(error)[:800],
                                             header.get("seconds")))
    got = reader.record(min(notebook_deadline, time.monotonic() + 30))
    if got is None:
        outcome.problem = outcome.problem or "the notebook's process stopped after running its cells"
        return
    header, _ = got
    if header.get("type") != CELLS_DONE:
        raise ProtocolError(f"a record out of order after the cells ({str(header)[:80]})")
    defined = header.get("defined")
    outcome.defined = {str(k): (None if v is None else str(v)[:100]) for k, v in
                       (defined.items() if isinstance(defined, dict) else []) if k in program["graded"]}

    # the cases as plain tuples: the runner has no autograde package to rebuild a protocol.Case from
    plain = {name: [tuple(c) for c in cs] for name, cs in cases.items()}
    if not _send(feed, plain, outcome, "the notebook's process stopped before its functions were called",
                 min(notebook_deadline, time.monotonic() + 60)):
        return
    # one call may take call_seconds, or the longest time a case of its own asks for (plus grace)
    call_wait = max([limits.call_seconds] + [c.seconds for cs in cases.values() for c in cs if c.seconds]) + 5
    asked = [(name, i) for name, cs in cases.items() for i in range(len(cs))]
    for name, cs in cases.items():
        outcome.results[name] = [None] * len(cs)
    for name, i in asked:
        # all the calls together stay within the notebook limit
        got = reader.record(min(notebook_deadline, time.monotonic() + call_wait))
        if got is None:
            outcome.problem = outcome.problem or _why_stopped(
                reader, notebook_deadline, limits, "while its functions were being called",
                f"{name} ran past its time limit of {call_wait - 5:g} s")
            return
        header, rest = got
        if header.get("type") != RESULT or header.get("name") != name or header.get("case") != i:
            raise ProtocolError(f"a result that was not the one asked for next ({str(header)[:80]})")
        forbidden = header.get("forbidden") or []
        answer = Answer(ok=header.get("ok") is True, seconds=header.get("seconds"),
                        forbidden=[str(f)[:200] for f in (forbidden if isinstance(forbidden, list) else [])][:5])
        if answer.ok:
            blobs = _Bytes(rest)
            answer.output = _decode(header.get("output"), blobs)
            after = header.get("inputs_after") or []
            answer.inputs_after = tuple(None if a is None else _decode(a, blobs)
                                        for a in (after if isinstance(after, list) else [])[:32])
            blobs.finish()
        else:
            answer.error = str(header.get("error"))[:800]
        outcome.results[name][i] = answer
    got = reader.record(min(notebook_deadline, time.monotonic() + 10))
    if got is None or got[0].get("type") != DONE:
        if got is not None:
            raise ProtocolError("a record after the last result that is not the end")
        outcome.problem = outcome.problem or "the notebook's process stopped before it said it was done"
        return
    blocked = got[0].get("blocked") or []
    outcome.blocked = [str(b)[:300] for b in (blocked if isinstance(blocked, list) else [])][:20]
    if reader.buf or reader.record(time.monotonic() + 0.2) is not None:
        raise ProtocolError("records after the end")
    outcome.finished = True
