# The course's everyday commands. `make run` sets up and runs the main job (build the course, grade the
# example class); `make test` runs the tests.
PYTHON ?= python3
TORCH_VERSION ?= 2.13.0
# the real data sets: ../shared/data beside the repository when present, else cnnkit's default
CNNKIT_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export CNNKIT_DATA

.PHONY: setup run demo tour test test-fast bench course grade lab formgrader

setup:
	$(PYTHON) -m pip install --quiet torch==$(TORCH_VERSION)
	$(PYTHON) -m pip install --quiet -e ".[dev]"

run: setup demo

# build course/ from solutions/, grade the bundled example class, print the grade table
demo:
	$(PYTHON) -m autograde demo

# the package's tour: worked examples, parameter tables, data, a timing
tour:
	$(PYTHON) -m cnnkit

# grade one assignment for every student in autograde/submitted/: make grade ASSIGNMENT=01-convolution
ASSIGNMENT ?= 01-convolution
grade:
	$(PYTHON) -m autograde grade $(ASSIGNMENT)

test:
	$(PYTHON) -m pytest -n 2 --dist loadfile

test-fast:
	$(PYTHON) -m pytest -n 2 --dist loadfile -m "not slow and not realdata"

bench:
	$(PYTHON) bench/bench_conv.py

# the student notebooks in course/ from the instructor sources in solutions/ (commit the result)
course:
	$(PYTHON) -m autograde.build

# students: JupyterLab on the course's notebooks (= jupyter lab course/); open an assignment's folder
lab:
	$(PYTHON) -m jupyterlab course

# teaching assistants: nbgrader's formgrader (JupyterLab's Nbgrader menu) on a graded course root,
# autograde/ by default; the example class of `make demo`: make formgrader COURSE_ROOT=build/example-class
COURSE_ROOT ?= autograde
formgrader:
	cd "$(COURSE_ROOT)" && $(PYTHON) -m jupyterlab --CourseDirectory.root="$(abspath $(COURSE_ROOT))" \
		--CourseDirectory.course_id=cnn-course
