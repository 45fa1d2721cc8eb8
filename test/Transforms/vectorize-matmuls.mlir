// RUN: blkrew-opt %s --blkrew-vectorize-matmuls="rows=2 vector-width=4 tile-vectors=1 depth=2" -split-input-file | FileCheck %s
// RUN: blkrew-opt %s --blkrew-vectorize-matmuls="rows=4 vector-width=4 tile-vectors=2 depth=8" -split-input-file | FileCheck %s --check-prefix=PART
// RUN: not blkrew-opt %s --blkrew-vectorize-matmuls="rows=0" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT

// BADOPT: blkrew-vectorize-matmuls: rows, vector-width, tile-vectors and depth must be >= 1

// A product of two activations in 2 x 4 register tiles over 2 steps of the
// reduction: each step reads the lhs's 2 x 2 slice and the rhs's 2 x 4
// rows and is an outer product, an lhs element broadcast times an rhs
// row, accumulated by vector.fma. The result tile stays in registers
// through the reduction's loop: its rows are read before the loop,
// carried through it and written after it.
// CHECK-LABEL: func.func @full(
// CHECK-SAME:    %[[A:[^:]*]]: memref<16x32xf32>, %[[B:[^:]*]]: memref<32x64xf32>, %[[C:[^:]*]]: memref<16x64xf32>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK:         scf.for %[[I:.*]] = %[[C0]] to %[[C16]] step %[[C2]] {
// CHECK:           scf.for %[[J:.*]] = %[[C0]] to %[[C64]] step %[[C4]] {
// CHECK:             %[[SC:.*]] = memref.subview %[[C]][%[[I]], %[[J]]] [2, 4] [1, 1]
// CHECK:             %[[R0:.*]] = vector.transfer_read %[[SC]][%[[C0]], %[[C0]]]{{.*}} : {{.*}}, vector<4xf32>
// CHECK:             %[[R1:.*]] = vector.transfer_read %[[SC]][%[[C1]], %[[C0]]]{{.*}} : {{.*}}, vector<4xf32>
// CHECK:             %[[ROWS:.*]]:2 = scf.for %[[K:.*]] = %[[C0]] to %[[C32]] step %[[C2]] iter_args(%[[ACC0:.*]] = %[[R0]], %[[ACC1:.*]] = %[[R1]])
// CHECK:               %[[SA:.*]] = memref.subview %[[A]][%[[I]], %[[K]]] [2, 2] [1, 1]
// CHECK:               %[[SB:.*]] = memref.subview %[[B]][%[[K]], %[[J]]] [2, 4] [1, 1]
// CHECK:               %[[VA:.*]] = vector.transfer_read %[[SA]]{{.*}} : {{.*}}, vector<2x2xf32>
// CHECK:               %[[VB:.*]] = vector.transfer_read %[[SB]]{{.*}} : {{.*}}, vector<2x4xf32>
// CHECK-NOT:           %[[SC]]
// CHECK:               %[[ROW:.*]] = vector.extract %[[VB]][0] : vector<4xf32> from vector<2x4xf32>
// CHECK:               %[[EL:.*]] = vector.extract %[[VA]][0, 0] : f32 from vector<2x2xf32>
// CHECK:               %[[BC:.*]] = vector.broadcast %[[EL]] : f32 to vector<4xf32>
// CHECK:               vector.fma %[[BC]], %[[ROW]], %[[ACC0]] : vector<4xf32>
// CHECK-COUNT-3:       vector.fma
// CHECK-NOT:           %[[SC]]
// CHECK:               scf.yield
// CHECK:             vector.transfer_write %[[ROWS]]#0, %[[SC]][%[[C0]], %[[C0]]]
// CHECK:             vector.transfer_write %[[ROWS]]#1, %[[SC]][%[[C1]], %[[C0]]]
// CHECK-NOT:     linalg.matmul
// CHECK:         return
func.func @full(%a: memref<16x32xf32>, %b: memref<32x64xf32>, %c: memref<16x64xf32>) {
  linalg.matmul ins(%a, %b : memref<16x32xf32>, memref<32x64xf32>) outs(%c : memref<16x64xf32>)
  return
}

// -----

