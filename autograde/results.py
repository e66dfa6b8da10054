"""What grading found: one graded function's result, one submission's result.

`grader.py` makes them, `grade.py` stores and reports them, `feedback.py` and `gradebook.py` show
them. A grading that failed is a result too: a missing or unreadable notebook, a worker that died,
a fault of the grader itself all give a `SubmissionResult` whose `status` says so, with a reason and
no points. On disk a result is the signed JSON record `to_dict` makes (grade.py signs it);
`from_dict` reads one back.
"""

from dataclasses import dataclass, field

@dataclass
class FunctionResult:
    """One graded function of a submission: its cases passed, what the student is told, its points."""
    name: str
    passed: int = 0                  # cases passed
    total: int = 0                   # cases run (0: none could be)
    messages: list = field(default_factory=list)    # the first failing cases' messages (at most 3)
    diagnoses: list = field(default_factory=list)   # the likely mistakes' codes, each once
    forbidden: list = field(default_factory=list)   # forbidden implementations it uses: no credit
    points: float = 0.0              # what it is worth
    score: float = 0.0               # what it earned

    @classmethod
    def empty(cls, name, points, why):
        """A function that could not be graded at all, and `why`."""
        return cls(name, messages=[why], points=points)

    def to_dict(self):
        return {"name": self.name, "passed": self.passed, "total": self.total, "messages": list(self.messages),
                "diagnoses": list(self.diagnoses), "forbidden": list(self.forbidden), "points": self.points,
                "score": self.score}

    @classmethod
    def from_dict(cls, d):
        return cls(d["name"], d.get("passed", 0), d.get("total", 0), list(d.get("messages", [])),
                   list(d.get("diagnoses", [])), list(d.get("forbidden", [])), d.get("points", 0.0),
                   d.get("score", 0.0))


@dataclass
class CellError:
    """A cell of the student's own that raised while graded."""
    cell: str
    error: str

    def to_dict(self):
        return {"cell": self.cell, "error": self.error}


@dataclass
class SubmissionResult:
    """One student's notebook of an assignment, graded (or not, and why)."""
    student: str
    assignment: str
    notebook: str
    # "graded"; "review" (no credit until a person looks: it may interfere with grading); "invalid" (not
    # a notebook that can be graded); "missing"; "failed" (its worker died); "error" (the grader failed:
    # graded again on the next run); "pending" (the run stopped before it)
    status: str = "graded"
    reason: str = ""                 # why it has no (or not all) credit, for the student
    score: float = 0.0
    max_score: float = 0.0
    functions: list = field(default_factory=list)     # [FunctionResult] in the release's order
    notes: list = field(default_factory=list)         # sentences for the student (edited cells, ...)
    review: list = field(default_factory=list)        # what a person should look at
    cell_errors: list = field(default_factory=list)   # [CellError]
    log: str = ""                    # the end of what the notebook printed
    sha256: str = ""                 # of the submitted bytes
    seed: str = ""                   # of the student's hidden cases
    grader: str = ""                 # the grader's version (grader.version()): part of the rerun key
    seconds: float = 0.0
    sandbox: str = None              # the isolation it was graded under
    release_digest: str = None       # of the release it was graded against
    would_score: float = None        # what it would score but for what may interfere with grading
    unsaved: list = None             # the files about it that could not be written

    def fail(self, status, reason, graded):
        """This result made a grading that did not happen: `status`, `reason`, and no points for any
        function of `graded` ([(name, points)])."""
        self.status, self.reason, self.score = status, reason, 0.0
        self.functions = [FunctionResult.empty(name, points, reason) for name, points in graded]
        return self

    def to_dict(self):
        """The record's fields (plain JSON data); the optional ones only when they are set."""
        d = {"student": self.student, "assignment": self.assignment, "notebook": self.notebook,
             "status": self.status, "reason": self.reason, "score": self.score, "max_score": self.max_score,
             "functions": [f.to_dict() for f in self.functions], "notes": list(self.notes),
             "review": list(self.review), "cell_errors": [c.to_dict() for c in self.cell_errors],
             "log": self.log, "sha256": self.sha256, "seed": self.seed, "grader": self.grader,
             "seconds": self.seconds, "sandbox": self.sandbox, "release_digest": self.release_digest}
        if self.would_score is not None:
            d["would_score"] = self.would_score
        if self.unsaved is not None:
            d["unsaved"] = list(self.unsaved)
        return d

    @classmethod
    def from_dict(cls, d):
        """The result a record holds (its signature, and any field it does not know, left out)."""
        return cls(d["student"], d["assignment"], d["notebook"], d.get("status", "graded"), d.get("reason", ""),
                   d.get("score", 0.0), d.get("max_score", 0.0),
                   [FunctionResult.from_dict(f) for f in d.get("functions", [])], list(d.get("notes", [])),
                   list(d.get("review", [])),
                   [CellError(c.get("cell"), c.get("error")) for c in d.get("cell_errors", [])],
                   d.get("log", ""), d.get("sha256", ""), d.get("seed", ""), d.get("grader", ""),
                   d.get("seconds", 0.0), d.get("sandbox"), d.get("release_digest"), d.get("would_score"),
                   None if d.get("unsaved") is None else list(d["unsaved"]))
