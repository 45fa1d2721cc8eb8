// RUN: blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-fold-depthwise-padding))" -split-input-file | FileCheck %s
// RUN: blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-fold-depthwise-padding{parallel=true parallel-min-iterations=1024}))" -split-input-file | FileCheck %s --check-prefix=PAR

// Stride 1, written over its own input (as bufferization leaves MobileNetV2):
// the padded buffer, its fill and copy go; the bias broadcast that would
// overwrite the input becomes each row's starting value. The loop over
// output rows carries two input rows (row -1 is zero), each as its three
// tap views (the left and right ones shuffled against zero when the row
// is loaded), and loads the third; one chain of FMAs per kernel row.
// CHECK-LABEL: func.func @in_place(
// CHECK-SAME:    %[[W:[^:]*]]: memref<2x3x3xf32>, %[[B:[^:]*]]: memref<2xf32>
// CHECK-NOT:     memref<1x2x10x10xf32>
// CHECK:         %[[A:.*]] = memref.alloc() : memref<1x2x8x8xf32>
// CHECK:         linalg.fill
// CHECK-NOT:     linalg.broadcast
// CHECK:         %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK:         scf.for %[[N:.*]] =
// CHECK:           scf.for %[[C:.*]] =
// CHECK:             %[[ROW0:.*]] = vector.load %[[A]][%[[N]], %[[C]], %{{.*}}, %{{.*}}] : memref<1x2x8x8xf32>, vector<8xf32>
// CHECK:             %[[L0:.*]] = vector.shuffle %[[ROW0]], %[[ZERO]] [8, 0, 1, 2, 3, 4, 5, 6]
// CHECK:             %[[R0:.*]] = vector.shuffle %[[ROW0]], %[[ZERO]] [1, 2, 3, 4, 5, 6, 7, 8]
// CHECK:             %[[BIAS:.*]] = memref.load %[[B]][%[[C]]]
// CHECK:             %[[START:.*]] = vector.broadcast %[[BIAS]]
// CHECK:             scf.for %[[OH:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[UL:.*]] = %{{.*}}, %[[UM:.*]] = %{{.*}}, %[[UR:.*]] = %{{.*}}, %[[ML:.*]] = %[[L0]], %[[MM:.*]] = %[[ROW0]], %[[MR:.*]] = %[[R0]])
// CHECK:               %[[DOWN:.*]] = scf.if
// CHECK:                 vector.load %[[A]]
// CHECK:               } else {
// CHECK:                 scf.yield %[[ZERO]]
// CHECK:               %[[DL:.*]] = vector.shuffle %[[DOWN]], %[[ZERO]] [8, 0, 1, 2, 3, 4, 5, 6]
// CHECK:               %[[DR:.*]] = vector.shuffle %[[DOWN]], %[[ZERO]] [1, 2, 3, 4, 5, 6, 7, 8]
// CHECK:               %[[P0:.*]] = vector.fma %[[UL]], %{{.*}}, %[[START]]
// CHECK:               vector.fma %[[UM]], %{{.*}}, %[[P0]]
// CHECK:               %[[TOP:.*]] = vector.fma %[[UR]]
// CHECK:               %[[P1:.*]] = arith.mulf %[[ML]]
// CHECK-COUNT-2:       vector.fma
// CHECK:               %[[SUM:.*]] = arith.addf %[[TOP]]
// CHECK:               arith.mulf %[[DL]]
// CHECK-COUNT-2:       vector.fma
// CHECK:               arith.addf %[[SUM]]
// The ReLU6 after it, applied to the row before the store.
// CHECK:               %[[POS:.*]] = arith.cmpf ogt, %{{.*}} : vector<8xf32>
// CHECK:               %[[LO:.*]] = arith.select %[[POS]], {{.*}} : vector<8xi1>, vector<8xf32>
// CHECK:               %[[SIX:.*]] = vector.broadcast %{{.*}} : f32 to vector<8xf32>
// CHECK:               %[[BIG:.*]] = arith.cmpf olt, %[[SIX]], %[[LO]] : vector<8xf32>
// CHECK:               %[[ROW:.*]] = arith.select %[[BIG]], %[[SIX]], %[[LO]]
// CHECK:               vector.store %[[ROW]], %[[A]][%[[N]], %[[C]], %[[OH]], %{{.*}}]
// CHECK:               scf.yield %[[ML]], %[[MM]], %[[MR]], %[[DL]], %[[DOWN]], %[[DR]]
// CHECK-NOT:     linalg.depthwise_conv_2d_nchw_chw
// CHECK-NOT:     linalg.generic
// PAR-LABEL:   func.func @in_place(
// PAR:           scf.parallel (%[[N:.*]], %[[C:.*]]) =
// PAR:             scf.for %{{.*}} = {{.*}} iter_args(
func.func @in_place(%w: memref<2x3x3xf32>, %b: memref<2xf32>,
                    %res: memref<1x2x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<1x2x8x8xf32>
  linalg.fill ins(%one : f32) outs(%a : memref<1x2x8x8xf32>)
  %p = memref.alloc() : memref<1x2x10x10xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x2x10x10xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
      : memref<1x2x10x10xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  memref.copy %a, %in : memref<1x2x8x8xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  linalg.broadcast ins(%b : memref<2xf32>) outs(%a : memref<1x2x8x8xf32>) dimensions = [0, 2, 3]
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
      ins(%p, %w : memref<1x2x10x10xf32>, memref<2x3x3xf32>) outs(%a : memref<1x2x8x8xf32>)
  %six = arith.constant 6.0 : f32
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                   affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a : memref<1x2x8x8xf32>) outs(%a : memref<1x2x8x8xf32>) {
  ^bb0(%x: f32, %unused: f32):
    %gt = arith.cmpf ogt, %x, %zero : f32
    %lo = arith.select %gt, %x, %zero : f32
    %lt = arith.cmpf olt, %six, %lo : f32
    %hi = arith.select %lt, %six, %lo : f32
    linalg.yield %hi : f32
  }
  memref.copy %a, %res : memref<1x2x8x8xf32> to memref<1x2x8x8xf32>
  return
}

