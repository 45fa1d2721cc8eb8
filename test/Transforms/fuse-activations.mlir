// RUN: blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-fuse-activations))" -split-input-file | FileCheck %s

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// A convolution at batch 1 as blkrew-sparsify leaves it (product, then a
// reshape to NCHW) followed by torch.relu as torch-mlir imports it: the
// ReLU becomes the product's `relu` and the reshape is used in its place.
// CHECK-LABEL: func.func @conv_relu(
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> relu ins(
// CHECK:         %[[E:.*]] = tensor.expand_shape %[[Y]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[E]]
func.func @conv_relu(%rp: tensor<2xi32>, %ci: tensor<1xi32>, %v: tensor<1x2xf32>,
                     %x: tensor<4x4xf32>, %c: tensor<2x4xf32>) -> tensor<1x2x2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x4xf32>)
      outs(%c : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e = tensor.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 2, 2, 2] : tensor<2x4xf32> into tensor<1x2x2x2xf32>
  %o = tensor.empty() : tensor<1x2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%e : tensor<1x2x2x2xf32>) outs(%o : tensor<1x2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %gt = arith.cmpf ugt, %in, %zero : f32
    %s = arith.select %gt, %in, %zero : f32
    linalg.yield %s : f32
  } -> tensor<1x2x2x2xf32>
  return %r : tensor<1x2x2x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// A linear layer: the product is transposed back to [N, M]; ReLU commutes
// with the transpose. `maximumf(0, x)` counts too.
// CHECK-LABEL: func.func @linear_relu(
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> relu ins(
// CHECK:         %[[T:.*]] = linalg.transpose ins(%[[Y]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[T]]
func.func @linear_relu(%rp: tensor<2xi32>, %ci: tensor<1xi32>, %v: tensor<1x2xf32>,
                       %x: tensor<4x3xf32>, %c: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %zero = arith.constant 0.0 : f32
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %te = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%y : tensor<2x3xf32>) outs(%te : tensor<3x2xf32>) permutation = [1, 0]
  %r = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<3x2xf32>) outs(%te : tensor<3x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %zero, %in : f32
    linalg.yield %m : f32
  } -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// Left alone: the product is also used without the ReLU (a residual
// branch); `ogt` (NaN -> 0, unlike max); a ReLU yielding -0.0; a clamp at
// 1.0; a ReLU of an argument.
// CHECK-LABEL: func.func @not_fused(
// CHECK-NOT:     relu
// CHECK-COUNT-5: linalg.generic
func.func @not_fused(%rp: tensor<2xi32>, %ci: tensor<1xi32>, %v: tensor<1x2xf32>,
                     %x: tensor<4x3xf32>, %c: tensor<2x3xf32>, %a: tensor<2x3xf32>)
    -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %nzero = arith.constant -0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %y0 = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %r0 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y0 : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  %y1 = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %r1 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y1 : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %gt = arith.cmpf ogt, %in, %zero : f32
    %s = arith.select %gt, %in, %zero : f32
    linalg.yield %s : f32
  } -> tensor<2x3xf32>
  %y2 = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %r2 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y2 : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %gt = arith.cmpf ugt, %in, %zero : f32
    %s = arith.select %gt, %in, %nzero : f32
    linalg.yield %s : f32
  } -> tensor<2x3xf32>
  %y3 = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %r3 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y3 : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %one : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  %r4 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  return %y0, %r0, %r1, %r2, %r3, %r4 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

