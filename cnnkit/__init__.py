"""cnnkit: the operations, models and data of the CNN course.

Submodules:
    cnnkit.reference      NumPy reference implementations (the ground truth used for grading)
    cnnkit.torch          the same operations on PyTorch tensors, with hand-written backward passes
    cnnkit.architectures  parameter tables of LeNet-5, AlexNet, VGG16 and VGG19
    cnnkit.data           MNIST, Fashion-MNIST and CIFAR-10 loaders
"""

__version__ = "0.1.0"
