"""Grade one submission: the steps, in order, each a small function.

1. ``notebook.read``: compare the submission with the release; pick the cells to run.
2. ``static.tampering`` / ``static.forbidden_uses``: read the student's code for what it may not do.
3. ``make_cases``: the visible cases and the hidden ones, randomised by the student's seed.
4. ``sandbox.run``: run the cells and call every graded function in a separate, limited process.
5. ``judge_function``: compare what came back with `cnnkit.reference`, here, in a process that never
   ran student code; name the likely mistake.
6. ``score``: points per function, split evenly over its cases; none for a function that uses a
   forbidden implementation, none at all for a submission that tampers with the grader.

`grade_submission(job)` takes plain data (bytes, dicts, numbers) and returns a `SubmissionResult`
(results.py), so it runs the same in this process, in a process pool, or on a Dask worker on
another machine.
"""

import ast
import functools
import hashlib
import time
from pathlib import Path

import cnnkit
from cnnkit import checks

from . import notebook, sandbox, static
from .results import CellError, FunctionResult, SubmissionResult

# every source that can change a score, as (package folder, its files and folders; "" for all of it):
# all of cnnkit (the checks with their cases, hidden or not, judges and thresholds, the references and
# twins they compare with, the data loaders) but what only draws or times, and the grader's own steps.
# Their digest is the grader's version, part of the rerun key: an edit to any of them (a hidden case
# generator, a judge, a reference, the sandbox) grades every submission again
SCORED = ((Path(cnnkit.__file__).parent, ("",)),
          (Path(__file__).parent, ("grader.py", "runner.py", "protocol.py", "sandbox.py", "static.py", "hidden.py",
                                   "confine.py", "notebook.py")))
NOT_SCORED = {"cnnkit/plot.py", "cnnkit/benchmark.py", "cnnkit/__main__.py"}   # figures, timings, the tour


