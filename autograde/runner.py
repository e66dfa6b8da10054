"""The sandboxed side of grading: runs one student's notebook code and reports what it computes.

The grader starts this file as its own process (``python -I -B runner.py``: isolated, writing no
bytecode next to the course's modules) in a scratch folder that holds nothing but what the student
submitted. It never decides a grade: it only runs the student's
cells, calls each graded function on the inputs the grader sends, and writes what came back to a
pipe. The grader judges those outputs in a process that never ran student code.

Protocol (on two pipes whose numbers the grader passes in argv; stdin is /dev/null, so a stray
`input()` in a cell meets an end of file and nothing else):
  fd IN   two pickles from the grader: the program (cells, graded names, limits, rules), then,
          only after every cell has run, the cases of each graded function: (args, kwargs, probe,
          uses, seconds); a probe (one of cnnkit.checks' functions, by name, loaded before the
          student's code runs) calls the student's object its
          own way, with the other graded objects named in `uses`, within `seconds` if given.
  fd OUT  records to the grader, each a 4-byte big-endian length and a payload: one line of JSON,
          then the raw bytes of any arrays it describes.
  stdout/stderr  the student's printed output, to a log file capped in size by RLIMIT_FSIZE.

Nothing here relies on the student's code behaving: everything the runner needs is bound to local
names before that code runs, records go through the low-level ``os.write``, a time limit per cell
and per call interrupts runaway code, an audit hook refuses what a notebook never needs to do
(starting processes or threads, network, ctypes, writing outside the scratch folder, reading the
grader's files, changing the profiler or adding audit hooks), and a profiler notes any call of the
implementations the course forbids while a graded function runs.
"""

import json
import os
import pickle
import resource
import signal
import sys
import time


# what the runner sends back at most (the grader refuses a little more than this as a forgery)
MAX_OUTPUT = 32 << 20
MAX_OUTPUTS = 192 << 20


class Interrupt(BaseException):
    """A time limit ran out. BaseException so that `except Exception` in student code lets it through."""


