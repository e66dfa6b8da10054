"""Parameter tables of LeNet-5, AlexNet, VGG16 and VGG19, checked against the published numbers
and against the same networks built from torch.nn layers."""

import pytest
import torch
from torch import nn

from cnnkit.architectures import count_parameters, format_table, parameter_table

TOTALS = {"lenet5": 61_706, "alexnet": 62_378_344, "vgg16": 138_357_544, "vgg19": 143_667_240}

# (layer, output_shape, params) as published for the single-stream AlexNet on 227x227x3.
ALEXNET = [
    ("input", (3, 227, 227), 0),
    ("conv1", (96, 55, 55), 34_944),
    ("pool1", (96, 27, 27), 0),
    ("conv2", (256, 27, 27), 614_656),
    ("pool2", (256, 13, 13), 0),
    ("conv3", (384, 13, 13), 885_120),
    ("conv4", (384, 13, 13), 1_327_488),
    ("conv5", (256, 13, 13), 884_992),
    ("pool5", (256, 6, 6), 0),
    ("fc6", (4096,), 37_752_832),
    ("fc7", (4096,), 16_781_312),
    ("fc8", (1000,), 4_097_000),
]

LENET5 = [
    ("input", (1, 32, 32), 0),
    ("C1", (6, 28, 28), 156),
    ("S2", (6, 14, 14), 0),
    ("C3", (16, 10, 10), 2_416),
    ("S4", (16, 5, 5), 0),
    ("C5", (120, 1, 1), 48_120),
    ("F6", (84,), 10_164),
    ("output", (10,), 850),
]


def triples(rows):
    return [(r["layer"], r["output_shape"], r["params"]) for r in rows]


def total(rows):
    return sum(r["params"] for r in rows)


# --- torch.nn versions, written out independently of cnnkit.architectures -----------------------
# Each is a list of (row name, module); activations are left out since they change no shape.

def torch_lenet5():
    return [("C1", nn.Conv2d(1, 6, 5)), ("S2", nn.AvgPool2d(2)),
            ("C3", nn.Conv2d(6, 16, 5)), ("S4", nn.AvgPool2d(2)),
            ("C5", nn.Conv2d(16, 120, 5)), ("flatten", nn.Flatten()),
            ("F6", nn.Linear(120, 84)), ("output", nn.Linear(84, 10))]


def torch_alexnet(fc6_in=256 * 6 * 6):
    return [("conv1", nn.Conv2d(3, 96, 11, stride=4)), ("pool1", nn.MaxPool2d(3, 2)),
            ("conv2", nn.Conv2d(96, 256, 5, padding=2)), ("pool2", nn.MaxPool2d(3, 2)),
            ("conv3", nn.Conv2d(256, 384, 3, padding=1)),
            ("conv4", nn.Conv2d(384, 384, 3, padding=1)),
            ("conv5", nn.Conv2d(384, 256, 3, padding=1)), ("pool5", nn.MaxPool2d(3, 2)),
            ("flatten", nn.Flatten()), ("fc6", nn.Linear(fc6_in, 4096)),
            ("fc7", nn.Linear(4096, 4096)), ("fc8", nn.Linear(4096, 1000))]


def torch_vgg(convs_per_block):
    layers, c_in = [], 3
    for b, (n, c) in enumerate(zip(convs_per_block, [64, 128, 256, 512, 512]), start=1):
        for i in range(1, n + 1):
            layers.append((f"conv{b}_{i}", nn.Conv2d(c_in, c, 3, padding=1)))
            c_in = c
        layers.append((f"pool{b}", nn.MaxPool2d(2, 2)))
    return layers + [("flatten", nn.Flatten()), ("fc6", nn.Linear(512 * 7 * 7, 4096)),
                     ("fc7", nn.Linear(4096, 4096)), ("fc8", nn.Linear(4096, 1000))]


