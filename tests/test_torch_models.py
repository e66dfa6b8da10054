"""cnnkit.torch modules and models: parameter counts, output shapes, the two backends agreeing
on the same state_dict, and training with the hand-written backward passes."""

import pytest
import torch
from torch import nn

import cnnkit.torch as ct
from conftest import DEVICES

BACKENDS = ["cnnkit", "torch"]


pytestmark = pytest.mark.usefixtures("exact_cuda_float32")


def count(model):
    return sum(p.numel() for p in model.parameters())


def shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def twin(cls, device, **kw):
    """The same model in both backends, sharing one set of parameters."""
    torch.manual_seed(0)
    a = cls(backend="cnnkit", **kw).to(device).eval()
    b = cls(backend="torch", **kw).to(device).eval()
    b.load_state_dict(a.state_dict())
    return a, b


# ------------------------------------------------------------------- modules

@pytest.mark.parametrize("device", DEVICES)
def test_modules_initialise_like_torch_nn(device):
    for ours, theirs in [(lambda: ct.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2), 
                          lambda: nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2)),
                         (lambda: ct.Conv2d(3, 5, 3, bias=False), lambda: nn.Conv2d(3, 5, 3, bias=False)),
                         (lambda: ct.Linear(7, 3), lambda: nn.Linear(7, 3))]:
        torch.manual_seed(1)
        a = ours().to(device)
        torch.manual_seed(1)
        b = theirs().to(device)
        assert shapes(a) == shapes(b)
        for k, v in a.state_dict().items():
            assert torch.equal(v, b.state_dict()[k]), k


@pytest.mark.parametrize("device", DEVICES)
def test_modules_match_torch_nn(device):
    torch.manual_seed(0)
    x = torch.randn(2, 4, 9, 9, device=device)
    pairs = [(ct.Conv2d(4, 6, 3, padding="same", dilation=2, groups=2), nn.Conv2d(4, 6, 3, padding="same", dilation=2, groups=2)),
             (ct.MaxPool2d(3, 2, 1), nn.MaxPool2d(3, 2, 1)),
             (ct.MaxPool2d(2, ceil_mode=True), nn.MaxPool2d(2, ceil_mode=True)),
             (ct.AvgPool2d(3, 2, 1, count_include_pad=False), nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
             (ct.LocalResponseNorm(3, k=2.0), nn.LocalResponseNorm(3, k=2.0)),
             (ct.ReLU(), nn.ReLU()), (ct.Tanh(), nn.Tanh()), (ct.Sigmoid(), nn.Sigmoid()),
             (ct.Softmax(1), nn.Softmax(1)),
             (nn.Sequential(nn.Flatten(), ct.Linear(4 * 81, 5)), nn.Sequential(nn.Flatten(), nn.Linear(4 * 81, 5)))]
    for ours, theirs in pairs:
        ours, theirs = ours.to(device), theirs.to(device)
        theirs.load_state_dict(ours.state_dict())
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-5)


def test_stochastic_pool_module_follows_training_flag():
    m = ct.StochasticPool2d(2, generator=torch.Generator().manual_seed(0))
    x = torch.rand(1, 2, 4, 4)
    assert torch.equal(m.eval()(x), ct.stochastic_pool2d(x, 2, training=False))
    y = m.train()(x)
    assert y.shape == (1, 2, 2, 2)
    assert all(v in x[0, c].flatten().tolist() for c in range(2) for v in y[0, c].flatten().tolist())


# --------------------------------------------------------------- the models

def test_device():
    assert ct.device() == torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls,kw,expected", [
    (ct.LeNet5, {}, 61_706), (ct.LeNet5, {"padding": 2}, 61_706), (ct.CifarNet, {}, 62_006),
    (lambda **kw: ct.MLP(3072, 20, 10, **kw), {}, 3072 * 20 + 20 + 20 * 10 + 10),
    (ct.AlexNet, {}, 62_378_344), (ct.VGG16, {}, 138_357_544), (ct.VGG19, {}, 143_667_240)])
def test_parameter_counts(backend, cls, kw, expected):
    with torch.device("meta"):                        # shapes only, no memory, no initialisation
        model = cls(backend=backend, **kw)
    assert count(model) == expected


@pytest.mark.parametrize("cls", [ct.LeNet5, ct.CifarNet, ct.AlexNet, ct.VGG16, ct.VGG19,
                                 lambda backend: ct.MLP(12, 7, 3, backend=backend)])
def test_backends_have_the_same_parameter_names_and_shapes(cls):
    with torch.device("meta"):
        a, b = cls(backend="cnnkit"), cls(backend="torch")
    assert shapes(a) == shapes(b)


def test_num_classes():
    with torch.device("meta"):
        for cls in (ct.LeNet5, ct.CifarNet, ct.AlexNet, ct.VGG16, ct.VGG19):
            assert cls(num_classes=7).classifier[-1].weight.shape[0] == 7


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cls,kw,shape", [(ct.LeNet5, {}, (1, 32, 32)), (ct.LeNet5, {"padding": 2}, (1, 28, 28)),
                                          (ct.CifarNet, {}, (3, 32, 32))])