// A result filled right before the product (a zero init, as torch-mlir
// writes every matmul) is not filled as a whole: each tile's rows start
// the reduction loop as the fill value, so the result is written once.
// CHECK-LABEL: func.func @filled(
// CHECK-SAME:    %{{[^:]*}}: memref<2x16x32xf32>, %{{[^:]*}}: memref<2x32x64xf32>, %[[C:[^:]*]]: memref<2x16x64xf32>)
// CHECK:         %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK-NOT:     linalg.fill
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK-NOT:           vector.transfer_write
// CHECK:               %[[ROWS:.*]]:2 = scf.for {{.*}} iter_args(%{{.*}} = %[[Z]], %{{.*}} = %[[Z]])
// CHECK:               vector.transfer_write %[[ROWS]]#0
// CHECK:               vector.transfer_write %[[ROWS]]#1
// CHECK-NOT:     linalg.fill
// CHECK:         return
func.func @filled(%a: memref<2x16x32xf32>, %b: memref<2x32x64xf32>, %c: memref<2x16x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<2x16x64xf32>)
  linalg.batch_matmul ins(%a, %b : memref<2x16x32xf32>, memref<2x32x64xf32>) outs(%c : memref<2x16x64xf32>)
  return
}

// -----

// The fill as blkrew-prepare-loops leaves it: a generic broadcasting the
// scalar into a 1-D reshape of the result buffer. It moves into the tiles
// as well.
// CHECK-LABEL: func.func @filled_flat(
// CHECK-SAME:    %{{[^:]*}}: memref<16x32xf32>, %{{[^:]*}}: memref<32x64xf32>, %[[C:[^:]*]]: memref<16x64xf32>, %[[F:[^:]*]]: f32)
// CHECK-NOT:     linalg.generic
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             %[[Z0:.*]] = vector.broadcast %[[F]] : f32 to vector<4xf32>
// CHECK:             %[[Z1:.*]] = vector.broadcast %[[F]] : f32 to vector<4xf32>
// CHECK:             scf.for {{.*}} iter_args(%{{.*}} = %[[Z0]], %{{.*}} = %[[Z1]])
// CHECK-NOT:     linalg.generic
// CHECK:         return
#flat = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>
func.func @filled_flat(%a: memref<16x32xf32>, %b: memref<32x64xf32>, %c: memref<16x64xf32>, %f: f32) {
  %flat = memref.collapse_shape %c [[0, 1]] : memref<16x64xf32> into memref<1024xf32>
  linalg.generic {indexing_maps = [#scalar, #flat], iterator_types = ["parallel"]}
      ins(%f : f32) outs(%flat : memref<1024xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.matmul ins(%a, %b : memref<16x32xf32>, memref<32x64xf32>) outs(%c : memref<16x64xf32>)
  return
}

// -----

// A fill with something in between that reads the result buffer stays
// where it is, and the tiles read their start from it.
// CHECK-LABEL: func.func @fill_read_before(
// CHECK:         linalg.fill
// CHECK:         memref.copy
// CHECK:         scf.for
// CHECK:           vector.transfer_read
// CHECK:         return
func.func @fill_read_before(%a: memref<16x32xf32>, %b: memref<32x64xf32>, %c: memref<16x64xf32>, %d: memref<16x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<16x64xf32>)
  memref.copy %c, %d : memref<16x64xf32> to memref<16x64xf32>
  linalg.matmul ins(%a, %b : memref<16x32xf32>, memref<32x64xf32>) outs(%c : memref<16x64xf32>)
  return
}

// -----

// Shapes the tiles do not divide (4 x 8 tiles, 8 deep, with rows=4): each tile
// loop is peeled, so the loops run full tiles only (to 8 rows, 40 columns,
// 16 steps) and the last tile of each dimension is a smaller static one,
// vectorized at its own shape without masks.
// PART-LABEL: func.func @partial(
// PART-DAG:     %[[C8:.*]] = arith.constant 8 : index
// PART-DAG:     %[[C16:.*]] = arith.constant 16 : index
// PART-DAG:     %[[C40:.*]] = arith.constant 40 : index
// PART:         scf.for %{{.*}} to %[[C8]] step
// PART:           scf.for %{{.*}} to %[[C40]] step %[[C8]] {
// PART:             scf.for %{{.*}} to %[[C16]] step %[[C8]] iter_args(
// PART:               vector.transfer_read {{.*}} vector<4x8xf32>
// PART:               vector.transfer_read {{.*}} vector<8x8xf32>
// PART-COUNT-32:      vector.fma {{.*}} : vector<8xf32>
// PART:             vector.transfer_read {{.*}} vector<4x4xf32>
// PART:           memref.subview %{{.*}}[%{{.*}}, 40] [4, 4] [1, 1]
// PART:         memref.subview %{{.*}}[8, %{{.*}}] [2, 8] [1, 1]
// PART:         memref.subview %{{.*}}[8, 40] [2, 4] [1, 1]
// PART-NOT:     vector.mask
// PART-NOT:     linalg.matmul
// PART:         return
func.func @partial(%a: memref<10x20xf32>, %b: memref<20x44xf32>, %c: memref<10x44xf32>) {
  linalg.matmul ins(%a, %b : memref<10x20xf32>, memref<20x44xf32>) outs(%c : memref<10x44xf32>)
  return
}

// -----

// A batch product runs one batch at a time, each tile a 2-D product on
// views without the unit batch dimension.
// PART-LABEL: func.func @batch(
// PART-DAG:     %[[C1:.*]] = arith.constant 1 : index
// PART-DAG:     %[[C3:.*]] = arith.constant 3 : index
// PART:         scf.for %{{.*}} to %[[C3]] step %[[C1]] {
// PART:           %[[V:.*]] = memref.subview %{{.*}}[0, 0, 0] [1, 4, 8] [1, 1, 1] : memref<1x4x8xf32, {{.*}}> to memref<4x8xf32, {{.*}}>
// PART:           vector.transfer_read %[[V]]{{.*}} : memref<4x8xf32, {{.*}}>, vector<4x8xf32>
// PART:           vector.fma {{.*}} : vector<8xf32>
// PART-NOT:     linalg.batch_matmul
// PART:         return
func.func @batch(%a: memref<3x4x8xf32>, %b: memref<3x8x8xf32>, %c: memref<3x4x8xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<3x4x8xf32>, memref<3x8x8xf32>) outs(%c : memref<3x4x8xf32>)
  return
}

// -----

// A generic product with two batch loops (attention's heads after reshape
// folding), loops and maps in the canonical order: one batch index of each
// at a time, each tile a 2-D linalg.matmul on views.
#lhs = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#rhs = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#res = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// PART-LABEL: func.func @generic_batches(
// PART-DAG:     %[[C2:.*]] = arith.constant 2 : index
// PART-DAG:     %[[C3:.*]] = arith.constant 3 : index
// PART:         scf.for %{{.*}} to %[[C2]] step
// PART:           scf.for %{{.*}} to %[[C3]] step
// PART:             %[[V:.*]] = memref.subview %{{.*}}[0, 0, 0, 0] [1, 1, 4, 8] [1, 1, 1, 1] : memref<1x1x4x8xf32, {{.*}}> to memref<4x8xf32, {{.*}}>
// PART:             vector.transfer_read %[[V]]{{.*}} : memref<4x8xf32, {{.*}}>, vector<4x8xf32>
// PART:             vector.fma {{.*}} : vector<8xf32>
// PART-NOT:     linalg.generic
// PART-NOT:     vector.reduction
// PART:         return
func.func @generic_batches(%a: memref<2x3x4x8xf32>, %b: memref<2x3x8x8xf32>, %c: memref<2x3x4x8xf32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #res],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<2x3x4x8xf32>, memref<2x3x8x8xf32>) outs(%c : memref<2x3x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A generic that reduces with something other than an addition of
// products (a max-plus product here) is no contraction: left to the loops.
// CHECK-LABEL: func.func @not_a_contraction(
// CHECK:         linalg.generic
// CHECK:           arith.maximumf
// CHECK-NOT:     vector.fma
// CHECK:         return
#l2 = affine_map<(d0, d1, d2) -> (d0, d2)>
#r2 = affine_map<(d0, d1, d2) -> (d2, d1)>
#o2 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @not_a_contraction(%a: memref<8x8xf32>, %b: memref<8x8xf32>, %c: memref<8x8xf32>) {
  linalg.generic {indexing_maps = [#l2, #r2, #o2],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.addf %x, %y : f32
    %s = arith.maximumf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
