"""Grade a class: ``python -m autograde grade <assignment>``.

The steps, in order:

1. ``releases``: the assignment's released notebooks (course/<assignment>/*.ipynb) and their points.
2. ``import_submissions`` (with ``--import PATH``): a folder or LMS export into nbgrader's layout.
3. ``plan``: one job per student and notebook found in <root>/submitted/; a job whose result is
   already recorded for the same submission, release and grader is skipped unless ``--regrade``.
4. ``execute``: the jobs run concurrently, in a local process pool (``--jobs``) or on a Dask cluster
   (``--scheduler ADDRESS``); each worker runs the student's code in its own sandboxed process.
5. ``store``: as each result arrives (with a progress bar): its JSON record in
   <root>/autograded/<student>/<assignment>/, its grades in nbgrader's gradebook, its feedback page
   in <root>/feedback/<student>/<assignment>/. Nothing waits for the end, so an interrupted run
   keeps everything graded before it stopped.
6. ``write_csv`` and ``summary``: <root>/grades/<assignment>.csv and a table in the terminal, with the
   submissions a person should look at.
"""

import csv
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from tqdm.auto import tqdm

from . import feedback, gradebook, grader, submissions
from .build import COURSE, HERE, REPO, SOLUTIONS
from .notebook import Release
from .sandbox import Limits

DEFAULT_ROOT = HERE


# ----------------------------------------------------------------------------- 1. releases

def releases(assignment, course=COURSE):
    folder = Path(course) / assignment
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        known = sorted(p.name for p in Path(course).iterdir() if p.is_dir()) if Path(course).is_dir() else []
        raise SystemExit(f"no released notebooks in {folder}; assignments: {', '.join(known) or 'none'}")
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
    return hmac.compare_digest(record["signature"], expected)


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
    """(record, state): state is "none" (no record), "changed" (a record the grader did not write as it
    is: it fails its signature, or belongs to another student or notebook) or "ok"."""
    path = result_path(root, student, assignment, notebook)
    if not path.exists() and not path.is_symlink():
        return None, "none"
    record = load_result(path)
    if not verified(record, key) or (record.get("student"), record.get("assignment"), record.get("notebook")) \
            != (student, assignment, notebook):
        return None, "changed"
    return record, "ok"


def is_current(record, job):
    """Whether a verified record answers `job` as it would be graded now (the rerun key)."""
    return (record.get("status") != "error"          # a failure of the grader is always graded again
            and not record.get("unsaved")            # so is a result whose files could not all be written
            and record.get("sha256") == hashlib.sha256(job["data"]).hexdigest()
            and record.get("grader") == grader.VERSION and record.get("seed") == str(job["seed"])
            and record.get("release_digest") == job["release_digest"])


def plan(root, submitted, rels, limits, protected, regrade=False, only=None, notify=None):
    """(jobs, skipped results): a job per (student, notebook) not graded yet in this exact form.
    Only a record whose signature verifies is skipped; `notify(line)` hears of every other record."""
    notify = notify or (lambda line: None)
    assignment = rels[0].assignment
    found = submissions.find(submitted, assignment, [r.notebook for r in rels])
    key = secret(root)
    jobs, skipped = [], []
    for student, notebooks in found.items():
        if only and student not in only:
            continue
        seed = grader.student_seed(key, assignment, student)
        for release in rels:
            path = notebooks[release.notebook]
            data = path.read_bytes() if path else b""
            job = {"student": student, "data": data, "release": release.to_dict(), "seed": seed,
                   "limits": limits, "protected": protected, "missing": path is None,
                   "release_digest": release_digest(release)}
            old, state = load_verified(root, key, student, assignment, release.notebook)
            if state == "changed":
                notify(f"record for {student} ({release.notebook}) was changed outside the grader; graded again")
            elif old and old.get("status") == "error" and not regrade:
                notify(f"{student} ({release.notebook}): the grader failed on it last time; graded again")
            if not regrade and old and is_current(old, job):
                skipped.append(old)
            else:
                jobs.append(job)
    return jobs, skipped


def run_job(job):
    """One job, in a worker: a missing notebook is a result too."""
    if job["missing"]:
        release = Release.from_dict(job["release"])
        result = grader.result_template(job["student"], release, b"", job["seed"])
        reason = f"no {release.notebook}.ipynb was submitted"
        result.update(status="missing", reason=reason,
                      functions=[grader._empty(n, p, reason) for n, p in release.graded])
    else:
        result = grader.grade_submission(job)
    result["release_digest"] = job["release_digest"]
    return result


