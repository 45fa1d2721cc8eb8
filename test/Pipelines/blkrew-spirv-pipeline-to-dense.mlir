// RUN: blkrew-opt %s -blkrew-spirv-pipeline | FileCheck %s

// blkrew.to_dense on the GPU: a zero fill of the dense buffer, then a
// scatter kernel (one invocation per row of a group) reading row_ptr,
// col_idx and values; the dense matmul that consumes it is a third kernel.
// CHECK-LABEL: func.func @forward(
// CHECK:         %[[D:.*]] = memref.alloc() {{.*}} : memref<4x6xf32>
// CHECK:         gpu.launch_func @[[ZERO:.*]]::@forward_kernel {{.*}} args(%[[D]] : memref<4x6xf32>)
// CHECK:         gpu.launch_func @[[SCATTER:.*]]::@forward_kernel {{.*}} threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(%{{.*}} : memref<3xi32>, %{{.*}} : memref<3xi32>, %{{.*}} : memref<3x2xf32>, %[[D]] : memref<4x6xf32>)
// CHECK:         gpu.launch_func
// CHECK:         gpu.launch_func @{{.*}}::@forward_kernel {{.*}} args(%[[D]] : memref<4x6xf32>, %{{.*}} : memref<6x3xf32>, %{{.*}} : memref<4x3xf32>)
// CHECK:       spirv.module @__spv__[[ZERO]]
// CHECK:         spirv.EntryPoint "GLCompute" @forward_kernel
// CHECK:       spirv.module @__spv__[[SCATTER]]
// CHECK:         spirv.mlir.loop
// CHECK:           spirv.Store "StorageBuffer"
// CHECK:         spirv.EntryPoint "GLCompute" @forward_kernel
// CHECK:         spirv.ExecutionMode @forward_kernel "LocalSize", 2, 2, 1
func.func @forward(%x: tensor<6x3xf32>) -> tensor<4x3xf32> {
  %rp = arith.constant dense<[0, 2, 3]> : tensor<3xi32>
  %ci = arith.constant dense<[1, 4, 0]> : tensor<3xi32>
  %v = arith.constant dense<[[1.0, 2.0], [3.0, -4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x6xf32>
  %w = blkrew.to_dense #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>)
      outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  %e2 = tensor.empty() : tensor<4x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x3xf32>) -> tensor<4x3xf32>
  %y = linalg.matmul ins(%w, %x : tensor<4x6xf32>, tensor<6x3xf32>) outs(%init : tensor<4x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}
