// RUN: blkrew-opt %s -blkrew-spirv-pipeline | FileCheck %s

// The whole model becomes a host function of launches (one per op; here
// one: the block-sparse matmul, which absorbed the zero fill of its
// destination and the ReLU after it) and one SPIR-V module per kernel,
// under the mobile Vulkan target environment.
// CHECK:       module attributes {gpu.container_module, spirv.target_env = #spirv.target_env<#spirv.vce<v1.3, [Shader], [SPV_KHR_storage_buffer_storage_class]>, api=Vulkan
// CHECK-LABEL: func.func @forward(
// CHECK-SAME:    %[[X:.*]]: memref<6x3xf32>, %[[OUT:.*]]: memref<4x3xf32>) {
// CHECK-DAG:     %[[RP:.*]] = memref.get_global @{{.*}} : memref<3xi32>
// CHECK-DAG:     %[[V:.*]] = memref.get_global @{{.*}} : memref<3x2xf32>
// CHECK-NOT:     gpu.launch_func
// CHECK:         gpu.launch_func @[[SPMM:.*]]::@forward_kernel {{.*}} args(%[[RP]] : memref<3xi32>, %{{.*}} : memref<3xi32>, %[[V]] : memref<3x2xf32>, %[[X]] : memref<6x3xf32>, %[[OUT]] : memref<4x3xf32>)
// CHECK-NEXT:    return

// The sparse kernel: a loop over the group's kept columns, bounds read from
// row_ptr (binding 0), column indices from col_idx (binding 1); kernels bind
// whole buffers as storage buffers and index with i32. An invocation
// computes both rows of its group (rows-per-invocation 4 takes at most 4):
// two products per rhs element loaded, and no workgroup dimension along the
// group's rows.
// CHECK:       spirv.module @__spv__[[SPMM]] Logical GLSL450
// CHECK-COUNT-4: spirv.GlobalVariable @forward_kernel_arg_{{[0-3]}} bind(0, {{[0-3]}})
// CHECK:         spirv.GlobalVariable @forward_kernel_arg_4 bind(0, 4) : !spirv.ptr<!spirv.struct<(!spirv.array<12 x f32, stride=4> [0])>, StorageBuffer>
// CHECK:         spirv.mlir.loop
// CHECK:           spirv.AccessChain %forward_kernel_arg_1_addr
// CHECK:           spirv.FMul
// CHECK:           spirv.FAdd
// CHECK:           spirv.FMul
// CHECK:           spirv.FAdd
// The ReLU as each sum is stored; arith-expand spells maximumf
// (NaN-propagating) as compare and select.
// CHECK:         spirv.FUnordGreaterThan
// CHECK:         spirv.Select
// CHECK:         spirv.Store "StorageBuffer"
// CHECK:         spirv.EntryPoint "GLCompute" @forward_kernel
// CHECK:         spirv.ExecutionMode @forward_kernel "LocalSize", 4, 2, 1
// CHECK-NOT:   spirv.module
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @forward(%x: tensor<6x3xf32>) -> tensor<4x3xf32> {
  %rp = arith.constant dense<[0, 2, 3]> : tensor<3xi32>
  %ci = arith.constant dense<[1, 4, 0]> : tensor<3xi32>
  %v = arith.constant dense<[[1.0, 2.0], [3.0, -4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>, tensor<6x3xf32>)
      outs(%init : tensor<4x3xf32>) -> tensor<4x3xf32>
  %r = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
