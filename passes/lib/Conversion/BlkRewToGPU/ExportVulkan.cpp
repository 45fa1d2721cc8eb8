//===- ExportVulkan.cpp - SPIR-V kernels and a dispatch plan -----*- C++
//-*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Writes what a Vulkan runner needs to execute the host function of a module
// lowered by blkrew-spirv-pipeline: the serialized kernels, the constant
// data, and the order of launches with the buffer behind every binding. The
// runner then needs no MLIR at all.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Conversion/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "blkrew-export-vulkan"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWEXPORTVULKAN
#include "blkrew/Conversion/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

namespace {
struct Buffer {
  Buffer(StringRef kind, MemRefType type) : kind(kind), type(type) {}
  std::string kind; // "argument", "temporary" or "constant"
  MemRefType type;
  int64_t argument = -1;
  std::string global;
  int64_t dataOffset = -1;
};
} // namespace

/// The element type name of a buffer the runner can hold, or empty.
static StringRef elementName(MemRefType type) {
  Type elem = type.getElementType();
  if (elem.isF32())
    return "f32";
  if (elem.isInteger(32))
    return "i32";
  return "";
}

static int64_t byteSize(MemRefType type) { return type.getNumElements() * 4; }

static LogicalResult checkBufferType(Operation *op, Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref || !memref.hasStaticShape() || !memref.getLayout().isIdentity())
    return op->emitOpError("needs a statically shaped, identity-layout "
                           "memref for a Vulkan buffer, got ")
           << type;
  if (elementName(memref).empty())
    return op->emitOpError("holds ")
           << memref.getElementType()
           << " elements; the Vulkan path supports f32 and i32";
  return success();
}

static llvm::json::Array toJSON(ArrayRef<int64_t> values) {
  llvm::json::Array array;
  for (int64_t v : values)
    array.push_back(v);
  return array;
}

static LogicalResult writeFile(Operation *op, StringRef path,
                               ArrayRef<char> bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return op->emitError() << "cannot write " << path << ": " << ec.message();
  os.write(bytes.data(), bytes.size());
  return success();
}

namespace mlir::blkrew {
namespace {
struct BlkRewExportVulkanPass
    : public impl::BlkRewExportVulkanBase<BlkRewExportVulkanPass> {
  using BlkRewExportVulkanBase::BlkRewExportVulkanBase;

  void runOnOperation() override;
};
} // namespace
} // namespace mlir::blkrew

void BlkRewExportVulkanPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (outputDir.empty()) {
    module.emitError("blkrew-export-vulkan needs output-dir");
    return signalPassFailure();
  }
  auto func = module.lookupSymbol<func::FuncOp>(function);
  if (!func || func.isExternal() || !func.getBody().hasOneBlock()) {
    module.emitError() << "no host function @" << function
                       << " with a single-block body to export";
    return signalPassFailure();
  }
  if (func.getNumResults() != 0) {
    func.emitOpError("must return its results through out-params (run "
                     "buffer-results-to-out-params)");
    return signalPassFailure();
  }

  std::vector<Buffer> buffers;
  llvm::DenseMap<Value, int64_t> bufferOf;
  llvm::StringMap<int64_t> bufferOfGlobal;
  std::vector<char> constants;
  for (BlockArgument arg : func.getArguments()) {
    if (failed(checkBufferType(func, arg.getType())))
      return signalPassFailure();
    bufferOf[arg] = buffers.size();
    buffers.emplace_back("argument", cast<MemRefType>(arg.getType()));
    buffers.back().argument = arg.getArgNumber();
  }

  llvm::json::Array dispatches;
  // Kernels in order of first launch: (gpu module, function) -> index.
  llvm::StringMap<int64_t> kernelIndex;
  // Serialized SPIR-V -> kernel index.
  llvm::StringMap<int64_t> kernelOfBinary;
  llvm::json::Array kernels;
  SymbolTable symbols(module);

  for (Operation &op : func.getBody().front()) {
    if (isa<memref::AllocOp, memref::AllocaOp>(op)) {
      if (failed(checkBufferType(&op, op.getResult(0).getType())))
        return signalPassFailure();
      bufferOf[op.getResult(0)] = buffers.size();
      buffers.emplace_back("temporary",
                           cast<MemRefType>(op.getResult(0).getType()));
      continue;
    }
    if (auto get = dyn_cast<memref::GetGlobalOp>(op)) {
      if (failed(checkBufferType(get, get.getType())))
        return signalPassFailure();
      auto [it, inserted] =
          bufferOfGlobal.try_emplace(get.getName(), buffers.size());
      bufferOf[get] = it->second;
      if (!inserted)
        continue;
      auto global = symbols.lookup<memref::GlobalOp>(get.getName());
      Attribute init = global ? global.getInitialValueAttr() : Attribute();
      Buffer buffer("constant", get.getType());
      buffer.global = get.getName().str();
      buffer.dataOffset = constants.size();
      int64_t bytes = byteSize(get.getType());
      if (auto dense = dyn_cast_if_present<DenseElementsAttr>(init)) {
        ArrayRef<char> raw = dense.getRawData();
        int64_t count = dense.isSplat() ? get.getType().getNumElements() : 1;
        for (int64_t i = 0; i < count; ++i)
          constants.insert(constants.end(), raw.begin(), raw.end());
      } else if (auto blob = dyn_cast_if_present<BlobAttr>(init)) {
        // dense_resource blobs, as torch-mlir imports weights.
        ArrayRef<char> raw = blob.getData();
        constants.insert(constants.end(), raw.begin(), raw.end());
      }
      if (static_cast<int64_t>(constants.size()) - buffer.dataOffset != bytes) {
        get.emitOpError("reads a global without initial contents of ")
            << bytes << " bytes";
        return signalPassFailure();
      }
      // Keep every buffer 16-byte aligned in the file.
      constants.resize(llvm::alignTo(constants.size(), 16), 0);
      buffers.push_back(buffer);
      continue;
    }
    if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
      if (!launch.getAsyncDependencies().empty() || launch.getAsyncToken()) {
        launch.emitOpError("async launches are not supported by the runner");
        return signalPassFailure();
      }
      SmallVector<int64_t> grid, block;
      for (Value v : {launch.getGridSizeX(), launch.getGridSizeY(),
                      launch.getGridSizeZ()})
        grid.push_back(getConstantIntValue(v).value_or(-1));
      for (Value v : {launch.getBlockSizeX(), launch.getBlockSizeY(),
                      launch.getBlockSizeZ()})
        block.push_back(getConstantIntValue(v).value_or(-1));
      if (llvm::is_contained(grid, -1) || llvm::is_contained(block, -1)) {
        launch.emitOpError("needs constant grid and workgroup sizes");
        return signalPassFailure();
      }
      llvm::json::Array bindings;
      for (Value arg : launch.getKernelOperands()) {
        auto it = bufferOf.find(arg);
        if (it == bufferOf.end()) {
          Operation *def = arg.getDefiningOp();
          launch.emitOpError("binds a value the runner cannot hold as a "
                             "buffer, defined by ")
              << (def ? def->getName().getStringRef() : "a block argument");
          return signalPassFailure();
        }
        bindings.push_back(it->second);
      }
      std::string key = (launch.getKernelModuleName().getValue() +
                         "::" + launch.getKernelName().getValue())
                            .str();
      auto it = kernelIndex.find(key);
      if (it == kernelIndex.end()) {
        std::string spvName =
            ("__spv__" + launch.getKernelModuleName().getValue()).str();
        auto spv = symbols.lookup<spirv::ModuleOp>(spvName);
        if (!spv) {
          launch.emitOpError() << "has no SPIR-V module @" << spvName
                               << " (run blkrew-spirv-pipeline first)";
          return signalPassFailure();
        }
        SmallVector<uint32_t> words;
        if (failed(spirv::serialize(spv, words))) {
          spv.emitError("could not be serialized");
          return signalPassFailure();
        }
        // Outlining makes one module per launch; launches of the same
        // computation (the same ReLU on equal shapes, ...) serialize to the
        // same words (entry point and workgroup size included) and share
        // one kernel, so the runner builds one pipeline for them.
        StringRef bytes(reinterpret_cast<const char *>(words.data()),
                        words.size() * sizeof(uint32_t));
        auto [binary, isNew] =
            kernelOfBinary.try_emplace(bytes, kernels.size());
        it = kernelIndex.try_emplace(key, binary->second).first;
        if (isNew) {
          std::string file = "kernel" + std::to_string(kernels.size()) + ".spv";
          SmallString<256> path(outputDir);
          llvm::sys::path::append(path, file);
          if (llvm::sys::fs::create_directories(outputDir) ||
              failed(writeFile(module, path,
                               ArrayRef<char>(bytes.data(), bytes.size()))))
            return signalPassFailure();
          kernels.push_back(llvm::json::Object{
              {"file", file},
              {"entry", launch.getKernelName().getValue()},
              {"workgroup_size", toJSON(block)},
              {"bindings", static_cast<int64_t>(bindings.size())},
          });
        }
      }
      dispatches.push_back(
          llvm::json::Object{{"kernel", it->second},
                             {"grid", toJSON(grid)},
                             {"bindings", std::move(bindings)}});
      continue;
    }
    if (isa<memref::DeallocOp, func::ReturnOp>(op) || isPure(&op))
      continue;
    op.emitOpError("is not supported on the host side of the Vulkan path");
    return signalPassFailure();
  }

  llvm::json::Array bufferArray;
  for (const Buffer &buffer : buffers) {
    llvm::json::Object object{
        {"kind", buffer.kind},
        {"dtype", elementName(buffer.type)},
        {"shape", toJSON(buffer.type.getShape())},
        {"bytes", byteSize(buffer.type)},
    };
    if (buffer.argument >= 0)
      object["argument"] = buffer.argument;
    if (buffer.dataOffset >= 0) {
      object["global"] = buffer.global;
      object["offset"] = buffer.dataOffset;
    }
    bufferArray.push_back(std::move(object));
  }
  llvm::json::Object plan{
      {"function", function},          {"buffers", std::move(bufferArray)},
      {"kernels", std::move(kernels)}, {"dispatches", std::move(dispatches)},
      {"constants", "constants.bin"},
  };
  if (llvm::sys::fs::create_directories(outputDir)) {
    module.emitError() << "cannot create " << outputDir;
    return signalPassFailure();
  }
  SmallString<256> path(outputDir);
  llvm::sys::path::append(path, "constants.bin");
  if (failed(writeFile(module, path, constants)))
    return signalPassFailure();
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(plan))) << "\n";
  path = outputDir;
  llvm::sys::path::append(path, "plan.json");
  if (failed(writeFile(module, path, ArrayRef<char>(text.data(), text.size()))))
    return signalPassFailure();
  markAllAnalysesPreserved();
}
