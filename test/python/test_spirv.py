"""The SPIR-V target: zoo models, BLK-REW-pruned, compiled for a mobile
Vulkan GPU and run through Vulkan (lavapipe, Mesa's CPU driver, here) equal
PyTorch; every emitted kernel passes spirv-val; the artifacts save and load;
a machine without a Vulkan device gets a clear error."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

import blkrew
from blkrew.compiler.api import compile
from blkrew.models import example_input
from test_zoo import pruned_zoo_model

MODELS = ["digits-cnn", "digits-gru", "digits-lstm"]
CIFAR = ["vgg16-cifar", "resnet18-cifar", "mobilenetv2-cifar"]


def check(name, batch, workdir):
    model = pruned_zoo_model(name)
    x = example_input(name, batch=batch, seed=batch)
    compiled = compile(model, x, target="spirv", workdir=workdir)
    assert compiled.layers["sparse_matmuls"] > 0
    with torch.no_grad():
        want = model(x)
    assert want.std() > 1e-3, "degenerate reference output: the test would be weak"
    torch.testing.assert_close(compiled(x), want, rtol=1e-4, atol=1e-4)
    return compiled


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", MODELS)
def test_small_models(name, batch, tmp_path):
    check(name, batch, tmp_path)


@pytest.mark.parametrize("name", CIFAR)
def test_cifar_models(name, tmp_path):
    compiled = check(name, 1, tmp_path)
    spirv = compiled.manifest["spirv"]
    # Launches of the same computation share a kernel; every kernel was
    # validated at compile time.
    assert spirv["spirv_val"] is True
    assert 0 < spirv["kernels"] <= spirv["dispatches"]


@pytest.mark.skipif(shutil.which("spirv-val") is None, reason="spirv-tools missing")
def test_every_kernel_passes_spirv_val(tmp_path):
    compiled = check("digits-cnn", 1, tmp_path)
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert len(plan["kernels"]) == compiled.manifest["spirv"]["kernels"]
    for kernel in plan["kernels"]:
        subprocess.run(
            ["spirv-val", "--target-env", "vulkan1.1", str(tmp_path / kernel["file"])],
            check=True,
        )
        # Mobile target: no 64-bit or half types (OpCapability Int64 = 11,
        # Float64 = 10, Float16 = 9 would be declared as words 0x00020011, N).
        words = (tmp_path / kernel["file"]).read_bytes()
        for cap in (9, 10, 11):
            assert (0x00020011).to_bytes(4, "little") + cap.to_bytes(
                4, "little"
            ) not in words


def test_save_load_and_repeat(tmp_path):
    compiled = check("digits-gru", 1, tmp_path / "a")
    x = example_input("digits-gru", batch=1, seed=5)
    first = compiled(x)
    assert torch.equal(compiled(x), first)  # buffers are reused across calls
    loaded = blkrew.load(compiled.save(tmp_path / "b"))
    assert loaded.target == "spirv"
    torch.testing.assert_close(loaded(x), first, rtol=0, atol=0)
    (tmp_path / "b" / "kernel0.spv").write_bytes(b"\x00" * 8)
    with pytest.raises(ValueError, match="does not match its manifest hash"):
        blkrew.load(tmp_path / "b")


def test_cpu_only_options_are_rejected():
    model = torch.nn.Linear(4, 4)
    with pytest.raises(ValueError, match="CPU targets only"):
        compile(model, torch.randn(1, 4), target="spirv", threads=2)


def test_no_vulkan_device_is_a_clear_error(tmp_path):
    compiled = check("digits-cnn", 1, tmp_path)
    script = (
        "import sys, torch, blkrew\n"
        "from blkrew.runtime.vulkan import VulkanError\n"
        f"m = blkrew.load({str(tmp_path)!r})\n"
        "try:\n"
        "    m(torch.zeros(1, 1, 8, 8))\n"
        "except VulkanError as e:\n"
        "    print('ERROR', e)\n"
    )
    # No driver manifest: the loader finds no device.
    env = dict(os.environ, VK_ICD_FILENAMES=str(tmp_path / "none.json"))
    env.pop("VK_DRIVER_FILES", None)
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" in proc.stdout
    assert "driver" in proc.stdout  # says what to install
    assert compiled.manifest["spirv"]["dispatches"] > 0