TORCH_MODELS = {
    "lenet5": torch_lenet5,
    "alexnet": torch_alexnet,
    "vgg16": lambda: torch_vgg([2, 2, 3, 3, 3]),
    "vgg19": lambda: torch_vgg([2, 2, 4, 4, 4]),
}


def on_meta(build):
    """Build on the meta device: parameters have shapes but no memory, and a forward pass only
    propagates shapes, so even VGG19 at 224x224 costs nothing."""
    with torch.device("meta"):
        return build()


# --- published numbers --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TOTALS))
def test_published_totals(name):
    assert total(parameter_table(name)) == TOTALS[name]


def test_alexnet_table():
    assert triples(parameter_table("alexnet")) == ALEXNET


def test_lenet5_table():
    rows = parameter_table("lenet5")
    assert triples(rows) == LENET5
    # C3 is fully connected to S2's 6 maps: 16 * 6 * 5 * 5 weights.
    assert (rows[3]["weights"], rows[3]["biases"]) == (2_400, 16)


@pytest.mark.parametrize("name, convs", [("vgg16", 13), ("vgg19", 16)])
def test_vgg_layers(name, convs):
    rows = parameter_table(name)
    names = [r["layer"] for r in rows]
    assert sum(n.startswith("conv") for n in names) == convs
    assert [n for n in names if n.startswith("pool")] == [f"pool{i}" for i in range(1, 6)]
    assert names[0] == "input" and names[-3:] == ["fc6", "fc7", "fc8"]
    by_name = {r["layer"]: r for r in rows}
    assert by_name["conv1_1"]["output_shape"] == (64, 224, 224)
    assert by_name["pool5"]["output_shape"] == (512, 7, 7)
    assert by_name["fc6"]["params"] == 25_088 * 4096 + 4096
    assert by_name["fc7"]["params"] == 4096 * 4096 + 4096
    assert by_name["fc8"]["params"] == 4096 * 1000 + 1000


@pytest.mark.parametrize("name", sorted(TOTALS))
def test_rows_are_consistent(name):
    rows = parameter_table(name)
    assert rows[0]["layer"] == "input" and rows[0]["params"] == 0
    for r in rows:
        assert set(r) >= {"layer", "output_shape", "weights", "biases", "params"}
        assert r["params"] == r["weights"] + r["biases"]
        assert isinstance(r["output_shape"], tuple)
        if r["layer"] == "input" or r["layer"].startswith(("pool", "S")):
            assert r["params"] == 0
    assert len({r["layer"] for r in rows}) == len(rows)


def test_name_is_case_insensitive():
    assert parameter_table("AlexNet") == parameter_table("alexnet")
    assert parameter_table("VGG16") == parameter_table("vgg16")
    assert parameter_table("LeNet-5") == parameter_table("lenet5")


# --- other inputs -------------------------------------------------------------------------------

def test_alexnet_on_224():
    rows = {r["layer"]: r for r in parameter_table("alexnet", input_shape=(3, 224, 224))}
    assert rows["input"]["output_shape"] == (3, 224, 224)
    assert rows["conv1"]["output_shape"] == (96, 54, 54)
    assert rows["pool1"]["output_shape"] == (96, 26, 26)
    assert rows["pool2"]["output_shape"] == (256, 12, 12)
    assert rows["pool5"]["output_shape"] == (256, 5, 5)
    # Conv parameters do not depend on the input size, fc6's do.
    assert rows["conv1"]["params"] == 34_944
    assert rows["fc6"]["params"] == 256 * 5 * 5 * 4096 + 4096


def test_input_channels_change_first_conv():
    rows = parameter_table("lenet5", input_shape=(3, 32, 32))
    assert rows[1]["weights"] == 6 * 3 * 5 * 5
    assert total(rows) == TOTALS["lenet5"] + 6 * 2 * 5 * 5


def test_vgg_on_other_input():
    rows = {r["layer"]: r for r in parameter_table("vgg16", input_shape=(3, 32, 32))}
    assert rows["pool5"]["output_shape"] == (512, 1, 1)
    assert rows["fc6"]["params"] == 512 * 4096 + 4096


