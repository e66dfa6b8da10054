"""The course in one table: every assignment, every graded operation, and where each one lives.

For a graded name, its homes are one hop away:

    reference   the answer the grader compares with: cnnkit.reference (NumPy) or, in 06, cnnkit.torch
    twin        the same operation in the other backend (cnnkit.torch, with its backward written by hand),
                when there is one
    checks      cnnkit.checks.aNN.<name>: its visible and hidden cases, its judge and its named mistakes
    notebook    solutions/<folder>/<notebook>.py (the instructor's source) and course/<folder>/<notebook>.ipynb
    tests       the tests of the reference and the twin against PyTorch, and of the checks

    python -m cnnkit.course            prints the table
    python -m cnnkit.course 04         one assignment

`tests/test_course_table.py` resolves every entry, and the README's package table is this module's
`package_table()`. A new assignment starts here.
"""

import sys
from dataclasses import dataclass, field

__all__ = ["Operation", "Assignment", "ASSIGNMENTS", "PACKAGE", "assignment", "operation", "find",
           "package_table", "course_table"]


@dataclass(frozen=True)
class Operation:
    """A graded name and the homes that are not implied by its assignment."""
    name: str
    reference: str                     # dotted path of the answer
    twin: str | None = None            # dotted path of the other backend's operation
    tests: tuple = ()                  # test files of the reference and the twin


@dataclass(frozen=True)
class Assignment:
    number: str                        # "01"
    folder: str                        # "01-convolution"
    notebook: str                      # "convolution": solutions/<folder>/<notebook>.py
    topic: str
    operations: tuple = field(default_factory=tuple)

    @property
    def functions(self):
        """The graded names, in the notebook's order."""
        return tuple(op.name for op in self.operations)

    @property
    def checks(self):
        """The checks package of this assignment."""
        return f"cnnkit.checks.a{self.number}"

    def checks_module(self, name):
        """The module of the checks of one graded name (classes by their lower-case name)."""
        return f"{self.checks}.{name.lower()}"

    @property
    def solution(self):
        return f"solutions/{self.folder}/{self.notebook}.py"

    @property
    def student(self):
        return f"course/{self.folder}/{self.notebook}.ipynb"

    @property
    def checks_tests(self):
        """The tests of this assignment's checks: its own, and its entry in the one checks suite."""
        return (f"tests/test_checks_a{self.number}.py", f"tests/variants/a{self.number}.py")


def _ref(name, module="cnnkit.reference"):
    return f"{module}.{name}"


_CONV_TESTS = ("tests/test_reference_conv.py", "tests/test_torch_ops.py")
_POOL_TESTS = ("tests/test_reference_pool.py", "tests/test_torch_ops.py")
_LAYER_TESTS = ("tests/test_reference_layers.py", "tests/test_torch_ops.py")
_GRADED_TESTS = ("tests/test_reference_graded.py",)