def source_digest(scored=None):
    """sha256 of the .py files `scored` (default: SCORED) names, but NOT_SCORED: each one's path under
    its package's folder, and its bytes."""
    digest = hashlib.sha256()
    for root, entries in SCORED if scored is None else scored:
        root = Path(root)
        for entry in entries:
            path = root / entry
            for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
                name = f"{root.name}/{file.relative_to(root).as_posix()}"
                if name in NOT_SCORED:
                    continue
                digest.update(name.encode() + b"\0")
                digest.update(file.read_bytes() if file.is_file() else b"(missing)")
                digest.update(b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def version():
    """The grader's version: the digest of what can change a score (`SCORED`), taken once per process."""
    return source_digest()

# what a graded function may not use, by assignment (course.md); dotted prefixes for the static check
FORBIDDEN = {
    "default": ["cnnkit", "numpy.convolve", "numpy.correlate", "numpy.polymul", "numpy.polynomial",
                "scipy.signal", "scipy.ndimage", "scipy.linalg.toeplitz", "torch.nn.functional.conv1d", "torch.nn.functional.conv2d",
                "torch.nn.functional.conv3d", "torch.nn.functional.unfold", "torch.nn.functional.fold",
                "torch.nn.functional.max_pool2d", "torch.nn.functional.avg_pool2d",
                "torch.nn.functional.max_pool2d_with_indices", "torch.nn.functional.adaptive_avg_pool2d",
                "torch.nn.functional.adaptive_max_pool2d", "torch.conv1d", "torch.conv2d", "torch.conv3d",
                "torch.max_pool2d", "torch.avg_pool2d", "torch.nn.Conv1d", "torch.nn.Conv2d", "torch.nn.Unfold",
                "torch.nn.Fold", "torch.nn.MaxPool2d", "torch.nn.AvgPool2d", "torch.nn.AdaptiveAvgPool2d",
                "torch.nn.LPPool2d", "torch.nn.functional.lp_pool2d"],
    # assignment 06 trains networks with PyTorch's own layers; only the course's models are off limits
    "06": ["cnnkit"],
}
# the same rules for the profiler in the student's process
RUNTIME = {
    "default": {"dirs": ["cnnkit/reference", "cnnkit/torch", "scipy/signal", "scipy/ndimage",
                         "numpy/polynomial"],
                "python": ["numpy.convolve", "numpy.correlate", "numpy.polymul", "scipy.linalg.toeplitz"],
                "c_names": {"numpy": ["correlate", "correlate2"],
                            "torch": ["conv1d", "conv2d", "conv3d", "convolution", "_convolution", "conv_transpose2d",
                                      "max_pool2d", "avg_pool2d", "max_pool2d_with_indices", "adaptive_avg_pool2d",
                                      "adaptive_max_pool2d", "im2col", "col2im", "unfold", "fold",
                                      "cudnn_convolution", "mkldnn_convolution"]}},
    # 06's training probe trains by the grader's recipe, which holds no answer (HIDE keeps it real)
    "06": {"dirs": ["cnnkit/reference", "cnnkit/torch"], "allowed": ["cnnkit/torch/recipe.py"], "python": [],
           "c_names": {}},
}


# what the kernel sandbox hides from the student's process (hidden.py): whole packages replaced by
# stubs, and single functions poisoned in their module's own file
HIDE = {
    # everything of cnnkit's that computes an answer (the checks carry reference answers of their own,
    # cnnkit._args the output-size formula) but the inputs the cases hand over; the data loaders and
    # the figure helpers stay
    "default": {"keep": {"cnnkit.checks": ["inputs"]},
                "stub": ["cnnkit.reference", "cnnkit.torch", "cnnkit.checks", "cnnkit._args", "cnnkit.architectures",
                         "cnnkit.benchmark", "scipy.signal", "scipy.ndimage", "torch", "cv2", "skimage", "astropy",
                         "tensorflow", "jax", "keras"],
                "poison": {"numpy._core.numeric": ["convolve", "correlate"],
                           "numpy.core.numeric": ["convolve", "correlate"],
                           "scipy.linalg._special_matrices": ["toeplitz", "circulant", "hankel",
                                                              "convolution_matrix"]}},
    # assignment 06 builds networks from PyTorch's layers: torch stays, the course's own models and
    # training loop are hidden, and so are the checks (their judges) but for the probes, which run the
    # student's classes in the sandbox and hold no answer, the inputs, and the training recipe the
    # probes and the notebook train by (no answer either)
    "06": {"keep": {"cnnkit.checks": ["inputs", "probes06"], "cnnkit.torch": ["recipe"]},
           "stub": ["cnnkit.reference", "cnnkit.torch", "cnnkit.checks", "cnnkit._args", "cnnkit.architectures",
                    "cnnkit.benchmark"]},
}
# the data sets the sandbox shows (glob patterns under the data root; None: all of it). In 06 the
# grader measures trained networks on the test split itself, so the student's process never has it
DATA_FILES = {"06": ["mnist/train-*", "fashion-mnist/train-*", "cifar-10/cifar-10-batches-py/data_batch_*",
                     "cifar-10/cifar-10-batches-py/batches.meta"]}


def jail_for(number, mode, protected):
    """How a job of assignment `number` is kept in under isolation `mode`."""
    return sandbox.Jail(mode=mode, hide=HIDE.get(number, HIDE["default"]), data_files=DATA_FILES.get(number),
                        protected=list(protected))


def resolve_mode(mode):
    """A job's isolation: the one named, or for "auto" (and a job that names none) the strongest here."""
    return sandbox.isolation(mode or "auto").name


# assignment 06 trains networks: its notebook, and the grader's own training of the student's
# models, take minutes where the other assignments take seconds
LIMITS = {"06": {"cell_seconds": 300.0, "call_seconds": 30.0, "notebook_seconds": 900.0, "memory_bytes": 8 << 30}}


def limits_for(number, **given):
    """The sandbox's limits for an assignment: the defaults, then the assignment's own, then `given`
    (a value of None is not given)."""
    return sandbox.Limits(**{**LIMITS.get(number, {}), **{k: v for k, v in given.items() if v is not None}})


def forbidden_for(number):
    return FORBIDDEN.get(number, FORBIDDEN["default"]), RUNTIME.get(number, RUNTIME["default"])


def student_seed(secret, assignment, student):
    """The hidden cases' seed: fixed for a student and assignment, unknowable without the secret."""
    digest = hashlib.sha256(f"{secret}\0{assignment}\0{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def make_cases(number, names, seed):
    """{name: [Case]}: every visible case, then the hidden ones for `seed`."""
    return {name: checks.cases(name, assignment=number) + checks.cases(name, seed=seed, hidden=True,
                                                                        assignment=number)
            for name in names}


def preload_modules(release):
    """Modules the release's own cells import: loaded before the student's code and its limits."""
    found = set()
    trees = static.parse([(str(i), notebook._source(c)) for i, c in enumerate(release.cells)
                          if c.get("cell_type") == "code"])
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
    return sorted(found | {"numpy"})


# ----------------------------------------------------------------------------- judging

def _call_problem(result):
    """A sentence for a case the function did not answer, or None when it returned something."""
    if result is None:
        return "was never called: the notebook's process stopped before this case"
    if not result.ok:
        return f"raised {result.error}"
    return None


def judge_case(case, result):
    """(passed, message, diagnosis) for one case and what the student's function did with it."""
    problem = _call_problem(result)
    if problem:
        return False, checks.core.problem_message(case, problem), "raised"
    output = result.output
    if isinstance(output, sandbox.Unsupported):
        return False, checks.core.problem_message(case, f"returned {output!r}, not an array of numbers"), "wrong_type"
    verdict = checks.judge(case, output, inputs_after=result.inputs_after)
    return verdict.passed, verdict.message, verdict.diagnosis


def judge_function(name, cases, results, forbidden_static):
    """The verdict on one graded function: passed cases, messages, diagnoses, forbidden uses."""
    passed, messages, diagnoses, forbidden = 0, [], [], list(forbidden_static)
    for case, result in zip(cases, results):
        if result and result.forbidden:
            for api in result.forbidden:
                what = f"{name} called {api} while it ran"
                if what not in forbidden:
                    forbidden.append(what)
        ok, message, diagnosis = judge_case(case, result)
        if ok:
            passed += 1
        else:
            if len(messages) < 3:
                messages.append(message)
            if diagnosis and diagnosis not in diagnoses:
                diagnoses.append(diagnosis)
    return FunctionResult(name, passed, len(cases), messages, diagnoses, forbidden)


def score(function, points):
    """Points for a function: split evenly over its cases; none when it uses a forbidden implementation."""
    if function.forbidden or not function.total:
        return 0.0
    return round(points * function.passed / function.total, 2)


# ----------------------------------------------------------------------------- one submission

def grade_submission(job):
    """Grade one submission. `job`: {student, data (bytes), release (Release.to_dict()), seed, limits,
    protected, sandbox}. A fault of the grader itself is a result too (status "error")."""
    t0 = time.monotonic()
    release = notebook.Release.from_dict(job["release"])
    result = result_template(job["student"], release, job["data"], job["seed"])
    try:
        _grade(job, release, result)
    except Exception as e:  # a fault of the grader itself: this student is reported, the class goes on
        result.status, result.score = "error", 0.0
        result.reason = (f"the grader failed on this submission ({type(e).__name__}: {e}); "
                         f"please report it to the course staff")
    result.seconds = round(time.monotonic() - t0, 2)
    return result


def result_template(student, release, data, seed):
    """The result of grading `data` against `release`, before anything is graded."""
    return SubmissionResult(student, release.assignment, release.notebook, max_score=release.max_score,
                            sha256=hashlib.sha256(data).hexdigest(), seed=str(seed), grader=version())


def _grade(job, release, result):
    sub = notebook.read(job["data"], release)
    result.notes = list(sub.notes)
    if sub.fatal:
        result.fail("invalid", sub.fatal, release.graded)
        return

    names = [name for name, _ in release.graded]
    forbidden, runtime = forbidden_for(release.number)
    tampering = static.tampering(sub.own)
    static_uses = {name: [f"{f.what} (cell {f.cell!r}, line {f.line})" for f in found]
                   for name, found in static.forbidden_uses(sub.run, names, forbidden).items()}

    cases = make_cases(release.number, names, job["seed"])
    program = {"cells": [{"id": cid, "source": src} for cid, src in sub.run], "graded": names,
               "preload": preload_modules(release), "protected": job.get("protected", []),
               "forbidden": runtime}
    limits = sandbox.Limits(**job.get("limits", {}))
    mode = resolve_mode(job.get("sandbox"))
    result.sandbox = mode        # the isolation in force (the CSV's isolation column, the rerun key)
    jail = jail_for(release.number, mode, job.get("protected", []))
    outcome = sandbox.run(program, {n: [sandbox.case_tuple(c) for c in cases[n]] for n in names}, limits,
                          jail=jail)

    # the release's own cells are demonstrations: while graded they may meet the course's reference
    # hidden (and do not decide anything); the student hears of errors in their own cells only
    own = {cid for cid, _ in sub.own}
    result.cell_errors = [CellError(c.id, c.error) for c in outcome.cells if c.error and c.id in own]
    result.log = outcome.log[-2000:]
    if outcome.problem:
        result.notes.append(outcome.problem)
    if any("no data:" in (c.error or "") for c in outcome.cells):
        # not the student's doing: the grading machine lacks a data set the notebook loads
        result.notes.append("the grader has no copy of a data set this notebook loads, and no network to "
                               "fetch it: the cells that load it failed while grading (a teaching assistant "
                               "puts the data sets in the folder CNNKIT_DATA names; see the README's Data section)")
    for b in outcome.blocked:
        result.review.append(f"the notebook tried something not allowed while grading, and was stopped: {b}")

    total = 0.0
    for name, points in release.graded:
        f = judge_function(name, cases[name], outcome.results.get(name, []), static_uses[name])
        if outcome.defined.get(name) is None and not f.messages:
            f.messages.append(f"{name} is not defined after running the notebook")
        f.points, f.score = points, score(f, points)
        if f.forbidden:
            result.review.append(f"{name}: " + "; ".join(f.forbidden))
        total += f.score
        result.functions.append(f)
    if outcome.violation:
        tampering = tampering + [static.Finding("?", 0, outcome.violation)]
    if tampering:
        result.would_score = round(total, 2)
        total = 0.0
        result.status = "review"
        result.reason = ("no credit: the notebook uses what could interfere with grading ("
                         + "; ".join(f"{f.what} in cell {f.cell!r}" for f in tampering[:5]) + ")")
        result.review.extend(f"{f.what} (cell {f.cell!r}, line {f.line})" for f in tampering)
        for f in result.functions:
            f.score = 0.0
    result.score = round(total, 2)
