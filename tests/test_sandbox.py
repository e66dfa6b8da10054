"""The kernel sandbox on its own: what a student's code can reach when every Python-level defence
(the audit hook, the profiler, the static check) is out of the way.

Each test runs a small program through `sandbox.run` under bubblewrap with the Python layer
switched off (`python_layer=False`), tries one class of attack, and checks from outside what must
stay untouched: the course root's secret and files, the grader's process and environment, the
network, the host's folders, and that nothing keeps running afterwards. Under CI these tests fail
rather than skip when bubblewrap cannot sandbox here.
"""

import json
import os
import socket
import subprocess
import textwrap
import time

import numpy as np
import pytest

from autograde import confine, grader, hidden, sandbox

pytestmark = pytest.mark.skipif(bool(confine.bwrap_problem()) and not os.environ.get("CI"),
                                reason=f"no kernel sandbox here: {confine.bwrap_problem()}")

RULES = grader.HIDE["default"]
LIMITS = sandbox.Limits(cell_seconds=20, call_seconds=10, notebook_seconds=60)


@pytest.fixture
def course(tmp_path):
    """A course root as the grade command keeps it: a secret, another student's record, a gradebook."""
    root = tmp_path / "course"
    (root / "autograded" / "other" / "01-convolution").mkdir(parents=True)
    (root / ".grading-secret").write_text("s3cret-" + "ab" * 16 + "\n")
    record = root / "autograded" / "other" / "01-convolution" / "convolution.result.json"
    record.write_text(json.dumps({"student": "other", "score": 3.0}))
    (root / "gradebook.db").write_bytes(b"SQLite format 3\0")
    return root


def run(source, course, cases=None, graded=("f",), python_layer=False, limits=LIMITS, hide=RULES, mode="bwrap"):
    program = {"cells": [{"id": "c1", "source": textwrap.dedent(source)}], "graded": list(graded),
               "preload": ["numpy"], "protected": [str(course)], "python_layer": python_layer,
               "forbidden": grader.RUNTIME["default"]}
    cases = cases or {name: [((np.arange(4.0),), {}, None, (), None)] for name in graded}
    jail = sandbox.Jail(mode=mode, hide=hide, protected=[str(course), str(confine.Path(grader.__file__).parent)])
    return sandbox.run(program, cases, limits, jail=jail)


def output(outcome, name="f", case=0):
    r = outcome.results[name][case]
    assert r and r.ok, (outcome.problem, r, outcome.log[-2000:])
    return r.output


def test_bwrap_is_in_force_in_ci():
    assert not confine.bwrap_problem()
    assert sandbox.isolation("auto").name == "bwrap"


@pytest.mark.parametrize("mode", ["bwrap", "landlock", "python"])
def test_an_honest_program_runs_and_reports_in_every_mode(mode):
    if mode == "landlock" and not confine.landlock_abi():
        pytest.skip("no Landlock in this kernel")
    out = run("""
        import numpy as np
        import scipy.signal          # imported, never called: costs nothing
        def f(x):
            return x * 2
    """, "/nonexistent", mode=mode, python_layer=True)
    assert out.finished and not out.problem and not out.blocked, (out.problem, out.blocked, out.log)
    assert np.array_equal(output(out), np.arange(4.0) * 2)


def test_the_notebooks_first_cell_still_runs_with_the_checks_hidden():
    out = run("""
        import numpy as np
        from cnnkit import reference
        from cnnkit.checks import for_assignment
        checks = for_assignment("05")
        checks.check("im2col", print)          # a visible check does nothing while graded
        def as_pair(v):
            return (v, v)
        def f(x):
            try:
                checks.cases("im2col")
                return [0]
            except RuntimeError:
                return [len(as_pair(1))]
    """, "/nonexistent", hide=grader.HIDE["default"])
    assert list(output(out)) == [2], out.log