ASSIGNMENTS = (
    Assignment("01", "01-convolution", "convolution",
               "1-D and 2-D convolution and cross-correlation, channels, 1×1 convolution", (
                   Operation("convolve1d", _ref("convolve1d"), tests=("tests/test_reference_conv.py",)),
                   Operation("correlate1d", _ref("correlate1d"), tests=("tests/test_reference_conv.py",)),
                   Operation("correlate2d", _ref("correlate2d"), tests=("tests/test_reference_conv.py",)),
                   Operation("convolve2d", _ref("convolve2d"), tests=("tests/test_reference_conv.py",)),
                   Operation("conv2d", _ref("conv2d"), "cnnkit.torch.conv2d", _CONV_TESTS),
               )),
    Assignment("02", "02-padding-stride", "padding_stride",
               "padding, stride, dilation, output size, receptive fields", (
                   Operation("pad2d", _ref("pad2d"), tests=("tests/test_reference_conv.py",)),
                   Operation("conv_output_size", _ref("conv_output_size"), tests=("tests/test_reference_conv.py",)),
                   Operation("conv2d", _ref("conv2d"), "cnnkit.torch.conv2d", _CONV_TESTS),
               )),
    Assignment("03", "03-pooling", "pooling",
               "max, average, global average and stochastic pooling; shift invariance", (
                   Operation("max_pool2d", _ref("max_pool2d"), "cnnkit.torch.max_pool2d", _POOL_TESTS),
                   Operation("max_pool2d_with_indices", _ref("max_pool2d_with_indices"), "cnnkit.torch.max_pool2d",
                             _POOL_TESTS + _GRADED_TESTS),
                   Operation("avg_pool2d", _ref("avg_pool2d"), "cnnkit.torch.avg_pool2d", _POOL_TESTS),
                   Operation("global_avg_pool2d", _ref("global_avg_pool2d"), "cnnkit.torch.global_avg_pool2d",
                             _POOL_TESTS),
                   Operation("stochastic_pool2d", _ref("stochastic_pool2d"), "cnnkit.torch.stochastic_pool2d",
                             _POOL_TESTS),
               )),
    Assignment("04", "04-backprop", "backprop",
               "backpropagation through the lectures' sigmoid CNN, gradient checking, training", (
                   Operation("sigmoid", _ref("sigmoid"), "cnnkit.torch.sigmoid", _LAYER_TESTS),
                   Operation("sigmoid_backward", _ref("sigmoid_backward"), "cnnkit.torch.sigmoid", _LAYER_TESTS),
                   Operation("linear_backward", _ref("linear_backward"), "cnnkit.torch.linear", _LAYER_TESTS),
                   Operation("avg_pool2d_backward", _ref("avg_pool2d_backward"), "cnnkit.torch.avg_pool2d",
                             _POOL_TESTS),
                   Operation("max_pool2d_backward", _ref("max_pool2d_backward"), "cnnkit.torch.max_pool2d",
                             _POOL_TESTS),
                   Operation("conv2d_backward", _ref("conv2d_backward"), "cnnkit.torch.conv2d", _CONV_TESTS),
                   Operation("sigmoid_cnn_gradients", _ref("sigmoid_cnn_gradients"), tests=_GRADED_TESTS),
                   Operation("numerical_gradient", _ref("numerical_gradient"), tests=("tests/test_reference_layers.py",)),
               )),
    Assignment("05", "05-gemm", "gemm",
               "convolution as matrix multiplication: Toeplitz matrices, im2col, GEMM, memory and speed", (
                   Operation("toeplitz_1d", _ref("toeplitz_1d"), tests=_GRADED_TESTS),
                   Operation("toeplitz_matrix", _ref("toeplitz_matrix"), "cnnkit.torch.toeplitz_matrix", _CONV_TESTS),
                   Operation("im2col", _ref("im2col"), "cnnkit.torch.im2col", _CONV_TESTS),
                   Operation("conv2d_gemm", _ref("conv2d_gemm"), "cnnkit.torch.conv2d_gemm", _CONV_TESTS),
               )),
    Assignment("06", "06-training", "training",
               "training CNNs with PyTorch: data loaders, the training loop, LeNet-5 on MNIST, CifarNet vs an MLP "
               "on CIFAR-10", (
                   Operation("MLP", _ref("MLP", "cnnkit.torch"), tests=("tests/test_torch_models.py",)),
                   Operation("train_one_epoch", _ref("train_one_epoch", "cnnkit.torch"),
                             tests=("tests/test_torch_training.py",)),
                   Operation("evaluate", _ref("evaluate", "cnnkit.torch"), tests=("tests/test_torch_training.py",)),
                   Operation("LeNet5", _ref("LeNet5", "cnnkit.torch"), tests=("tests/test_torch_models.py",)),
                   Operation("CifarNet", _ref("CifarNet", "cnnkit.torch"), tests=("tests/test_torch_models.py",)),
               )),
)

