"""Time cnnkit.reference.conv2d (+ backward, + conv2d_gemm) against PyTorch on the course's layer shapes.

    python bench/bench_conv.py [--quick] [--dtype float64] [--repeat N]

Prints each layer's ratio ours / PyTorch and their geometric mean; on a machine with CUDA it also
times cnnkit.torch.conv2d against cuDNN. The timing code is cnnkit.benchmark.
"""

import sys

from cnnkit.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