# ----------------------------------------------------------------------------- 4. execute

def execute(jobs, workers=None, scheduler=None):
    """Yield results as they complete, from a process pool or a Dask cluster."""
    if not jobs:
        return
    if scheduler:
        from dask.distributed import Client, as_completed as dask_completed
        with Client(scheduler) as client:
            futures = [client.submit(run_job, job, pure=False, key=f"grade-{job['student']}-{i}")
                       for i, job in enumerate(jobs)]
            try:
                for future in dask_completed(futures):
                    yield future.result()
            finally:
                client.cancel(futures)
        return
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        for job in jobs:
            yield run_job(job)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_job, job) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for f in futures:
                f.cancel()


# ----------------------------------------------------------------------------- 5. store

def write_atomic(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def signed(result, key):
    """The record of `result` as it is written: plain JSON data, with its signature."""
    record = json.loads(json.dumps(result))
    record.pop("signature", None)
    record["signature"] = sign(record, key)
    return record


def store(root, gb, result, data=None, release=None, key=None):
    """`data` and `release`: the submitted bytes and the release, for the notebook the formgrader shows;
    `key`: the course's grading secret, which signs the record (default: the root's)."""
    a, s, nb = result["assignment"], result["student"], result["notebook"]
    write_atomic(Path(root) / "feedback" / s / a / f"{nb}.html", feedback.render(result))
    if release is not None:
        write_atomic(Path(root) / "autograded" / s / a / f"{nb}.ipynb",
                     gradebook.formgrader_notebook(data or b"", release))
    gradebook.record(gb, result)
    # the record last: a result on disk means everything about it was written
    record = signed(result, key or secret(root))
    write_atomic(result_path(root, s, a, nb), json.dumps(record, indent=1) + "\n")
    return record


# ----------------------------------------------------------------------------- 6. report

def class_results(root, assignment, rels, students, key=None):
    """{student: [result per notebook]} from the records on disk whose signature verifies."""
    key = key or secret(root)
    return {s: [r for r in (load_verified(root, key, s, assignment, rel.notebook)[0] for rel in rels) if r]
            for s in students}


def standing(rs):
    """A student's results over the assignment's notebooks: (score per function, total, status)."""
    scores = {fn["name"]: fn["score"] for r in rs for fn in r["functions"]}
    status = next((r["status"] for r in rs if r["status"] != "graded"), "graded") if rs else "missing"
    return scores, sum(r["score"] for r in rs), status


def write_csv(path, assignment, rels, results):
    names = [n for rel in rels for n, _ in rel.graded]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    max_score = sum(rel.max_score for rel in rels)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "assignment", "score", "max_score", "status", *names, "reason", "review"])
        for student, rs in sorted(results.items()):
            scores, total, status = standing(rs)
            w.writerow([student, assignment, f"{total:g}", f"{max_score:g}", status,
                        *[f"{scores.get(n, 0):g}" for n in names],
                        " | ".join(r["reason"] for r in rs if r["reason"]),
                        " | ".join(x for r in rs for x in r["review"])])
    return path


def summary(assignment, rels, results, out=None):
    out = out or sys.stdout
    names = [n for rel in rels for n, _ in rel.graded]
    max_score = sum(rel.max_score for rel in rels)
    width = max([7] + [len(s) for s in results])
    cols = [max(len(n), 5) for n in names]
    head = f"{'student':<{width}}  " + "  ".join(f"{n:>{c}}" for n, c in zip(names, cols)) + \
           f"  {'score':>11}  status"
    print(f"\n{assignment}: {len(results)} submission(s)", file=out)
    print(head, file=out)
    print("-" * len(head), file=out)
    for student, rs in sorted(results.items()):
        scores, total, status = standing(rs)
        print(f"{student:<{width}}  " + "  ".join(f"{scores.get(n, 0):>{c}g}" for n, c in zip(names, cols))
              + f"  {f'{total:g} / {max_score:g}':>11}  {status}", file=out)
    review = [(s, r) for s, rs in sorted(results.items()) for r in rs if r["review"] or r["status"] != "graded"]
    if review:
        print("\nFor a person to look at:", file=out)
        for s, r in review:
            first = r["reason"] or r["review"][0]
            more = len(r["review"]) - (0 if r["reason"] else 1)
            print(f"  {s}: {first[:150]}" + (f" (+{more} more in the CSV)" if more > 0 else ""), file=out)