// -----

// Stride 2 into a buffer of its own, the padding a `linalg.map` (as
// bufferized tensor.pad): nothing to fold, the rows start from the output.
// Each step loads two rows and carries one (its three tap views); each tap
// keeps every other input column.
// CHECK-LABEL: func.func @strided(
// CHECK-SAME:    %{{[^:]*}}: memref<2x3x3xf32>, %[[OUT:[^:]*]]: memref<1x2x4x4xf32>
// CHECK-NOT:     memref<1x2x10x10xf32>
// CHECK:         %[[A:.*]] = memref.alloc() : memref<1x2x8x8xf32>
// CHECK:         scf.for %[[OH:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK:           %[[MID:.*]] = scf.if
// CHECK:           vector.shuffle %[[MID]], %{{.*}} [8, 1, 3, 5] : vector<8xf32>, vector<8xf32>
// CHECK:           vector.shuffle %[[MID]], %{{.*}} [0, 2, 4, 6] : vector<8xf32>, vector<8xf32>
// CHECK:           vector.shuffle %[[MID]], %{{.*}} [1, 3, 5, 7] : vector<8xf32>, vector<8xf32>
// CHECK:           scf.if
// CHECK:           %[[ACC:.*]] = vector.load %[[OUT]][%{{.*}}, %{{.*}}, %[[OH]], %{{.*}}] : memref<1x2x4x4xf32>, vector<4xf32>
// CHECK:           vector.fma %{{.*}}, %{{.*}}, %[[ACC]]
// CHECK:           vector.store %{{.*}}, %[[OUT]][%{{.*}}, %{{.*}}, %[[OH]], %{{.*}}]
// CHECK-NOT:     linalg.depthwise_conv_2d_nchw_chw
// Below parallel-min-iterations (2 x 4 x 4 x 9 = 288): one thread.
// PAR-LABEL:   func.func @strided(
// PAR-NOT:       scf.parallel
// PAR:           return
func.func @strided(%w: memref<2x3x3xf32>, %out: memref<1x2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<1x2x8x8xf32>
  linalg.fill ins(%one : f32) outs(%a : memref<1x2x8x8xf32>)
  %p = memref.alloc() : memref<1x2x10x10xf32>
  linalg.map outs(%p : memref<1x2x10x10xf32>)
    (%init: f32) {
      linalg.yield %zero : f32
    }
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
      : memref<1x2x10x10xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  memref.copy %a, %in : memref<1x2x8x8xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
      ins(%p, %w : memref<1x2x10x10xf32>, memref<2x3x3xf32>) outs(%out : memref<1x2x4x4xf32>)
  return
}

