// RUN: blkrew-opt %s -blkrew-widen-bools -split-input-file -verify-diagnostics | FileCheck %s

// Attention's guard as torch-mlir imports it: a row reduction "all -inf"
// into a boolean tensor (a fill of true, then andi), read by the next op.
// The boolean tensors become i32: the fill takes the extended true, the
// reduction truncates its accumulator and extends what it yields, the
// consumer truncates what it reads; the reshape just takes the new type.
// CHECK-LABEL: func.func @all_ninf(
// CHECK:         %[[T:.*]] = arith.constant true
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<2xi32>
// CHECK:         %[[W:.*]] = arith.extui %[[T]] : i1 to i32
// CHECK:         %[[F:.*]] = linalg.fill ins(%[[W]] : i32) outs(%[[E]] : tensor<2xi32>) -> tensor<2xi32>
// CHECK:         %[[R:.*]] = linalg.generic {{.*}} outs(%[[F]] : tensor<2xi32>)
// CHECK:         ^bb0(%{{.*}}: f32, %[[OUT:.*]]: i32):
// CHECK:           %[[O:.*]] = arith.trunci %[[OUT]] : i32 to i1
// CHECK:           %[[A:.*]] = arith.andi %{{.*}}, %[[O]] : i1
// CHECK:           %[[X:.*]] = arith.extui %[[A]] : i1 to i32
// CHECK:           linalg.yield %[[X]] : i32
// CHECK:         } -> tensor<2xi32>
// CHECK:         %[[S:.*]] = tensor.expand_shape %[[R]] {{.*}} : tensor<2xi32> into tensor<2x1xi32>
// CHECK:         linalg.generic {{.*}} ins(%[[S]], %{{.*}} : tensor<2x1xi32>, tensor<2x3xf32>)
// CHECK:         ^bb0(%[[IN:.*]]: i32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK:           %[[B:.*]] = arith.trunci %[[IN]] : i32 to i1
// CHECK:           arith.select %[[B]]
// CHECK-NOT:     xi1>
func.func @all_ninf(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %true = arith.constant true
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xi1>
  %f = linalg.fill ins(%true : i1) outs(%e : tensor<2xi1>) -> tensor<2xi1>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x3xf32>) outs(%f : tensor<2xi1>) {
  ^bb0(%in: f32, %out: i1):
    %c = arith.cmpf oeq, %in, %ninf : f32
    %a = arith.andi %c, %out : i1
    linalg.yield %a : i1
  } -> tensor<2xi1>
  %s = tensor.expand_shape %r [[0, 1]] output_shape [2, 1] : tensor<2xi1> into tensor<2x1xi1>
  %o = tensor.empty() : tensor<2x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%s, %x : tensor<2x1xi1>, tensor<2x3xf32>) outs(%o : tensor<2x3xf32>) {
  ^bb0(%b: i1, %in: f32, %out: f32):
    %v = arith.select %b, %zero, %in : f32
    linalg.yield %v : f32
  } -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Scalar booleans stay as they are.
// CHECK-LABEL: func.func @scalar(
// CHECK:         arith.cmpf {{.*}} : f32
// CHECK:         arith.select {{.*}} : f32
func.func @scalar(%x: f32) -> f32 {
  %zero = arith.constant 0.0 : f32
  %c = arith.cmpf olt, %x, %zero : f32
  %y = arith.select %c, %zero, %x : f32
  return %y : f32
}

// -----

// Other ops on boolean tensors are not widened: an error naming the op.
func.func @concat(%a: tensor<2xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xi1>
  %m = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%a : tensor<2xf32>) outs(%e : tensor<2xi1>) {
  ^bb0(%in: f32, %out: i1):
    %c = arith.cmpf olt, %in, %zero : f32
    linalg.yield %c : i1
  } -> tensor<2xi1>
  // expected-error @+1 {{'tensor.concat' op uses a boolean tensor blkrew-widen-bools cannot widen (only linalg.generic, linalg.fill, tensor reshapes and slices)}}
  %c = tensor.concat dim(0) %m, %m : (tensor<2xi1>, tensor<2xi1>) -> tensor<4xi1>
  %o = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%c : tensor<4xi1>) outs(%o : tensor<4xf32>) {
  ^bb0(%b: i1, %out: f32):
    %v = arith.select %b, %zero, %zero : f32
    linalg.yield %v : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// The signature is the caller's.
// expected-error @+1 {{'func.func' op takes or returns boolean tensors: blkrew-widen-bools widens only those inside a function}}
func.func @bool_argument(%m: tensor<2xi1>) -> tensor<2xi1> {
  return %m : tensor<2xi1>
}
