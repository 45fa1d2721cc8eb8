//===- AttachSPIRVTarget.cpp - mobile Vulkan target and kernel ABIs -*- C++
//-*-//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The target environment we compile for is a mobile GPU through Vulkan 1.1:
// SPIR-V 1.3 with the Shader capability only. Every limit used is one the
// Vulkan specification guarantees (so Mali and Adreno parts meet it), except
// the storage buffers per stage, which is an option because old Mali
// drivers report 8 where the spec minimum is 4.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Conversion/Passes.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVAttributes.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"

#define DEBUG_TYPE "blkrew-attach-spirv-target"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWATTACHSPIRVTARGET
#include "blkrew/Conversion/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// Vulkan 1.1 guarantees: 128 invocations, [128, 128, 64] per workgroup,
/// 16 KiB of shared memory.
static constexpr int64_t kMaxInvocations = 128;
static constexpr int64_t kMaxWorkgroupSize[3] = {128, 128, 64};

static spirv::TargetEnvAttr getMobileTargetEnv(MLIRContext *ctx) {
  auto triple = spirv::VerCapExtAttr::get(
      spirv::Version::V_1_3, {spirv::Capability::Shader},
      {spirv::Extension::SPV_KHR_storage_buffer_storage_class}, ctx);
  Builder b(ctx);
  auto limits = spirv::ResourceLimitsAttr::get(
      ctx, /*max_compute_shared_memory_size=*/16384,
      /*max_compute_workgroup_invocations=*/kMaxInvocations,
      b.getI32ArrayAttr({128, 128, 64}), /*subgroup_size=*/32,
      /*min_subgroup_size=*/std::nullopt, /*max_subgroup_size=*/std::nullopt,
      /*cooperative_matrix_properties_khr=*/ArrayAttr(),
      /*cooperative_matrix_properties_nv=*/ArrayAttr());
  return spirv::TargetEnvAttr::get(triple, limits, spirv::ClientAPI::Vulkan);
}

namespace mlir::blkrew {
namespace {
struct BlkRewAttachSPIRVTargetPass
    : public impl::BlkRewAttachSPIRVTargetBase<BlkRewAttachSPIRVTargetPass> {
  using BlkRewAttachSPIRVTargetBase::BlkRewAttachSPIRVTargetBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(ctx));
    module->setAttr(spirv::getTargetEnvAttrName(), getMobileTargetEnv(ctx));

    llvm::DenseMap<Operation *, SmallVector<int32_t, 3>> sizes;
    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernel());
      if (!kernel) {
        launch.emitOpError("kernel not found");
        return WalkResult::interrupt();
      }
      SmallVector<int32_t, 3> size;
      int64_t invocations = 1;
      Value dims[] = {launch.getBlockSizeX(), launch.getBlockSizeY(),
                      launch.getBlockSizeZ()};
      for (auto [i, dim] : llvm::enumerate(dims)) {
        std::optional<int64_t> v = getConstantIntValue(dim);
        if (!v || *v <= 0 || *v > kMaxWorkgroupSize[i]) {
          launch.emitOpError("needs a constant workgroup size within the "
                             "target's [128, 128, 64]");
          return WalkResult::interrupt();
        }
        size.push_back(static_cast<int32_t>(*v));
        invocations *= *v;
      }
      if (invocations > kMaxInvocations) {
        launch.emitOpError()
            << "workgroup of " << invocations
            << " invocations exceeds the target's " << kMaxInvocations;
        return WalkResult::interrupt();
      }
      auto [it, inserted] = sizes.try_emplace(kernel, size);
      if (!inserted && it->second != size) {
        launch.emitOpError("launches a kernel with a workgroup size that "
                           "differs from another launch of it");
        return WalkResult::interrupt();
      }
      if (static_cast<int64_t>(kernel.getNumArguments()) > maxStorageBuffers) {
        kernel.emitOpError() << "binds " << kernel.getNumArguments()
                             << " storage buffers; the target allows "
                             << static_cast<int64_t>(maxStorageBuffers);
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    for (auto &[kernel, size] : sizes)
      kernel->setAttr(spirv::getEntryPointABIAttrName(),
                      spirv::getEntryPointABIAttr(ctx, size));
  }
};
} // namespace
} // namespace mlir::blkrew
