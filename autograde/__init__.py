"""Course tooling: builds the student notebooks in course/ from the instructor sources in solutions/."""