// A residual block's end, relu(conv + x), the convolution's bias broadcast
// as its init: x moves into the product's [M, N] space and joins the init
// (the broadcast becomes a generic that elementwise fusion merges with the
// addition); the product gets `relu`.
// CHECK-LABEL: func.func @residual_relu(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<1x2x2x2xf32>, %{{[^:]*}}: tensor<2xi32>, %{{[^:]*}}: tensor<1xi32>, %{{[^:]*}}: tensor<1x2xf32>, %{{[^:]*}}: tensor<4x4xf32>, %[[B:[^:]*]]: tensor<2xf32>)
// CHECK:         %[[BC:.*]] = linalg.generic {{.*}} ins(%[[B]] : tensor<2xf32>)
// CHECK:         %[[BC2:.*]] = tensor.collapse_shape %[[BC]] {{\[\[}}0, 1], [2, 3]]
// CHECK:         %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2, 3]]
// CHECK:         %[[INIT:.*]] = linalg.generic {{.*}} ins(%[[BC2]], %[[X2]] : tensor<2x4xf32>, tensor<2x4xf32>)
// CHECK:           arith.addf
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> relu ins(
// CHECK-SAME:      outs(%[[INIT]] : tensor<2x4xf32>)
// CHECK:         %[[E:.*]] = tensor.expand_shape %[[Y]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[E]]
func.func @residual_relu(%x: tensor<1x2x2x2xf32>, %rp: tensor<2xi32>, %ci: tensor<1xi32>,
                         %v: tensor<1x2xf32>, %p: tensor<4x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<1x2x2x2xf32>
  %bc = linalg.broadcast ins(%b : tensor<2xf32>) outs(%o : tensor<1x2x2x2xf32>) dimensions = [0, 2, 3]
  %c = tensor.collapse_shape %bc [[0, 1], [2, 3]] : tensor<1x2x2x2xf32> into tensor<2x4xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %p : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x4xf32>)
      outs(%c : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e = tensor.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 2, 2, 2] : tensor<2x4xf32> into tensor<1x2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%e, %x : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) outs(%o : tensor<1x2x2x2xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in, %in_1 : f32
    %gt = arith.cmpf ugt, %s, %zero : f32
    %m = arith.select %gt, %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x2x2xf32>
  return %r : tensor<1x2x2x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// `overwrite` (no bias), the product transposed back and the residual the
// first addend: the transposed-back residual is the init itself.
// CHECK-LABEL: func.func @residual_overwrite(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<3x2xf32>
// CHECK:         %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<3x2xf32>) outs(%{{.*}} : tensor<2x3xf32>) permutation = [1, 0]
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> relu ins(
// CHECK-SAME:      outs(%[[XT]] : tensor<2x3xf32>)
// CHECK:         linalg.transpose ins(%[[Y]]
// CHECK-NOT:     linalg.generic
func.func @residual_overwrite(%x: tensor<3x2xf32>, %rp: tensor<2xi32>, %ci: tensor<1xi32>,
                              %v: tensor<1x2xf32>, %p: tensor<4x3xf32>) -> tensor<3x2xf32> {
  %zero = arith.constant 0.0 : f32
  %c = tensor.empty() : tensor<2x3xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite
      ins(%rp, %ci, %v, %p : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %te = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%y : tensor<2x3xf32>) outs(%te : tensor<3x2xf32>) permutation = [1, 0]
  %r = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %t : tensor<3x2xf32>, tensor<3x2xf32>) outs(%te : tensor<3x2xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in, %in_1 : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// The residual is computed after the product (a downsampling shortcut):
// the product moves down to the sum and takes it in its init. A sum
// without ReLU is left alone.
// CHECK-LABEL: func.func @residual_after(
// CHECK:         %[[LATE:.*]] = linalg.generic
// CHECK:           arith.negf
// CHECK:         %[[INIT:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[LATE]] :
// CHECK:           arith.addf
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> relu ins(
// CHECK-SAME:      outs(%[[INIT]] :
// CHECK-NOT:     arith.maximumf
// CHECK:         %[[Y2:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> ins(
// CHECK:         arith.addf
// CHECK:         return %[[Y]],
func.func @residual_after(%rp: tensor<2xi32>, %ci: tensor<1xi32>, %v: tensor<1x2xf32>,
                              %p: tensor<4x3xf32>, %c: tensor<2x3xf32>, %c2: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %p : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %late = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%c2 : tensor<2x3xf32>) outs(%c2 : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<2x3xf32>
  %r = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y, %late : tensor<2x3xf32>, tensor<2x3xf32>) outs(%c : tensor<2x3xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in, %in_1 : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  %y2 = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %p : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c2 : tensor<2x3xf32>) -> tensor<2x3xf32>
  %s2 = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y2, %c : tensor<2x3xf32>, tensor<2x3xf32>) outs(%c : tensor<2x3xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in, %in_1 : f32
    linalg.yield %s : f32
  } -> tensor<2x3xf32>
  return %r, %s2 : tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

// ReLU6 as torch-mlir imports it (after elementwise fusion merged its two
// selects): the product gets `clamp [0, 6]`. The same form with a bound
// that is not a constant stays.
// CHECK-LABEL: func.func @conv_relu6(
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> clamp [0.000000e+00, 6.000000e+00] ins(
// CHECK:         %[[E:.*]] = tensor.expand_shape %[[Y]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[E]]
// CHECK-LABEL: func.func @clamp_not_constant(
// CHECK-NOT:     clamp
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @clamp_empty_range(
// CHECK-NOT:     clamp
// CHECK:         linalg.generic
func.func @conv_relu6(%rp: tensor<2xi32>, %ci: tensor<1xi32>, %v: tensor<1x2xf32>,
                      %x: tensor<4x4xf32>, %c: tensor<2x4xf32>) -> tensor<1x2x2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x4xf32>)
      outs(%c : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e = tensor.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 2, 2, 2] : tensor<2x4xf32> into tensor<1x2x2x2xf32>
  %o = tensor.empty() : tensor<1x2x2x2xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%e : tensor<1x2x2x2xf32>) outs(%o : tensor<1x2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %gt = arith.cmpf ogt, %in, %zero : f32
    %a = arith.select %gt, %in, %zero : f32
    %lt = arith.cmpf olt, %six, %a : f32
    %b = arith.select %lt, %six, %a : f32
    linalg.yield %b : f32
  } -> tensor<1x2x2x2xf32>
  return %r : tensor<1x2x2x2xf32>
}
func.func @clamp_not_constant(%rp: tensor<2xi32>, %ci: tensor<1xi32>, %v: tensor<1x2xf32>,
                              %x: tensor<4x4xf32>, %c: tensor<2x4xf32>, %hi: f32) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x4xf32>)
      outs(%c : tensor<2x4xf32>) -> tensor<2x4xf32>
  %o = tensor.empty() : tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<2x4xf32>) outs(%o : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %gt = arith.cmpf ogt, %in, %zero : f32
    %a = arith.select %gt, %in, %zero : f32
    %lt = arith.cmpf olt, %hi, %a : f32
    %b = arith.select %lt, %hi, %a : f32
    linalg.yield %b : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}
