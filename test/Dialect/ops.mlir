// Round trip of every blkrew op and attribute form, in the custom and the
// generic printed forms.
// RUN: blkrew-opt %s | blkrew-opt | FileCheck %s
// RUN: blkrew-opt %s --mlir-print-op-generic | blkrew-opt | FileCheck %s

// CHECK-LABEL: func.func @bsr_matmul_tensor(
// CHECK-SAME:    %[[RP:.*]]: tensor<3xi32>, %[[CI:.*]]: tensor<5xi32>, %[[V:.*]]: tensor<5x8xf32>, %[[X:.*]]: tensor<12x32xf32>, %[[C:.*]]: tensor<16x32xf32>
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [8, 4], scheme = column>
// CHECK-SAME:      ins(%[[RP]], %[[CI]], %[[V]], %[[X]] : tensor<3xi32>, tensor<5xi32>, tensor<5x8xf32>, tensor<12x32xf32>)
// CHECK-SAME:      outs(%[[C]] : tensor<16x32xf32>) -> tensor<16x32xf32>
// CHECK:         return %[[Y]]
func.func @bsr_matmul_tensor(%rp: tensor<3xi32>, %ci: tensor<5xi32>, %v: tensor<5x8xf32>,
                             %x: tensor<12x32xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %y = blkrew.bsr_matmul #blkrew.layout<block = [8, 4], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<5xi32>, tensor<5x8xf32>, tensor<12x32xf32>)
      outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// f16 values with f32 operands (blkrew-half-weights).
// CHECK-LABEL: func.func @bsr_matmul_half_values(
// CHECK:         blkrew.bsr_matmul <block = [8, 4], scheme = column>
// CHECK-SAME:      tensor<5x8xf16>, tensor<12x32xf32>) outs(%{{.*}} : tensor<16x32xf32>) -> tensor<16x32xf32>
func.func @bsr_matmul_half_values(%rp: tensor<3xi32>, %ci: tensor<5xi32>, %v: tensor<5x8xf16>,
                                  %x: tensor<12x32xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %y = blkrew.bsr_matmul #blkrew.layout<block = [8, 4], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<5xi32>, tensor<5x8xf16>, tensor<12x32xf32>)
      outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// CHECK-LABEL: func.func @bsr_matmul_overwrite(
// CHECK:         blkrew.bsr_matmul <block = [8, 4], scheme = column> overwrite ins(
func.func @bsr_matmul_overwrite(%rp: tensor<3xi32>, %ci: tensor<5xi32>, %v: tensor<5x8xf32>,
                                %x: tensor<12x32xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %y = blkrew.bsr_matmul #blkrew.layout<block = [8, 4], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<5xi32>, tensor<5x8xf32>, tensor<12x32xf32>)
      outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// CHECK-LABEL: func.func @bsr_matmul_relu(
// CHECK:         blkrew.bsr_matmul <block = [8, 4], scheme = column> overwrite relu ins(
func.func @bsr_matmul_relu(%rp: tensor<3xi32>, %ci: tensor<5xi32>, %v: tensor<5x8xf32>,
                           %x: tensor<12x32xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %y = blkrew.bsr_matmul #blkrew.layout<block = [8, 4], scheme = column> overwrite relu
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<5xi32>, tensor<5x8xf32>, tensor<12x32xf32>)
      outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// CHECK-LABEL: func.func @bsr_matmul_clamp(
// CHECK:         blkrew.bsr_matmul <block = [8, 4], scheme = column> overwrite clamp [0.000000e+00, 6.000000e+00] ins(
func.func @bsr_matmul_clamp(%rp: tensor<3xi32>, %ci: tensor<5xi32>, %v: tensor<5x8xf32>,
                            %x: tensor<12x32xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %y = blkrew.bsr_matmul #blkrew.layout<block = [8, 4], scheme = column> overwrite clamp [0.0, 6.0]
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<5xi32>, tensor<5x8xf32>, tensor<12x32xf32>)
      outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// CHECK-LABEL: func.func @bsr_matmul_window(
// CHECK:         blkrew.bsr_matmul <block = [8, 4], scheme = column> relu window [3, 3] ins(
// CHECK-SAME:      tensor<2x6x10xf32>)
func.func @bsr_matmul_window(%rp: tensor<3xi32>, %ci: tensor<5xi32>, %v: tensor<5x8xf32>,
                             %x: tensor<2x6x10xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %y = blkrew.bsr_matmul #blkrew.layout<block = [8, 4], scheme = column> relu window [3, 3]
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<5xi32>, tensor<5x8xf32>, tensor<2x6x10xf32>)
      outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// CHECK-LABEL: func.func @bsr_matmul_window_memref(
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> window [1, 2] ins(
// CHECK-SAME:      memref<3x4x5xf32>)
func.func @bsr_matmul_window_memref(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                                    %x: memref<3x4x5xf32>, %c: memref<4x16xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> window [1, 2]
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<3x4x5xf32>)
      outs(%c : memref<4x16xf32>)
  return
}

// CHECK-LABEL: func.func @bsr_matmul_memref(
// CHECK:         blkrew.bsr_matmul <block = [4, 1], scheme = row, perm = [1, 0, 3, 2, 4]>
// CHECK-SAME:      outs(%{{.*}} : memref<5x?xf16>)
// CHECK-NOT:     ->
func.func @bsr_matmul_memref(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x4xf16>,
                             %x: memref<7x?xf16>, %c: memref<5x?xf16>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 1], scheme = row, perm = [1, 0, 3, 2, 4]>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x4xf16>, memref<7x?xf16>)
      outs(%c : memref<5x?xf16>)
  return
}

// CHECK-LABEL: func.func @to_dense_tensor(
// CHECK:         blkrew.to_dense <block = [2, 2], scheme = bcr>
// CHECK-SAME:      ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>)
// CHECK-SAME:      outs(%{{.*}} : tensor<4x4xf32>) -> tensor<4x4xf32>
func.func @to_dense_tensor(%d: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %rp = arith.constant dense<[0, 2, 3]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 3, 1]> : tensor<3xi32>
  %v = arith.constant dense<1.0> : tensor<3x2xf32>
  %w = blkrew.to_dense #blkrew.layout<block = [2, 2], scheme = bcr>
      ins(%rp, %ci, %v : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>)
      outs(%d : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %w : tensor<4x4xf32>
}

// CHECK-LABEL: func.func @to_dense_memref(
// CHECK:         blkrew.to_dense <block = [1, 16], scheme = row>
// CHECK-SAME:      outs(%{{.*}} : memref<?x?xf64>)
func.func @to_dense_memref(%rp: memref<?xi32>, %ci: memref<?xi32>, %v: memref<?x1xf64>,
                           %d: memref<?x?xf64>) {
  blkrew.to_dense #blkrew.layout<block = [1, 16], scheme = row>
      ins(%rp, %ci, %v : memref<?xi32>, memref<?xi32>, memref<?x1xf64>)
      outs(%d : memref<?x?xf64>)
  return
}

// The attribute also round-trips on its own, with and without perm.
// CHECK-LABEL: func.func @layout_attrs(
// CHECK-SAME:    layouts = [#blkrew.layout<block = [8, 4], scheme = column>, #blkrew.layout<block = [16, 1], scheme = row>, #blkrew.layout<block = [4, 4], scheme = bcr, perm = [2, 0, 1]>]
func.func @layout_attrs() attributes {
    layouts = [#blkrew.layout<block = [8, 4], scheme = column>,
               #blkrew.layout<block = [16, 1], scheme = row>,
               #blkrew.layout<block = [4, 4], scheme = bcr, perm = [2, 0, 1]>]} {
  return
}