def test_small_models_shapes_and_backends_agree(device, cls, kw, shape):
    a, b = twin(cls, device, **kw)
    x = torch.randn((5,) + shape, device=device)
    ya = a(x)
    assert ya.shape == (5, 10) and ya.device.type == device
    torch.testing.assert_close(ya, b(x), rtol=1e-4, atol=1e-5)
    # the gradients agree too
    ga = torch.autograd.grad(ya.square().sum(), list(a.parameters()))
    gb = torch.autograd.grad(b(x).square().sum(), list(b.parameters()))
    for u, v in zip(ga, gb):
        torch.testing.assert_close(u, v, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(12,), (3, 2, 2)])
def test_mlp_is_one_hidden_relu_layer_on_the_flattened_input(device, shape):
    """MLP(d, h, c)(x) = relu(x W1^T + b1) W2^T + b2 with x flattened to (N, d), in both backends."""
    a, b = twin(lambda backend: ct.MLP(12, 7, 3, backend=backend), device)
    x = torch.randn((5,) + shape, device=device)
    w1, b1, w2, b2 = (p.detach() for p in a.parameters())
    assert (w1.shape, b1.shape, w2.shape, b2.shape) == ((7, 12), (7,), (3, 7), (3,))
    expected = torch.relu(x.reshape(5, 12) @ w1.T + b1) @ w2.T + b2
    torch.testing.assert_close(a(x), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(b(x), expected, rtol=1e-5, atol=1e-6)
    assert a(x[:1]).shape == (1, 3)


def classic_lenet5():
    """LeNet-5 for 28x28 digits as one nn.Sequential of torch.nn's layers."""
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(),
                         nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def classic_cifarnet():
    return nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


@pytest.mark.parametrize("make,classic,shape,expected", [
    (lambda: ct.LeNet5(padding=2, backend="torch"), classic_lenet5, (1, 28, 28), 61_706),
    (lambda: ct.CifarNet(backend="torch"), classic_cifarnet, (3, 32, 32), 62_006)], ids=["LeNet5", "CifarNet"])
def test_the_graded_networks_of_06_are_the_classic_ones(make, classic, shape, expected):
    """LeNet5(padding=2, backend="torch") and CifarNet(backend="torch"), what the checks of 06 compare
    with: the classic network's layers in the same order, so that under one seed they start from the
    same weights and compute the same logits."""
    torch.manual_seed(3)
    ours = make()
    torch.manual_seed(3)
    theirs = classic()
    layers = lambda model: [type(m) for m in model.modules() if not list(m.children()) and type(m) is not nn.Flatten]
    assert layers(ours) == layers(theirs)
    assert count(ours) == count(theirs) == expected
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)
    x = torch.randn((4,) + shape)
    torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_lenet5_float64(device):
    model = ct.LeNet5().double().to(device)
    assert model(torch.randn(2, 1, 32, 32, dtype=torch.float64, device=device)).dtype == torch.float64


@pytest.mark.parametrize("device", DEVICES)
def test_alexnet_full_size_forward(device):
    """One 3x227x227 image through both backends (about a second on a CPU)."""
    torch.manual_seed(0)
    a = ct.AlexNet(num_classes=10).to(device).eval()
    with torch.device("meta"):
        b = ct.AlexNet(num_classes=10, backend="torch")
    b = b.to_empty(device=device).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 227, 227, device=device)
    fa = a.features(x)
    assert fa.shape == (1, 256, 6, 6)
    torch.testing.assert_close(fa, b.features(x), rtol=1e-4, atol=1e-5)
    ya = a.classifier(torch.flatten(fa, 1))
    assert ya.shape == (1, 10)
    torch.testing.assert_close(ya, b(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cls,convs", [(ct.VGG16, 13), (ct.VGG19, 16)])
def test_vgg_features_on_small_input(device, cls, convs):
    """The feature extractors on 32x32 images (five 2x pools -> 1x1); full 224x224 is too slow here."""
    with torch.device("meta"):
        a, b = cls(backend="cnnkit"), cls(backend="torch")
    a, b = a.features.to_empty(device=device), b.features.to_empty(device=device)
    assert sum(isinstance(m, ct.Conv2d) for m in a) == convs
    assert sum(isinstance(m, ct.MaxPool2d) for m in a) == 5
    torch.manual_seed(0)
    for m in a:
        if isinstance(m, ct.Conv2d):
            m.reset_parameters()
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 32, 32, device=device)
    ya = a(x)
    assert ya.shape == (1, 512, 1, 1)
    torch.testing.assert_close(ya, b(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_lenet5_training_reduces_the_loss(device):
    torch.manual_seed(0)
    model = ct.LeNet5(padding=2).to(device)
    # two separable classes of 28x28 images
    y = torch.arange(32, device=device) % 2
    x = torch.randn(32, 1, 28, 28, device=device) * 0.5
    x[y == 1, :, 8:20, 8:20] += 1.0
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(8):
        loss = ct.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
    assert all(p.grad is not None for p in model.parameters())


def test_state_dict_moves_between_backends():
    torch.manual_seed(0)
    a = ct.CifarNet()
    b = ct.CifarNet(backend="torch")
    b.load_state_dict(a.state_dict())
    a2 = ct.CifarNet()
    a2.load_state_dict(b.state_dict())
    for k, v in a.state_dict().items():
        assert torch.equal(v, a2.state_dict()[k])
