// RUN: blkrew-opt %s -blkrew-pad-to-generate -split-input-file | FileCheck %s

// A zero-padded image: each element of the result is the source's where
// the index, less the low padding, is inside the source (one unsigned
// compare per padded dimension, the read at a clamped index), zero
// elsewhere; unpadded dimensions index the source directly.
// CHECK-LABEL: func.func @pad(
// CHECK-SAME:    %[[X:.*]]: tensor<1x3x4x5xf32>) -> tensor<1x3x6x7xf32>
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[C5:.*]] = arith.constant 5 : index
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT:     tensor.pad
// CHECK:         %[[G:.*]] = tensor.generate  {
// CHECK-NEXT:    ^bb0(%[[N:.*]]: index, %[[C:.*]]: index, %[[Y:.*]]: index, %[[XI:.*]]: index):
// CHECK-NEXT:      %[[SY:.*]] = arith.subi %[[Y]], %[[C1]] : index
// CHECK-NEXT:      %[[INY:.*]] = arith.cmpi ult, %[[SY]], %[[C4]] : index
// CHECK-NEXT:      %[[AY:.*]] = arith.select %[[INY]], %[[SY]], %[[C0]] : index
// CHECK-NEXT:      %[[SX:.*]] = arith.subi %[[XI]], %[[C1]] : index
// CHECK-NEXT:      %[[INX:.*]] = arith.cmpi ult, %[[SX]], %[[C5]] : index
// CHECK-NEXT:      %[[IN:.*]] = arith.andi %[[INY]], %[[INX]] : i1
// CHECK-NEXT:      %[[AX:.*]] = arith.select %[[INX]], %[[SX]], %[[C0]] : index
// CHECK-NEXT:      %[[E:.*]] = tensor.extract %[[X]][%[[N]], %[[C]], %[[AY]], %[[AX]]]
// CHECK-NEXT:      %[[V:.*]] = arith.select %[[IN]], %[[E]], %[[ZERO]] : f32
// CHECK-NEXT:      tensor.yield %[[V]] : f32
// CHECK:         return %[[G]]
func.func @pad(%x: tensor<1x3x4x5xf32>) -> tensor<1x3x6x7xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x3x4x5xf32> to tensor<1x3x6x7xf32>
  return %p : tensor<1x3x6x7xf32>
}

// -----

// Padding on one side only, by a value other than zero (a max pool's
// -inf): the same select.
// CHECK-LABEL: func.func @one_side(
// CHECK:         tensor.generate
// CHECK:           arith.cmpi ult
// CHECK-NOT:       arith.cmpi
// CHECK:           arith.select %{{.*}}, %{{.*}}, %cst : f32
func.func @one_side(%x: tensor<2x5xf32>) -> tensor<2x8xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0] high[0, 3] {
  ^bb0(%i: index, %j: index):
    tensor.yield %ninf : f32
  } : tensor<2x5xf32> to tensor<2x8xf32>
  return %p : tensor<2x8xf32>
}

// -----

// A padding value that depends on the index, or dynamic shapes: left alone.
// CHECK-LABEL: func.func @not_constant(
// CHECK:         tensor.pad
// CHECK-LABEL: func.func @dynamic(
// CHECK:         tensor.pad
func.func @not_constant(%x: tensor<4xf32>) -> tensor<6xf32> {
  %p = tensor.pad %x low[1] high[1] {
  ^bb0(%i: index):
    %f = arith.index_cast %i : index to i32
    %v = arith.sitofp %f : i32 to f32
    tensor.yield %v : f32
  } : tensor<4xf32> to tensor<6xf32>
  return %p : tensor<6xf32>
}
func.func @dynamic(%x: tensor<?xf32>) -> tensor<?xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[1] high[1] {
  ^bb0(%i: index):
    tensor.yield %zero : f32
  } : tensor<?xf32> to tensor<?xf32>
  return %p : tensor<?xf32>
}
