"""pytest configuration for blkrew's Python tests."""

import pytest


def pytest_addoption(parser):
    # Mirrors Triton's --device option; everything here runs on the CPU, so
    # CI without a GPU passes.
    parser.addoption("--device", action="store", default="cpu")


@pytest.fixture
def device(request):
    return request.config.getoption("--device")
