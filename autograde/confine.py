"""Where a student's notebook runs: what the kernel lets it see and do.

Three layers, the strongest this machine allows (`isolation(mode)`; the grade command's `--sandbox`):

* ``bwrap`` — bubblewrap (Debian's ``bubblewrap``): new PID, network, IPC, UTS and mount namespaces;
  a root of its own holding read-only mounts of the system (/usr, /etc), of the Python environment
  and of ``cnnkit`` (never the repository, the course root, other submissions or the gradebook),
  the forbidden implementations replaced by stubs (`hidden.py`), the data sets read-only (only the
  training files in assignment 06), and a private tmpfs, limited in bytes and inodes, as cwd, HOME
  and TMPDIR. The student's process runs as an unprivileged user of its own (a fresh uid per job
  when the grader is root) with no capabilities and no-new-privileges; `--die-with-parent` and the
  namespace's init end every process it started when the job ends; a seccomp filter (`runner.py`)
  refuses new namespaces, mounts, ptrace and the other system calls a notebook never needs; where
  the grader may create cgroups, the job also gets a memory and a process limit.
* ``landlock`` — no namespaces here (some hosted Jupyter servers): the runner restricts itself with
  Landlock before any student code runs: reading only the Python environment, cnnkit, the data and
  its scratch folder, writing only the scratch folder, and no TCP (ABI 4). Processes, signals and
  /proc are not kept in.
* ``python`` — the audit hook and profiler only: they stop honest mistakes, not a determined student.

In every layer the audit hook, the profiler and the static check stay as a second line; what they
find is reported for review.
"""

import functools
import itertools
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from . import hidden

MODES = ("auto", "bwrap", "landlock", "python")
SCRATCH = "/sandbox"            # the student's cwd, HOME and TMPDIR inside bwrap
RUNNER_DIR = "/opt/autograde"             # the runner's own folder inside bwrap, read-only
RUNNER_FILES = ("runner.py", "protocol.py")   # the runner and the protocol it imports from beside it
RUNNER_AT = f"{RUNNER_DIR}/runner.py"
DATA_AT = "/data"
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Isolation:
    """Which isolation a grading run has in force. `name`: "bwrap", "landlock" or "python";
    `weak`: True when the kernel does not keep the student's code in (a loud warning is due);
    `detail`: one sentence for the terminal, the CSV and the report."""
    name: str
    weak: bool
    detail: str


class SandboxUnavailable(Exception):
    """The isolation asked for cannot be had on this machine."""


# ----------------------------------------------------------------------------- what this machine offers

def _run_quietly(cmd, timeout=20):
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                           env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        return p.returncode, (p.stderr or b"").decode("utf-8", "replace").strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return -1, str(e)


def as_root():
    return os.geteuid() == 0


@functools.lru_cache(maxsize=None)
def bwrap_problem():
    """Why bubblewrap cannot sandbox a job here, or "" when it can."""
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    if as_root() and not shutil.which("setpriv"):
        return "setpriv (util-linux) is not installed"
    cmd = ["bwrap", *_system_mounts(), *_namespaces(), "--proc", "/proc", "--dev", "/dev", "--", "/bin/true"]
    code, err = _run_quietly(cmd)
    if code != 0:
        return f"bubblewrap cannot create namespaces here ({err.splitlines()[-1] if err else code})"
    return ""


