"""Grade a class: ``python -m autograde grade <assignment>``.

Grading is a security boundary: nothing a student could write is trusted, and no one student (nor one
broken file, worker or gradebook) stops the class. The steps, in order:

0. ``sandbox.isolation``: the isolation in force (``--sandbox``), said in one line, loudly when weak.
1. ``releases``: the assignment's released notebooks (course/<assignment>/*.ipynb) and their points.
2. ``import_submissions`` (with ``--import PATH``): a folder or LMS export into nbgrader's layout.
3. ``plan``: one job per student and notebook found in <root>/submitted/; a job whose result is
   already recorded for the same submission, release, grader (`grader.version()`, the digest of
   every source that can change a score: the checks and their hidden cases among them) and
   isolation, in a record whose signature (HMAC-SHA256 keyed by the course's grading secret)
   verifies, is skipped unless ``--regrade``. A failure of the grader itself is always graded again.
   Results are `results.SubmissionResult`s; the records on disk are their `to_dict()`.
4. ``execute``: the jobs run concurrently, in a local process pool (``--jobs``) or on a Dask cluster
   (``--scheduler ADDRESS``); each worker runs the student's code in its own sandboxed process. A
   worker that dies costs only the job it was running, and a job that never ends is stopped at its
   deadline.
5. ``store``: as each result arrives (with a progress bar), made safe to store (``clean``): its
   feedback page in <root>/feedback/<student>/<assignment>/, the notebook the formgrader shows, its
   grades in nbgrader's gradebook and its signed JSON record in <root>/autograded/<student>/<assignment>/,
   each step guarded on its own. Nothing waits for the end, so an interrupted run keeps everything
   graded before it stopped.
6. ``write_csv`` and ``summary``: <root>/grades/<assignment>.csv and a table in the terminal, with the
   submissions a person should look at; written also when the run stops early.
"""

import asyncio
import contextlib
import csv
import hashlib
import hmac
import io
import itertools
import json
import numbers
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from multiprocessing.connection import wait as mp_wait
from pathlib import Path

from tqdm.auto import tqdm

from . import feedback, gradebook, grader, submissions
from . import sandbox as _sandbox
from .build import COURSE, HERE, REPO, SOLUTIONS
from .errors import CourseError
from .notebook import MAX_NOTEBOOK_BYTES, Release
from .results import SubmissionResult
from .sandbox import Limits

DEFAULT_ROOT = HERE


# ----------------------------------------------------------------------------- 1. releases

def releases(assignment, course=COURSE):
    """The assignment's released notebooks; raises CourseError when it has none."""
    folder = Path(course) / assignment
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        known = sorted(p.name for p in Path(course).iterdir() if p.is_dir()) if Path(course).is_dir() else []
        raise CourseError(f"no released notebooks in {folder}; assignments: {', '.join(known) or 'none'}")
    return [Release.load(p, assignment) for p in paths]


def release_digest(release):
    return hashlib.sha256(json.dumps(release.to_dict(), sort_keys=True).encode()).hexdigest()


# ----------------------------------------------------------------------------- 3. plan

def secret(root):
    """The course's grading secret (created on first use): it seeds every student's hidden cases."""
    path = Path(root) / ".grading-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip()


def result_path(root, student, assignment, notebook):
    return Path(root) / "autograded" / student / assignment / f"{notebook}.result.json"


# ----------------------------------------------------------------------------- signed records

MAX_RECORD_BYTES = 16 << 20   # a record file larger than this is not one the grader wrote


def canonical(record):
    """The bytes a record's signature covers: its JSON with sorted keys, without the signature."""
    body = {k: v for k, v in record.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign(record, key):
    """HMAC-SHA256 of the record's canonical JSON, keyed by the course's grading secret."""
    return hmac.new(key.encode(), canonical(record), hashlib.sha256).hexdigest()


def verified(record, key):
    """True when `record` carries the signature the grader gave it: nothing in it was changed since."""
    if not isinstance(record, dict) or not isinstance(record.get("signature"), str):
        return False
    try:
        expected = sign(record, key)
    except (TypeError, ValueError, RecursionError):
        return False
    return hmac.compare_digest(record["signature"].encode("utf-8", "replace"), expected.encode())


def load_result(path):
    """The JSON record at `path`, or None when there is none or it cannot be read (unverified)."""
    try:
        path = Path(path)
        if path.stat().st_size > MAX_RECORD_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):   # ValueError: bad JSON or not UTF-8
        return None
    return data if isinstance(data, dict) else None


