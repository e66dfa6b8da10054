"""The one error the course's tooling raises for its user to act on.

Library code raises `CourseError` (no released notebooks for an assignment, a release without
graded cells, nothing to import at a path); only the command line (`python -m autograde`,
`python -m autograde.build`) turns it into its message on stderr and exit status 1.
"""


class CourseError(Exception):
    """Something about the course's files that stops a command; the message says what, to its user."""
