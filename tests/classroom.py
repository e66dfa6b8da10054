"""What a graded class left in its course root, read the way a TA's scripts would: the CSV and the gradebook."""

import csv
import sqlite3


def csv_rows(root, assignment):
    """{student id: the CSV row} of grades/<assignment>.csv."""
    with open(root / "grades" / f"{assignment}.csv", newline="", encoding="utf-8") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def gradebook_scores(root):
    """{student id: the sum of their automatic grades} in nbgrader's gradebook."""
    with sqlite3.connect(root / "gradebook.db") as db:
        return dict(db.execute("select s.student_id, sum(g.auto_score) from grade g "
                               "join submitted_notebook n on g.notebook_id = n.id "
                               "join submitted_assignment s on n.assignment_id = s.id group by s.student_id"))
