"""CifarNet(): the small CIFAR-10 network of PyTorch's tutorial (conv 3->6 k5, ReLU, max pool 2, conv
6->16 k5, ReLU, max pool 2, fully connected 400 -> 120 -> 84 -> 10), 62,006 parameters, logits (N, 10).

Visible: a model case (networks.py). Hidden: a model case, and the training case (grading.py): 6
epochs on CIFAR-10 under the grader's recipe must reach 60% on the test set. The reference is
cnnkit.torch.CifarNet(backend="torch").
"""

from ..core import Graded, register
from . import ASSIGNMENT
from .judging import CourseReference, guarded, no_mistakes
from .networks import Network, hidden_cases, network_judge, visible_cases

CIFARNET = Network(
    "CifarNet", "cifar10", 62_006,
    layers=(("the first convolution", (6, 3, 5, 5)), ("the second convolution", (16, 6, 5, 5)),
            ("the fully connected layer 400 -> 120", (120, 400)),
            ("the fully connected layer 120 -> 84", (84, 120)), ("the output layer 84 -> 10", (10, 84))),
    fully_connected="fully connected layers",
    flatten_note=" (32 -> 28 -> 14 -> 10 -> 5)")

register(Graded("CifarNet", ASSIGNMENT, visible_cases(CIFARNET), hidden_cases(CIFARNET),
                CourseReference("CifarNet", backend="torch"), no_mistakes, argnames=(),
                judge=guarded(network_judge(CIFARNET))))
