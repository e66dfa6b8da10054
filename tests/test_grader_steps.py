"""The grader in steps: the runner's phases and their order, and the protocol both sides share.

The runner (autograde/runner.py) runs inside the sandbox; its `main` is a list of phases, and each one
that puts a protection in force must run before any student code. The record kinds and case fields
of its conversation with the grader are autograde/protocol.py's, which travels with the runner into
every isolation mode.
"""

import ast
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autograde import confine, grader, protocol, runner, sandbox

AUTOGRADE = Path(runner.__file__).parent

# the phases of runner.main, in the order they must run: every protection before the first student code
BEFORE_STUDENT_CODE = ["read_program", "set_limits", "die_with_parent", "preload", "capture_probes", "import_numpy",
                       "hide_numpy_correlate", "start_shell", "install_time_limits", "watch_forbidden_calls", "Calls",
                       "build_audit_hook", "confine_kernel", "install_audit_hook"]
STUDENT_CODE = ["run_cells", "report_defined", "silence_leftovers", "answer_cases", "channel.send"]


def main_calls():
    """The calls of runner.main's statements, in order: [(name, the names of its arguments)]."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(runner.main)))
    calls = []
    for statement in tree.body[0].body:
        if isinstance(statement, (ast.Assign, ast.Expr)) and isinstance(statement.value, ast.Call):
            call = statement.value
            calls.append((ast.unparse(call.func), {n.id for a in call.args for n in ast.walk(a)
                                                   if isinstance(n, ast.Name)}))
    return calls


def test_main_lists_the_phases_in_their_documented_order():
    calls = main_calls()
    assert [name for name, _ in calls] == BEFORE_STUDENT_CODE + STUDENT_CODE
    names = [name for name, _ in calls]
    # the protections in today's order: limits, death signal, probes, numpy hidden, profiler, kernel, audit hook
    order = ["set_limits", "die_with_parent", "capture_probes", "hide_numpy_correlate", "watch_forbidden_calls",
             "confine_kernel", "install_audit_hook", "run_cells"]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)
    for name in BEFORE_STUDENT_CODE + STUDENT_CODE[:-1]:
        phase = getattr(runner, name)
        assert callable(phase) and phase.__doc__, f"{name}: a phase of its own, saying what it does"


def test_student_code_starts_after_every_phase():
    """No phase before run_cells is handed the shell's cells or namespace: the student's code and objects
    are reached first by run_cells, after every protection is in force."""
    calls = main_calls()
    first = next(i for i, (name, args) in enumerate(calls) if args & {"run_cell", "names"})
    assert calls[first][0] == "run_cells" and first == len(BEFORE_STUDENT_CODE)


def run(source, mode="python", python_layer=True, limits=None):
    program = {"cells": [{"id": "c1", "source": textwrap.dedent(source)}], "graded": ["f"], "preload": ["numpy"],
               "protected": [], "python_layer": python_layer, "forbidden": grader.RUNTIME["default"]}
    limits = limits or sandbox.Limits(cell_seconds=20, call_seconds=10, notebook_seconds=60, memory_bytes=3 << 30,
                                      file_bytes=5 << 20)
    out = sandbox.run(program, {"f": [((np.arange(3.0),), {}, None, (), None)]}, limits, jail=sandbox.Jail(mode=mode))
    answer = out.results["f"][0]
    assert answer and answer.ok, (out.problem, answer, out.log[-2000:])
    return dict(zip(("limits", "layer", "kernel"), answer.output))


# what the first line of student code finds: each phase's protection already in force
IN_FORCE = """
    import resource, signal, sys
    import numpy as np
    limits = [resource.getrlimit(resource.RLIMIT_AS)[0] == 3 << 30, resource.getrlimit(resource.RLIMIT_CORE) == (0, 0),
              resource.getrlimit(resource.RLIMIT_FSIZE)[0] == 5 << 20,
              getattr(signal.getsignal(signal.SIGALRM), "__name__", "") == "_on_alarm"]
    try:
        np.convolve([1.0], [1.0])
        limits.append(False)
    except RuntimeError as e:
        limits.append("not available while grading" in str(e))
    layer = [sys.getprofile() is not None]
    try:
        import subprocess
        subprocess.run(["true"])
        layer.append(False)
    except PermissionError as e:
        layer.append("not allowed while grading" in str(e))
    status = open("/proc/self/status").read()
    kernel = ["Seccomp:\\t2" in status, "NoNewPrivs:\\t1" in status]
    def f(x):
        return [limits, layer, kernel]