@pytest.mark.parametrize("name", ["resnet50", "vgg", "", "lenet"])
def test_unknown_name(name):
    with pytest.raises(ValueError, match="alexnet.*lenet5.*vgg16.*vgg19"):
        parameter_table(name)


@pytest.mark.parametrize("shape", [(32, 32), (1, 32, 32, 1), (0, 32, 32), (1, -32, 32),
                                   (1.0, 32, 32), 32, "abc"])
def test_malformed_input_shape(shape):
    with pytest.raises(ValueError, match="input_shape"):
        parameter_table("lenet5", input_shape=shape)


@pytest.mark.parametrize("name, shape, layer", [
    ("lenet5", (1, 8, 8), "C3"),
    ("lenet5", (1, 4, 4), "C1"),
    ("alexnet", (3, 60, 60), "pool5"),
    ("alexnet", (3, 10, 227), "conv1"),
    ("vgg16", (3, 16, 16), "pool5"),
])
def test_input_too_small(name, shape, layer):
    with pytest.raises(ValueError, match=rf"{layer}\b.*\(") as e:
        parameter_table(name, input_shape=shape)
    assert str(shape) in str(e.value)


# --- against torch.nn ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TOTALS))
def test_count_parameters_matches_table(name):
    layers = TORCH_MODELS[name]() if name == "lenet5" else on_meta(TORCH_MODELS[name])
    model = nn.Sequential(*(m for _, m in layers))
    assert count_parameters(model) == total(parameter_table(name)) == TOTALS[name]


@pytest.mark.parametrize("name", sorted(TOTALS))
def test_shapes_match_torch(name):
    """Propagate an input through the torch layers and compare every shape with the table."""
    rows = {r["layer"]: r for r in parameter_table(name)}
    with torch.device("meta"):
        layers = TORCH_MODELS[name]()
        x = torch.empty(1, *rows["input"]["output_shape"])
        for layer, module in layers:
            x = module(x)
            if layer != "flatten":
                assert tuple(x.shape[1:]) == rows[layer]["output_shape"], layer
                assert count_parameters(module) == rows[layer]["params"], layer


def test_alexnet_224_matches_torch():
    rows = {r["layer"]: r for r in parameter_table("alexnet", input_shape=(3, 224, 224))}
    model = on_meta(lambda: nn.Sequential(*(m for _, m in torch_alexnet(256 * 5 * 5))))
    with torch.device("meta"):
        assert model(torch.empty(1, 3, 224, 224)).shape == (1, 1000)
    assert count_parameters(model) == total(rows.values())


def test_lenet5_forward_on_cpu():
    model = nn.Sequential(*(m for _, m in torch_lenet5()))
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_count_parameters_trainable_only():
    model = nn.Sequential(*(m for _, m in torch_lenet5()))
    for p in model[0].parameters():  # freeze C1
        p.requires_grad_(False)
    assert count_parameters(model) == 61_706
    assert count_parameters(model, trainable_only=True) == 61_706 - 156


def test_count_parameters_shared_weights_count_once():
    a = nn.Linear(4, 4)
    assert count_parameters(nn.Sequential(a, a)) == 20


def test_count_parameters_rejects_non_modules():
    with pytest.raises(ValueError, match="Module"):
        count_parameters([torch.zeros(3)])


# --- printing -----------------------------------------------------------------------------------

def test_format_table():
    text = format_table(parameter_table("alexnet"))
    assert "62,378,344" in text and "37,752,832" in text
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "output", "shape", "weights", "biases", "params"]
    assert sum(line.startswith(("conv", "pool", "fc", "input")) for line in lines) == len(ALEXNET)
    assert lines[-1].startswith("total")


def test_import_does_not_need_torch():
    import subprocess
    import sys
    from pathlib import Path
    code = ("import sys; import cnnkit.architectures as a; a.parameter_table('vgg19'); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