// Bounds the wrong way round (lo = 6 > hi = 0: every element becomes 0
// here, which no clamp attribute states): left alone.
func.func @clamp_empty_range(%rp: tensor<2xi32>, %ci: tensor<1xi32>, %v: tensor<1x2xf32>,
                             %x: tensor<4x4xf32>, %c: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x4xf32>)
      outs(%c : tensor<2x4xf32>) -> tensor<2x4xf32>
  %o = tensor.empty() : tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<2x4xf32>) outs(%o : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %gt = arith.cmpf ogt, %in, %six : f32
    %a = arith.select %gt, %in, %six : f32
    %lt = arith.cmpf olt, %zero, %a : f32
    %b = arith.select %lt, %zero, %a : f32
    linalg.yield %b : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0)>

// A linear layer's bias at a batch above 1, added to y[N, M] after the
// product's [M, N] is transposed back: along the product's rows, so it is
// broadcast into the product's init (the kernel starts each row from its
// bias), and a ReLU of the sum becomes the product's `relu`.
// CHECK-LABEL: func.func @linear_bias(
// CHECK-SAME:    %[[B:[^:]*]]: tensor<2xf32>)
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<2x3xf32>
// CHECK:         %[[INIT:.*]] = linalg.broadcast ins(%[[B]] : tensor<2xf32>) outs(%[[E]] : tensor<2x3xf32>) dimensions = [1]
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> ins({{.*}}) outs(%[[INIT]] : tensor<2x3xf32>)
// CHECK:         %[[T:.*]] = linalg.transpose ins(%[[Y]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[T]]
func.func @linear_bias(%rp: tensor<2xi32>, %ci: tensor<1xi32>, %v: tensor<1x2xf32>,
                       %x: tensor<4x3xf32>, %c: tensor<2x3xf32>,
                       %b: tensor<2xf32>) -> tensor<3x2xf32> {
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %te = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%y : tensor<2x3xf32>) outs(%te : tensor<3x2xf32>) permutation = [1, 0]
  %r = linalg.generic {indexing_maps = [#id2, #cols, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%t, %b : tensor<3x2xf32>, tensor<2xf32>) outs(%te : tensor<3x2xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}
// CHECK-LABEL: func.func @linear_bias_relu(
// CHECK:         linalg.broadcast
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> relu ins(
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @linear_bias_relu(%rp: tensor<2xi32>, %ci: tensor<1xi32>, %v: tensor<1x2xf32>,
                            %x: tensor<4x3xf32>, %c: tensor<2x3xf32>,
                            %b: tensor<2xf32>) -> tensor<3x2xf32> {
  %zero = arith.constant 0.0 : f32
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %te = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%y : tensor<2x3xf32>) outs(%te : tensor<3x2xf32>) permutation = [1, 0]
  %r = linalg.generic {indexing_maps = [#id2, #cols, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%t, %b : tensor<3x2xf32>, tensor<2xf32>) outs(%te : tensor<3x2xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %bias, %in : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0)>

// Left alone: a bias along the product's columns (y's rows); a product
// whose init is not overwritten (it may hold a residual); a product
// whose result is used twice.
// CHECK-LABEL: func.func @bias_not_fused(
// CHECK-NOT:     linalg.broadcast
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT:     linalg.broadcast
func.func @bias_not_fused(%rp: tensor<2xi32>, %ci: tensor<1xi32>, %v: tensor<1x2xf32>,
                          %x: tensor<4x3xf32>, %c: tensor<2x3xf32>,
                          %b3: tensor<3xf32>, %b: tensor<2xf32>)
    -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<2x3xf32>) {
  %te = tensor.empty() : tensor<3x2xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %t = linalg.transpose ins(%y : tensor<2x3xf32>) outs(%te : tensor<3x2xf32>) permutation = [1, 0]
  %r = linalg.generic {indexing_maps = [#id2, #rows, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%t, %b3 : tensor<3x2xf32>, tensor<3xf32>) outs(%te : tensor<3x2xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  %y2 = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %t2 = linalg.transpose ins(%y2 : tensor<2x3xf32>) outs(%te : tensor<3x2xf32>) permutation = [1, 0]
  %r2 = linalg.generic {indexing_maps = [#id2, #cols, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%t2, %b : tensor<3x2xf32>, tensor<2xf32>) outs(%te : tensor<3x2xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  %y3 = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : tensor<2xi32>, tensor<1xi32>, tensor<1x2xf32>, tensor<4x3xf32>)
      outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %t3 = linalg.transpose ins(%y3 : tensor<2x3xf32>) outs(%te : tensor<3x2xf32>) permutation = [1, 0]
  %r3 = linalg.generic {indexing_maps = [#id2, #cols, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%t3, %b : tensor<3x2xf32>, tensor<2xf32>) outs(%te : tensor<3x2xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  return %r, %r2, %r3, %y3 : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<2x3xf32>
}
