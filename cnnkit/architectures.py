"""Parameter tables of the classic CNNs: LeNet-5, AlexNet, VGG16 and VGG19.

Each architecture is written down once, as a list of layer specs, and the table (output shape and
parameter count of every layer) is computed from it. Change the input shape and the spatial sizes,
and with them the first fully connected layer, follow.

    >>> rows = parameter_table("alexnet")
    >>> sum(r["params"] for r in rows)
    62378344
    >>> print(format_table(rows))          # doctest: +SKIP

The counts:
    conv  C_in -> C_out, k x k kernel:  weights C_out * C_in * k * k, biases C_out
    FC    n_in -> n_out:                weights n_out * n_in,         biases n_out
    pool, input:                        no parameters
and a conv or pool maps a side of n pixels to floor((n + 2p - d(k-1) - 1) / s) + 1.
"""

from collections import namedtuple

from . import _args

__all__ = ["ARCHITECTURES", "INPUT_SHAPES", "parameter_table", "format_table", "count_parameters"]

Layer = namedtuple("Layer", "kind name size kernel stride padding")
Layer.__doc__ = """One layer of an architecture.

kind     "conv", "maxpool", "avgpool" or "fc"
name     the row label in the table
size     output channels (conv) or units (fc); None for pools
kernel, stride, padding   square kernel geometry (conv and pools); None for fc
"""


def conv(name, channels, kernel, stride=1, padding=0):
    return Layer("conv", name, channels, kernel, stride, padding)


def maxpool(name, kernel, stride):
    return Layer("maxpool", name, None, kernel, stride, 0)


def avgpool(name, kernel, stride):
    return Layer("avgpool", name, None, kernel, stride, 0)


def fc(name, units):
    return Layer("fc", name, units, None, None, None)


# LeNet-5 (LeCun et al., 1998) with the paper's layer names. The course's version has plain
# average pooling (no trainable coefficient and bias per map) and C3 connected to all 6 maps of S2.
LENET5 = [
    conv("C1", 6, 5),
    avgpool("S2", 2, 2),
    conv("C3", 16, 5),
    avgpool("S4", 2, 2),
    conv("C5", 120, 5),
    fc("F6", 84),
    fc("output", 10),
]

# AlexNet (Krizhevsky et al., 2012) as a single stream: conv2, conv4 and conv5 see all channels of
# the layer below instead of half of them (the two-GPU split), which gives the commonly quoted
# 62,378,344 parameters. Local response normalisation has no parameters and no effect on shapes.
ALEXNET = [
    conv("conv1", 96, 11, stride=4),
    maxpool("pool1", 3, 2),
    conv("conv2", 256, 5, padding=2),
    maxpool("pool2", 3, 2),
    conv("conv3", 384, 3, padding=1),
    conv("conv4", 384, 3, padding=1),
    conv("conv5", 256, 3, padding=1),
    maxpool("pool5", 3, 2),
    fc("fc6", 4096),
    fc("fc7", 4096),
    fc("fc8", 1000),
]


def vgg(blocks):
    """VGG (Simonyan & Zisserman, 2014) from the number of output channels of each conv per block.

    Every conv is 3x3 with padding 1 (keeps the size), every block ends with a 2x2 max pool of
    stride 2 (halves it), then three FC layers.
    """
    layers = []
    for b, widths in enumerate(blocks, start=1):
        for i, c in enumerate(widths, start=1):
            layers.append(conv(f"conv{b}_{i}", c, 3, padding=1))
        layers.append(maxpool(f"pool{b}", 2, 2))
    return layers + [fc("fc6", 4096), fc("fc7", 4096), fc("fc8", 1000)]


# Configurations D and E of the paper.
VGG16 = vgg([[64] * 2, [128] * 2, [256] * 3, [512] * 3, [512] * 3])
VGG19 = vgg([[64] * 2, [128] * 2, [256] * 4, [512] * 4, [512] * 4])

ARCHITECTURES = {"lenet5": LENET5, "alexnet": ALEXNET, "vgg16": VGG16, "vgg19": VGG19}

# The inputs the published totals refer to. AlexNet's paper says 224, but only 227 makes
# conv1 (11x11, stride 4, no padding) produce the 55x55 maps it reports.
INPUT_SHAPES = {
    "lenet5": (1, 32, 32),
    "alexnet": (3, 227, 227),
    "vgg16": (3, 224, 224),
    "vgg19": (3, 224, 224),
}