# ----------------------------------------------------------------------------- the command

def protected_paths(root, submitted, db_url):
    """What a student's process may not read: the instructor's files, other submissions, the grades."""
    paths = [Path(root), Path(submitted), SOLUTIONS, HERE / "source"]
    if db_url.startswith("sqlite:///"):
        paths.append(Path(db_url[len("sqlite:///"):]))
    return [str(p.resolve()) for p in paths]


def grade(assignment, root=DEFAULT_ROOT, submitted=None, imports=(), db_url=None, workers=None,
          scheduler=None, regrade=False, only=None, limits=None, course=COURSE, progress=True, out=None):
    """Grade `assignment` for every student under `submitted`; returns {student: [results]}."""
    out = out or sys.stdout
    root = Path(root).resolve()
    submitted = Path(submitted).resolve() if submitted else root / "submitted"
    db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    rels = releases(assignment, course)
    for source in imports:
        written, problems = submissions.import_submissions(source, submitted, assignment, [r.notebook for r in rels])
        print(f"imported {sum(len(v) for v in written.values())} notebook(s) of {len(written)} student(s) "
              f"from {source} into {submitted}", file=out)
        for p in problems:
            print(f"  not imported: {p}", file=out)
    if not isinstance(limits, Limits):   # overrides of the assignment's own limits
        limits = grader.limits_for(rels[0].number, **(limits or {}))
    limits = limits.__dict__
    jobs, skipped = plan(root, submitted, rels, limits, protected_paths(root, submitted, db_url), regrade, only,
                         notify=lambda line: print(line, file=out))
    students = sorted({j["student"] for j in jobs} | {r["student"] for r in skipped})
    if not students:
        print(f"no submissions of {assignment} in {submitted} "
              f"(expected {submitted}/<student>/{assignment}/{rels[0].notebook}.ipynb)", file=out)
        return {}
    if skipped:
        print(f"{len(skipped)} notebook(s) already graded and unchanged: skipped (--regrade grades them again)",
              file=out)
    key = secret(root)
    gb = gradebook.open_gradebook(db_url)
    interrupted = False
    try:
        gradebook.ensure_assignment(gb, rels)
        gradebook.ensure_source(root, assignment)
        for r in skipped:   # a gradebook made afresh (or another database) still gets every grade
            gradebook.record(gb, r)
        bar = tqdm(total=len(jobs), desc=f"grading {assignment}", unit="notebook", disable=not progress,
                   file=sys.stderr)
        t0 = time.monotonic()
        try:
            sent = {(j["student"], j["release"]["notebook"]): j["data"] for j in jobs}
            by_name = {r.notebook: r for r in rels}
            for result in execute(jobs, workers, scheduler):
                store(root, gb, result, sent.get((result["student"], result["notebook"])),
                      by_name[result["notebook"]], key=key)
                bar.set_postfix_str(f"{result['student']}: {result['score']:g}/{result['max_score']:g}")
                bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
        elapsed = time.monotonic() - t0
    finally:
        gb.close()
    results = class_results(root, assignment, rels, students, key)
    csv_path = write_csv(root / "grades" / f"{assignment}.csv", assignment, rels, results)
    summary(assignment, rels, results, out)
    if jobs:
        print(f"\ngraded {len(jobs)} notebook(s) in {elapsed:.1f} s", file=out)
    print(f"grades: {csv_path}\nfeedback: {root / 'feedback'}/<student>/{assignment}/\n"
          f"gradebook: {db_url}", file=out)
    if interrupted:
        print("interrupted: everything graded so far is recorded; run the same command to finish", file=out)
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
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def main_from_args(args):
    limits = {"cell_seconds": args.cell_timeout, "notebook_seconds": args.timeout, "call_seconds": args.call_timeout,
              "memory_bytes": None if args.memory is None else int(args.memory * 2 ** 30)}
    try:
        grade(args.assignment, root=args.root, submitted=args.submitted, imports=args.imports, db_url=args.db_url,
              workers=args.jobs, scheduler=args.scheduler, regrade=args.regrade, only=args.only, limits=limits,
              progress=not args.quiet)
    except KeyboardInterrupt:
        return 130
    return 0


__all__ = ["grade", "releases", "plan", "execute", "store", "write_csv", "summary", "REPO"]
