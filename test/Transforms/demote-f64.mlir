// RUN: blkrew-opt %s -blkrew-demote-f64 -split-input-file -verify-diagnostics | FileCheck %s

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

// Functions without f64 are unchanged.
// CHECK-LABEL: func.func @no_f64(
// CHECK:         arith.addf {{.*}} : f32
func.func @no_f64(%x: f32) -> f32 {
  %y = arith.addf %x, %x : f32
  return %y : f32
}

// -----

// The signature is the caller's: not retyped.
// expected-error @+1 {{'func.func' op takes or returns f64 values: blkrew-demote-f64 retypes only the f64 arithmetic inside a function}}
func.func @f64_argument(%x: f64) -> f32 {
  %t = arith.truncf %x : f64 to f32
  return %t : f32
}
