// RUN: blkrew-opt %s -blkrew-demote-64bit -split-input-file -verify-diagnostics | FileCheck %s

// An f32 value computed through f64 is computed in f32: the extension and
// truncation go, the constant is rounded (0.1 as f64 -> 0.1 as f32).
// CHECK-LABEL: func.func @scalar(
// CHECK-SAME:    %[[X:.*]]: f32) -> f32
// CHECK:         %[[C:.*]] = arith.constant 1.000000e-01 : f32
// CHECK:         %[[M:.*]] = arith.mulf %[[X]], %[[C]] : f32
// CHECK:         return %[[M]] : f32
// CHECK-NOT:     f64
func.func @scalar(%x: f32) -> f32 {
  %c = arith.constant 0.1 : f64
  %e = arith.extf %x : f32 to f64
  %m = arith.mulf %e, %c : f64
  %t = arith.truncf %m : f64 to f32
  return %t : f32
}

// -----

// LayerNorm's mean as torch-mlir imports it: f64 tensors, a generic's
// block arguments and a dense constant all become f32; an f64 beyond
// f32's range (the start of a max) becomes an infinity.
// CHECK-LABEL: func.func @mean(
// CHECK-DAG:     arith.constant dense<[2.500000e-01, 0xFF800000]> : tensor<2xf32>
// CHECK-DAG:     tensor.empty() : tensor<1xf32>
// CHECK:         linalg.generic
// CHECK:         ^bb0(%{{.*}}: f32, %{{.*}}: f32):
// CHECK-NOT:     f64
// CHECK:         return {{.*}} : tensor<1xf32>
func.func @mean(%x: tensor<4xf32>) -> (tensor<1xf32>, tensor<2xf32>) {
  %k = arith.constant dense<[0.25, -1.0e300]> : tensor<2xf64>
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<1xf64>
  %init = linalg.fill ins(%zero : f64) outs(%e : tensor<1xf64>) -> tensor<1xf64>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (0)>],
                         iterator_types = ["reduction"]}
      ins(%x : tensor<4xf32>) outs(%init : tensor<1xf64>) {
  ^bb0(%in: f32, %acc: f64):
    %w = arith.extf %in : f32 to f64
    %s = arith.addf %w, %acc : f64
    linalg.yield %s : f64
  } -> tensor<1xf64>
  %o = tensor.empty() : tensor<1xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%sum : tensor<1xf64>) outs(%o : tensor<1xf32>) {
  ^bb0(%in: f64, %out: f32):
    %t = arith.truncf %in : f64 to f32
    linalg.yield %t : f32
  } -> tensor<1xf32>
  %ko = tensor.empty() : tensor<2xf32>
  %kr = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                        iterator_types = ["parallel"]}
      ins(%k : tensor<2xf64>) outs(%ko : tensor<2xf32>) {
  ^bb0(%in: f64, %out: f32):
    %t = arith.truncf %in : f64 to f32
    linalg.yield %t : f32
  } -> tensor<2xf32>
  return %r, %kr : tensor<1xf32>, tensor<2xf32>
}

// -----

// Upsample's source coordinate as torch-mlir imports it: index arithmetic
// through i64 becomes i32, sign extensions to i64 go, constants narrow.
// CHECK-LABEL: func.func @coordinate(
// CHECK-SAME:    %[[I:.*]]: index, %[[N:.*]]: i32) -> (index, i32)
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : i32
// CHECK-DAG:     %[[CI:.*]] = arith.index_cast %[[I]] : index to i32
// CHECK:         %[[F:.*]] = arith.sitofp %[[CI]] : i32 to f32
// CHECK:         %[[S:.*]] = arith.fptosi %{{.*}} : f32 to i32
// CHECK:         %[[D:.*]] = arith.divsi %[[S]], %[[C2]] : i32
// CHECK:         %[[R:.*]] = arith.index_cast %[[D]] : i32 to index
// CHECK:         %[[A:.*]] = arith.addi %[[N]], %[[D]] : i32
// CHECK:         return %[[R]], %[[A]] : index, i32
// CHECK-NOT:     i64
func.func @coordinate(%i: index, %n: i32) -> (index, i32) {
  %c2 = arith.constant 2 : i64
  %half = arith.constant 0.5 : f32
  %0 = arith.index_cast %i : index to i64
  %1 = arith.sitofp %0 : i64 to f32
  %2 = arith.mulf %1, %half : f32
  %3 = arith.fptosi %2 : f32 to i64
  %4 = arith.divsi %3, %c2 : i64
  %5 = arith.index_cast %4 : i64 to index
  %6 = arith.extsi %n : i32 to i64
  %7 = arith.addi %6, %4 : i64
  %8 = arith.trunci %7 : i64 to i32
  return %5, %8 : index, i32
}

