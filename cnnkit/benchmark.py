"""Time cnnkit's convolution against PyTorch's on the layer shapes of the course's networks.

    python bench/bench_conv.py            # float32, all shapes (same as python -m cnnkit.benchmark)
    python bench/bench_conv.py --quick    # one timing round per measurement

For each layer it times, in the same process and on the same data:
  - cnnkit.reference.conv2d + conv2d_backward (NumPy)   vs   torch.nn.functional.conv2d + autograd (CPU)
  - cnnkit.reference.conv2d_gemm (forward only)          vs   torch.nn.functional.conv2d (CPU)
and prints each ratio (ours / PyTorch; below 1 is faster) and their geometric mean. When a CUDA
device is present it also times cnnkit.torch.conv2d forward+backward against cuDNN.
"""

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from cnnkit import reference as R

# (name, x shape, w shape, stride, padding): the layers of LeNet-5, the CIFAR-10 CNN, AlexNet and VGG
LAYERS = [
    ("lenet.c1", (64, 1, 32, 32), (6, 1, 5, 5), 1, 0),
    ("lenet.c3", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0),
    ("lenet.c5", (64, 16, 5, 5), (120, 16, 5, 5), 1, 0),
    ("cifar.conv1", (64, 3, 32, 32), (6, 3, 5, 5), 1, 0),
    ("cifar.conv2", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0),
    ("cifar.wide", (64, 32, 16, 16), (64, 32, 3, 3), 1, 1),
    ("alexnet.conv1", (4, 3, 227, 227), (96, 3, 11, 11), 4, 0),
    ("alexnet.conv3", (4, 256, 13, 13), (384, 256, 3, 3), 1, 1),
    ("vgg.conv1_2", (2, 64, 112, 112), (64, 64, 3, 3), 1, 1),
    ("vgg.conv2_2", (4, 128, 56, 56), (128, 128, 3, 3), 1, 1),
    ("vgg.conv3_2", (8, 256, 28, 28), (256, 256, 3, 3), 1, 1),
    ("vgg.conv4_2", (8, 512, 14, 14), (512, 512, 3, 3), 1, 1),
]


def timeit(fn, repeat, min_time=0.05):
    """Median seconds per call over `repeat` rounds (each round loops until min_time has passed)."""
    fn()  # warm-up: allocations, thread pools, lazy initialisation
    times = []
    for _ in range(repeat):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            t = time.perf_counter() - t0
            if t >= min_time:
                break
        times.append(t / n)
    return statistics.median(times)


def geomean(values):
    return float(np.exp(np.mean(np.log(values))))


def cpu_rows(dtype, repeat, layers=LAYERS):
    """(name, x shape, w shape, ours fwd+bwd, torch fwd+bwd, ours gemm fwd, torch fwd) in seconds."""
    rng = np.random.default_rng(0)
    rows = []
    for name, xs, ws, s, p in layers:
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[0]).astype(dtype)
        y = R.conv2d(x, w, b, s, p)
        dout = rng.standard_normal(y.shape).astype(dtype)

        def ours():
            R.conv2d(x, w, b, s, p)
            R.conv2d_backward(dout, x, w, s, p)

        xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        dt = torch.from_numpy(dout)

        def theirs():
            out = F.conv2d(xt, wt, bt, s, p)
            torch.autograd.grad(out, (xt, wt, bt), dt)

        def ours_gemm():
            R.conv2d_gemm(x, w, b, s, p)

        def theirs_fwd():
            with torch.no_grad():
                F.conv2d(xt, wt, bt, s, p)

        t_ours, t_torch = timeit(ours, repeat), timeit(theirs, repeat)
        t_gemm, t_fwd = timeit(ours_gemm, repeat), timeit(theirs_fwd, repeat)
        rows.append((name, xs, ws, t_ours, t_torch, t_gemm, t_fwd))
    return rows


def gpu_rows(repeat, layers=LAYERS):
    """(name, cnnkit.torch fwd+bwd, cuDNN fwd+bwd) in seconds, float32 on the GPU."""
    from cnnkit import torch as ct

    dev = torch.device("cuda")
    rows = []
    for name, xs, ws, s, p in layers:
        x = torch.randn(xs, device=dev, requires_grad=True)
        w = torch.randn(ws, device=dev, requires_grad=True)
        b = torch.randn(ws[0], device=dev, requires_grad=True)
        dout = torch.randn_like(F.conv2d(x, w, b, s, p))

        def run(conv):
            def f():
                torch.autograd.grad(conv(x, w, b, s, p), (x, w, b), dout)
                torch.cuda.synchronize()
            return f

        rows.append((name, timeit(run(ct.conv2d), repeat), timeit(run(F.conv2d), repeat)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--repeat", type=int, default=5, help="timing rounds per measurement (median)")
    ap.add_argument("--quick", action="store_true", help="one round per measurement")
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat

    report(np.dtype(args.dtype), repeat)
    return 0


def report(dtype=np.float32, repeat=5, layers=LAYERS, gpu=True):
    """Print the timing table (and the GPU comparison when CUDA is present); return the geomean ratio."""
    dtype = np.dtype(dtype)
    print(f"cnnkit conv2d vs PyTorch {torch.__version__}, {dtype}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, numpy {np.__version__}")
    rows = cpu_rows(dtype, repeat, layers)
    head = f"{'layer':<14} {'x':>20} {'w':>18} {'fwd+bwd ms':>11} {'torch ms':>9} {'ratio':>6} {'gemm ms':>8} {'torch ms':>9} {'ratio':>6}"
    print(head)
    print("-" * len(head))
    for name, xs, ws, t_o, t_t, t_g, t_f in rows:
        print(f"{name:<14} {str(xs):>20} {str(ws):>18} {t_o * 1e3:>11.2f} {t_t * 1e3:>9.2f} {t_o / t_t:>6.2f} "
              f"{t_g * 1e3:>8.2f} {t_f * 1e3:>9.2f} {t_g / t_f:>6.2f}")
    gm = geomean([r[3] / r[4] for r in rows])
    gm_fwd = geomean([r[5] / r[6] for r in rows])
    print(f"geometric mean ours/PyTorch: conv2d+conv2d_backward {gm:.2f}, conv2d_gemm forward {gm_fwd:.2f}")

    if gpu and torch.cuda.is_available():
        print(f"\ncnnkit.torch.conv2d vs cuDNN on {torch.cuda.get_device_name()}, float32, forward+backward")
        print(f"{'layer':<14} {'cnnkit.torch':>12} {'cuDNN':>12} {'ratio':>6}")
        g = gpu_rows(repeat, layers)
        for name, t_o, t_c in g:
            print(f"{name:<14} {t_o * 1e3:>9.3f} ms {t_c * 1e3:>9.3f} ms {t_o / t_c:>6.2f}")
        print(f"geometric mean cnnkit.torch/cuDNN: {geomean([o / c for _, o, c in g]):.2f}")
    elif gpu:
        print("(no CUDA device: the cnnkit.torch vs cuDNN comparison runs only on a GPU)")
    return gm


if __name__ == "__main__":
    sys.exit(main())