@functools.lru_cache(maxsize=None)
def landlock_abi():
    """The Landlock ABI version the kernel offers (0: none)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        nr = {"x86_64": 444, "aarch64": 444}.get(os.uname().machine)
        if nr is None:
            return 0
        version = libc.syscall(nr, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
        return max(0, int(version))
    except Exception:
        return 0


@functools.lru_cache(maxsize=None)
def cgroups():
    """{"memory": folder, "pids": folder} where this process may create cgroups (v1 or v2), else {}."""
    if not as_root():
        return {}
    found = {}
    v2 = CGROUP_ROOT / "cgroup.controllers"
    if v2.exists():
        controllers = v2.read_text().split()
        if os.access(CGROUP_ROOT, os.W_OK) and {"memory", "pids"} <= set(controllers):
            return {"v2": CGROUP_ROOT}
        return {}
    for name in ("memory", "pids"):
        folder = CGROUP_ROOT / name
        if (folder / "cgroup.procs").exists() and os.access(folder, os.W_OK):
            found[name] = folder
    return found


def isolation(mode="auto"):
    """The isolation that `mode` gives on this machine (auto: the strongest available).
    Raises SandboxUnavailable when an explicitly requested mode cannot be had here."""
    if mode not in MODES:
        raise SandboxUnavailable(f"unknown sandbox {mode!r}; choose one of {', '.join(MODES)}")
    if mode in ("auto", "bwrap"):
        problem = bwrap_problem()
        if not problem:
            who = "a fresh unprivileged uid per job" if as_root() else f"uid {os.getuid()} in a user namespace"
            limits = "memory and process cgroups" if cgroups() else "rlimits (no cgroups can be created here)"
            return Isolation("bwrap", False,
                             f"kernel sandbox (bubblewrap): own PID, network, IPC and mount namespaces, {who}, "
                             f"read-only Python environment, no course files, forbidden implementations hidden, "
                             f"seccomp, {limits}")
        if mode == "bwrap":
            raise SandboxUnavailable(problem)
    if mode in ("auto", "landlock"):
        abi = landlock_abi()
        if abi:
            why = "" if mode == "landlock" else f" ({bwrap_problem()})"
            return Isolation("landlock", True,
                             f"Landlock ABI {abi} only{why}: files and TCP are restricted by the kernel, "
                             f"but processes, signals and /proc are not kept in")
        if mode == "landlock":
            raise SandboxUnavailable("the kernel offers no Landlock")
    why = f"{bwrap_problem()}; no Landlock either" if mode == "auto" else "asked for with --sandbox python"
    return Isolation("python", True, f"no kernel sandbox ({why}): only checks inside the student's own "
                                     f"process, which a determined student can get around")


# ----------------------------------------------------------------------------- the bwrap command

def _namespaces():
    ns = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
          "--die-with-parent", "--new-session"]
    if not as_root():
        # an unprivileged grader gets its own user namespace, in which no further one may be made
        ns += ["--unshare-user", "--disable-userns"]
    return ns


def _system_mounts():
    """The system's programs and libraries, read-only; merged-/usr links copied as links."""
    out = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            out += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            out += ["--ro-bind", top, top]
    out += ["--ro-bind", "/etc", "/etc"]
    return out


def _inside(path, folder):
    path, folder = str(path), str(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def python_mounts(protected):
    """Folders of this Python (its prefixes, site-packages, cnnkit) to show read-only: never one that
    holds a protected path (an editable install's repository holds the course root): then only the
    cnnkit package inside it."""
    # whatever a caller names, the instructor's files and this package's folder (the default course
    # root) are never shown: a sys.path entry that holds them (the repository) is left out
    here = Path(__file__).resolve().parent
    protected = [str(p) for p in protected]
    if (here.parent / "solutions").is_dir():      # a checkout of the course, not an installed copy
        protected += [str(here.parent / "solutions"), str(here)]
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable))]
    candidates += [p for p in sys.path if p and os.path.isabs(p)]
    chosen = []
    for c in candidates:
        c = os.path.realpath(c)
        if not os.path.isdir(c) or _inside(c, "/usr") or any(_inside(c, x) for x in chosen):
            continue
        if any(_inside(p, c) for p in protected) or c in ("/", "/root", "/home", "/work", "/tmp"):
            continue
        chosen = [x for x in chosen if not _inside(x, c)] + [c]
    found = hidden.locate("cnnkit")
    if found and not any(_inside(found[0], x) for x in chosen):
        chosen.append(str(found[0]))
    return chosen


_uids = itertools.count()
_uid_lock = threading.Lock()


def fresh_uid():
    """A uid no other job of this machine uses now: processes, files and limits of one job are its own."""
    with _uid_lock:
        n = next(_uids)
    return 200000 + (os.getpid() * 64 + threading.get_ident() % 8 * 8 + n % 8) % 1_000_000


def data_mounts(data_root, files=None):
    """[(host, sandbox)] for the data sets: the whole folder, or only `files` (glob patterns under it)."""
    if not data_root or not os.path.isdir(data_root):
        return []
    if files is None:
        return [(data_root, DATA_AT)]
    out = []
    for pattern in files:
        for p in sorted(Path(data_root).glob(pattern)):
            if p.is_file():
                out.append((str(p), f"{DATA_AT}/{p.relative_to(data_root)}"))
    return out


