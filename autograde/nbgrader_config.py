# nbgrader's configuration for the course. This folder is nbgrader's course root: `make course`
# (python -m autograde.build) writes the instructor notebooks to source/ and nbgrader writes the
# student versions to release/; both are rebuilt on demand and not committed.
import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
# the gradebook (nbgrader's default: gradebook.db in the course root, git-ignored) records the
# assignment's cells when generate_assignment runs
