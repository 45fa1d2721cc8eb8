// RUN: blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-prepare-loops))" -split-input-file | FileCheck %s

// A copy into the interior of a padded buffer (a strided subview) becomes
// linalg.copy, which lowers to vectorizable loops.
// CHECK-LABEL: func.func @into_padded(
// CHECK-SAME:    %[[A:.*]]: memref<1x8x4x4xf32>, %[[P:.*]]: memref<1x8x6x6xf32>)
// CHECK:         %[[SUB:.*]] = memref.subview %[[P]]
// CHECK-NOT:     memref.copy
// CHECK:         linalg.copy ins(%[[A]] : memref<1x8x4x4xf32>) outs(%[[SUB]] : memref<1x8x4x4xf32, strided<[288, 36, 6, 1], offset: 7>>)
func.func @into_padded(%a: memref<1x8x4x4xf32>, %p: memref<1x8x6x6xf32>) {
  %sub = memref.subview %p[0, 0, 1, 1] [1, 8, 4, 4] [1, 1, 1, 1]
      : memref<1x8x6x6xf32> to memref<1x8x4x4xf32, strided<[288, 36, 6, 1], offset: 7>>
  memref.copy %a, %sub : memref<1x8x4x4xf32> to memref<1x8x4x4xf32, strided<[288, 36, 6, 1], offset: 7>>
  return
}

// -----

// A strided source counts too.
// CHECK-LABEL: func.func @from_strided(
// CHECK:         linalg.copy
// CHECK-NOT:     memref.copy
func.func @from_strided(%a: memref<4x4xf32, strided<[8, 1]>>, %b: memref<4x4xf32>) {
  memref.copy %a, %b : memref<4x4xf32, strided<[8, 1]>> to memref<4x4xf32>
  return
}

// -----

// Contiguous copies stay memref.copy (a memcpy): identity layouts, and a
// strided layout that is still one dense block (a slice of whole rows).
// CHECK-LABEL: func.func @contiguous(
// CHECK-NOT:     linalg.copy
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<4x4xf32> to memref<4x4xf32>
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<2x4xf32> to memref<2x4xf32, strided<[4, 1], offset: 8>>
// CHECK-NOT:     linalg.copy
func.func @contiguous(%a: memref<4x4xf32>, %b: memref<4x4xf32>, %c: memref<2x4xf32>) {
  memref.copy %a, %b : memref<4x4xf32> to memref<4x4xf32>
  %rows = memref.subview %b[2, 0] [2, 4] [1, 1] : memref<4x4xf32> to memref<2x4xf32, strided<[4, 1], offset: 8>>
  memref.copy %c, %rows : memref<2x4xf32> to memref<2x4xf32, strided<[4, 1], offset: 8>>
  return
}

// -----

// A depthwise convolution runs each kernel tap along a contiguous output row:
// loops (n, c, oh, kh, kw, ow), ow innermost.
// CHECK-DAG:   #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 + d3, d4 + d5)>
// CHECK-DAG:   #[[W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d3, d4)>
// CHECK-DAG:   #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>
// CHECK-LABEL: func.func @depthwise(
// CHECK:         linalg.generic {indexing_maps = [#[[IN]], #[[W]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]}
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK-NOT:     linalg.depthwise_conv_2d_nchw_chw
func.func @depthwise(%x: memref<1x8x6x6xf32>, %w: memref<8x3x3xf32>, %o: memref<1x8x4x4xf32>) {
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
    ins(%x, %w : memref<1x8x6x6xf32>, memref<8x3x3xf32>) outs(%o : memref<1x8x4x4xf32>)
  return
}