# the package's modules, as the README lists them
PACKAGE = (
    ("cnnkit.reference", "NumPy reference implementations, the ground truth the course grades against: 1-D/2-D "
                         "convolution and cross-correlation, `conv1d`/`conv2d` with stride, padding, dilation and "
                         "groups and their backward passes, pooling (max, average, global, stochastic) and its "
                         "backward, activations, losses, linear layers, batch and local response normalisation, "
                         "im2col/col2im, `conv2d_gemm`, the Toeplitz matrices, the lectures' sigmoid CNN and its "
                         "gradients, locally connected, tiled and FFT convolution, separable kernels, Gabor filters, "
                         "numerical gradients"),
    ("cnnkit.torch", "the same operations on PyTorch tensors (CPU or CUDA) with hand-written backward passes; "
                     "`Conv2d`, `MaxPool2d`, `AvgPool2d`, `Linear`; the models `LeNet5`, `CifarNet`, `MLP`, "
                     "`AlexNet`, `VGG16`, `VGG19` with a `backend=\"cnnkit\"` / `\"torch\"` choice; "
                     "`train_one_epoch`, `evaluate` and the course's training recipe; `device()`"),
    ("cnnkit.checks", "the checks that grade students: `for_assignment(\"01\").check(name, fn)` in a notebook, "
                      "`cases` / `expected` / `judge` for the grader; one package per assignment, one module per "
                      "graded function (its visible and hidden cases, its judge, its named mistakes)"),
    ("cnnkit.course", "this table: every assignment and graded operation with its reference, twin, checks, "
                      "notebook and tests (`python -m cnnkit.course`)"),
    ("cnnkit.architectures", "per-layer parameter tables that reproduce the lectures' numbers, `count_parameters`"),
    ("cnnkit.data", "the data loaders and PyTorch helpers that keep a data set on the GPU when one is present"),
    ("cnnkit.plot", "the course's figures: images, kernels and feature maps, sliding windows, training curves"),
    ("cnnkit.benchmark", "the convolution timing behind `bench/bench_conv.py`"),
)


def assignment(number):
    """The Assignment numbered `number` ("01" or 1), or its folder name ("01-convolution")."""
    key = str(number)
    for a in ASSIGNMENTS:
        if key in (a.number, a.folder) or key.zfill(2) == a.number:
            return a
    raise ValueError(f"unknown assignment {number!r}; assignments: {[a.number for a in ASSIGNMENTS]}")


def operation(name, number):
    """The Operation `name` of one assignment."""
    a = assignment(number)
    for op in a.operations:
        if op.name == name:
            return op
    raise ValueError(f"assignment {a.number} grades no {name!r}; it grades {list(a.functions)}")


def find(name):
    """[(Assignment, Operation)] for every assignment that grades `name` (conv2d is graded twice)."""
    return [(a, op) for a in ASSIGNMENTS for op in a.operations if op.name == name]


def package_table():
    """The README's "What is in the package" table, in Markdown."""
    rows = ["| module | what it holds |", "| --- | --- |"]
    rows += [f"| `{module}` | {text} |" for module, text in PACKAGE]
    return "\n".join(rows)


def course_table(only=None):
    """Every graded operation with its homes, in Markdown (one assignment with `only`)."""
    rows = ["| assignment | graded | reference | twin | checks | notebook | tests |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for a in ASSIGNMENTS if only is None else [assignment(only)]:
        for op in a.operations:
            tests = ", ".join(f"`{t}`" for t in op.tests + a.checks_tests)
            rows.append(f"| {a.folder} | `{op.name}` | `{op.reference}` | {f'`{op.twin}`' if op.twin else '—'} "
                        f"| `{a.checks_module(op.name)}` | `{a.solution}` | {tests} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(course_table(sys.argv[1] if len(sys.argv) > 1 else None))
