"""pytest configuration for blkrew's Python tests."""

import os
from pathlib import Path

import pytest


def pytest_addoption(parser):
    # Mirrors Triton's --device option; everything here runs on the CPU, so
    # CI without a GPU passes.
    parser.addoption("--device", action="store", default="cpu")


@pytest.fixture
def device(request):
    return request.config.getoption("--device")


# lavapipe (the Vulkan driver the SPIR-V tests run on) caches compiled
# shaders; keep that cache in the build tree, never in the user's home.
os.environ.setdefault(
    "MESA_SHADER_CACHE_DIR",
    str(Path(__file__).resolve().parents[2] / "build" / "mesa-shader-cache"),
)