def test_every_mode_is_described():
    assert sandbox.isolation("python").weak and "determined student" in sandbox.isolation("python").detail
    assert not sandbox.isolation("bwrap").weak
    with pytest.raises(sandbox.SandboxUnavailable):
        sandbox.isolation("chroot")


def test_the_course_root_the_repository_and_the_grader_are_out_of_sight(course):
    secret = (course / ".grading-secret").read_text().strip()
    out = run(f"""
        import os, glob
        seen = []
        for path in [{str(course / '.grading-secret')!r}, {str(course / 'gradebook.db')!r},
                     {str(grader.__file__)!r}, "/root", "/work", "/proc/1/environ", "/proc/1/cmdline"]:
            try:
                with open(path, "rb") as fh:
                    print("READ", path, fh.read()[:200])
                seen.append(1)
            except (OSError, IsADirectoryError):
                seen.append(0)
        # every process the student can see is inside the sandbox
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        def f(x):
            return [seen, [len(pids) < 6]]
    """, course)
    flags = output(out)
    assert list(flags[0][:3]) == [0, 0, 0], out.log
    assert secret not in out.log and "s3cret" not in out.log
    assert flags[1][0] == 1


def test_another_students_record_and_the_host_cannot_be_written(course, tmp_path):
    record = course / "autograded" / "other" / "01-convolution" / "convolution.result.json"
    before = record.read_bytes()
    planted = tmp_path / "planted.txt"
    out = run(f"""
        import os
        done = []
        for path in [{str(record)!r}, {str(planted)!r}, "/etc/planted", "/usr/planted", "/tmp/../planted",
                     {os.path.dirname(np.__file__) + '/planted.py'!r}]:
            try:
                with open(path, "w") as fh:
                    fh.write("{{}}")
                done.append(1)
            except OSError:
                done.append(0)
            try:
                os.rename("/dev/null", path)
                done.append(1)
            except OSError:
                done.append(0)
        def f(x):
            return done
    """, course)
    assert not any(output(out)), output(out)
    assert record.read_bytes() == before
    assert not planted.exists()
    assert not os.path.exists(os.path.join(os.path.dirname(np.__file__), "planted.py"))


def test_no_network_reaches_the_host(course):
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.5)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(1)
    tcp.settimeout(0.5)
    udp_port, tcp_port = server.getsockname()[1], tcp.getsockname()[1]
    out = run(f"""
        import socket
        sent = []
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendmsg([b"leak"], [], 0, ("127.0.0.1", {udp_port}))
            sent.append(1)
        except OSError:
            sent.append(0)
        try:
            c = socket.create_connection(("127.0.0.1", {tcp_port}), timeout=1)
            c.sendall(b"leak")
            sent.append(1)
        except OSError:
            sent.append(0)
        try:
            socket.getaddrinfo("example.org", 80)
            sent.append(1)
        except OSError:
            sent.append(0)
        def f(x):
            return sent
    """, course)
    with pytest.raises(socket.timeout):
        server.recvfrom(100)
    with pytest.raises(socket.timeout):
        tcp.accept()
    assert not output(out)[1:].any()
    server.close()
    tcp.close()


def test_processes_started_in_every_way_end_with_the_job(course):
    marker = f"{time.time_ns() % 10**9}"
    out = run(f"""
        import os, _posixsubprocess, subprocess, threading
        started = []
        try:
            subprocess.Popen(["sleep", "1{marker}"], start_new_session=True)
            started.append(1)
        except OSError:
            started.append(0)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "2{marker}"])
            os._exit(0)
        threading.Thread(target=lambda: __import__("time").sleep(100), daemon=True).start()
        def f(x):
            return started
    """, course)
    assert out.finished, out.problem
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert not left, f"processes outlived the job: {left}"


