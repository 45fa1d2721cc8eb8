// Canonicalization of blkrew ops.
// RUN: blkrew-opt %s -canonicalize -split-input-file | FileCheck %s

// A +0.0 fill of the destination folds into the op as `overwrite`: the
// kernel starts from zero instead of filling and re-reading the output.
// CHECK-LABEL: func.func @zero_fill(
// CHECK-SAME:    %[[X:.*]]: tensor<8x8xf32>)
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK-NOT:     linalg.fill
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> overwrite
// CHECK-SAME:      outs(%[[E]] : tensor<4x8xf32>)
func.func @zero_fill(%x: tensor<8x8xf32>) -> tensor<4x8xf32> {
  %rp = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %v = arith.constant dense<1.0> : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<8x8xf32>)
      outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Other starting values are accumulated into, so the fill stays: a bias
// (1.0), and -0.0 (-0.0 + -0.0 is -0.0, which a +0.0 start would not give).
// CHECK-LABEL: func.func @nonzero_fill(
// CHECK:         %[[ONE:.*]] = linalg.fill
// CHECK:         %[[NEG:.*]] = linalg.fill
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> ins
// CHECK-SAME:      outs(%[[ONE]] :
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> ins
// CHECK-SAME:      outs(%[[NEG]] :
func.func @nonzero_fill(%x: tensor<8x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %rp = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %v = arith.constant dense<1.0> : tensor<2x2xf32>
  %one = arith.constant 1.0 : f32
  %negzero = arith.constant -0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %i1 = linalg.fill ins(%one : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %i2 = linalg.fill ins(%negzero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y1 = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<8x8xf32>)
      outs(%i1 : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y2 = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<8x8xf32>)
      outs(%i2 : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y1, %y2 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// On buffers the fill is a separate write that other ops may observe: left
// alone.
// CHECK-LABEL: func.func @memref_fill(
// CHECK:         linalg.fill
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> ins
func.func @memref_fill(%rp: memref<3xi32>, %ci: memref<2xi32>, %v: memref<2x2xf32>,
                       %x: memref<8x8xf32>, %c: memref<4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4x8xf32>)
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<2xi32>, memref<2x2xf32>, memref<8x8xf32>)
      outs(%c : memref<4x8xf32>)
  return
}
