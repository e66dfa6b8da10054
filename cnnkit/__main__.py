"""`python -m cnnkit`: a short tour of cnnkit, computed live.

It prints the lectures' worked examples, the parameter tables of the course's networks, what the
data loaders find, and a quick timing of the reference convolution against PyTorch.
"""

import argparse
import sys

import numpy as np


def section(title):
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def worked_examples():
    from cnnkit import reference as R

    section("Worked examples from the lectures (cnnkit.reference)")
    print("convolve1d([1, 2, 3, 4], [5, 6, 7])          =", R.convolve1d([1, 2, 3, 4], [5, 6, 7]).astype(int).tolist())
    x, k = np.arange(9).reshape(3, 3), np.array([[0, 1], [2, 3]])
    print("correlate2d(arange(9).reshape(3, 3), [[0, 1], [2, 3]]) =", R.correlate2d(x, k).astype(int).tolist())
    pool_in = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)
    print("max_pool2d(4x4 example, 2, stride 2)      =", R.max_pool2d(pool_in[None, None], 2)[0, 0].astype(int).tolist())
    print("conv_output_size(227, 11, stride=4)       =", R.conv_output_size(227, 11, stride=4), "(AlexNet conv1)")


def tables():
    from cnnkit import architectures as A

    section("Parameter counts (cnnkit.architectures)")
    for name in ("lenet5", "alexnet", "vgg16", "vgg19"):
        rows = A.parameter_table(name)
        print(f"{name:<8} {sum(r['params'] for r in rows):>13,d} parameters, {len(rows)} rows")
    print()
    print(A.format_table(A.parameter_table("alexnet")))


def data():
    from cnnkit import data as D

    section("Data sets (cnnkit.data)")
    for name, load in (("MNIST", D.load_mnist), ("Fashion-MNIST", D.load_fashion_mnist), ("CIFAR-10", D.load_cifar10)):
        try:
            x, y = load("test", download=False)
        except FileNotFoundError:
            print(f"{name:<14} not downloaded yet (set CNNKIT_DATA, or call cnnkit.data.load_...() to fetch it)")
            continue
        print(f"{name:<14} test images {x.shape} {x.dtype}, labels {y.shape} {y.dtype}, classes {np.bincount(y).tolist()}")


def timing(quick):
    from cnnkit import benchmark as B

    section("conv2d + conv2d_backward: NumPy reference vs PyTorch on this CPU (cnnkit.benchmark)")
    # a quick tour times one small, one middle and one large layer
    layers = [lay for lay in B.LAYERS if lay[0] in ("lenet.c3", "cifar.wide", "vgg.conv3_2")] if quick else []
    layers = layers or B.LAYERS
    B.report(np.float32, repeat=1 if quick else 3, layers=layers)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m cnnkit", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full-benchmark", action="store_true", help="time every layer shape (about a minute)")
    args = ap.parse_args(argv)
    worked_examples()
    tables()
    data()
    timing(quick=not args.full_benchmark)
    return 0


if __name__ == "__main__":
    sys.exit(main())