def load_verified(root, key, student, assignment, notebook):
    """(result, state): the SubmissionResult a record holds, and the state: "none" (no record),
    "changed" (a record the grader did not write as it is: it fails its signature, or belongs to
    another student or notebook; no result) or "ok"."""
    path = result_path(root, student, assignment, notebook)
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None, "none"
    except OSError:
        return None, "changed"
    record = load_result(path)
    if not verified(record, key) or (record.get("student"), record.get("assignment"), record.get("notebook")) \
            != (student, assignment, notebook):
        return None, "changed"
    try:
        return SubmissionResult.from_dict(record), "ok"
    except (AttributeError, KeyError, TypeError, ValueError):   # signed, yet not a result this grader reads
        return None, "changed"


def is_current(result, job):
    """Whether a verified result answers `job` as it would be graded now (the rerun key): the same
    submission, seed, release, isolation and grader (the digest of all that can change a score)."""
    return (result.status != "error"                 # a failure of the grader is always graded again
            and not result.unsaved                   # so is a result whose files could not all be written
            and result.sandbox == job.get("sandbox")   # and one graded under another isolation
            and result.sha256 == hashlib.sha256(job["data"]).hexdigest()
            and result.grader == grader.version() and result.seed == str(job["seed"])
            and result.release_digest == job["release_digest"])


def plan(root, submitted, rels, limits, protected, regrade=False, only=None, notify=None, sandbox=None):
    """(jobs, skipped results): a job per (student, notebook) not graded yet in this exact form, under
    the isolation named `sandbox` (`Isolation.name`). Only a record whose signature verifies is
    skipped; `notify(line)` hears of every other record."""
    notify = notify or (lambda line: None)
    assignment = rels[0].assignment
    found = submissions.find(submitted, assignment, [r.notebook for r in rels])
    key = secret(root)
    only = {submissions.display_id(s) for s in only} if only else None
    jobs, skipped = [], []
    for student, notebooks in found.items():
        if only and student not in only:
            continue
        seed = grader.student_seed(key, assignment, student)
        for release in rels:
            path = notebooks[release.notebook]
            data, problem = _read_submission(path, submitted) if path else (b"", "")
            job = {"student": student, "data": data, "release": release.to_dict(), "seed": seed,
                   "limits": limits, "protected": protected, "missing": path is None,
                   "release_digest": release_digest(release), "sandbox": sandbox}
            if problem:
                job["problem"] = f"the submitted {release.notebook}.ipynb could not be read ({problem})"
            old, state = load_verified(root, key, student, assignment, release.notebook)
            if state == "changed":
                notify(f"record for {student} ({release.notebook}) was changed outside the grader; graded again")
            elif old and old.status == "error" and not regrade:
                notify(f"{student} ({release.notebook}): the grader failed on it last time; graded again")
            if not regrade and old and is_current(old, job):
                skipped.append(old)
            else:
                jobs.append(job)
    return jobs, skipped


def _read_submission(path, submitted=None):
    """(bytes, problem) of a submitted file; a file larger than the grader reads is cut just past that
    size (the grader then rejects it as too large) rather than read whole into memory. A link that
    leads out of the submitted folder (to another student's notebook, to the course's secret) is not
    followed."""
    try:
        if submitted is not None:
            real, top = os.path.realpath(path), os.path.realpath(submitted)
            if not real.startswith(top.rstrip(os.sep) + os.sep) or os.path.islink(path):
                return b"", "it is a link, which the grader does not follow"
        with open(path, "rb") as f:
            return f.read(MAX_NOTEBOOK_BYTES + 1), ""
    except OSError as e:
        return b"", _why(e)


def fault(job, status, reason):
    """A result for `job` that the grader did not make: a missing or unreadable notebook, a worker that
    died or timed out, a run that stopped before it."""
    release = Release.from_dict(job["release"])
    result = grader.result_template(job["student"], release, job["data"], job["seed"]).fail(status, reason,
                                                                                             release.graded)
    result.release_digest = job["release_digest"]
    result.sandbox = job.get("sandbox")
    return result


def run_job(job):
    """One job, in a worker: a missing notebook is a result too. What it returns is bounded (`clean`)."""
    if job["missing"]:
        result = fault(job, "missing", f"no {job['release']['notebook']}.ipynb was submitted")
    elif job.get("problem"):
        result = fault(job, "invalid", job["problem"])
    else:
        result = grader.grade_submission(job)
    result.release_digest = job["release_digest"]
    if result.sandbox is None:
        result.sandbox = job.get("sandbox")   # the grader names the isolation it ran under
    return SubmissionResult.from_dict(clean(result.to_dict()))


# ----------------------------------------------------------------------------- safe text

MAX_TEXT = 4000    # characters kept of any one string in a result (of the log: its end)
MAX_ITEMS = 100    # items kept of any one list in a result (messages, notes, cell errors, ...)
MAX_DEPTH = 12

_UNSAFE = re.compile("[\ud800-\udfff\x00]")            # lone surrogates (and NUL): not storable text
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # what a terminal would obey rather than show


