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

Uses the ``vulkan`` package (cffi bindings over the system loader,
``libvulkan1``). Any Vulkan 1.1 device works: lavapipe (Mesa's CPU driver)
in tests, a phone or desktop GPU in the field. ``BLKREW_VULKAN_DEVICE``
picks a device by a substring of its name; otherwise a GPU is preferred over
a CPU implementation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

__all__ = ["VulkanError", "VulkanRunner", "device_name", "load_vulkan"]

_DEVICE_TYPE_RANK = {  # lower is preferred
    "VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU": 0,
    "VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU": 1,
    "VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU": 2,
    "VK_PHYSICAL_DEVICE_TYPE_OTHER": 3,
    "VK_PHYSICAL_DEVICE_TYPE_CPU": 4,
}


class VulkanError(RuntimeError):
    """No usable Vulkan device, or a Vulkan call failed."""


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
    vk = load_vulkan()
    instance = _create_instance(vk)
    try:
        return _pick_device(vk, instance)[2]
    finally:
        vk.vkDestroyInstance(instance, None)


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

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.plan = json.loads((self.directory / "plan.json").read_text())
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
        self.instance = _create_instance(vk)
        self._destroy.append(lambda: vk.vkDestroyInstance(self.instance, None))
        self.physical, props, self.device_name = _pick_device(vk, self.instance)
        self._check_limits(props.limits)

        families = vk.vkGetPhysicalDeviceQueueFamilyProperties(self.physical)
        family = next(
            (
                i
                for i, f in enumerate(families)
                if f.queueFlags & vk.VK_QUEUE_COMPUTE_BIT
            ),
            None,
        )
        if family is None:
            raise VulkanError(f"{self.device_name} has no compute queue")
        queue_info = vk.VkDeviceQueueCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
            queueFamilyIndex=family,
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
        dev = self.device
        self._destroy.append(lambda: vk.vkDestroyDevice(dev, None))
        self.queue = vk.vkGetDeviceQueue(dev, family, 0)

        self._create_buffers(vk, dev)
        self._create_pipelines(vk, dev)
        self._record(vk, dev, family)

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
        self.buffers = []
        offsets = []
        total = 0
        type_bits = ~0
        for b in self.plan["buffers"]:
            buf = vk.vkCreateBuffer(
                dev,
                vk.VkBufferCreateInfo(
                    sType=vk.VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                    size=max(b["bytes"], 4),
                    usage=vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
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
            self.buffers.append(buf)

        wanted = (
            vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
            | vk.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
        )
        mem_props = vk.vkGetPhysicalDeviceMemoryProperties(self.physical)
        memory_type = next(
            (
                i
                for i in range(mem_props.memoryTypeCount)
                if type_bits & (1 << i)
                and mem_props.memoryTypes[i].propertyFlags & wanted == wanted
            ),
            None,
        )
        if memory_type is None:
            raise VulkanError(f"{self.device_name} has no host-visible coherent memory")
        self.memory = vk.vkAllocateMemory(
            dev,
            vk.VkMemoryAllocateInfo(
                sType=vk.VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                allocationSize=max(total, 4),
                memoryTypeIndex=memory_type,
            ),
            None,
        )
        memory = self.memory
        self._destroy.append(lambda: vk.vkFreeMemory(dev, memory, None))
        for buf, offset in zip(self.buffers, offsets, strict=True):
            vk.vkBindBufferMemory(dev, buf, memory, offset)
        mapped = vk.vkMapMemory(dev, memory, 0, max(total, 4), 0)
        self._destroy.append(lambda: vk.vkUnmapMemory(dev, memory))
        raw = np.frombuffer(mapped, dtype=np.uint8)
        self.views = [
            raw[o : o + b["bytes"]]
            for o, b in zip(offsets, self.plan["buffers"], strict=True)
        ]
        # Weights go in once.
        constants = np.fromfile(self.directory / self.plan["constants"], dtype=np.uint8)
        for view, b in zip(self.views, self.plan["buffers"], strict=True):
            if b["kind"] == "constant":
                view[:] = constants[b["offset"] : b["offset"] + b["bytes"]]

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

    def _record(self, vk, dev, family):
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

        cmd_pool = vk.vkCreateCommandPool(
            dev,
            vk.VkCommandPoolCreateInfo(
                sType=vk.VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                queueFamilyIndex=family,
            ),
            None,
        )
        self._destroy.append(lambda: vk.vkDestroyCommandPool(dev, cmd_pool, None))
        self.command_buffer = cb = vk.vkAllocateCommandBuffers(
            dev,
            vk.VkCommandBufferAllocateInfo(
                sType=vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                commandPool=cmd_pool,
                level=vk.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                commandBufferCount=1,
            ),
        )[0]
        vk.vkBeginCommandBuffer(
            cb,
            vk.VkCommandBufferBeginInfo(
                sType=vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
            ),
        )

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
        shader_rw = vk.VK_ACCESS_SHADER_READ_BIT | vk.VK_ACCESS_SHADER_WRITE_BIT
        barrier(
            vk.VK_PIPELINE_STAGE_HOST_BIT,
            compute,
            vk.VK_ACCESS_HOST_WRITE_BIT,
            shader_rw,
        )
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
        barrier(
            compute,
            vk.VK_PIPELINE_STAGE_HOST_BIT,
            vk.VK_ACCESS_SHADER_WRITE_BIT,
            vk.VK_ACCESS_HOST_READ_BIT,
        )
        vk.vkEndCommandBuffer(cb)
        self.fence = vk.vkCreateFence(
            dev,
            vk.VkFenceCreateInfo(sType=vk.VK_STRUCTURE_TYPE_FENCE_CREATE_INFO),
            None,
        )
        fence = self.fence
        self._destroy.append(lambda: vk.vkDestroyFence(dev, fence, None))
        self._arguments = {
            b["argument"]: i
            for i, b in enumerate(self.plan["buffers"])
            if b["kind"] == "argument"
        }

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
        vk.vkQueueSubmit(
            self.queue,
            1,
            [
                vk.VkSubmitInfo(
                    sType=vk.VK_STRUCTURE_TYPE_SUBMIT_INFO,
                    commandBufferCount=1,
                    pCommandBuffers=[self.command_buffer],
                )
            ],
            self.fence,
        )
        vk.vkWaitForFences(self.device, 1, [self.fence], vk.VK_TRUE, 2**63 - 1)
        vk.vkResetFences(self.device, 1, [self.fence])
        for j, out in enumerate(outputs):
            view = self.views[self._arguments[len(inputs) + j]]
            out.numpy().view(np.uint8).reshape(-1)[:] = view

    def close(self):
        """Releases every Vulkan object (also done when garbage collected)."""
        vk = getattr(self, "_vk", None)
        if vk is not None and getattr(self, "device", None) is not None:
            try:
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
