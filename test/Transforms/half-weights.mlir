// RUN: blkrew-opt %s -blkrew-half-weights -split-input-file -verify-diagnostics | FileCheck %s
// RUN: blkrew-opt %s -blkrew-half-weights=vector-width=8 -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=WIDTH
// RUN: not blkrew-opt %s -blkrew-half-weights=vector-width=-1 -split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT

// BADOPT: blkrew-half-weights: vector-width must be >= 0, got -1

// The packed values become an f16 constant, each rounded to the nearest
// f16 (0.1 -> 0.0999755859375, 1/3 -> 0.333251953125; 0.5 and -2 exactly);
// row_ptr, col_idx, rhs, init and the result stay as they were.
// With vector-width=8 N = 8 is not below the vector width: the kernel's
// register tile shape, where the weights stay f32.
// WIDTH-LABEL: func.func @fc(
// WIDTH:         blkrew.bsr_matmul {{.*}} tensor<2x2xf32>, tensor<4x8xf32>)
// CHECK-LABEL: func.func @fc(
// CHECK-SAME:    %[[X:.*]]: tensor<4x8xf32>, %[[C:.*]]: tensor<2x8xf32>)
// CHECK-DAG:     %[[RP:.*]] = arith.constant dense<[0, 2]> : tensor<2xi32>
// CHECK-DAG:     %[[CI:.*]] = arith.constant dense<[0, 3]> : tensor<2xi32>
// CHECK-DAG:     %[[V:.*]] = arith.constant dense<{{\[}}[9.997550e-02, 3.332520e-01], [5.000000e-01, -2.000000e+00]]> : tensor<2x2xf16>
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 1], scheme = column> ins(%[[RP]], %[[CI]], %[[V]], %[[X]] : tensor<2xi32>, tensor<2xi32>, tensor<2x2xf16>, tensor<4x8xf32>) outs(%[[C]] : tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK-NOT:     xf32>
// CHECK:         return %[[Y]]
func.func @fc(%x: tensor<4x8xf32>, %c: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %rp = arith.constant dense<[0, 2]> : tensor<2xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %v = arith.constant dense<[[0.1, 0.33333333], [0.5, -2.0]]> : tensor<2x2xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Values that are not a constant (an argument) are left as they are.
// CHECK-LABEL: func.func @not_constant(
// CHECK:         blkrew.bsr_matmul {{.*}} tensor<2x2xf32>, tensor<4x8xf32>)
func.func @not_constant(%v: tensor<2x2xf32>, %x: tensor<4x8xf32>, %c: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %rp = arith.constant dense<[0, 2]> : tensor<2xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// A weight f16 cannot hold is an error, not an infinity.
func.func @out_of_range(%x: tensor<4x1xf32>, %c: tensor<4x1xf32>) -> tensor<4x1xf32> {
  %rp = arith.constant dense<[0, 1]> : tensor<2xi32>
  %ci = arith.constant dense<[2]> : tensor<1xi32>
  %v = arith.constant dense<[[1.0, 2.0, 7.0e4, 3.0]]> : tensor<1x4xf32>
  // expected-error @+1 {{weight 7.000000e+04 (packed value 2) is outside f16's range}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [4, 1], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x4xf32>, tensor<4x1xf32>)
      outs(%c : tensor<4x1xf32>) -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}

// -----

// The small-N shape at 8 lanes: N = 1 with groups of 4 rows is narrowed;
// groups of 2 rows (the register tile) and N = 8 are not.
// CHECK-LABEL: func.func @small_n(
// CHECK-COUNT-3: tensor<1x4xf16>
// WIDTH-LABEL: func.func @small_n(
// WIDTH:         %[[V:.*]] = arith.constant dense<{{.*}}> : tensor<1x4xf16>
// WIDTH:         blkrew.bsr_matmul {{.*}} ins(%{{.*}}, %{{.*}}, %[[V]], %{{.*}} : {{.*}}, tensor<1x4xf16>, tensor<4x1xf32>)
// WIDTH:         %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<2x2xf32>
// WIDTH:         blkrew.bsr_matmul {{.*}} ins(%{{.*}}, %{{.*}}, %[[W]], %{{.*}} : {{.*}}, tensor<2x2xf32>, tensor<4x1xf32>)
// WIDTH:         blkrew.bsr_matmul {{.*}} tensor<1x4xf32>, tensor<4x8xf32>)
func.func @small_n(%x: tensor<4x1xf32>, %c: tensor<4x1xf32>, %x8: tensor<4x8xf32>, %c8: tensor<4x8xf32>)
    -> (tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x8xf32>) {
  %rp = arith.constant dense<[0, 1]> : tensor<2xi32>
  %ci = arith.constant dense<[2]> : tensor<1xi32>
  %v = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [4, 1], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x4xf32>, tensor<4x1xf32>)
      outs(%c : tensor<4x1xf32>) -> tensor<4x1xf32>
  %rp2 = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci2 = arith.constant dense<[0, 3]> : tensor<2xi32>
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %z = blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp2, %ci2, %w, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x1xf32>)
      outs(%c : tensor<4x1xf32>) -> tensor<4x1xf32>
  %y8 = blkrew.bsr_matmul #blkrew.layout<block = [4, 1], scheme = column>
      ins(%rp, %ci, %v, %x8 : tensor<2xi32>, tensor<1xi32>, tensor<1x4xf32>, tensor<4x8xf32>)
      outs(%c8 : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %z, %y8 : tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x8xf32>
}