def test_the_grader_cannot_be_signalled(course):
    me = os.getpid()
    out = run(f"""
        import os, signal
        hit = []
        for pid in ({me}, {os.getppid()}, os.getppid(), 1):
            try:
                os.kill(pid, signal.SIGTERM)
                hit.append(pid)
            except OSError:
                pass
            try:
                fd = os.pidfd_open(pid)
                signal.pidfd_send_signal(fd, signal.SIGTERM)
                hit.append(pid)
            except OSError:
                pass
        def f(x):
            return [len([p for p in hit if p != 1])]
    """, course)
    # this process is still here, and the job's own init is the only process it could reach
    assert out.finished, out.problem


def test_namespaces_mounts_and_ptrace_are_refused(course):
    out = run("""
        import os, ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        tried = [libc.unshare(0x10000000),                       # CLONE_NEWUSER
                 libc.unshare(0x00020000),                       # CLONE_NEWNS
                 libc.mount(b"none", b"/sandbox", b"tmpfs", 0, None),
                 libc.ptrace(16, 1, 0, 0)]                       # PTRACE_ATTACH to the init
        def f(x):
            return [int(t == 0) for t in tried]
    """, course)
    assert not output(out).any(), output(out)


def test_scratch_is_limited_in_bytes_and_files_and_leaves_nothing(course):
    limits = sandbox.Limits(cell_seconds=30, call_seconds=10, notebook_seconds=60, scratch_bytes=8 << 20,
                            scratch_inodes=200, file_bytes=64 << 20)
    before = set(os.listdir("/tmp")) | set(os.listdir("/dev/shm"))
    out = run("""
        import os
        wrote = 0
        try:
            with open("big", "wb") as fh:
                for _ in range(64):
                    fh.write(b"x" * (1 << 20))
                    wrote += 1
        except OSError:
            pass
        files = 0
        try:
            for i in range(100000):
                open(f"f{i}", "w").close()
                files += 1
        except OSError:
            pass
        shm = 0
        try:
            with open("/dev/shm/big", "wb") as fh:
                for _ in range(64):
                    fh.write(b"x" * (1 << 20))
                    shm += 1
        except OSError:
            pass
        def f(x):
            return [wrote, files, shm]
    """, course, limits=limits)
    wrote, files, shm = output(out)
    assert wrote <= 8 and files < 200 and shm <= 16
    after = set(os.listdir("/tmp")) | set(os.listdir("/dev/shm"))
    assert not {n for n in after - before if n.startswith("autograde-") and "hidden" not in n}


@pytest.mark.parametrize("call", [
    "np.convolve(x, [1.0, 2.0])",
    "getattr(np, 'con' + 'volve')(x, [1.0, 2.0])",
    "__import__('cnnkit.reference', fromlist=['x']).convolve1d(x, np.array([1.0, 2.0]))",
    "__import__('scipy.signal', fromlist=['x']).convolve(x, [1.0, 2.0])",
    "__import__('scipy.ndimage', fromlist=['x']).convolve1d(x, [1.0, 2.0])",
    "__import__('scipy.linalg', fromlist=['x']).toeplitz(x)",
    "__import__('scipy.linalg', fromlist=['x']).convolution_matrix(x, 3)",
    "__import__('torch').nn.functional.conv1d(x, x)",
    "np.polynomial.polynomial.polymul(x, [1.0, 2.0])",
    "np.polymul(x, [1.0, 2.0])",
])
def test_forbidden_implementations_are_not_there_to_call(course, call):
    out = run(f"""
        import numpy as np
        def f(x):
            return {call}
    """, course)
    r = out.results["f"][0]
    assert r is not None and not r.ok, r
    assert "not available while grading" in r.error


