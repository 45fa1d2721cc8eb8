// RUN: rm -rf %t
// RUN: blkrew-opt %s -blkrew-spirv-pipeline -blkrew-export-vulkan=output-dir=%t -o %t.mlir
// RUN: FileCheck %s < %t/plan.json
// Every kernel is valid SPIR-V for a Vulkan 1.1 device.
// RUN: spirv-val --target-env vulkan1.1 %t/kernel0.spv
// RUN: spirv-val --target-env vulkan1.1 %t/kernel1.spv
// RUN: spirv-val --target-env vulkan1.1 %t/kernel2.spv
// The pass leaves the module unchanged.
// RUN: blkrew-opt %s -blkrew-spirv-pipeline -o %t.before.mlir
// RUN: diff %t.mlir %t.before.mlir

// Buffers: the function's arguments (input, then the out-param), then each
// global once, with its offset into constants.bin (16-byte aligned).
// CHECK-LABEL: "buffers": [
// CHECK:         "argument": 0,
// CHECK-NEXT:    "bytes": 72,
// CHECK-NEXT:    "dtype": "f32",
// CHECK-NEXT:    "kind": "argument",
// CHECK:         "argument": 1,
// CHECK-NEXT:    "bytes": 48,
// CHECK:         "bytes": 12,
// CHECK-NEXT:    "dtype": "i32",
// CHECK-NEXT:    "global": "[[RP:.*]]",
// CHECK-NEXT:    "kind": "constant",
// CHECK-NEXT:    "offset": 0,
// CHECK:         "bytes": 12,
// CHECK-NEXT:    "dtype": "i32",
// CHECK-NEXT:    "global": "{{.*}}",
// CHECK-NEXT:    "kind": "constant",
// CHECK-NEXT:    "offset": 16,
// CHECK:         "bytes": 24,
// CHECK-NEXT:    "dtype": "f32",
// CHECK-NEXT:    "global": "{{.*}}",
// CHECK-NEXT:    "kind": "constant",
// CHECK-NEXT:    "offset": 32,
// CHECK:       "constants": "constants.bin",

// Launches in program order; bindings are buffer numbers, in the kernel's
// argument order (row_ptr, out, col_idx, values, x for the sparse kernel).
// CHECK-LABEL: "dispatches": [
// CHECK:         "bindings": [
// CHECK-NEXT:      1
// CHECK-NEXT:    ],
// CHECK:         "kernel": 0
// CHECK:         "bindings": [
// CHECK-NEXT:      2,
// CHECK-NEXT:      1,
// CHECK-NEXT:      3,
// CHECK-NEXT:      4,
// CHECK-NEXT:      0
// CHECK-NEXT:    ],
// CHECK:         "kernel": 1
// CHECK:         "kernel": 2
// CHECK:       "function": "forward",

// CHECK-LABEL: "kernels": [
// CHECK:         "bindings": 1,
// CHECK-NEXT:    "entry": "forward_kernel",
// CHECK-NEXT:    "file": "kernel0.spv",
// CHECK-NEXT:    "workgroup_size": [
// CHECK-NEXT:      4,
// CHECK-NEXT:      4,
// CHECK-NEXT:      1
// CHECK:         "bindings": 5,
// CHECK-NEXT:    "entry": "forward_kernel",
// CHECK-NEXT:    "file": "kernel1.spv",
// CHECK:         "file": "kernel2.spv",

#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @forward(%x: tensor<6x3xf32>) -> tensor<4x3xf32> {
  %rp = arith.constant dense<[0, 2, 3]> : tensor<3xi32>
  %ci = arith.constant dense<[1, 4, 0]> : tensor<3xi32>
  %v = arith.constant dense<[[1.0, 2.0], [3.0, -4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %zero = arith.constant 0.0 : f32
  // A non-zero start (like a bias) keeps the fill a kernel of its own.
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %init = linalg.fill ins(%one : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>, tensor<6x3xf32>)
      outs(%init : tensor<4x3xf32>) -> tensor<4x3xf32>
  %r = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    // Not a ReLU (that would fold into the product): a kernel of its own.
    %m = arith.maximumf %in, %one : f32
    linalg.yield %m : f32
  } -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
