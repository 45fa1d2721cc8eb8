// RUN: blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-fuse-rows{min-bytes=0 tile-bytes=64}),canonicalize,cse)" -split-input-file | FileCheck %s
// RUN: blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-fuse-rows))" -split-input-file | FileCheck %s --check-prefix=SMALL
// RUN: not blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-fuse-rows{tile-bytes=0}))" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-fuse-rows{min-bytes=-1}))" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT

// BADOPT: blkrew-fuse-rows: min-bytes must be >= 0 and tile-bytes >= 1

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A softmax over 8 rows of 32: the division is tiled by rows (64 bytes of
// its result: half a row rounds up to one row) and the maxima, the
// exponentials, the sums and their fills move into the tile; the
// exponentials, read by the sums and the division, once. Under the default
// min-bytes (256 KiB) the 1 KiB result is left alone.
// CHECK-LABEL: func.func @softmax(
// CHECK-SAME:      %[[X:.*]]: tensor<8x32xf32>
// CHECK-NOT:     linalg.generic
// CHECK:         %[[R:.*]] = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<8x32xf32>) {
// CHECK:           %[[ROW:.*]] = tensor.extract_slice %[[X]][%[[I]], 0] [1, 32] [1, 1]
// CHECK:           linalg.fill
// CHECK:           %[[M:.*]] = linalg.generic {{.*}}["parallel", "reduction"]{{.*}} ins(%[[ROW]] : tensor<1x32xf32>)
// CHECK:             arith.maximumf
// CHECK:           %[[E:.*]] = linalg.generic {{.*}} ins(%[[ROW]], %[[M]] :
// CHECK:             math.exp
// CHECK:           linalg.fill
// CHECK:           %[[S:.*]] = linalg.generic {{.*}}["parallel", "reduction"]{{.*}} ins(%[[E]] :
// CHECK:             arith.addf
// CHECK-NOT:       math.exp
// CHECK:           %[[Y:.*]] = linalg.generic {{.*}} ins(%[[E]], %[[S]] :
// CHECK:             arith.divf
// CHECK:           tensor.insert_slice %[[Y]] into %[[ACC]][%[[I]], 0] [1, 32] [1, 1]
// CHECK:         }
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[R]]
// SMALL-LABEL: func.func @softmax(
// SMALL-NOT:     scf.for
// SMALL:         return
func.func @softmax(%x: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %er = tensor.empty() : tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x32xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%er : tensor<8xf32>) -> tensor<8xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x32xf32>) outs(%m0 : tensor<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<8x32xf32>, tensor<8xf32>) outs(%e2 : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%er : tensor<8xf32>) -> tensor<8xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%e : tensor<8x32xf32>) outs(%s0 : tensor<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%e, %s : tensor<8x32xf32>, tensor<8xf32>) outs(%e2 : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The row sums are also returned: they stay outside, computed once, and the
// tile reads them; with no reduction left in the tile's chain the scaling
// alone is not tiled either.
// CHECK-LABEL: func.func @sums_used_outside(
// CHECK-NOT:     scf.for
// CHECK:         linalg.generic {{.*}}["parallel", "reduction"]
// CHECK:         linalg.generic {{.*}}["parallel", "parallel"]
// CHECK-NOT:     scf.for
// CHECK:         return
func.func @sums_used_outside(%x: tensor<8x32xf32>) -> (tensor<8x32xf32>, tensor<8xf32>) {
  %zero = arith.constant 0.0 : f32
  %er = tensor.empty() : tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x32xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%er : tensor<8xf32>) -> tensor<8xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x32xf32>) outs(%s0 : tensor<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : tensor<8x32xf32>, tensor<8xf32>) outs(%e2 : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %y, %s : tensor<8x32xf32>, tensor<8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// An element-wise chain with no reduction: nothing to keep in L1 between
// ops that fusion has not already merged.
// CHECK-LABEL: func.func @no_reduction(
// CHECK-NOT:     scf.for
// CHECK:         return
func.func @no_reduction(%x: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %e2 = tensor.empty() : tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x32xf32>) outs(%e2 : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}