def bwrap_command(argv, *, protected, hide, data, scratch_bytes, scratch_inodes, uid, runner):
    """The command that runs `argv` (the runner's, with RUNNER_AT for its file) in the kernel sandbox.
    `runner`: the host's runner.py; it and the other RUNNER_FILES beside it are mounted read-only in
    RUNNER_DIR, and nothing else of the autograde package.

    As root, bwrap keeps the capabilities needed to mount the scratch tmpfs with an inode limit inside
    the new mount namespace; `setpriv` then drops to `uid` (no groups, no capabilities, no new
    privileges) before the interpreter starts. Without root, bwrap's own user namespace does both."""
    binds = [(f, f) for f in python_mounts(protected)] + [(str(h), str(t)) for h, t in hide + data]
    binds += [(str(Path(runner).with_name(name)), f"{RUNNER_DIR}/{name}") for name in RUNNER_FILES]
    cmd = ["bwrap", *_namespaces(), *_system_mounts()]
    # the folders above each mount, readable by the job's user (bwrap would copy the host's modes,
    # and /root is 0700), except those inside another mount
    mounted = ["/usr", "/etc"] + [t for h, t in binds if os.path.isdir(h)]
    parents = sorted({str(p) for _, t in binds for p in Path(t).parents if str(p) != "/"
                      and not any(_inside(p, m) for m in mounted)}, key=lambda p: p.count("/"))
    for folder in parents:
        cmd += ["--perms", "0755", "--dir", folder]
    for host, there in sorted(binds, key=lambda b: b[1].count("/")):
        cmd += ["--ro-bind", host, there]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "0755", "--dir", SCRATCH]
    if as_root():
        cmd += ["--chdir", "/", "--", "/bin/sh", "-c", _ROOT_START, "sandbox", str(uid), str(int(scratch_bytes)),
                str(int(scratch_inodes)), *argv]
    else:
        cmd += ["--size", str(int(scratch_bytes)), "--tmpfs", SCRATCH, "--size", str(16 << 20), "--tmpfs", "/dev/shm",
                "--chdir", SCRATCH, "--", *argv]
    return cmd


# run as root inside the new namespaces, then become the job's own unprivileged user: $1 uid,
# $2 scratch bytes, $3 scratch inodes, then the command
_ROOT_START = (f'mount -t tmpfs -o "size=$2,nr_inodes=$3,mode=0700,uid=$1,gid=$1,nosuid,nodev" tmpfs {SCRATCH} '
               '&& mount -t tmpfs -o "size=16m,nr_inodes=64,mode=1777,nosuid,nodev,noexec" tmpfs /dev/shm '
               f'&& cd {SCRATCH} && u=$1 && shift 3 '
               '&& exec setpriv --reuid="$u" --regid="$u" --clear-groups --inh-caps=-all --bounding-set=-all '
               '--no-new-privs -- "$@"')


# ----------------------------------------------------------------------------- cgroups

class Cgroup:
    """A memory and process limit for one job, where this machine lets the grader make cgroups."""

    def __init__(self, memory_bytes, max_pids):
        self.folders = []
        name = f"autograde-{os.getpid()}-{threading.get_ident()}-{next(_uids)}"
        found = cgroups()
        memory, pids = str(int(memory_bytes)), str(int(max_pids))
        # (hierarchy, {file: value}): v2 has both controllers in one tree, v1 a tree for each
        limits = ([(found["v2"], {"memory.max": memory, "pids.max": pids})] if "v2" in found else
                  [(found[c], settings) for c, settings in (("memory", {"memory.limit_in_bytes": memory}),
                                                           ("pids", {"pids.max": pids})) if c in found])
        try:
            for hierarchy, settings in limits:
                folder = hierarchy / name
                folder.mkdir()
                self.folders.append(folder)
                for file, value in settings.items():
                    (folder / file).write_text(value)
        except OSError:
            self.remove()
            self.folders = []

    def wrap(self, cmd):
        """`cmd`, started from a shell that first moves itself into the job's cgroups."""
        if not self.folders:
            return cmd
        procs = [str(f / "cgroup.procs") for f in self.folders]
        script = "for f in " + " ".join(f'"{p}"' for p in procs) + '; do echo $$ > "$f" || exit 97; done; exec "$@"'
        return ["/bin/sh", "-c", script, "cgroup", *cmd]

    def remove(self):
        for folder in self.folders:
            try:
                folder.rmdir()
            except OSError:
                pass
