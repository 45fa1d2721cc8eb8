// RUN: blkrew-opt %s -blkrew-depthwise-to-generate -split-input-file | FileCheck %s

// Bias broadcast, depthwise convolution of a zero-padded input and the
// ReLU6 after it: one tensor.generate. Each element starts from its
// channel's bias, adds the 2 x 2 taps (unrolled, each reading the unpadded
// input: the padding's generate inlined into the reads, zero outside) and
// applies the clamp.
// CHECK-LABEL: func.func @fused(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<1x2x3x3xf32>, %[[W:[^:]*]]: tensor<2x2x2xf32>, %[[B:[^:]*]]: tensor<2xf32>)
// CHECK-NOT:     linalg.
// CHECK:         %[[G:.*]] = tensor.generate  {
// CHECK-NEXT:    ^bb0(%[[N:.*]]: index, %[[C:.*]]: index, %[[Y:.*]]: index, %[[XI:.*]]: index):
// CHECK-NEXT:      %[[ACC:.*]] = tensor.extract %[[B]][%[[C]]] : tensor<2xf32>
// CHECK-COUNT-4:   tensor.extract %[[X]][%[[N]], %[[C]], %{{.*}}, %{{.*}}] : tensor<1x2x3x3xf32>
// CHECK:           arith.maximumf
// CHECK:           arith.minimumf
// CHECK-NEXT:      tensor.yield
// CHECK-NOT:     tensor.generate
// CHECK:         return %[[G]]
func.func @fused(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x2xf32>, %b: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %p = tensor.generate {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %c0 = arith.constant 0 : index
    %sk = arith.subi %k, %c1 : index
    %ik = arith.cmpi ult, %sk, %c3 : index
    %ak = arith.select %ik, %sk, %c0 : index
    %sl = arith.subi %l, %c1 : index
    %il = arith.cmpi ult, %sl, %c3 : index
    %in = arith.andi %ik, %il : i1
    %al = arith.select %il, %sl, %c0 : index
    %e = tensor.extract %x[%i, %j, %ak, %al] : tensor<1x2x3x3xf32>
    %v = arith.select %in, %e, %zero : f32
    tensor.yield %v : f32
  } : tensor<1x2x5x5xf32>
  %e = tensor.empty() : tensor<1x2x4x4xf32>
  %init = linalg.broadcast ins(%b : tensor<2xf32>) outs(%e : tensor<1x2x4x4xf32>) dimensions = [0, 2, 3]
  %conv = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
      ins(%p, %w : tensor<1x2x5x5xf32>, tensor<2x2x2xf32>) outs(%init : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv : tensor<1x2x4x4xf32>) outs(%e : tensor<1x2x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %lo = arith.maximumf %in, %zero : f32
    %hi = arith.minimumf %lo, %six : f32
    linalg.yield %hi : f32
  } -> tensor<1x2x4x4xf32>
  return %r : tensor<1x2x4x4xf32>
}

// -----

// Stride 2 and dilation 2; an init that is no bias broadcast is read per
// element; a result with two users keeps them (no activation folded).
// CHECK-LABEL: func.func @strided(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<1x1x7x7xf32>, %{{[^:]*}}: tensor<1x2x2xf32>, %[[I:[^:]*]]: tensor<1x1x2x2xf32>)
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK:         %[[G:.*]] = tensor.generate  {
// CHECK-NEXT:    ^bb0(%[[N:.*]]: index, %[[C:.*]]: index, %[[Y:.*]]: index, %[[XI:.*]]: index):
// CHECK-NEXT:      tensor.extract %[[I]][%[[N]], %[[C]], %[[Y]], %[[XI]]]
// CHECK-NEXT:      %[[Y0:.*]] = arith.muli %[[Y]], %[[C2]] : index
// CHECK-NEXT:      %[[X0:.*]] = arith.muli %[[XI]], %[[C2]] : index
// CHECK-NEXT:      tensor.extract %[[X]][%[[N]], %[[C]], %[[Y0]], %[[X0]]]
// CHECK:           %[[X1:.*]] = arith.addi %[[X0]], %[[C2]] : index
// CHECK-NEXT:      tensor.extract %[[X]][%[[N]], %[[C]], %[[Y0]], %[[X1]]]
// CHECK:         linalg.generic
// CHECK:         return %[[G]], %{{.*}}
func.func @strided(%x: tensor<1x1x7x7xf32>, %w: tensor<1x2x2xf32>, %init: tensor<1x1x2x2xf32>)
    -> (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %conv = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<2> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
      ins(%x, %w : tensor<1x1x7x7xf32>, tensor<1x2x2xf32>) outs(%init : tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
  %e = tensor.empty() : tensor<1x1x2x2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv : tensor<1x1x2x2xf32>) outs(%e : tensor<1x1x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x1x2x2xf32>
  return %conv, %r : tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>
}