"""


def test_every_protection_is_in_force_when_student_code_starts():
    got = run(IN_FORCE)
    assert got["limits"].all() and got["layer"].all(), got
    assert not got["kernel"].any()        # outside bwrap: no seccomp filter
    if not confine.bwrap_problem():
        got = run(IN_FORCE, mode="bwrap")
        assert got["limits"].all() and got["layer"].all() and got["kernel"].all(), got


def test_the_death_signal_is_set_before_student_code():
    # without the Python layer, ctypes may ask the kernel (PR_GET_PDEATHSIG) what the runner asked for
    got = run("""
        import ctypes, signal
        sig = ctypes.c_int(0)
        ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0)
        def f(x):
            return [[sig.value == signal.SIGKILL], [1], [1]]
    """, python_layer=False)
    assert got["limits"].all(), got


# ----------------------------------------------------------------------------- the protocol, shared

def test_the_runner_imports_the_same_protocol_as_the_grader():
    assert runner.protocol is protocol is sandbox.protocol
    assert runner.Case is protocol.Case and runner.RESULT == sandbox.RESULT == protocol.RESULT
    assert sandbox.MAX_RECORD == protocol.MAX_RECORD > protocol.MAX_OUTPUT


def _imports(path):
    found = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_the_runner_and_the_protocol_need_only_the_standard_library():
    assert _imports(AUTOGRADE / "protocol.py") <= set(sys.stdlib_module_names)
    # what the runner imports itself: the standard library, and what the sandbox shows it (numpy, IPython)
    assert _imports(AUTOGRADE / "runner.py") <= set(sys.stdlib_module_names) | {"numpy", "IPython", "traitlets"}


def test_the_runner_runs_from_a_folder_that_holds_only_it_and_the_protocol(tmp_path):
    for name in confine.RUNNER_FILES:
        shutil.copy(AUTOGRADE / name, tmp_path / name)
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('runner', {str(tmp_path / 'runner.py')!r})\n"
            "module = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(module)\n"
            "print(module.protocol.__file__, 'autograde' in sys.modules, module.Case._fields)\n")
    out = subprocess.run([sys.executable, "-I", "-B", "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path, env={"PATH": os.environ.get("PATH", "")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == [str(tmp_path / "protocol.py"), "False"], out.stdout


def test_the_protocol_is_mounted_beside_the_runner_in_the_kernel_sandbox():
    cmd = confine.bwrap_command(["python"], protected=[], hide=[], data=[], scratch_bytes=1 << 20,
                                scratch_inodes=64, uid=200000, runner=sandbox.RUNNER)
    binds = {(cmd[i + 1], cmd[i + 2]) for i, a in enumerate(cmd) if a == "--ro-bind"}
    assert confine.RUNNER_AT == f"{confine.RUNNER_DIR}/runner.py"
    for name in ("runner.py", "protocol.py"):
        assert (str(AUTOGRADE / name), f"{confine.RUNNER_DIR}/{name}") in binds
    assert not [b for b in binds if b[1].startswith(confine.RUNNER_DIR) and Path(b[0]).name not in confine.RUNNER_FILES]


def test_record_kinds_are_named_only_in_the_protocol():
    """Neither side spells a record kind or a cell event itself: both take them from protocol.py."""
    kinds = {protocol.CELL, protocol.CELLS_DONE, protocol.RESULT, protocol.DONE, protocol.START, protocol.END}
    for side in ("runner.py", "sandbox.py"):
        tree = ast.parse((AUTOGRADE / side).read_text())
        spelled = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not spelled & kinds, (side, spelled & kinds)


def _reader(*headers):
    read, write = os.pipe()
    os.write(write, b"".join(protocol.frame(json.dumps(h).encode() + b"\n") for h in headers))
    os.close(write)
    return sandbox._Reader(read), read


@pytest.mark.parametrize("header", [{"type": "result", "name": "f", "case": 0, "ok": True, "score": 12},
                                    {"type": "grade", "score": 12}, {"kind": "done"}])
def test_a_record_the_protocol_does_not_have_is_refused(header):
    reader, fd = _reader(header)
    try:
        with pytest.raises(sandbox.ProtocolError):
            reader.record(float("inf"))
    finally:
        os.close(fd)


def test_every_field_the_runner_sends_is_one_the_protocol_names():
    reader, fd = _reader({"type": protocol.CELL, "index": 0, "id": "c", "event": protocol.END, "error": None,
                          "seconds": 0.1},
                         {"type": protocol.RESULT, "name": "f", "case": 0, "ok": False, "error": "x", "seconds": 0.0,
                          "forbidden": ["numpy.convolve"]})
    try:
        assert reader.record(float("inf"))[0]["type"] == protocol.CELL
        assert reader.record(float("inf"))[0]["type"] == protocol.RESULT
    finally:
        os.close(fd)


def test_cases_travel_as_plain_tuples_and_come_back_named():
    case = protocol.Case((np.ones(2),), {}, None, (), 3.0)
    assert tuple(case) == case and protocol.Case(*tuple(case)).seconds == 3.0
    assert sandbox.probe_names({"f": [case._replace(probe="m:p")]}) == ["m:p"]


# ----------------------------------------------------------------------------- errors: raised, then exited

def test_library_code_raises_and_only_the_command_line_exits():
    """No module of autograde but the command line's raises SystemExit or calls sys.exit."""
    for path in sorted(AUTOGRADE.glob("*.py")):
        tree = ast.parse(path.read_text())
        exits = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "SystemExit"
                 or isinstance(n, ast.Attribute) and ast.unparse(n) == "sys.exit"]
        if path.name == "__main__.py" or path.name == "build.py":     # their `python -m` entry points
            main_block = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
            inside = {id(n) for block in main_block for n in ast.walk(block)}
            exits = [n for n in exits if id(n) not in inside]
        assert not exits, f"{path.name} line {exits[0].lineno}"


def test_a_course_error_is_the_commands_message_and_status_1(tmp_path, capsys):
    from autograde import errors, grade
    from autograde.__main__ import main

    with pytest.raises(errors.CourseError, match="no released notebooks in .*99-nothing; assignments: "):
        grade.releases("99-nothing")
    assert main(["import", "99-nothing", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("no released notebooks in ") and "99-nothing; assignments: 01-" in err
    assert main(["import", "01-convolution", str(tmp_path / "nowhere"), "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"nothing to import at {tmp_path / 'nowhere'}: give a folder or a .zip file\n"
