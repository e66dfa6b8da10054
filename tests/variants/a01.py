"""Assignment 01 in the one checks suite: its correct and its wrong implementations."""

from test_checks_a01 import LOOPS, SCIPY, WRONG  # noqa: F401  (moved here by the assignment's own tests)

ASSIGNMENT = "01"
CORRECT = {name: [LOOPS[name], SCIPY[name]] for name in LOOPS}
FLOAT64_FOR_FLOAT32 = tuple(LOOPS)