def set_limits(limits):
    nproc = int(limits.get("max_processes", 0))
    if nproc and os.getuid() != 0:
        # counted per user: in the kernel sandbox the job has a user of its own
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    mem = int(limits["memory_bytes"])
    for name in ("RLIMIT_AS",):
        resource.setrlimit(getattr(resource, name), (mem, mem))
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    size = int(limits["file_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # past the size cap a write fails with an error instead of killing the process
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def main():
    in_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
    write, monotonic, dumps = os.write, time.monotonic, json.dumps
    stdin = os.fdopen(in_fd, "rb")
    program = pickle.load(stdin)
    limits = program["limits"]
    set_limits(limits)
    if program.get("isolation") != "bwrap":
        # outside the kernel sandbox nothing else ends this process if the grading worker dies
        _die_with_parent()

    def send(header, blobs=()):
        payload = dumps(header).encode() + b"\n" + b"".join(blobs)
        data = len(payload).to_bytes(4, "big") + payload
        view = memoryview(data)
        while view:
            n = write(out_fd, view)
            view = view[n:]

    for module in program["preload"]:
        try:
            __import__(module)
        except Exception:
            pass
    # the probes the cases name, taken now: what a notebook later does to their modules changes nothing
    probes = {}
    for dotted in program.get("probes", []):
        module, _, qualname = dotted.partition(":")
        try:
            obj = __import__(module, fromlist=["_"])
            for part in qualname.split("."):
                obj = getattr(obj, part)
            probes[dotted] = obj
        except Exception:
            pass
    if "tqdm" in sys.modules:
        # a progress bar's monitor thread would be refused below and flagged for review: no need for it
        sys.modules["tqdm"].tqdm.monitor_interval = 0
    import numpy as np
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    _hide_numpy_correlate(np)

    ndarray, asarray = np.ndarray, np.asarray
    copy_arg = lambda a: a.copy() if isinstance(a, ndarray) else a

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    config.InteractiveShell.xmode = "Plain"
    shell = InteractiveShell.instance(config=config)
    # the notebook's display magics have no meaning here; a figure is drawn but never shown
    shell.register_magic_function(lambda line: None, "line", "matplotlib")
    run_cell = shell.run_cell
    user_ns = shell.user_ns

    # -------------------------------------------------------------- time limits
    deadline = [None]

    def on_alarm(signum, frame):
        if deadline[0] is not None and monotonic() >= deadline[0]:
            raise Interrupt("time limit")

    def arm(seconds):
        deadline[0] = monotonic() + seconds
        # fire at the limit and then every half second, in case student code swallows the first
        signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)

    def disarm():
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        deadline[0] = None

    signal_fn = signal.signal
    signal.signal(signal.SIGALRM, on_alarm)

    # -------------------------------------------------------------- forbidden calls (profiler)
    rules = program["forbidden"]
    dirs = tuple(_package_dirs(rules["dirs"]))
    # files in those folders that hold no answer and that the probes run (06's training recipe)
    allowed = frozenset(d.rstrip(os.sep) for d in _package_dirs(rules.get("allowed", ())))
    codes = {}
    for dotted in rules["python"]:
        obj = _resolve(dotted)
        for f in (obj, getattr(obj, "__wrapped__", None)):
            code = getattr(f, "__code__", None)
            if code is not None:
                codes[code] = dotted
    c_names = {prefix: frozenset(names) for prefix, names in rules["c_names"].items()}
    active, hits = [False], []

    def profiler(frame, event, arg):
        if not active[0]:
            return
        if event == "call":
            code = frame.f_code
            name = codes.get(code)
            if name is None and code.co_filename.startswith(dirs) and code.co_filename not in allowed:
                name = f"{code.co_filename.rsplit(os.sep, 2)[-2]}.{code.co_name}"
            if name is not None:
                hits.append(name)
        elif event == "c_call":
            fname = getattr(arg, "__name__", "")
            module = getattr(arg, "__module__", None)
            if module is None:
                owner = getattr(arg, "__self__", None)
                module = type(owner).__module__ if owner is not None else ""
            for prefix, names in c_names.items():
                if fname in names and str(module).startswith(prefix):
                    hits.append(f"{prefix}.{fname}")

    # the Python layer (profiler, audit hook) can be left out, so that tests can show what the
    # kernel alone keeps in; the grader always has it
    python_layer = program.get("python_layer", True)
    if python_layer:
        sys.setprofile(profiler)

    # -------------------------------------------------------------- audit hook
    scratch = os.path.realpath(os.getcwd())
    protected = tuple(os.path.realpath(p) for p in program["protected"])
    blocked = []
    realpath, fspath = os.path.realpath, os.fspath
    denied_events = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                     "os.forkpty", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill",
                     "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function",
                     "sys.addaudithook", "sys.setprofile", "sys.settrace", "_thread.start_new_thread",
                     "socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo",
                     "webbrowser.open", "os.startfile", "winreg.OpenKey"}
    path_events = {"os.listdir", "os.scandir", "os.remove", "os.rename", "os.rmdir", "os.mkdir",
                   "os.chmod", "os.chown", "os.symlink", "os.link", "os.truncate", "os.utime",
                   "shutil.rmtree", "shutil.copyfile", "shutil.move", "os.chdir"}
    changing = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
                "os.link", "os.truncate", "os.utime", "shutil.rmtree", "shutil.move", "os.chdir"}
    special = {"__code__", "__globals__", "__closure__"}

    def where(path):
        try:
            if isinstance(path, int):
                return None
            return realpath(fspath(path).decode() if isinstance(path, bytes) else fspath(path))
        except Exception:
            return ""

    def inside(p, root):
        return p == root or p.startswith(root + os.sep)

    def refuse(event, detail=""):
        if len(blocked) < 20:
            blocked.append(f"{event} {detail}".strip())
        raise PermissionError(f"not allowed while grading: {event} {detail}".strip())

    def hook(event, args):
        if event == "open":
            p = where(args[0])
            if p is None:
                return
            mode, flags = args[1] or "r", args[2] or 0
            writing = any(c in str(mode) for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            if any(inside(p, r) for r in protected):
                refuse("open", p)
            if writing and not inside(p, scratch):
                refuse("open for writing", p)
        elif event in denied_events:
            refuse(event)
        elif event in path_events:
            p = where(args[0]) if args else ""
            if p and any(inside(p, r) for r in protected):
                refuse(event, p)
            if event in changing and p and not inside(p, scratch):
                refuse(event, p)
        elif event == "object.__setattr__" and len(args) > 1 and args[1] in special:
            refuse("setting " + str(args[1]))

    # -------------------------------------------------------------- the kernel's own limits, for good
    if program.get("landlock"):
        landlock(program["landlock"]["read"], program["landlock"]["write"])
    if program.get("isolation") == "bwrap":
        seccomp()

    if python_layer:
        sys.addaudithook(hook)

    # -------------------------------------------------------------- the cells
    cell_limit, started = float(limits["cell_seconds"]), monotonic()
    for index, cell in enumerate(program["cells"]):
        send({"type": "cell", "index": index, "id": cell["id"], "event": "start"})
        error = None
        try:
            arm(cell_limit)
            result = run_cell(cell["source"], store_history=False)
            disarm()
            exc = result.error_in_exec or result.error_before_exec
            if exc is not None:
                error = _describe(exc)
        except BaseException as e:  # an interrupt that landed outside the cell's own code
            disarm()
            error = _describe(e)
        send({"type": "cell", "index": index, "id": cell["id"], "event": "end", "error": error,
              "seconds": round(monotonic() - started, 3)})

    # -------------------------------------------------------------- the graded calls
    defined = {}
    for name in program["graded"]:
        obj = user_ns.get(name)
        defined[name] = None if obj is None else type(obj).__name__
    send({"type": "cells_done", "defined": defined})

    # nothing the cells left behind may run during the calls: signal handlers, gc callbacks
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
        try:
            signal_fn(sig, signal.SIG_DFL)
        except Exception:
            pass
    signal_fn(signal.SIGALRM, on_alarm)
    import gc
    gc.callbacks.clear()

    cases = pickle.load(stdin)
    call_limit = float(limits["call_seconds"])
    sent = [0]
    for name, fn_cases in cases.items():
        fn = user_ns.get(name)
        timed_out = False
        for i, (args, kwargs, probe, uses, seconds) in enumerate(fn_cases):
            header = {"type": "result", "name": name, "case": i}
            if timed_out:
                # one runaway case is enough to know; the rest would only spend the notebook's time
                header.update(ok=False, error="not run: an earlier case of this function ran out of time")
                send(header)
                continue
            if fn is None or not callable(fn):
                header.update(ok=False, error=f"{name} is not defined" if fn is None else
                              f"{name} is a {type(fn).__name__}, not a function")
                send(header)
                continue
            args = tuple(copy_arg(a) for a in args)
            kwargs = {k: copy_arg(v) for k, v in kwargs.items()}
            others = {u: user_ns.get(u) for u in uses}
            del hits[:]
            t0 = monotonic()
            try:
                arm(seconds or call_limit)
                active[0] = True
                out = fn(*args, **kwargs) if probe is None else probes[probe](fn, others, *args, **kwargs)
                active[0] = False
                disarm()
                blobs = []
                # a plain call's array arguments come back, to see whether the function changed them;
                # a probe's arguments are its own (06 sends the test images) and stay here
                header.update(ok=True, output=_encode(out, blobs, asarray, ndarray),
                              inputs_after=[_encode(a, blobs, asarray, ndarray)
                                            if isinstance(a, ndarray) and probe is None else None for a in args])
            except BaseException as e:
                active[0] = False
                disarm()
                blobs = []
                timed_out = isinstance(e, Interrupt)
                header.update(ok=False, error=_describe(e, limit_name=name))
            header["seconds"] = round(monotonic() - t0, 4)
            size = sum(len(b) for b in blobs)
            if size > MAX_OUTPUT or sent[0] + size > MAX_OUTPUTS:
                # the grader takes only so much from one job; a huge answer is this case's failure
                blobs = []
                header = {"type": "result", "name": name, "case": i, "ok": False, "seconds": header["seconds"],
                          "error": f"MemoryError: {name} returned {size / 2**20:.0f} MiB, more than the grader "
                                   f"takes ({MAX_OUTPUT >> 20} MiB for one answer, {MAX_OUTPUTS >> 20} MiB in all)"}
            sent[0] += size
            if hits:
                header["forbidden"] = hits[:1]   # the outermost forbidden call
            send(header, blobs)
    send({"type": "done", "blocked": blocked})


# ------------------------------------------------------------------ helpers (no student code yet)

def _die_with_parent():
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)    # PR_SET_PDEATHSIG
    except Exception:
        pass