def _key(name):
    """'LeNet-5', 'VGG_16', 'alexnet' -> the key in ARCHITECTURES."""
    fn = "parameter_table"
    if not isinstance(name, str):
        _args.fail(fn, f"name must be a string, one of {sorted(ARCHITECTURES)}, got {name!r}")
    key = name.lower().replace("-", "").replace("_", "").replace(" ", "")
    if key not in ARCHITECTURES:
        _args.fail(fn, f"unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}")
    return key


def _input_shape(shape):
    fn = "parameter_table"
    try:
        out = tuple(shape)
    except TypeError:
        out = None
    if out is None or len(out) != 3 or not all(_args.is_int(v) and v >= 1 for v in out):
        _args.fail(fn, f"input_shape must be 3 positive ints (C, H, W), got {shape!r}")
    return tuple(int(v) for v in out)


def _row(name, shape, weights=0, biases=0):
    return {"layer": name, "output_shape": shape, "weights": weights, "biases": biases,
            "params": weights + biases}


def parameter_table(name, input_shape=None):
    """The layers of architecture `name` with their output shapes and parameter counts.

    name         "lenet5", "alexnet", "vgg16" or "vgg19" (case, "-" and "_" are ignored)
    input_shape  (C, H, W); default the one of the published total (see INPUT_SHAPES)

    Returns one dict per layer, starting with the input: "layer", "output_shape" (channels-first
    tuple; (units,) for FC layers), "weights", "biases", "params" (= weights + biases).
    Raises ValueError for an unknown name, a malformed input shape, or an input too small for
    some layer (the message names that layer and the shape it would get).
    """
    key = _key(name)
    shape = INPUT_SHAPES[key] if input_shape is None else _input_shape(input_shape)
    rows = [_row("input", shape)]
    for layer in ARCHITECTURES[key]:
        if layer.kind == "fc":
            # A conv or pool in front is flattened: every value of the volume feeds every unit.
            n_in = 1
            for v in shape:
                n_in *= v
            shape = (layer.size,)
            rows.append(_row(layer.name, shape, layer.size * n_in, layer.size))
            continue
        c, h, w = shape
        k, s, p = layer.kernel, layer.stride, layer.padding
        h_out = _args.output_size(h, k, s, (p, p), 1)
        w_out = _args.output_size(w, k, s, (p, p), 1)
        if h_out < 1 or w_out < 1:
            _args.fail("parameter_table",
                       f"{key}: input shape {tuple(rows[0]['output_shape'])} is too small: "
                       f"{layer.name} ({layer.kind} {k}x{k}, stride {s}, padding {p}) does not "
                       f"fit its input of shape {shape}")
        if layer.kind == "conv":
            shape = (layer.size, h_out, w_out)
            rows.append(_row(layer.name, shape, layer.size * c * k * k, layer.size))
        else:
            shape = (c, h_out, w_out)
            rows.append(_row(layer.name, shape))
    return rows


def format_table(rows):
    """The rows of `parameter_table` as aligned text, counts with thousands separators, and a total."""
    header = ("layer", "output shape", "weights", "biases", "params")
    lines = [(r["layer"], " x ".join(str(v) for v in r["output_shape"]),
              f"{r['weights']:,}", f"{r['biases']:,}", f"{r['params']:,}") for r in rows]
    total = ("total", "", f"{sum(r['weights'] for r in rows):,}",
             f"{sum(r['biases'] for r in rows):,}", f"{sum(r['params'] for r in rows):,}")
    widths = [max(len(line[i]) for line in [header, *lines, total]) for i in range(len(header))]

    def fmt(line):
        # Names and shapes read left to right, numbers line up on the right.
        return "  ".join(v.ljust(n) if i < 2 else v.rjust(n)
                         for i, (v, n) in enumerate(zip(line, widths))).rstrip()

    rule = "-" * len(fmt(header))
    return "\n".join([fmt(header), rule, *map(fmt, lines), rule, fmt(total)])


def count_parameters(model, trainable_only=False):
    """The number of parameters (sum of numel) of a torch.nn.Module.

    Shared parameters count once (as in `model.parameters()`). With `trainable_only`, only the
    ones with requires_grad. Works on models built on the "meta" device, which hold no memory.
    """
    import torch  # only here, so that the tables need no torch

    if not isinstance(model, torch.nn.Module):
        _args.fail("count_parameters", f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