// -----

// Dense i64 tensors too (reflection padding's index tables).
// CHECK-LABEL: func.func @table(
// CHECK:         arith.constant dense<[15, -1]> : tensor<2xi32>
// CHECK-NOT:     i64
func.func @table() -> tensor<2xf32> {
  %t = arith.constant dense<[15, -1]> : tensor<2xi64>
  %e = tensor.empty() : tensor<2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%t : tensor<2xi64>) outs(%e : tensor<2xf32>) {
  ^bb0(%in: i64, %out: f32):
    %f = arith.sitofp %in : i64 to f32
    linalg.yield %f : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

// Resource constants too (torch-mlir stores GroupNorm's index tables so):
// i64 [15, -1] and f64 [0.5] become dense 32-bit constants.
// CHECK-LABEL: func.func @resources(
// CHECK-DAG:     arith.constant dense<[15, -1]> : tensor<2xi32>
// CHECK-DAG:     arith.constant dense<5.000000e-01> : tensor<1xf32>
// CHECK-NOT:     i64
// CHECK-NOT:     f64
func.func @resources() -> (tensor<2xf32>, tensor<1xf32>) {
  %t = arith.constant dense_resource<idx> : tensor<2xi64>
  %h = arith.constant dense_resource<half> : tensor<1xf64>
  %e = tensor.empty() : tensor<2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%t : tensor<2xi64>) outs(%e : tensor<2xf32>) {
  ^bb0(%in: i64, %out: f32):
    %f = arith.sitofp %in : i64 to f32
    linalg.yield %f : f32
  } -> tensor<2xf32>
  %e1 = tensor.empty() : tensor<1xf32>
  %r1 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                        iterator_types = ["parallel"]}
      ins(%h : tensor<1xf64>) outs(%e1 : tensor<1xf32>) {
  ^bb0(%in: f64, %out: f32):
    %f = arith.truncf %in : f64 to f32
    linalg.yield %f : f32
  } -> tensor<1xf32>
  return %r, %r1 : tensor<2xf32>, tensor<1xf32>
}

{-#
  dialect_resources: {
    builtin: {
      idx: "0x080000000F00000000000000FFFFFFFFFFFFFFFF",
      half: "0x08000000000000000000E03F"
    }
  }
#-}

// -----

// An i64 constant i32 cannot hold: the model needs 64-bit integers.
func.func @too_large() -> i32 {
  // expected-error @+1 {{'arith.constant' op holds 4294967296, which does not fit in i32: the model needs 64-bit integers, which the target does not have}}
  %c = arith.constant 4294967296 : i64
  %t = arith.trunci %c : i64 to i32
  return %t : i32
}

// -----

// Functions without 64-bit values are unchanged.
// CHECK-LABEL: func.func @no_f64(
// CHECK:         arith.addf {{.*}} : f32
func.func @no_f64(%x: f32) -> f32 {
  %y = arith.addf %x, %x : f32
  return %y : f32
}

// -----

// The signature is the caller's: not retyped.
// expected-error @+1 {{'func.func' op takes or returns 64-bit values: blkrew-demote-64bit retypes only the arithmetic inside a function}}
func.func @f64_argument(%x: f64) -> f32 {
  %t = arith.truncf %x : f64 to f32
  return %t : f32
}