def _hide_numpy_correlate(np):
    """numpy's C correlation (behind numpy.convolve/correlate), out of the notebook's reach as far as
    Python can take it (the kernel sandbox poisons numpy.convolve's own module file as well)."""
    def refuse(*args, **kwargs):
        raise RuntimeError("numpy.convolve is not available while grading: a graded function computes "
                           "its result itself (the course's rules name what it may not call)")
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    for modname in ("_multiarray_umath", "multiarray", "numeric"):
        mod = getattr(core, modname, None)
        for name in ("correlate", "correlate2", "convolve"):
            if mod is not None and hasattr(mod, name):
                try:
                    setattr(mod, name, refuse)
                except Exception:
                    pass
    for name in ("convolve", "correlate"):
        setattr(np, name, refuse)


# seccomp: system calls a notebook never needs, refused with EPERM; clone3 answers ENOSYS so that the
# C library falls back to clone, whose flags can be checked (no new namespaces)
_SECCOMP = {
    "x86_64": (0xC000003E, 56, 435, [272, 308, 165, 166, 155, 101, 310, 311, 246, 320, 321, 298, 323, 250, 248,
                                     249, 425, 426, 427, 304, 303, 175, 313, 176, 167, 168, 169, 170, 171, 163,
                                     161, 428, 429, 430, 431, 432, 433, 442]),
    "aarch64": (0xC00000B7, 220, 435, [97, 268, 40, 39, 41, 117, 270, 271, 104, 294, 280, 241, 282, 219, 217, 218,
                                       425, 426, 427, 265, 264, 105, 273, 106, 224, 225, 142, 161, 162, 89, 51,
                                       428, 429, 430, 431, 432, 433, 442]),
}
_CLONE_NEW = 0x10000000 | 0x00020000 | 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x02000000