def clean_text(text, limit=MAX_TEXT, tail=False):
    """`text` that JSON, HTML, CSV, SQLite and a terminal all take: lone surrogates and NUL become
    U+FFFD; past `limit` characters it is cut (keeping its end when `tail`)."""
    if not isinstance(text, str):
        text = str(text)
    if limit is not None and len(text) > limit:
        cut = len(text) - limit
        text = (f"[{cut} characters not kept]\n" + text[-limit:]) if tail else \
            (text[:limit] + f" [{cut} more characters not kept]")
    return _UNSAFE.sub("\ufffd", text)


def clean(value, depth=0, key=None):
    """A result (or anything in one) as plain JSON data with every string made safe by `clean_text`,
    and bounded: at most MAX_ITEMS items in a list or dict, MAX_TEXT characters in a string (the
    log keeps its end). The one place where what a grading job returns is made fit to store."""
    if value is None or isinstance(value, (bool, str)):
        return clean_text(value, tail=key == "log") if isinstance(value, str) else value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if depth >= MAX_DEPTH:
        return "[nested too deeply: not kept]"
    if isinstance(value, dict):
        return {clean_text(k, 200): clean(v, depth + 1, k) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, (list, tuple)):
        items = [clean(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS and all(isinstance(v, str) for v in items):
            items.append(f"[{len(value) - MAX_ITEMS} more not kept]")
        return items
    return clean_text(repr(value))


_FUNCTION = {"name": str, "passed": int, "total": int, "messages": list, "diagnoses": list, "forbidden": list,
             "points": (int, float), "score": (int, float)}


def checked(result, job):
    """What came back for `job` (a SubmissionResult, or what a worker made of one), made safe (`clean`)
    and complete: it names the job's student and notebook, whatever it says, and has every field the
    steps after it read, of the right kind (a result that does not is the grader's failure, an "error")."""
    broken = fault(job, "error", "the grader's result was incomplete; please report it to the course staff")
    if isinstance(result, SubmissionResult):
        result = result.to_dict()
    if not isinstance(result, dict):
        return broken
    result = clean(result)
    for k, v in broken.to_dict().items():
        if v is None or isinstance(result.get(k), type(v)) or (isinstance(v, float) and isinstance(result.get(k), int)):
            continue
        if k in ("status", "functions", "score", "max_score"):
            return broken
        result[k] = v
    if not all(isinstance(f, dict) and all(isinstance(f.get(k), t) for k, t in _FUNCTION.items())
               for f in result["functions"]):
        return broken
    for f in result["functions"]:
        for k in ("messages", "diagnoses", "forbidden"):
            f[k] = [x if isinstance(x, str) else clean_text(x) for x in f[k]]
    for k in ("notes", "review"):
        result[k] = [x if isinstance(x, str) else clean_text(x) for x in result[k]]
    result["cell_errors"] = [c for c in result["cell_errors"] if isinstance(c, dict)]
    rel = job["release"]
    result.update(student=job["student"], assignment=rel["assignment"], notebook=rel["notebook"])
    return SubmissionResult.from_dict(result)


def _why(e):
    """An exception in a few words, safe to print."""
    return clean_text(f"{type(e).__name__}: {e}", 300)


def echo(text, out):
    """Print `text` to `out` so that no character stops the run: controls are shown escaped, and what
    the terminal's encoding cannot show is replaced."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", clean_text(text, None))
    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        text = text.encode(encoding, "replace").decode(encoding, "replace")
    except LookupError:
        text = text.encode("ascii", "replace").decode("ascii")
    print(text, file=out)


# ----------------------------------------------------------------------------- 4. execute

POLL_SECONDS = 0.5       # how often the pool's jobs are looked at (deadlines, dead workers)
DEADLINE_MARGIN = 120.0  # a job may run its notebook's time limit plus this (or a quarter more) in all
STOP_GRACE = 10.0        # how long a worker that is told to stop may take before it is killed
WORKER_DIED = "the grading worker died while grading this notebook"


def deadline(job):
    """Seconds a job may take in all before it is recorded as timed out: generous, since the sandbox
    keeps the notebook to its own limit; only a grader (or worker) that hangs reaches it."""
    seconds = float((job.get("limits") or {}).get("notebook_seconds") or Limits().notebook_seconds)
    return seconds + max(DEADLINE_MARGIN, 0.25 * seconds)


def timed_out(job):
    return fault(job, "error", f"timed out: grading did not finish within {deadline(job):g} s (the notebook's "
                               f"limit and a margin) and was stopped; the next run grades it again")


def execute(jobs, workers=None, scheduler=None, work=run_job):
    """Yield (job, result) as each job completes, from a process pool or a Dask cluster; every job
    gets a result. `work`: the function that grades one job in a worker (module-level, so that a
    worker can import it)."""
    if not jobs:
        return
    if scheduler:
        yield from _on_dask(jobs, scheduler, work)
    else:
        yield from _in_pool(jobs, workers or os.cpu_count() or 1, work)


# the worker's side: each job leaves a mark (its pid) in the pool's folder when it starts, and a worker
# told to stop leaves one for its pid, so that when the pool breaks the job whose worker died is known

_BUSY = [False]


class _Stop(BaseException):
    """Raised in a worker by SIGTERM while it grades: the sandbox's cleanup runs, then the worker exits."""


def _mark_stopped(marks):
    with contextlib.suppress(OSError):
        Path(marks, f"stopped-{os.getpid()}").touch()


def _on_sigterm(signum, frame):
    if _BUSY[0]:
        raise _Stop()
    _mark_stopped(_MARKS[0])
    os._exit(143)


_MARKS = [None]


def _worker_start(marks):
    _MARKS[0] = marks
    signal.signal(signal.SIGTERM, _on_sigterm)


def _pooled(work, marks, index, job):
    try:
        Path(marks, f"job-{index}").write_text(str(os.getpid()))
        _BUSY[0] = True
        try:
            return work(job)
        finally:
            _BUSY[0] = False
    except _Stop:
        _mark_stopped(marks)
        os._exit(143)


# the grading command's side

def _in_pool(jobs, workers, work):
    todo = dict(enumerate(jobs))          # index -> job, until it has a result
    fruitless = 0                         # pools in a row that broke before any job was done
    base = Path(tempfile.mkdtemp(prefix="autograde-pool-"))
    try:
        for attempt in itertools.count():
            if not todo:
                return
            marks = base / str(attempt)
            marks.mkdir()
            before = len(todo)
            yield from _one_pool(todo, workers, work, marks)
            if not todo:
                return
            fruitless = 0 if len(todo) < before else fruitless + 1
            if fruitless >= 3:
                for i in list(todo):
                    yield todo.pop(i), fault(jobs[i], "error", "the grading pool kept failing before it "
                                                               "graded anything; the next run grades it again")
                return
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _one_pool(todo, workers, work, marks):
    """Run the jobs of `todo` in one pool until they are all done or the pool breaks; yields results
    and removes their jobs from `todo`. A broken pool's running job whose worker died is that
    student's result; the others stay in `todo` for the next pool."""
    pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=get_context("spawn"),
                               initializer=_worker_start, initargs=(str(marks),))
    processes = {}
    futures = {}
    broken = False
    try:
        try:
            for i, job in todo.items():
                futures[pool.submit(_pooled, work, str(marks), i, job)] = i
        except BrokenProcessPool:
            broken = True
        processes = dict(getattr(pool, "_processes", None) or {})   # pid -> its multiprocessing.Process
        pending = set(futures)
        while pending:     # a pool that breaks fails all its futures at once
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                i = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                except CancelledError:
                    continue
                except Exception as e:  # the work raised, or its result could not be sent back
                    result = fault(todo[i], "error", f"the grader failed on this submission ({_why(e)}); "
                                                     f"please report it to the course staff")
                if i in todo:
                    yield todo.pop(i), result
            for i, pid, started in ([] if broken else _running(marks, todo)):
                if time.time() - started > deadline(todo[i]):
                    job = todo.pop(i)
                    _stop(processes, marks, pid)     # the pool breaks; the others go to the next one
                    yield job, timed_out(job)
        if broken:
            yield from _dead_workers(todo, processes, marks)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for i, pid, _ in _running(marks, todo):
            _stop(processes, marks, pid)
        _reap(processes, marks)


def _running(marks, todo):
    """[(index, pid, start time)] of the jobs of `todo` that a worker of this pool has started."""
    found = []
    for i in list(todo):
        path = marks / f"job-{i}"
        with contextlib.suppress(OSError, ValueError):
            found.append((i, int(path.read_text()), path.stat().st_mtime))
    return found


def _ended(process, timeout=0.0):
    """Whether a worker has exited (waiting up to `timeout`): its sentinel says so whichever thread reaps it."""
    try:
        return bool(mp_wait([process.sentinel], timeout))
    except (OSError, ValueError):   # closed: long gone
        return True


def _stop(processes, marks, pid):
    """Tell the worker `pid` to stop (SIGTERM: it cleans up its sandbox and exits); it is not to blame."""
    with contextlib.suppress(OSError):
        (marks / f"stopped-{pid}").touch()
    process = processes.get(pid)
    if process is not None and not _ended(process):
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGTERM)


