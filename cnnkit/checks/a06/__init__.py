"""Assignment 06: training CNNs with PyTorch — the models, the training loop, evaluation, and the
accuracy a trained LeNet-5 and CifarNet reach on the real test sets.

Graded: MLP(in_features, hidden, classes), train_one_epoch(model, loader, optimizer, device),
evaluate(model, loader, device) -> accuracy, LeNet5(), CifarNet().

None of these is a function of arrays, so every case is a *probe* (`Case.probe`): a function of
`cnnkit.checks.probes06` that the grader runs in the student's process, which uses the student's object
its own way and returns plain numbers and arrays; the judges here compare those with what the
reference gives, in a process that never ran student code. The probes live in a module of their own,
which holds no answer, because it is the one module of the checks (with `inputs`) that the grading
sandbox leaves importable; the training recipe they train by is `cnnkit.torch.recipe`, which the
sandbox leaves importable too. The references (`cnnkit.torch`'s MLP, train_one_epoch, evaluate,
LeNet5 and CifarNet), the judges and the mistakes they recognise are out of the student's reach.

    mlp.py, train_one_epoch.py, evaluate.py, lenet5.py, cifarnet.py
                  one module per graded name: its cases, its judge and its named mistakes, registered
    networks.py   judging the model classes (what MLP, LeNet5 and CifarNet share)
    grading.py    what only the grader needs: the training cases of the networks, the accuracy they
                  must reach, the real test split they are measured on
    judging.py    reading a probe's record, writing a verdict, the references in cnnkit.torch

The batches the probes' loaders hand out are a tensor subclass that stays marked until
`.to(device)`, and the model's output is marked as being on the device until `.cpu()` brings it
back: images that reach the model unmoved, and labels that meet the model's output on the device
unmoved (in the loss, or compared with the predictions), are noticed even on a machine without a GPU;
labels compared on the CPU with predictions brought back there are fine.

torch is imported only when a probe or judge runs, or a training case is made (its recipe is in
`cnnkit.torch`), so the other assignments' checks never pay for it.
"""

from ... import course

ASSIGNMENT = "06"
FUNCTIONS = course.assignment(ASSIGNMENT).functions   # the course table decides what is graded

# each module registers its graded name (with ASSIGNMENT, above)
from . import mlp, train_one_epoch, evaluate, lenet5, cifarnet  # noqa: E402,F401
