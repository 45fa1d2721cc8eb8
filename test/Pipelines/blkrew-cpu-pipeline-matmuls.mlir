// The CPU pipeline runs blkrew-vectorize-matmuls on a product of two
// activations (no constant operand, so no blkrew kernel): register tiles of
// 8 rows on the host and AArch64, each row's FMA as wide as two of the
// target's vectors (8 lanes on NEON); no linalg.matmul is left for
// convert-linalg-to-loops.
// RUN: blkrew-opt %s --blkrew-cpu-pipeline -mlir-print-ir-after=blkrew-vectorize-matmuls -o /dev/null 2>&1 | FileCheck %s
// RUN: blkrew-opt %s --blkrew-cpu-pipeline=target=aarch64 -mlir-print-ir-after=blkrew-vectorize-matmuls -o /dev/null 2>&1 | FileCheck %s --check-prefix=NEON

// CHECK-LABEL: func.func @product(
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK:         scf.for %{{.*}} step %[[C8]] {
// CHECK:           vector.fma {{.*}} : vector<{{[0-9]+}}xf32>
// CHECK-NOT:     linalg.matmul
// CHECK:         return
// NEON-LABEL: func.func @product(
// NEON:         vector.fma {{.*}} : vector<8xf32>
// NEON-NOT:     linalg.matmul
// NEON:         return
func.func @product(%a: tensor<32x64xf32>, %b: tensor<64x48xf32>) -> tensor<32x48xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<32x48xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<32x48xf32>) -> tensor<32x48xf32>
  %r = linalg.matmul ins(%a, %b : tensor<32x64xf32>, tensor<64x48xf32>)
      outs(%c : tensor<32x48xf32>) -> tensor<32x48xf32>
  return %r : tensor<32x48xf32>
}
