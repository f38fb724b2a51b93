"""The fake NVML (``ainos.kernel._fake_nvml``) as fixtures: NVML cannot exist on machines
without an NVIDIA driver, so the NVML code paths are tested against this stand-in, which
takes as long per call as the real driver on an H200."""

from __future__ import annotations

import pytest

from ainos.kernel._fake_nvml import FakeGpu, FakePynvml


@pytest.fixture
def fake_pynvml() -> FakePynvml:
    return FakePynvml()


@pytest.fixture
def fake_gpu_factory() -> type[FakeGpu]:
    return FakeGpu


@pytest.fixture
def fake_pynvml_factory() -> type[FakePynvml]:
    return FakePynvml
