"""What the one checks suite (tests/test_checks.py) runs for each assignment: one module per assignment.

Each module `aNN.py` names:

    ASSIGNMENT            "01"
    CORRECT               {graded name: [implementations written differently, each passing every case]}
    WRONG                 [(graded name, implementation, mistake code, a phrase its message must hold)]

and may name:

    HIDDEN_SEEDS          seeds of the hidden cases the correct implementations run on (default (0, 1, 7))
    OTHERS                {graded name: {other graded name: object}}: what a check of that name needs too
    HOSTILE               {graded name: {kind: output(expected) -> hostile output}}, for the functions whose
                          result is not one array; every other function meets judging.HOSTILE
    FLOAT64_FOR_FLOAT32   graded names whose float32 hidden cases must fail a float64 result as wrong_dtype
    WRONG_HIDDEN          graded names whose WRONG entries must be named on hidden cases too
    SETUP                 SETUP(monkeypatch), run before each of the assignment's tests (06: a synthetic
                          test split in place of the real one)

Tests that only one assignment has stay in tests/test_checks_aNN.py.
"""

import importlib
import pkgutil

MODULES = [importlib.import_module(f"{__name__}.{m.name}") for m in sorted(pkgutil.iter_modules(__path__),
                                                                         key=lambda m: m.name)]