def _reap(processes, marks, grace=STOP_GRACE):
    """Wait for the pool's workers to end; kill (and mark: not to blame) any that outlive `grace` seconds."""
    end = time.monotonic() + grace
    for process in processes.values():
        if not _ended(process, max(0.0, end - time.monotonic())):
            with contextlib.suppress(OSError):
                (marks / f"stopped-{process.pid}").touch()
                os.kill(process.pid, signal.SIGKILL)
            _ended(process, 2.0)


def _dead_workers(todo, processes, marks):
    """After a pool broke: the job whose worker died gets its result; the others stay in `todo`."""
    _reap(processes, marks)        # every worker has ended, and each one told to stop has said so
    for i, pid, _ in _running(marks, todo):
        if not (marks / f"stopped-{pid}").exists():
            job = todo.pop(i)
            yield job, fault(job, "failed", WORKER_DIED)


def _on_dask(jobs, scheduler, work):
    try:
        from dask.distributed import Client
        client = Client(scheduler)
    except Exception as e:  # no cluster at that address, or dask missing
        for job in jobs:
            yield job, fault(job, "error", f"the Dask scheduler at {scheduler} could not be reached ({_why(e)}); "
                                           f"the next run grades it again")
        return
    with client:
        token = secrets.token_hex(4)
        futures, unsent = {}, []
        for i, job in enumerate(jobs):
            try:
                futures[client.submit(work, job, pure=False, key=f"grade-{token}-{i}")] = job
            except Exception as e:  # the job could not be sent (serialised, or the scheduler went away)
                unsent.append((job, e))
        for job, e in unsent:
            yield job, fault(job, "error", f"the job could not be sent to the Dask cluster ({_why(e)}); "
                                           f"the next run grades it again")
        pending, started = set(futures), {}
        stuck = max([deadline(job) for job in jobs])   # nothing started or done for this long: the cluster is gone
        last_change = time.monotonic()
        try:
            while pending:
                for future in [f for f in pending if f.done()]:
                    pending.discard(future)
                    last_change = time.monotonic()
                    yield futures[future], _dask_result(futures[future], future)
                now = time.monotonic()
                with contextlib.suppress(Exception):   # what each worker is running now
                    for keys in client.processing().values():
                        for key in keys:
                            if key not in started:
                                started[key] = last_change = now
                for future in [f for f in pending if f.key in started]:
                    if now - started[future.key] > deadline(futures[future]):
                        pending.discard(future)
                        with contextlib.suppress(Exception):
                            future.cancel()
                        yield futures[future], timed_out(futures[future])
                if pending and now - last_change > stuck:
                    for future in list(pending):
                        pending.discard(future)
                        yield futures[future], fault(futures[future], "error", (
                            f"the Dask cluster neither started nor finished any job for {stuck:g} s; "
                            f"the next run grades it again"))
                if pending:
                    time.sleep(POLL_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                client.cancel(list(futures))


def _dask_result(job, future):
    try:
        return future.result()
    except (Exception, asyncio.CancelledError) as e:  # the task raised, its worker was lost, it was cancelled
        if type(e).__name__ == "KilledWorker":
            return fault(job, "failed", WORKER_DIED)
        return fault(job, "error", f"grading on the Dask cluster failed ({_why(e)}); the next run grades it again")


# ----------------------------------------------------------------------------- 5. store

def write_atomic(path, text):
    """Write `text` at `path` through a fresh temporary file beside it, renamed over it: a reader never
    sees half a file, and a file or link planted at a temporary name is never written through."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def signed(result, key):
    """The record of `result` as it is written: plain JSON data, with its signature."""
    record = json.loads(json.dumps(result))
    record.pop("signature", None)
    record["signature"] = sign(record, key)
    return record


class Book:
    """nbgrader's gradebook for one run, every write guarded. One that cannot be opened, or whose writes
    keep failing (GIVE_UP in a row), is left alone for the rest of the run, loudly: grading goes on."""
    GIVE_UP = 3

    def __init__(self, url, rels, root, out=None):
        self.url, self.out, self.gb, self.off, self.failures = url, out or sys.stdout, None, "", 0
        try:
            self.gb = gradebook.open_gradebook(url)
            gradebook.ensure_assignment(self.gb, rels)
        except Exception as e:  # a locked, damaged or unreachable database: nbgrader and SQLAlchemy raise many kinds
            self._give_up(f"it could not be opened ({_why(e)})")
        try:
            gradebook.ensure_source(root, rels[0].assignment)
        except Exception as e:
            echo(f"nbgrader's source of {rels[0].assignment} could not be written in {root / 'source'} "
                 f"({_why(e)}); the formgrader may not list the assignment", self.out)

    def record(self, result):
        """Write one result; raises when it was not written."""
        if self.gb is None:
            raise RuntimeError(f"the gradebook is not written in this run: {self.off}")
        try:
            gradebook.record(self.gb, result)
        except Exception as e:
            self.failures += 1
            if self.failures >= self.GIVE_UP:
                self._give_up(f"{self.failures} writes in a row failed, the last with {_why(e)}")
            raise
        self.failures = 0

    def _give_up(self, why):
        self.close()
        self.off = why
        lines = ["", f"GRADEBOOK NOT WRITTEN: {self.url}: {why}.",
                 "Grading goes on without it: the CSV, the feedback pages and the records are written.",
                 "Run the same command again once the gradebook can be written (no other program holding",
                 "it locked, a readable database): it grades these notebooks again and records them there.", ""]
        for out in {id(self.out): self.out, id(sys.stderr): sys.stderr}.values():
            for line in lines:
                echo(line, out)

    def close(self):
        if self.gb is not None:
            with contextlib.suppress(Exception):
                self.gb.close()
        self.gb = None


def store(root, gb, result, data=None, release=None, key=None, out=None):
    """Write everything about one result (a SubmissionResult); returns it. Each step is guarded on its
    own: one that fails (a folder planted where a file goes, a locked gradebook, a full disk) is noted
    in the result and in the terminal, the others are still done, and the record says which steps
    failed (`unsaved`), so that the next run grades the notebook again.

    `gb`: a `Book` (or None: no gradebook); `data` and `release`: the submitted bytes and the release,
    for the notebook the formgrader shows; `key`: the grading secret that signs the record."""
    out = out or sys.stdout
    root = Path(root)
    a, s, nb = result.assignment, result.student, result.notebook
    unsaved = []

    def step(what, write, quiet=False):
        try:
            write()
        except Exception as e:  # anything at all: this student's files, never the class
            unsaved.append(what)
            line = f"{what} could not be written ({_why(e)}); the next run grades this notebook again"
            result.notes.append(line)
            result.review.append(line)
            if not quiet:
                echo(f"{s} ({nb}): {line}", out)

    step("the feedback page", lambda: write_atomic(root / "feedback" / s / a / f"{nb}.html", feedback.render(result)))
    if release is not None:
        step("the notebook the formgrader shows", lambda: write_atomic(
            root / "autograded" / s / a / f"{nb}.ipynb", gradebook.formgrader_notebook(data or b"", release)))
    if gb is not None:
        step("its grades in the gradebook", lambda: gb.record(result), quiet=gb.gb is None)   # said once, loudly
    if unsaved:
        result.unsaved = unsaved
    # the record last: a record without `unsaved` means everything about it was written
    record = signed(result.to_dict(), key or secret(root))
    step("its record", lambda: write_atomic(result_path(root, s, a, nb), json.dumps(record, indent=1) + "\n"))
    return result


# ----------------------------------------------------------------------------- 6. report

def class_results(root, assignment, rels, students, key=None):
    """{student: [SubmissionResult per notebook]} from the records on disk whose signature verifies."""
    key = key or secret(root)
    return {s: [r for r in (load_verified(root, key, s, assignment, rel.notebook)[0] for rel in rels) if r]
            for s in students}


def standing(rs):
    """A student's results over the assignment's notebooks: (score per function, total, status)."""
    scores = {fn.name: fn.score for r in rs for fn in r.functions}
    status = next((r.status for r in rs if r.status != "graded"), "graded") if rs else "missing"
    return scores, sum(r.score for r in rs), status


def csv_text(assignment, rels, results):
    names = [n for rel in rels for n, _ in rel.graded]
    max_score = sum(rel.max_score for rel in rels)
    f = io.StringIO(newline="")
    w = csv.writer(f)
    w.writerow(["student_id", "assignment", "score", "max_score", "status", *names, "reason", "review", "isolation"])
    for student, rs in sorted(results.items()):
        scores, total, status = standing(rs)
        isolation = sorted({str(r.sandbox or "") for r in rs} - {""})
        w.writerow([clean_text(x, None) for x in
                    [student, assignment, f"{total:g}", f"{max_score:g}", status,
                     *[f"{scores.get(n, 0):g}" for n in names],
                     " | ".join(r.reason for r in rs if r.reason),
                     " | ".join(x for r in rs for x in r.review), ", ".join(isolation)]])
    return f.getvalue()


def write_csv(path, assignment, rels, results):
    """The class's grades at `path`; when that cannot be written (a folder planted there, say), beside it
    with the time in its name. Returns the path written."""
    text = csv_text(assignment, rels, results)
    path = Path(path)
    try:
        write_atomic(path, text)
        return path
    except OSError:
        other = path.with_name(f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
        write_atomic(other, text)
        return other


def summary(assignment, rels, results, out=None):
    out = out or sys.stdout
    names = [n for rel in rels for n, _ in rel.graded]
    max_score = sum(rel.max_score for rel in rels)
    width = max([7] + [len(s) for s in results])
    cols = [max(len(n), 5) for n in names]
    head = f"{'student':<{width}}  " + "  ".join(f"{n:>{c}}" for n, c in zip(names, cols)) + \
           f"  {'score':>11}  status"
    echo(f"\n{assignment}: {len(results)} submission(s)", out)
    echo(head, out)
    echo("-" * len(head), out)
    for student, rs in sorted(results.items()):
        scores, total, status = standing(rs)
        echo(f"{student:<{width}}  " + "  ".join(f"{scores.get(n, 0):>{c}g}" for n, c in zip(names, cols))
             + f"  {f'{total:g} / {max_score:g}':>11}  {status}", out)
    review = [(s, r) for s, rs in sorted(results.items()) for r in rs if r.review or r.status != "graded"]
    if review:
        echo("\nFor a person to look at:", out)
        for s, r in review:
            first = r.reason or r.review[0]
            more = len(r.review) - (0 if r.reason else 1)
            echo(f"  {s}: {first[:150]}" + (f" (+{more} more in the CSV)" if more > 0 else ""), out)


# ----------------------------------------------------------------------------- the command

def protected_paths(root, submitted, db_url):
    """What a student's process may not read: the instructor's files, other submissions, the grades."""
    paths = [Path(root), Path(submitted), SOLUTIONS, HERE / "source"]
    if db_url.startswith("sqlite:///"):
        paths.append(Path(db_url[len("sqlite:///"):].split("?")[0]))
    return [str(p.resolve()) for p in paths]


NOT_GRADED = "not graded: the run stopped before this notebook was graded; run the same command again to grade it"


def announce(isolation, out):
    """The isolation in force, in one line; a loud warning (on stderr as well) when it is weak."""
    echo(f"isolation in force: {isolation.name}: {isolation.detail}", out)
    if not isolation.weak:
        return
    lines = ["", f"WARNING: WEAK ISOLATION on this run (--sandbox {isolation.name}): student code is not kept in "
                 f"by the kernel.",
             f"WARNING: {isolation.detail}.",
             "WARNING: a determined student's notebook may reach, as the grading user, beyond what grading needs",
             "WARNING: (other submissions, the grades, the network, other processes). Grade a class's real",
             "WARNING: grades where --sandbox bwrap is available.", ""]
    for stream in {id(out): out, id(sys.stderr): sys.stderr}.values():
        for line in lines:
            echo(line, stream)


def grade(assignment, root=DEFAULT_ROOT, submitted=None, imports=(), db_url=None, workers=None,
          scheduler=None, regrade=False, only=None, limits=None, course=COURSE, progress=True, out=None,
          work=run_job, sandbox="auto"):
    """Grade `assignment` for every student under `submitted`; returns {student: [SubmissionResult]}.

    `sandbox`: the isolation asked for (`sandbox.MODES`; auto: the strongest this machine has);
    raises `sandbox.SandboxUnavailable` when it cannot be had here. Whatever happens to one
    submission, or to one of its files, the class is graded and the CSV is written: at the end of the
    run, and also when it stops early (an interruption, an error)."""
    out = out or sys.stdout
    isolation = _sandbox.isolation(sandbox)
    announce(isolation, out)
    root = Path(root).resolve()
    submitted = Path(submitted).resolve() if submitted else root / "submitted"
    db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    rels = releases(assignment, course)
    for source in imports:
        written, problems = submissions.import_submissions(source, submitted, assignment, [r.notebook for r in rels])
        echo(f"imported {sum(len(v) for v in written.values())} notebook(s) of {len(written)} student(s) "
             f"from {source} into {submitted}", out)
        for p in problems:
            echo(f"  not imported: {p}", out)
    if not isinstance(limits, Limits):   # overrides of the assignment's own limits
        limits = grader.limits_for(rels[0].number, **(limits or {}))
    limits = limits.__dict__
    jobs, skipped = plan(root, submitted, rels, limits, protected_paths(root, submitted, db_url), regrade, only,
                         notify=lambda line: echo(line, out), sandbox=isolation.name)
    students = sorted({j["student"] for j in jobs} | {r.student for r in skipped})
    if not students:
        echo(f"no submissions of {assignment} in {submitted} "
             f"(expected {submitted}/<student>/{assignment}/{rels[0].notebook}.ipynb)", out)
        return {}
    if skipped:
        echo(f"{len(skipped)} notebook(s) already graded and unchanged: skipped (--regrade grades them again)", out)
    key = secret(root)
    done = {(r.student, r.notebook): r for r in skipped}
    by_name = {r.notebook: r for r in rels}
    interrupted, elapsed = False, 0.0
    book = Book(db_url, rels, root, out)
    try:
        for r in skipped:   # a gradebook made afresh (or another database) still gets every grade
            if book.gb is not None:
                try:
                    book.record(r)
                except Exception as e:
                    echo(f"{r.student} ({r.notebook}): not recorded in the gradebook ({_why(e)})", out)
        bar = tqdm(total=len(jobs), desc=f"grading {assignment}", unit="notebook", disable=not progress,
                   file=sys.stderr)
        t0 = time.monotonic()
        try:
            with contextlib.closing(execute(jobs, workers, scheduler, work)) as arriving:   # closed: workers stop
                for job, result in arriving:
                    result = checked(result, job)
                    done[(result.student, result.notebook)] = result   # in the CSV even if storing is cut short
                    result = store(root, book, result, job["data"], by_name[result.notebook], key=key, out=out)
                    done[(result.student, result.notebook)] = result
                    bar.set_postfix_str(clean_text(f"{result.student}: {result.score:g}/{result.max_score:g}",
                                                   80).encode("ascii", "replace").decode())
                    bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
            elapsed = time.monotonic() - t0
    finally:
        book.close()
        results = {s: [] for s in students}
        for job in jobs:
            if (job["student"], job["release"]["notebook"]) not in done:
                done[(job["student"], job["release"]["notebook"])] = fault(job, "pending", NOT_GRADED)
        for rel in rels:
            for s in students:
                if (s, rel.notebook) in done:
                    results[s].append(done[(s, rel.notebook)])
        try:
            csv_path = write_csv(root / "grades" / f"{assignment}.csv", assignment, rels, results)
        except Exception as e:  # not even beside it: the table below is all there is of this run's grades
            csv_path = f"NOT WRITTEN ({_why(e)})"
            for stream in {id(out): out, id(sys.stderr): sys.stderr}.values():
                echo(f"THE GRADES COULD NOT BE WRITTEN in {root / 'grades'}: {_why(e)}", stream)
        summary(assignment, rels, results, out)
        if jobs:
            echo(f"\ngraded {sum(1 for j in jobs if done[(j['student'], j['release']['notebook'])].status != 'pending')}"
                 f" notebook(s) in {elapsed:.1f} s", out)
        echo(f"grades: {csv_path}\nfeedback: {root / 'feedback'}/<student>/{assignment}/\ngradebook: {db_url}"
             + ("" if book.off == "" else " (not written in this run)"), out)
    if interrupted:
        echo("interrupted: everything graded so far is recorded; run the same command to finish", out)
        raise KeyboardInterrupt
    return results


def add_arguments(p):
    p.add_argument("assignment", help="the assignment folder, e.g. 01-convolution")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                   help="the course root: submitted/, autograded/, feedback/, grades/ and gradebook.db "
                        "(default: autograde/)")
    p.add_argument("--submitted", type=Path, help="where submissions are (default: <root>/submitted)")
    p.add_argument("--import", dest="imports", action="append", default=[], type=Path, metavar="PATH",
                   help="first import a folder of notebooks or an LMS export (folder or .zip of per-student "
                        "zips) into the submitted folder; may be given more than once")
    p.add_argument("--db", dest="db_url", help="the gradebook's SQLAlchemy URL (default: sqlite:///<root>/gradebook.db)")
    p.add_argument("--jobs", "-j", type=int, help="submissions graded at once (default: the number of CPUs)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="send the work to this Dask scheduler instead")
    p.add_argument("--regrade", action="store_true", help="grade again what is already graded")
    p.add_argument("--student", action="append", dest="only", metavar="ID", help="grade only this student (repeatable)")
    d = Limits()
    p.add_argument("--cell-timeout", type=float, help=f"seconds per cell (default {d.cell_seconds:g}, "
                                                      f"or the assignment's own)")
    p.add_argument("--call-timeout", type=float,
                   help=f"seconds per call of a graded function (default {d.call_seconds:g}, or the assignment's own)")
    p.add_argument("--timeout", type=float,
                   help=f"seconds per notebook in all (default {d.notebook_seconds:g}, or the assignment's own)")
    p.add_argument("--memory", type=float,
                   help=f"memory per notebook in GiB (default {d.memory_bytes / 2 ** 30:g}, or the assignment's own)")
    p.add_argument("--sandbox", choices=_sandbox.MODES, default="auto",
                   help="how student code is kept in: bwrap (a kernel sandbox), landlock (the kernel restricts "
                        "files and network only), python (checks in the student's process only) or auto, the "
                        "strongest this machine has (default); a mode named that this machine lacks is an error")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def main_from_args(args):
    limits = {"cell_seconds": args.cell_timeout, "notebook_seconds": args.timeout, "call_seconds": args.call_timeout,
              "memory_bytes": None if args.memory is None else int(args.memory * 2 ** 30)}
    try:
        grade(args.assignment, root=args.root, submitted=args.submitted, imports=args.imports, db_url=args.db_url,
              workers=args.jobs, scheduler=args.scheduler, regrade=args.regrade, only=args.only, limits=limits,
              progress=not args.quiet, sandbox=getattr(args, "sandbox", "auto"))
    except _sandbox.SandboxUnavailable as e:
        echo(f"error: --sandbox {getattr(args, 'sandbox', 'auto')} is not available on this machine: {e}", sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


__all__ = ["grade", "releases", "plan", "execute", "store", "write_csv", "summary", "REPO"]
