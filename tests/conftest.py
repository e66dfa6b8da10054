"""Shared test settings: hypothesis profiles and the real-data root."""

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough", deadline=None, max_examples=500,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parents[1]


def real_data_root():
    """CNNKIT_DATA if set, else ../shared/data beside the repository, else None."""
    env = os.environ.get("CNNKIT_DATA")
    if env:
        return Path(env)
    shared = REPO.parent / "shared" / "data"
    return shared if shared.is_dir() else None


@pytest.fixture(scope="session")
def data_root():
    """The folder holding the real data sets. Missing real data fails under CI, skips elsewhere."""
    root = real_data_root()
    if root is None or not root.is_dir():
        if os.environ.get("CI"):
            pytest.fail("the real data sets are required in CI: set CNNKIT_DATA or provide ../shared/data")
        pytest.skip("real data sets not found (set CNNKIT_DATA)")
    return root


# every cnnkit.torch test runs on each of these; CUDA joins when a GPU is present
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture
def exact_cuda_float32():
    """cuDNN and cuBLAS may use TF32 for float32 work; compare against true float32 results."""
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old
