"""Runs a model compiled for ``target="spirv"`` through Vulkan.

The compiler writes a plan (``plan.json``: buffers, kernels, launches in
order), the SPIR-V kernels and the constant data (``blkrew-export-vulkan``).
:class:`VulkanRunner` turns it into Vulkan objects once: one storage buffer
per plan buffer, all bound into a single host-visible allocation with the
weights uploaded at load time; one compute pipeline and descriptor-set
layout per kernel; one descriptor set per launch; and one command buffer
holding every dispatch with compute-to-compute barriers between them. A
call copies the inputs in, submits that command buffer, waits on a fence and
copies the outputs out.

Where the buffers live (``memory=``, or ``BLKREW_VULKAN_MEMORY``):

- ``unified``: one allocation that is device-local and host-visible, the
  host writing inputs and reading outputs in place. A phone's GPU shares
  the CPU's memory, so every memory type is both; lavapipe's too.
- ``staged``: the buffers in device-local memory, weights uploaded once
  through a staging buffer, and the command buffer copying the arguments
  from and to a host-visible one around the dispatches: a discrete GPU.
- ``host``: one host-visible allocation, not device-local where the device
  offers the choice (a discrete GPU then reads every weight over the bus);
  kept to measure the other two against.
- ``auto`` (the default): ``unified`` when such a memory type holds every
  buffer, else ``staged``.

``profile=True`` records a GPU timestamp after every dispatch;
:attr:`VulkanRunner.last_profile` then holds each launch's device time.

Uses the ``vulkan`` package (cffi bindings over the system loader,
``libvulkan1``). Any Vulkan 1.1 device works: lavapipe (Mesa's CPU driver)
in tests, a phone or desktop GPU in the field. ``BLKREW_VULKAN_DEVICE``
picks a device by a substring of its name; otherwise a GPU is preferred over
a CPU implementation.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "MEMORY_MODES",
    "VulkanError",
    "VulkanRunner",
    "device_name",
    "load_vulkan",
]

_DEVICE_TYPE_RANK = {  # lower is preferred
    "VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU": 0,
    "VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU": 1,
    "VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU": 2,
    "VK_PHYSICAL_DEVICE_TYPE_OTHER": 3,
    "VK_PHYSICAL_DEVICE_TYPE_CPU": 4,
}


MEMORY_MODES = ("auto", "unified", "staged", "host")


class VulkanError(RuntimeError):
    """No usable Vulkan device, or a Vulkan call failed."""


def _memory_mode(requested: str | None) -> str:
    mode = requested or os.environ.get("BLKREW_VULKAN_MEMORY") or "auto"
    if mode not in MEMORY_MODES:
        raise ValueError(
            f"memory={mode!r}: expected one of {', '.join(MEMORY_MODES)}"
            + ("" if requested else " (from BLKREW_VULKAN_MEMORY)")
        )
    return mode


def load_vulkan():
    """Imports the ``vulkan`` bindings; a clear error when they or the system
    loader are missing."""
    try:
        import vulkan
    except ImportError as e:
        raise VulkanError(
            "the `vulkan` Python package is not installed (it is in "
            "requirements.txt: run `make setup`)"
        ) from e
    except OSError as e:  # cffi could not dlopen libvulkan
        raise VulkanError(
            "no Vulkan loader found: install libvulkan1 and a driver "
            f"(e.g. mesa-vulkan-drivers for the CPU driver lavapipe): {e}"
        ) from e
    return vulkan


def _pick_device(vk, instance):
    try:
        devices = vk.vkEnumeratePhysicalDevices(instance)
    except vk.VkError as e:
        raise VulkanError(f"could not enumerate Vulkan devices: {e!r}") from e
    if not devices:
        raise VulkanError(
            "no Vulkan device found: install a driver (e.g. mesa-vulkan-drivers "
            "for lavapipe) or check VK_ICD_FILENAMES"
        )
    described = []
    for dev in devices:
        props = vk.vkGetPhysicalDeviceProperties(dev)
        name = props.deviceName
        described.append((dev, props, name))
    wanted = os.environ.get("BLKREW_VULKAN_DEVICE")
    if wanted:
        chosen = [d for d in described if wanted.lower() in d[2].lower()]
        if not chosen:
            names = ", ".join(d[2] for d in described)
            raise VulkanError(
                f"BLKREW_VULKAN_DEVICE={wanted!r} matches none of: {names}"
            )
        return chosen[0]

    def rank(d):
        for key, value in _DEVICE_TYPE_RANK.items():
            if d[1].deviceType == getattr(vk, key):
                return value
        return 5

    return min(described, key=rank)


def device_name() -> str:
    """The name of the device :class:`VulkanRunner` would use."""
    return _shared_context(load_vulkan()).name


class _Context:
    """The instance, the chosen device, a logical device and its compute
    queue: one per process (and per ``BLKREW_VULKAN_DEVICE``), shared by
    every runner. NVIDIA's driver refused a new instance after 27
    had been created and destroyed in one process (on an H200)
    (VK_ERROR_INCOMPATIBLE_DRIVER), and creating one per model costs time
    on any driver. Never destroyed: the driver reclaims it at exit, and
    a runner collected after an exit hook must still find its device."""

    def __init__(self, vk):
        self.instance = _create_instance(vk)
        try:
            self.physical, self.props, self.name = _pick_device(vk, self.instance)
            families = vk.vkGetPhysicalDeviceQueueFamilyProperties(self.physical)
            self.family = next(
                (
                    i
                    for i, f in enumerate(families)
                    if f.queueFlags & vk.VK_QUEUE_COMPUTE_BIT
                ),
                None,
            )
            if self.family is None:
                raise VulkanError(f"{self.name} has no compute queue")
            self.timestamp_bits = families[self.family].timestampValidBits
            queue_info = vk.VkDeviceQueueCreateInfo(
                sType=vk.VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                queueFamilyIndex=self.family,
                queueCount=1,
                pQueuePriorities=[1.0],
            )
            self.device = vk.vkCreateDevice(
                self.physical,
                vk.VkDeviceCreateInfo(
                    sType=vk.VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                    queueCreateInfoCount=1,
                    pQueueCreateInfos=[queue_info],
                ),
                None,
            )
        except BaseException:
            vk.vkDestroyInstance(self.instance, None)
            raise
        self.queue = vk.vkGetDeviceQueue(self.device, self.family, 0)
        # Vulkan wants access to a queue externally synchronized.
        self.queue_lock = threading.Lock()


_CONTEXTS: dict[str, _Context] = {}
_CONTEXTS_LOCK = threading.Lock()


def _shared_context(vk) -> _Context:
    key = os.environ.get("BLKREW_VULKAN_DEVICE", "")
    with _CONTEXTS_LOCK:
        if key not in _CONTEXTS:
            try:
                _CONTEXTS[key] = _Context(vk)
            except vk.VkError as e:
                raise VulkanError(f"could not open the Vulkan device: {e!r}") from e
        return _CONTEXTS[key]


def _create_instance(vk):
    app = vk.VkApplicationInfo(
        sType=vk.VK_STRUCTURE_TYPE_APPLICATION_INFO,
        pApplicationName="blkrew",
        applicationVersion=1,
        pEngineName="blkrew",
        engineVersion=1,
        apiVersion=vk.VK_MAKE_VERSION(1, 1, 0),
    )
    info = vk.VkInstanceCreateInfo(
        sType=vk.VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, pApplicationInfo=app
    )
    try:
        return vk.vkCreateInstance(info, None)
    except vk.VkError as e:
        raise VulkanError(
            f"could not create a Vulkan instance ({e!r}): is a Vulkan driver "
            "installed (e.g. mesa-vulkan-drivers)?"
        ) from e


class VulkanRunner:
    """Executes the plan in ``directory`` on a Vulkan device."""

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        memory: str | None = None,
        profile: bool = False,
    ):
        self.directory = Path(directory)
        self.plan = json.loads((self.directory / "plan.json").read_text())
        self.requested_memory = _memory_mode(memory)
        #: the placement in use: "unified", "staged" or "host"
        self.memory_mode: str | None = None
        self.profile = profile
        #: with ``profile=True``: one dict per launch of the last run
        #: (``dispatch``, ``kernel``, ``entry``, ``grid``, ``block_sparse``,
        #: ``ms``)
        self.last_profile: list[dict] | None = None
        self._vk = vk = load_vulkan()
        self._destroy: list = []  # cleanup callbacks, run in reverse
        try:
            self._build(vk)
        except vk.VkError as e:
            self.close()
            raise VulkanError(
                f"Vulkan call failed while loading the model: {e!r}"
            ) from e
        except BaseException:
            self.close()
            raise

    # -- set-up ---------------------------------------------------------
    def _build(self, vk):
        ctx = _shared_context(vk)
        self.physical, props, self.device_name = ctx.physical, ctx.props, ctx.name
        self._check_limits(props.limits)
        self._queue_lock = ctx.queue_lock
        self.device = dev = ctx.device
        self.queue, self.family = ctx.queue, ctx.family
        self._timestamp_bits = ctx.timestamp_bits
        self._timestamp_period = props.limits.timestampPeriod

        self._create_buffers(vk, dev)
        self._create_pipelines(vk, dev)
        self._record(vk, dev)

    def _check_limits(self, limits):
        counts = limits.maxComputeWorkGroupCount
        size = limits.maxComputeWorkGroupSize
        for d in self.plan["dispatches"]:
            for axis in range(3):
                if d["grid"][axis] > counts[axis]:
                    raise VulkanError(
                        f"{self.device_name}: a launch needs {d['grid'][axis]} "
                        f"workgroups along axis {axis}, the device allows "
                        f"{counts[axis]}"
                    )
        for k in self.plan["kernels"]:
            wg = k["workgroup_size"]
            if any(wg[a] > size[a] for a in range(3)) or (
                wg[0] * wg[1] * wg[2] > limits.maxComputeWorkGroupInvocations
            ):
                raise VulkanError(
                    f"{self.device_name}: workgroup {wg} exceeds the device's limits"
                )
            if k["bindings"] > limits.maxPerStageDescriptorStorageBuffers:
                raise VulkanError(
                    f"{self.device_name}: a kernel binds {k['bindings']} storage "
                    f"buffers, the device allows "
                    f"{limits.maxPerStageDescriptorStorageBuffers}"
                )
        for b in self.plan["buffers"]:
            if b["bytes"] > limits.maxStorageBufferRange:
                raise VulkanError(
                    f"{self.device_name}: a {b['bytes']}-byte buffer exceeds "
                    f"maxStorageBufferRange ({limits.maxStorageBufferRange})"
                )

    def _create_buffers(self, vk, dev):
        transfer = (
            vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT
        )
        self.buffers, offsets, total, type_bits = self._make_buffers(
            vk,
            dev,
            [b["bytes"] for b in self.plan["buffers"]],
            vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | transfer,
        )
        mode, memory_type = self._place(vk, type_bits, total)
        self.memory_mode = mode
        self.memory = self._allocate(vk, dev, total, memory_type, self.buffers, offsets)
        plan_buffers = self.plan["buffers"]
        constants = np.fromfile(self.directory / self.plan["constants"], dtype=np.uint8)

        def constant_bytes(b):
            return constants[b["offset"] : b["offset"] + b["bytes"]]

        self.staging = None
        if mode != "staged":
            raw = self._map(vk, dev, self.memory, total)
            self.views = [
                raw[o : o + b["bytes"]]
                for o, b in zip(offsets, plan_buffers, strict=True)
            ]
            # Weights go in once.
            for view, b in zip(self.views, plan_buffers, strict=True):
                if b["kind"] == "constant":
                    view[:] = constant_bytes(b)
            return

        # Staged: the arguments get a host-visible twin each, copied by the
        # command buffer; the weights go up once through a temporary one.
        self.views = [None] * len(plan_buffers)
        args = [i for i, b in enumerate(plan_buffers) if b["kind"] == "argument"]
        self.staging = self._host_twins(vk, dev, args, keep=True)
        for i, view in self.staging["views"].items():
            self.views[i] = view
        consts = [i for i, b in enumerate(plan_buffers) if b["kind"] == "constant"]
        if consts:
            upload = self._host_twins(vk, dev, consts, keep=False)
            try:
                for i in consts:
                    upload["views"][i][:] = constant_bytes(plan_buffers[i])
                self._submit_once(
                    vk,
                    dev,
                    lambda cb: self._copy(vk, cb, upload["buffers"], to_device=True),
                )
            finally:
                for release in reversed(upload["release"]):
                    release()

    def _make_buffers(self, vk, dev, sizes, usage):
        """One buffer per size, laid out in one allocation: the buffers,
        their offsets, the allocation's size and the memory types all of
        them accept."""
        buffers, offsets, total, type_bits = [], [], 0, ~0
        for size in sizes:
            buf = vk.vkCreateBuffer(
                dev,
                vk.VkBufferCreateInfo(
                    sType=vk.VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                    size=max(size, 4),
                    usage=usage,
                    sharingMode=vk.VK_SHARING_MODE_EXCLUSIVE,
                ),
                None,
            )
            self._destroy.append(lambda buf=buf: vk.vkDestroyBuffer(dev, buf, None))
            req = vk.vkGetBufferMemoryRequirements(dev, buf)
            total = -(-total // req.alignment) * req.alignment
            offsets.append(total)
            total += req.size
            type_bits &= req.memoryTypeBits
            buffers.append(buf)
        return buffers, offsets, max(total, 4), type_bits

    def _memory_types(self, vk, type_bits, required, size=0):
        props = vk.vkGetPhysicalDeviceMemoryProperties(self.physical)
        return [
            (i, props.memoryTypes[i].propertyFlags)
            for i in range(props.memoryTypeCount)
            if type_bits & (1 << i)
            and props.memoryTypes[i].propertyFlags & required == required
            and props.memoryHeaps[props.memoryTypes[i].heapIndex].size >= size
        ]

    @staticmethod
    def _host_coherent(vk):
        return (
            vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
            | vk.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
        )

    def _place(self, vk, type_bits, total):
        """The memory mode and the memory type for the plan's buffers."""
        host = self._host_coherent(vk)
        local = vk.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
        mode = self.requested_memory
        if mode in ("auto", "unified"):
            unified = self._memory_types(vk, type_bits, host | local, total)
            if unified:
                return "unified", unified[0][0]
            if mode == "unified":
                raise VulkanError(
                    f"{self.device_name}: no memory type is both device-local "
                    f"and host-visible with room for {total} bytes "
                    "(memory='staged' copies through host memory instead)"
                )
            mode = "staged"
        if mode == "host":
            types = self._memory_types(vk, type_bits, host)
            if not types:
                raise VulkanError(
                    f"{self.device_name} has no host-visible coherent memory"
                )
            # Not device-local where there is the choice.
            return "host", min(types, key=lambda t: bool(t[1] & local))[0]
        types = self._memory_types(vk, type_bits, local, total)
        if not types:
            raise VulkanError(
                f"{self.device_name} has no device-local memory for {total} bytes"
            )
        return "staged", types[0][0]

    def _allocate(self, vk, dev, size, memory_type, buffers, offsets):
        """``size`` bytes of ``memory_type``, freed at close, with
        ``buffers`` bound at ``offsets``."""
        memory = vk.vkAllocateMemory(
            dev,
            vk.VkMemoryAllocateInfo(
                sType=vk.VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                allocationSize=size,
                memoryTypeIndex=memory_type,
            ),
            None,
        )
        self._destroy.append(lambda: vk.vkFreeMemory(dev, memory, None))
        for buf, offset in zip(buffers, offsets, strict=True):
            vk.vkBindBufferMemory(dev, buf, memory, offset)
        return memory

    def _map(self, vk, dev, memory, size):
        mapped = vk.vkMapMemory(dev, memory, 0, size, 0)
        self._destroy.append(lambda: vk.vkUnmapMemory(dev, memory))
        return np.frombuffer(mapped, dtype=np.uint8)

    def _host_twins(self, vk, dev, indices, keep):
        """Host-visible buffers mirroring plan buffers ``indices``, mapped:
        ``buffers`` (plan index -> (twin, device buffer, bytes)), ``views``
        and, unless ``keep``, ``release`` (callbacks freeing them now
        rather than at close)."""
        mark = len(self._destroy)
        sizes = [self.plan["buffers"][i]["bytes"] for i in indices]
        usage = (
            vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT
        )
        twins, offsets, total, type_bits = self._make_buffers(vk, dev, sizes, usage)
        types = self._memory_types(vk, type_bits, self._host_coherent(vk))
        if not types:
            raise VulkanError(f"{self.device_name} has no host-visible coherent memory")
        # Cached memory reads back fast; prefer it for the outputs.
        cached = vk.VK_MEMORY_PROPERTY_HOST_CACHED_BIT
        memory_type = max(types, key=lambda t: bool(t[1] & cached))[0]
        memory = self._allocate(vk, dev, total, memory_type, twins, offsets)
        raw = self._map(vk, dev, memory, total)
        result = {
            "buffers": {
                i: (twin, self.buffers[i], size)
                for i, twin, size in zip(indices, twins, sizes, strict=True)
            },
            "views": {
                i: raw[o : o + size]
                for i, o, size in zip(indices, offsets, sizes, strict=True)
            },
        }
        if not keep:
            result["release"] = self._destroy[mark:]
            del self._destroy[mark:]
        return result

    @staticmethod
    def _copy(vk, cb, pairs, to_device):
        for twin, buffer, size in pairs.values():
            src, dst = (twin, buffer) if to_device else (buffer, twin)
            vk.vkCmdCopyBuffer(
                cb,
                src,
                dst,
                1,
                [vk.VkBufferCopy(srcOffset=0, dstOffset=0, size=max(size, 4))],
            )

    def _submit_once(self, vk, dev, record):
        """Records ``record(cb)`` into a one-time command buffer and runs it
        to completion."""
        cleanup = []
        try:
            pool = self._command_pool(vk, dev, cleanup.append)
            cb = self._begin_commands(
                vk, dev, pool, vk.VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT
            )
            record(cb)
            vk.vkEndCommandBuffer(cb)
            fence = self._fence(vk, dev, cleanup.append)
            self._submit(vk, cb, fence)
            vk.vkWaitForFences(dev, 1, [fence], vk.VK_TRUE, 2**63 - 1)
        finally:
            for release in reversed(cleanup):
                release()

    def _command_pool(self, vk, dev, on_destroy):
        pool = vk.vkCreateCommandPool(
            dev,
            vk.VkCommandPoolCreateInfo(
                sType=vk.VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                queueFamilyIndex=self.family,
            ),
            None,
        )
        on_destroy(lambda: vk.vkDestroyCommandPool(dev, pool, None))
        return pool

    @staticmethod
    def _begin_commands(vk, dev, pool, flags=0):
        """A primary command buffer from ``pool``, recording."""
        cb = vk.vkAllocateCommandBuffers(
            dev,
            vk.VkCommandBufferAllocateInfo(
                sType=vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                commandPool=pool,
                level=vk.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                commandBufferCount=1,
            ),
        )[0]
        vk.vkBeginCommandBuffer(
            cb,
            vk.VkCommandBufferBeginInfo(
                sType=vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, flags=flags
            ),
        )
        return cb

    @staticmethod
    def _fence(vk, dev, on_destroy):
        fence = vk.vkCreateFence(
            dev,
            vk.VkFenceCreateInfo(sType=vk.VK_STRUCTURE_TYPE_FENCE_CREATE_INFO),
            None,
        )
        on_destroy(lambda: vk.vkDestroyFence(dev, fence, None))
        return fence

    def _submit(self, vk, cb, fence):
        with self._queue_lock:
            vk.vkQueueSubmit(
                self.queue,
                1,
                [
                    vk.VkSubmitInfo(
                        sType=vk.VK_STRUCTURE_TYPE_SUBMIT_INFO,
                        commandBufferCount=1,
                        pCommandBuffers=[cb],
                    )
                ],
                fence,
            )

    def _create_pipelines(self, vk, dev):
        self.pipelines = []
        self.set_layouts = []
        self.pipeline_layouts = []
        for k in self.plan["kernels"]:
            code = (self.directory / k["file"]).read_bytes()
            module = vk.vkCreateShaderModule(
                dev,
                vk.VkShaderModuleCreateInfo(
                    sType=vk.VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                    codeSize=len(code),
                    pCode=code,
                ),
                None,
            )
            bindings = [
                vk.VkDescriptorSetLayoutBinding(
                    binding=i,
                    descriptorType=vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                    descriptorCount=1,
                    stageFlags=vk.VK_SHADER_STAGE_COMPUTE_BIT,
                )
                for i in range(k["bindings"])
            ]
            set_layout = vk.vkCreateDescriptorSetLayout(
                dev,
                vk.VkDescriptorSetLayoutCreateInfo(
                    sType=vk.VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                    bindingCount=len(bindings),
                    pBindings=bindings,
                ),
                None,
            )
            self._destroy.append(
                lambda s=set_layout: vk.vkDestroyDescriptorSetLayout(dev, s, None)
            )
            layout = vk.vkCreatePipelineLayout(
                dev,
                vk.VkPipelineLayoutCreateInfo(
                    sType=vk.VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                    setLayoutCount=1,
                    pSetLayouts=[set_layout],
                ),
                None,
            )
            self._destroy.append(
                lambda lay=layout: vk.vkDestroyPipelineLayout(dev, lay, None)
            )
            stage = vk.VkPipelineShaderStageCreateInfo(
                sType=vk.VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                stage=vk.VK_SHADER_STAGE_COMPUTE_BIT,
                module=module,
                pName=k["entry"],
            )
            pipeline = vk.vkCreateComputePipelines(
                dev,
                vk.VK_NULL_HANDLE,
                1,
                [
                    vk.VkComputePipelineCreateInfo(
                        sType=vk.VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
                        stage=stage,
                        layout=layout,
                    )
                ],
                None,
            )[0]
            vk.vkDestroyShaderModule(dev, module, None)
            self._destroy.append(lambda p=pipeline: vk.vkDestroyPipeline(dev, p, None))
            self.set_layouts.append(set_layout)
            self.pipeline_layouts.append(layout)
            self.pipelines.append(pipeline)

    def _record(self, vk, dev):
        dispatches = self.plan["dispatches"]
        n_bindings = sum(len(d["bindings"]) for d in dispatches)
        pool = vk.vkCreateDescriptorPool(
            dev,
            vk.VkDescriptorPoolCreateInfo(
                sType=vk.VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                maxSets=max(len(dispatches), 1),
                poolSizeCount=1,
                pPoolSizes=[
                    vk.VkDescriptorPoolSize(
                        type=vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                        descriptorCount=max(n_bindings, 1),
                    )
                ],
            ),
            None,
        )
        self._destroy.append(lambda: vk.vkDestroyDescriptorPool(dev, pool, None))
        sets = []
        if dispatches:
            sets = vk.vkAllocateDescriptorSets(
                dev,
                vk.VkDescriptorSetAllocateInfo(
                    sType=vk.VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                    descriptorPool=pool,
                    descriptorSetCount=len(dispatches),
                    pSetLayouts=[self.set_layouts[d["kernel"]] for d in dispatches],
                ),
            )
        writes = []
        for d, dset in zip(dispatches, sets, strict=True):
            for binding, b in enumerate(d["bindings"]):
                writes.append(
                    vk.VkWriteDescriptorSet(
                        sType=vk.VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                        dstSet=dset,
                        dstBinding=binding,
                        descriptorCount=1,
                        descriptorType=vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                        pBufferInfo=[
                            vk.VkDescriptorBufferInfo(
                                buffer=self.buffers[b],
                                offset=0,
                                # the byte size: the binding's VK_WHOLE_SIZE
                                # overflows the struct field
                                range=max(self.plan["buffers"][b]["bytes"], 4),
                            )
                        ],
                    )
                )
        if writes:
            vk.vkUpdateDescriptorSets(dev, len(writes), writes, 0, None)

        pool = self._command_pool(vk, dev, self._destroy.append)
        self.command_buffer = cb = self._begin_commands(vk, dev, pool)

        def barrier(src_stage, dst_stage, src_access, dst_access):
            vk.vkCmdPipelineBarrier(
                cb,
                src_stage,
                dst_stage,
                0,
                1,
                [
                    vk.VkMemoryBarrier(
                        sType=vk.VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        srcAccessMask=src_access,
                        dstAccessMask=dst_access,
                    )
                ],
                0,
                None,
                0,
                None,
            )

        compute = vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
        transfer = vk.VK_PIPELINE_STAGE_TRANSFER_BIT
        shader_rw = vk.VK_ACCESS_SHADER_READ_BIT | vk.VK_ACCESS_SHADER_WRITE_BIT
        host_write = vk.VK_ACCESS_HOST_WRITE_BIT
        if self.staging is not None:
            barrier(
                vk.VK_PIPELINE_STAGE_HOST_BIT,
                transfer,
                host_write,
                vk.VK_ACCESS_TRANSFER_READ_BIT,
            )
            self._copy(vk, cb, self.staging["buffers"], to_device=True)
            barrier(transfer, compute, vk.VK_ACCESS_TRANSFER_WRITE_BIT, shader_rw)
        else:
            barrier(vk.VK_PIPELINE_STAGE_HOST_BIT, compute, host_write, shader_rw)
        stamp = self._timestamps(vk, dev, cb, len(dispatches))
        stamp(0)
        for i, (d, dset) in enumerate(zip(dispatches, sets, strict=True)):
            if i:
                # Each launch may read what the previous ones wrote.
                barrier(compute, compute, vk.VK_ACCESS_SHADER_WRITE_BIT, shader_rw)
            k = d["kernel"]
            vk.vkCmdBindPipeline(
                cb, vk.VK_PIPELINE_BIND_POINT_COMPUTE, self.pipelines[k]
            )
            vk.vkCmdBindDescriptorSets(
                cb,
                vk.VK_PIPELINE_BIND_POINT_COMPUTE,
                self.pipeline_layouts[k],
                0,
                1,
                [dset],
                0,
                None,
            )
            vk.vkCmdDispatch(cb, *d["grid"])
            stamp(i + 1)
        host_read = vk.VK_ACCESS_HOST_READ_BIT
        if self.staging is not None:
            barrier(
                compute,
                transfer,
                vk.VK_ACCESS_SHADER_WRITE_BIT,
                vk.VK_ACCESS_TRANSFER_READ_BIT,
            )
            self._copy(vk, cb, self.staging["buffers"], to_device=False)
            barrier(
                transfer,
                vk.VK_PIPELINE_STAGE_HOST_BIT,
                vk.VK_ACCESS_TRANSFER_WRITE_BIT,
                host_read,
            )
        else:
            barrier(
                compute,
                vk.VK_PIPELINE_STAGE_HOST_BIT,
                vk.VK_ACCESS_SHADER_WRITE_BIT,
                host_read,
            )
        vk.vkEndCommandBuffer(cb)
        self.fence = self._fence(vk, dev, self._destroy.append)
        # Per launch, whether it runs the block-sparse kernel (which binds
        # the packed indices): for the profile.
        buffers = self.plan["buffers"]
        self._block_sparse = [
            any(
                buffers[b]["kind"] == "constant" and buffers[b]["dtype"] == "i32"
                for b in d["bindings"]
            )
            for d in dispatches
        ]
        self._arguments = {
            b["argument"]: i
            for i, b in enumerate(self.plan["buffers"])
            if b["kind"] == "argument"
        }

    def _timestamps(self, vk, dev, cb, launches):
        """Without profiling a no-op; with it, a query pool of one
        timestamp before the launches and one after each, reset at the
        start of every run, and a callback recording timestamp ``i``."""
        self._query_pool = None
        if not self.profile:
            return lambda i: None
        if not self._timestamp_bits:
            raise VulkanError(
                f"{self.device_name}: its compute queue has no timestamps "
                "(timestampValidBits = 0); run without profile=True"
            )
        pool = vk.vkCreateQueryPool(
            dev,
            vk.VkQueryPoolCreateInfo(
                sType=vk.VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                queryType=vk.VK_QUERY_TYPE_TIMESTAMP,
                queryCount=launches + 1,
            ),
            None,
        )
        self._destroy.append(lambda: vk.vkDestroyQueryPool(dev, pool, None))
        self._query_pool = pool
        vk.vkCmdResetQueryPool(cb, pool, 0, launches + 1)
        # Bottom of pipe: each stamp waits for the work recorded before it.
        return lambda i: vk.vkCmdWriteTimestamp(
            cb, vk.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, i
        )

    def _read_profile(self):
        vk = self._vk
        n = self.dispatch_count + 1
        data = vk.ffi.new("uint64_t[]", n)
        vk.vkGetQueryPoolResults(
            self.device,
            self._query_pool,
            0,
            n,
            8 * n,
            data,
            8,
            vk.VK_QUERY_RESULT_64_BIT | vk.VK_QUERY_RESULT_WAIT_BIT,
        )
        mask = (1 << self._timestamp_bits) - 1 if self._timestamp_bits < 64 else ~0
        ticks = [data[i] & mask for i in range(n)]
        kernels = self.plan["kernels"]
        profile = []
        for i, d in enumerate(self.plan["dispatches"]):
            elapsed = (ticks[i + 1] - ticks[i]) & mask  # the counter may wrap
            profile.append(
                {
                    "dispatch": i,
                    "kernel": d["kernel"],
                    "entry": kernels[d["kernel"]]["entry"],
                    "grid": list(d["grid"]),
                    "block_sparse": self._block_sparse[i],
                    "ms": elapsed * self._timestamp_period / 1e6,
                }
            )
        return profile

    # -- running --------------------------------------------------------
    @property
    def dispatch_count(self) -> int:
        return len(self.plan["dispatches"])

    def run(self, inputs: Sequence[torch.Tensor], outputs: Sequence[torch.Tensor]):
        """Fills ``outputs`` (float32, contiguous) from ``inputs``; the
        function's arguments are the inputs followed by the outputs."""
        vk = self._vk
        args = [*inputs, *outputs]
        if len(args) != len(self._arguments):
            raise TypeError(
                f"the plan takes {len(self._arguments)} buffers, got {len(args)}"
            )
        for i, x in enumerate(inputs):
            view = self.views[self._arguments[i]]
            view[:] = x.detach().contiguous().numpy().view(np.uint8).reshape(-1)
        self._submit(vk, self.command_buffer, self.fence)
        vk.vkWaitForFences(self.device, 1, [self.fence], vk.VK_TRUE, 2**63 - 1)
        vk.vkResetFences(self.device, 1, [self.fence])
        if self._query_pool is not None:
            self.last_profile = self._read_profile()
        for j, out in enumerate(outputs):
            view = self.views[self._arguments[len(inputs) + j]]
            out.numpy().view(np.uint8).reshape(-1)[:] = view

    def close(self):
        """Releases every Vulkan object (also done when garbage collected)."""
        vk = getattr(self, "_vk", None)
        if vk is not None and getattr(self, "device", None) is not None:
            try:
                with self._queue_lock:  # the device's queues included
                    vk.vkDeviceWaitIdle(self.device)
            except Exception:  # noqa: BLE001 - best effort on tear-down
                pass
        while self._destroy:
            try:
                self._destroy.pop()()
            except Exception:  # noqa: BLE001 - best effort on tear-down
                pass

    def __del__(self):
        if getattr(self, "_destroy", None):
            self.close()