def test_the_original_of_a_poisoned_module_cannot_be_read_back(course):
    out = run("""
        import importlib, importlib.util, marshal, os, sys
        import numpy as np
        numeric = sys.modules["numpy._core.numeric"]
        src = open(numeric.__file__).read()
        ns = {"__name__": "numpy._core.numeric", "__package__": "numpy._core"}
        exec(compile(src, numeric.__file__, "exec"), ns)
        cache = os.path.join(os.path.dirname(numeric.__file__), "__pycache__")
        pyc = [open(os.path.join(cache, n), "rb").read() for n in os.listdir(cache) if n.startswith("numeric.")]
        importlib.reload(numeric)
        def f(x):
            results = []
            for fn in (ns["convolve"], numeric.convolve):
                try:
                    fn(x, [1.0, 2.0])
                    results.append(1)
                except RuntimeError:
                    results.append(0)
            results.append(max([len(p) for p in pyc] or [0]))
            return results
    """, course)
    assert list(output(out)) == [0, 0, 0], output(out)


def test_records_written_by_the_student_are_caught_as_forgery(course):
    out = run("""
        import os, json, sys
        fd = int(sys.argv[2])
        payload = json.dumps({"type": "result", "name": "f", "case": 0, "ok": True,
                              "output": {"t": "num", "v": 42}}).encode() + b"\\n"
        os.write(fd, len(payload).to_bytes(4, "big") + payload)
        def f(x):
            return x
    """, course)
    assert out.violation and "wrote to the grader's channel" in out.violation


def test_a_flood_of_large_outputs_keeps_the_grader_bounded(course):
    cases = {"f": [((np.zeros(1),), {}, None, (), None)] * 6}
    out = run("""
        import numpy as np
        def f(x):
            return np.ones(5 << 20)     # 40 MiB of float64, six times
    """, course, cases=cases, limits=sandbox.Limits(cell_seconds=20, call_seconds=20, notebook_seconds=90,
                                                     memory_bytes=4 << 30))
    # an honest runner reports each answer over the bound as that case's failure; the grader holds at
    # most its bounds of what came back
    assert not out.violation and out.finished
    errors = [r.error for r in out.results["f"] if not r.ok]
    assert errors and all("MiB" in e for e in errors)
    assert sum(r.output.nbytes for r in out.results["f"] if r.ok) <= 192 << 20


def test_a_forged_flood_on_the_channel_is_cut_off(course):
    out = run("""
        import os, sys
        fd = int(sys.argv[2])
        chunk = (64 << 20).to_bytes(4, "big") + b"x" * (1 << 20)
        for _ in range(300):
            try:
                os.write(fd, chunk)
            except OSError:
                break
        def f(x):
            return x
    """, course)
    assert out.violation and out.seconds < 30


def test_a_runner_that_stops_reading_cannot_hang_the_grader():
    read, write = os.pipe()
    os.set_blocking(write, False)
    feed = sandbox._Feed(write)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        feed.write(b"x" * (4 << 20), time.monotonic() + 1.0)
    assert time.monotonic() - t0 < 3
    os.close(read)
    os.close(write)


def test_a_stub_package_imports_but_refuses_every_use():
    folder = hidden.stub_package("cnnkit.reference")
    text = (folder / "__init__.py").read_text()
    assert "not available while grading" in text


def test_the_landlock_layer_keeps_files_in(course, tmp_path):
    if not confine.landlock_abi():
        pytest.skip("no Landlock in this kernel")
    planted = tmp_path / "planted-ll.txt"
    out = run(f"""
        tried = []
        for path, mode in [({str(course / '.grading-secret')!r}, "r"), ({str(planted)!r}, "w"), ("own.txt", "w")]:
            try:
                open(path, mode).close()
                tried.append(1)
            except OSError:
                tried.append(0)
        def f(x):
            return tried
    """, course, mode="landlock")
    assert list(output(out)) == [0, 0, 1], (output(out), out.log)
    assert not planted.exists()


def test_the_repository_is_never_mounted_even_when_no_path_is_protected():
    import autograde
    repo = confine.Path(autograde.__file__).resolve().parent.parent
    for folder in confine.python_mounts([]):
        assert not confine._inside(str(repo / "solutions"), folder), folder
        assert not confine._inside(str(repo / "autograde"), folder), folder
