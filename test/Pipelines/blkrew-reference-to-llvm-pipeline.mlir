// The reference pipeline takes tensor-level blkrew + linalg IR all the way to
// the LLVM dialect: nothing of blkrew, scf, memref, tensor or linalg is left.
// RUN: blkrew-opt %s --blkrew-reference-to-llvm-pipeline | FileCheck %s

// CHECK-LABEL: llvm.func @fc(
// CHECK-NOT:     blkrew.
// CHECK-NOT:     scf.
// CHECK-NOT:     linalg.
// CHECK-NOT:     memref.
// CHECK-NOT:     tensor.
// CHECK:         llvm.fmul
// CHECK:         llvm.fadd
// CHECK:         llvm.return
func.func @fc(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %rp = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %v = arith.constant dense<1.0> : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
