"""Course tooling: builds the student notebooks in course/ from solutions/ and grades a class.

    python -m autograde build     course/ from the instructor sources (build.py)
    python -m autograde grade     every submission of an assignment (grade.py; one submission: grader.py)
    python -m autograde demo      the main job: build, then grade the bundled example class (demo.py)
"""
