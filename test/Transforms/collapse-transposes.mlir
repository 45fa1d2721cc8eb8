// RUN: blkrew-opt %s -blkrew-collapse-transposes | FileCheck %s

// A linear layer's 3-D input transpose, [B, T, D] -> [D, B, T]: the runs
// (B, T) and D, collapsed; the destination is the expand of the kernel's
// 2-D buffer, whose collapse is that buffer itself.
// CHECK-LABEL: func.func @input_transpose(
// CHECK-SAME:    %[[X:.*]]: memref<4x8x16xf32>, %[[R:.*]]: memref<16x32xf32>)
// CHECK:         %[[XC:.*]] = memref.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : memref<4x8x16xf32> into memref<32x16xf32>
// CHECK-NOT:     memref.collapse_shape
// CHECK:         linalg.transpose ins(%[[XC]] : memref<32x16xf32>) outs(%[[R]] : memref<16x32xf32>) permutation = [1, 0]
func.func @input_transpose(%x: memref<4x8x16xf32>, %r: memref<16x32xf32>) {
  %r3 = memref.expand_shape %r [[0], [1, 2]] output_shape [16, 4, 8] : memref<16x32xf32> into memref<16x4x8xf32>
  linalg.transpose ins(%x : memref<4x8x16xf32>) outs(%r3 : memref<16x4x8xf32>) permutation = [2, 0, 1]
  return
}

// Its output transpose, [M, B, T] -> [B, T, M]; and a transpose with no run
// longer than one dimension, which stays.
// CHECK-LABEL: func.func @output_and_no_runs(
// CHECK-SAME:    %[[O:.*]]: memref<24x4x8xf32>, %[[Y:.*]]: memref<4x8x24xf32>, %[[A:.*]]: memref<2x3x5xf32>, %[[B:.*]]: memref<5x3x2xf32>)
// CHECK-DAG:     %[[OC:.*]] = memref.collapse_shape %[[O]] {{\[}}[0], [1, 2]] : memref<24x4x8xf32> into memref<24x32xf32>
// CHECK-DAG:     %[[YC:.*]] = memref.collapse_shape %[[Y]] {{\[}}[0, 1], [2]] : memref<4x8x24xf32> into memref<32x24xf32>
// CHECK:         linalg.transpose ins(%[[OC]] : memref<24x32xf32>) outs(%[[YC]] : memref<32x24xf32>) permutation = [1, 0]
// CHECK:         linalg.transpose ins(%[[A]] : memref<2x3x5xf32>) outs(%[[B]] : memref<5x3x2xf32>) permutation = [2, 1, 0]
func.func @output_and_no_runs(%o: memref<24x4x8xf32>, %y: memref<4x8x24xf32>, %a: memref<2x3x5xf32>, %b: memref<5x3x2xf32>) {
  linalg.transpose ins(%o : memref<24x4x8xf32>) outs(%y : memref<4x8x24xf32>) permutation = [1, 2, 0]
  linalg.transpose ins(%a : memref<2x3x5xf32>) outs(%b : memref<5x3x2xf32>) permutation = [2, 1, 0]
  return
}