// -----

// Left alone: padding with ones is not zero padding.
// CHECK-LABEL: func.func @not_zero(
// CHECK:         linalg.depthwise_conv_2d_nchw_chw
func.func @not_zero(%a: memref<1x2x8x8xf32>, %w: memref<2x3x3xf32>, %out: memref<1x2x8x8xf32>) {
  %one = arith.constant 1.0 : f32
  %p = memref.alloc() : memref<1x2x10x10xf32>
  linalg.fill ins(%one : f32) outs(%p : memref<1x2x10x10xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
      : memref<1x2x10x10xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  memref.copy %a, %in : memref<1x2x8x8xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
      ins(%p, %w : memref<1x2x10x10xf32>, memref<2x3x3xf32>) outs(%out : memref<1x2x8x8xf32>)
  return
}

// -----

// Left alone: in place, but nothing to start the rows from (the output's
// values are the input's, which the rows would overwrite).
// CHECK-LABEL: func.func @in_place_no_init(
// CHECK:         linalg.depthwise_conv_2d_nchw_chw
func.func @in_place_no_init(%w: memref<2x3x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<1x2x8x8xf32>
  %p = memref.alloc() : memref<1x2x10x10xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x2x10x10xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
      : memref<1x2x10x10xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  memref.copy %a, %in : memref<1x2x8x8xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
      ins(%p, %w : memref<1x2x10x10xf32>, memref<2x3x3xf32>) outs(%a : memref<1x2x8x8xf32>)
  return
}

// -----

// Left alone: the input and the output are both arguments, which may alias.
// CHECK-LABEL: func.func @may_alias(
// CHECK:         linalg.depthwise_conv_2d_nchw_chw
func.func @may_alias(%a: memref<1x2x8x8xf32>, %w: memref<2x3x3xf32>, %out: memref<1x2x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<1x2x10x10xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x2x10x10xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
      : memref<1x2x10x10xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  memref.copy %a, %in : memref<1x2x8x8xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
      ins(%p, %w : memref<1x2x10x10xf32>, memref<2x3x3xf32>) outs(%out : memref<1x2x8x8xf32>)
  return
}

// -----

// Left alone: a store into the padded buffer between the copy and the
// convolution.
// CHECK-LABEL: func.func @written_between(
// CHECK:         linalg.depthwise_conv_2d_nchw_chw
func.func @written_between(%w: memref<2x3x3xf32>, %out: memref<1x2x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %c0 = arith.constant 0 : index
  %a = memref.alloc() : memref<1x2x8x8xf32>
  linalg.fill ins(%one : f32) outs(%a : memref<1x2x8x8xf32>)
  %p = memref.alloc() : memref<1x2x10x10xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x2x10x10xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
      : memref<1x2x10x10xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  memref.copy %a, %in : memref<1x2x8x8xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  memref.store %one, %p[%c0, %c0, %c0, %c0] : memref<1x2x10x10xf32>
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
      ins(%p, %w : memref<1x2x10x10xf32>, memref<2x3x3xf32>) outs(%out : memref<1x2x8x8xf32>)
  return
}

// -----

// Rows of 80 do not fit one vector: they go through a ring of three rows
// of the padded width per (n, c), zeroed once (the sides stay zero). Row r
// sits in slot (r + 1) mod 3; the first window (row -1, zeros, and row 0)
// is filled before the loop, which copies in the third row or zeros; each
// 16-wide output chunk loads its nine taps from the ring.
// CHECK-LABEL: func.func @wide(
// CHECK-SAME:    %{{[^:]*}}: memref<2x3x3xf32>, %[[OUT:[^:]*]]: memref<1x2x4x80xf32>
// CHECK-NOT:     memref<1x2x6x82xf32>
// CHECK:         %[[A:.*]] = memref.alloc() : memref<1x2x4x80xf32>
// CHECK:         %[[RING:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2x3x82xf32>
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%[[RING]] : memref<1x2x3x82xf32>)
// CHECK:         scf.for %[[N:.*]] =
// CHECK:           scf.for %[[C:.*]] =
// CHECK-COUNT-5:     vector.store %{{.*}}, %[[RING]][%[[N]], %[[C]], %[[C0:.*]], %{{.*}}] : memref<1x2x3x82xf32>, vector<16xf32>
// CHECK:             %[[ROW0:.*]] = vector.load %[[A]][%[[N]], %[[C]], %{{.*}}, %{{.*}}] : memref<1x2x4x80xf32>, vector<16xf32>
// CHECK:             vector.store %[[ROW0]], %[[RING]]
// CHECK:             scf.for %[[OH:.*]] =
// CHECK:               %[[SLOT:.*]] = arith.remui
// CHECK:               scf.if
// CHECK:                 vector.load %[[A]]
// CHECK:               scf.for %[[OW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-COUNT-9:         vector.load %[[RING]][%[[N]], %[[C]], %{{.*}}, %{{.*}}] : memref<1x2x3x82xf32>, vector<16xf32>
// CHECK:                 vector.load %[[OUT]][%[[N]], %[[C]], %[[OH]], %[[OW]]]
// CHECK:                 vector.store %{{.*}}, %[[OUT]][%[[N]], %[[C]], %[[OH]], %[[OW]]]
// CHECK-NOT:     linalg.depthwise_conv_2d_nchw_chw
func.func @wide(%w: memref<2x3x3xf32>, %out: memref<1x2x4x80xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<1x2x4x80xf32>
  linalg.fill ins(%one : f32) outs(%a : memref<1x2x4x80xf32>)
  %p = memref.alloc() : memref<1x2x6x82xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x2x6x82xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 4, 80] [1, 1, 1, 1]
      : memref<1x2x6x82xf32> to memref<1x2x4x80xf32, strided<[984, 492, 82, 1], offset: 83>>
  memref.copy %a, %in : memref<1x2x4x80xf32> to memref<1x2x4x80xf32, strided<[984, 492, 82, 1], offset: 83>>
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
      ins(%p, %w : memref<1x2x6x82xf32>, memref<2x3x3xf32>) outs(%out : memref<1x2x4x80xf32>)
  return
}

