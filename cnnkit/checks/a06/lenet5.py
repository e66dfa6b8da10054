"""LeNet5(): LeNet-5 for 28x28 MNIST digits (padding 2 in the first convolution), 61,706 parameters,
logits (N, 10); the activations and pooling are the student's choice (tanh and average pooling as in
1998, or ReLU and max pooling).

Visible: a model case (networks.py). Hidden: a model case, and the training case (grading.py): 5
epochs on MNIST under the grader's recipe must reach 98.5% on the test set. The reference is
cnnkit.torch.LeNet5(padding=2, backend="torch").
"""

from ..core import Graded, register
from . import ASSIGNMENT
from .judging import CourseReference, guarded, no_mistakes
from .networks import Network, hidden_cases, network_judge, visible_cases

# a 5x5 convolution over 5x5 maps (C5) is the same layer as a fully connected one over the 400
# flattened values: the judge counts either as the other
LENET5 = Network(
    "LeNet5", "mnist", 61_706,
    layers=(("the first convolution", (6, 1, 5, 5)), ("the second convolution", (16, 6, 5, 5)),
            ("the third convolution (C5)", (120, 16, 5, 5)), ("the fully connected layer 120 -> 84", (84, 120)),
            ("the output layer 84 -> 10", (10, 84))),
    fully_connected="layers from C5 to the output",
    flatten_note=" (with padding=2 in the first convolution; without it they are 16 x 4 x 4 = 256)")

register(Graded("LeNet5", ASSIGNMENT, visible_cases(LENET5), hidden_cases(LENET5),
                CourseReference("LeNet5", padding=2, backend="torch"), no_mistakes, argnames=(),
                judge=guarded(network_judge(LENET5))))