def seccomp_program(machine):
    """The classic BPF program of the filter, as bytes (struct sock_filter[])."""
    import struct
    arch, clone, clone3, denied = _SECCOMP[machine]
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, EPERM, ENOSYS, KILL = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38, 0x80000000
    body = [("ld", 4), ("jne_kill", arch), ("ld", 0), ("jge_eperm", 0x40000000)]
    body += [("jeq_eperm", nr) for nr in denied]
    body += [("jeq_enosys", clone3), ("jne_allow", clone), ("ld", 16), ("jset_eperm", _CLONE_NEW), ("allow", 0)]
    n = len(body)
    ends = {"allow": n, "eperm": n + 1, "enosys": n + 2, "kill": n + 3}
    out = []
    for i, (op, k) in enumerate(body):
        if op == "ld":
            out.append((LD, 0, 0, k))
        elif op == "allow":
            out.append((RET, 0, 0, ALLOW))
        else:
            kind, target = op.split("_")
            jump = ends[target] - (i + 1)
            code = {"jeq": JEQ, "jne": JEQ, "jge": JGE, "jset": JSET}[kind]
            out.append((code, 0, jump, k) if kind == "jne" else (code, jump, 0, k))
    out += [(RET, 0, 0, ALLOW), (RET, 0, 0, EPERM), (RET, 0, 0, ENOSYS), (RET, 0, 0, KILL)]
    return b"".join(struct.pack("=HBBI", *ins) for ins in out), len(out)


def seccomp():
    """Install the filter on this process and all it starts; it cannot be removed again."""
    import ctypes
    machine = os.uname().machine
    if machine not in _SECCOMP:
        return
    code, count = seccomp_program(machine)
    buf = ctypes.create_string_buffer(code, len(code))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    prog = Prog(count, ctypes.cast(buf, ctypes.c_void_p))
    libc.prctl(38, 1, 0, 0, 0)                                   # PR_SET_NO_NEW_PRIVS
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:         # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


