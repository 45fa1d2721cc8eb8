// RUN: rm -rf %t
// RUN: blkrew-opt %s -blkrew-spirv-pipeline -blkrew-export-vulkan=output-dir=%t -o /dev/null
// RUN: FileCheck %s < %t/plan.json

// Two ReLUs on equal shapes are outlined as two modules but serialize to the
// same words: one kernel, launched twice on different buffers.
// CHECK-LABEL: "dispatches": [
// CHECK:         "bindings": [
// CHECK-NEXT:      0,
// CHECK-NEXT:      2
// CHECK-NEXT:    ],
// CHECK:         "kernel": 0
// CHECK:         "bindings": [
// CHECK-NEXT:      1,
// CHECK-NEXT:      3
// CHECK-NEXT:    ],
// CHECK:         "kernel": 0
// CHECK-LABEL: "kernels": [
// CHECK:         "file": "kernel0.spv",
// CHECK-NOT:     "file"
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @forward(%x: tensor<4x3xf32>, %y: tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %a = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x3xf32>
  %b = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x3xf32>
  return %a, %b : tensor<4x3xf32>, tensor<4x3xf32>
}