// -----

// In place with a constant fill as the output's initial value (a depthwise
// convolution without a bias): the rows start from that constant. The
// activation after it keeps a constant inside its body.
// CHECK-LABEL: func.func @in_place_fill(
// CHECK-NOT:     memref<1x2x10x10xf32>
// CHECK:         %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK:         %[[A:.*]] = memref.alloc() : memref<1x2x8x8xf32>
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%[[A]]
// CHECK-NOT:     linalg.fill
// CHECK:         %[[START:.*]] = vector.broadcast %[[HALF]] : f32 to vector<8xf32>
// CHECK:         scf.for
// CHECK:           vector.fma %{{.*}}, %{{.*}}, %[[START]]
// CHECK:           %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK:           %[[TWOS:.*]] = vector.broadcast %[[TWO]] : f32 to vector<8xf32>
// CHECK:           %[[ROW:.*]] = arith.mulf %{{.*}}, %[[TWOS]] : vector<8xf32>
// CHECK:           vector.store %[[ROW]], %[[A]]
// CHECK-NOT:     linalg.generic
func.func @in_place_fill(%w: memref<2x3x3xf32>) -> memref<1x2x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32
  %a = memref.alloc() : memref<1x2x8x8xf32>
  linalg.fill ins(%one : f32) outs(%a : memref<1x2x8x8xf32>)
  %p = memref.alloc() : memref<1x2x10x10xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x2x10x10xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
      : memref<1x2x10x10xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  memref.copy %a, %in : memref<1x2x8x8xf32> to memref<1x2x8x8xf32, strided<[200, 100, 10, 1], offset: 11>>
  linalg.fill ins(%half : f32) outs(%a : memref<1x2x8x8xf32>)
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
      ins(%p, %w : memref<1x2x10x10xf32>, memref<2x3x3xf32>) outs(%a : memref<1x2x8x8xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                   affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a : memref<1x2x8x8xf32>) outs(%a : memref<1x2x8x8xf32>) {
  ^bb0(%x: f32, %unused: f32):
    %two = arith.constant 2.0 : f32
    %y = arith.mulf %x, %two : f32
    linalg.yield %y : f32
  }
  return %a : memref<1x2x8x8xf32>
}