def landlock(read, write):
    """Restrict this process (and all it starts) to reading `read` and writing `write`; no TCP."""
    import ctypes
    import struct
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    abi = syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        raise OSError("the kernel offers no Landlock")
    fs_all = (1 << (13 if abi == 1 else 14 if abi == 2 else 15 if abi < 5 else 16)) - 1
    net = 0b11 if abi >= 4 else 0                                 # bind and connect TCP
    attr = struct.pack("=QQ", fs_all, net) if abi >= 4 else struct.pack("=Q", fs_all)
    ruleset = syscall(444, ctypes.c_char_p(attr), ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    file_rights = 1 | 2 | 4 | (16384 if abi >= 3 else 0) | (32768 if abi >= 5 else 0)
    read_rights = 1 | 4 | 8
    for paths, rights in ((read, read_rights), (write, fs_all)):
        for path in paths:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            allowed = rights if os.path.isdir(path) else rights & file_rights
            if path == "/dev/null":
                allowed = (2 | 4) & file_rights
            rule = struct.pack("=Qi", allowed, fd)
            syscall(445, ruleset, 1, ctypes.c_char_p(rule), 0)
            os.close(fd)
    libc.prctl(38, 1, 0, 0, 0)
    if syscall(446, ruleset, 0) != 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    os.close(ruleset)


def _package_dirs(specs):
    """Folders whose code a graded function may not run: "package/sub" -> that folder's path."""
    import importlib.util
    out = []
    for spec in specs:
        top, _, rest = spec.partition("/")
        try:
            found = importlib.util.find_spec(top)
        except Exception:
            found = None
        if found is None or not found.submodule_search_locations:
            continue
        base = list(found.submodule_search_locations)[0]
        out.append(os.path.join(base, rest) + os.sep if rest else base + os.sep)
    return out


def _resolve(dotted):
    """The object named `dotted` when its top-level module is already imported; else None."""
    parts = dotted.split(".")
    obj = sys.modules.get(parts[0])
    for p in parts[1:]:
        if obj is None:
            return None
        obj = getattr(obj, p, None)
    return obj


def _describe(e, limit_name=None):
    """A short text for an exception, without trusting its methods."""
    try:
        if isinstance(e, Interrupt):
            return "TimeoutError: the time limit ran out" + (f" in {limit_name}" if limit_name else "")
        text = f"{type(e).__name__}: {e}"
    except BaseException:
        text = type(e).__name__
    where = ""
    try:
        tb = e.__traceback__
        last = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.startswith("<ipython-input-"):
                last = tb
            tb = tb.tb_next
        if last is not None:
            where = f" (line {last.tb_lineno} of {last.tb_frame.f_code.co_name})"
    except BaseException:
        pass
    return (text[:600] + where)[:800]


def _encode(obj, blobs, asarray, ndarray, depth=0):
    """A JSON description of a return value; array bytes are appended to `blobs`."""
    if depth > 4:
        return {"t": "unsupported", "type": "nesting too deep"}
    if obj is None:
        return {"t": "none"}
    if type(obj) is bool or type(obj) is int or type(obj) is float:
        if type(obj) is int and abs(obj) > 2 ** 62:
            return {"t": "unsupported", "type": "int too large"}
        return {"t": "num", "v": obj}
    if type(obj) in (tuple, list):
        if len(obj) <= 64 and any(isinstance(o, (ndarray, tuple, list, dict)) for o in obj):
            # a pair like (values, indices) keeps its structure
            return {"t": type(obj).__name__, "items": [_encode(o, blobs, asarray, ndarray, depth + 1)
                                                      for o in obj]}
        # a list of numbers (or of rows) is the array it spells
    if type(obj) is dict:
        return {"t": "dict", "items": [[str(k), _encode(v, blobs, asarray, ndarray, depth + 1)]
                                       for k, v in list(obj.items())[:64] if type(k) is str]}
    try:
        a = asarray(obj)
        if type(a) is not ndarray:
            a = a.view(ndarray)
    except BaseException as e:
        return {"t": "unsupported", "type": type(obj).__name__, "error": _describe(e)}
    if a.dtype.kind not in "biufc":
        return {"t": "unsupported", "type": type(obj).__name__, "dtype": str(a.dtype)}
    data = a.tobytes(order="C")
    blobs.append(data)
    return {"t": "array", "dtype": a.dtype.str, "shape": list(a.shape), "nbytes": len(data)}


if __name__ == "__main__":
    main()
