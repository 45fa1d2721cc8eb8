// RUN: blkrew-opt %s -convert-blkrew-to-scf -split-input-file | FileCheck %s

// The loop nest: row groups -> kept columns of the group (bounds from
// row_ptr) -> rows of the group (guarded for the padded last group) -> rhs
// columns, with a scalar multiply-accumulate into init.
// CHECK-LABEL: func.func @bsr_matmul(
// CHECK-SAME:    %[[RP:[^:]*]]: memref<4xi32>, %[[CI:[^:]*]]: memref<?xi32>, %[[V:[^:]*]]: memref<?x2xf32>, %[[X:[^:]*]]: memref<4x3xf32>, %[[C:[^:]*]]: memref<5x3xf32>)
// CHECK-DAG:     %[[M:.*]] = memref.dim %[[C]], %{{.*}} : memref<5x3xf32>
// CHECK-DAG:     %[[N:.*]] = memref.dim %[[C]], %{{.*}} : memref<5x3xf32>
// CHECK-DAG:     %[[P:.*]] = arith.constant 2 : index
// CHECK:         %[[G:.*]] = arith.ceildivui %[[M]], %[[P]] : index
// CHECK:         scf.for %[[GI:.*]] = %{{.*}} to %[[G]] step
// CHECK:           %[[B:.*]] = memref.load %[[RP]][%[[GI]]] : memref<4xi32>
// CHECK:           %[[BI:.*]] = arith.index_cast %[[B]] : i32 to index
// CHECK:           %[[E:.*]] = memref.load %[[RP]][%{{.*}}] : memref<4xi32>
// CHECK:           %[[EI:.*]] = arith.index_cast %[[E]] : i32 to index
// CHECK:           scf.for %[[J:.*]] = %[[BI]] to %[[EI]] step
// CHECK:             %[[K:.*]] = memref.load %[[CI]][%[[J]]] : memref<?xi32>
// CHECK:             %[[KI:.*]] = arith.index_cast %[[K]] : i32 to index
// CHECK:             scf.for %[[R:.*]] = %{{.*}} to %[[P]] step
// CHECK:               %[[I:.*]] = arith.addi %{{.*}}, %[[R]] : index
// CHECK:               %[[IN:.*]] = arith.cmpi ult, %[[I]], %[[M]] : index
// CHECK:               scf.if %[[IN]] {
// CHECK:                 %[[W:.*]] = memref.load %[[V]][%[[J]], %[[R]]] : memref<?x2xf32>
// CHECK:                 scf.for %[[NI:.*]] = %{{.*}} to %[[N]] step
// CHECK:                   %[[XV:.*]] = memref.load %[[X]][%[[KI]], %[[NI]]]
// CHECK:                   %[[CV:.*]] = memref.load %[[C]][%[[I]], %[[NI]]]
// CHECK:                   %[[PR:.*]] = arith.mulf %[[W]], %[[XV]] : f32
// CHECK:                   %[[S:.*]] = arith.addf %[[CV]], %[[PR]] : f32
// CHECK:                   memref.store %[[S]], %[[C]][%[[I]], %[[NI]]]
// CHECK-NOT:     blkrew.
func.func @bsr_matmul(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                      %x: memref<4x3xf32>, %c: memref<5x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x3xf32>)
      outs(%c : memref<5x3xf32>)
  return
}

// -----

// A permutation is stored once as a private constant global and the result
// row is looked up in it.
// CHECK:       memref.global "private" constant @__blkrew_perm : memref<3xi32> = dense<[2, 0, 1]>
// CHECK-NOT:   memref.global
// CHECK-LABEL: func.func @bsr_matmul_perm(
// CHECK-SAME:    %[[C:[^:]*]]: memref<3x8xf32>)
// CHECK:         %[[PERM:.*]] = memref.get_global @__blkrew_perm : memref<3xi32>
// CHECK:         scf.if
// CHECK:           %[[O:.*]] = memref.load %[[PERM]][%{{.*}}] : memref<3xi32>
// CHECK:           %[[OI:.*]] = arith.index_cast %[[O]] : i32 to index
// CHECK:           scf.for %[[NI:.*]] =
// CHECK:             memref.store %{{.*}}, %[[C]][%[[OI]], %[[NI]]]
// CHECK:         memref.get_global @__blkrew_perm : memref<3xi32>
func.func @bsr_matmul_perm(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x1xf32>,
                           %x: memref<6x8xf32>, %c: memref<3x8xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [1, 2], scheme = row, perm = [2, 0, 1]>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x1xf32>, memref<6x8xf32>)
      outs(%c : memref<3x8xf32>)
  // The same permutation again reuses the global.
  blkrew.bsr_matmul #blkrew.layout<block = [1, 2], scheme = row, perm = [2, 0, 1]>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x1xf32>, memref<6x8xf32>)
      outs(%c : memref<3x8xf32>)
  return
}

// -----

// to_dense clears the destination, then stores each packed value at its
// (row, column).
// CHECK-LABEL: func.func @to_dense(
// CHECK-SAME:    %[[RP:[^:]*]]: memref<3xi32>, %[[CI:[^:]*]]: memref<?xi32>, %[[V:[^:]*]]: memref<?x2xf16>, %[[D:[^:]*]]: memref<4x?xf16>)
// CHECK:         %[[Z:.*]] = arith.constant 0.000000e+00 : f16
// CHECK:         scf.for %[[I0:.*]] =
// CHECK:           scf.for %[[K0:.*]] =
// CHECK:             memref.store %[[Z]], %[[D]][%[[I0]], %[[K0]]]
// CHECK:         scf.for
// CHECK:           scf.for %[[J:.*]] =
// CHECK:             %[[K:.*]] = memref.load %[[CI]][%[[J]]]
// CHECK:             %[[KI:.*]] = arith.index_cast %[[K]] : i32 to index
// CHECK:             scf.for %[[R:.*]] =
// CHECK:               scf.if
// CHECK:                 %[[W:.*]] = memref.load %[[V]][%[[J]], %[[R]]] : memref<?x2xf16>
// CHECK:                 memref.store %[[W]], %[[D]][%{{.*}}, %[[KI]]] : memref<4x?xf16>
func.func @to_dense(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf16>,
                    %d: memref<4x?xf16>) {
  blkrew.to_dense #blkrew.layout<block = [2, 2], scheme = bcr>
      ins(%rp, %ci, %v : memref<3xi32>, memref<?xi32>, memref<?x2xf16>)
      outs(%d : memref<4x?xf16>)
  return
}

// -----

// `overwrite` in the reference lowering: the destination is cleared first,
// then accumulated into as usual.
// CHECK-LABEL: func.func @overwrite(
// CHECK-SAME:    %{{[^:]*}}: memref<4xi32>, %{{[^:]*}}: memref<?xi32>, %{{[^:]*}}: memref<?x2xf32>, %{{[^:]*}}: memref<4x3xf32>, %[[C:[^:]*]]: memref<5x3xf32>)
// CHECK:         %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         scf.for %[[I:.*]] =
// CHECK:           scf.for %[[K:.*]] =
// CHECK:             memref.store %[[Z]], %[[C]][%[[I]], %[[K]]]
// CHECK:         scf.for
// CHECK:           memref.load %[[C]]
// CHECK:           arith.addf
func.func @overwrite(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                     %x: memref<4x3xf32>, %c: memref<5x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x3xf32>)
      outs(%c : memref<5x3xf32>)
  return
}

// -----

// `relu` in the reference lowering: after the accumulation, one pass over
// the whole destination (rows without kept columns included).
// CHECK-LABEL: func.func @relu(
// CHECK-SAME:    %{{[^:]*}}: memref<4xi32>, %{{[^:]*}}: memref<?xi32>, %{{[^:]*}}: memref<?x2xf32>, %{{[^:]*}}: memref<4x3xf32>, %[[C:[^:]*]]: memref<5x3xf32>)
// CHECK:         arith.addf
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step
// CHECK:           scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step
// CHECK:             %[[X:.*]] = memref.load %[[C]][%[[I]], %[[K]]]
// CHECK:             %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:             %[[Y:.*]] = arith.maximumf %[[X]], %[[Z]] : f32
// CHECK:             memref.store %[[Y]], %[[C]][%[[I]], %[[K]]]
func.func @relu(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                %x: memref<4x3xf32>, %c: memref<5x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> relu
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x3xf32>)
      outs(%c : memref<5x3xf32>)
  return
}

// -----

// `window [3, 2]`: kept column k reads channel k / 6, row (k / 2) % 3 + n / OW
// and column k % 2 + n % OW of the image; OW = W - 1 read off the image.
// CHECK-LABEL: func.func @window(
// CHECK-SAME:    %[[CI:[^:]*]]: memref<6xi32>, %{{[^:]*}}: memref<6x2xf32>, %[[IMG:[^:]*]]: memref<2x4x?xf32>, %{{[^:]*}}: memref<3x?xf32>)
// CHECK:         %[[W:.*]] = memref.dim %[[IMG]], %{{.*}} : memref<2x4x?xf32>
// CHECK:         %[[OW:.*]] = arith.subi %[[W]], %{{.*}} : index
// CHECK:         %[[KI:.*]] = memref.load %[[CI]]
// CHECK:         %[[K:.*]] = arith.index_cast %[[KI]] : i32 to index
// CHECK:         %[[CDY:.*]] = arith.divui %[[K]], %[[C2:[^ ]*]] : index
// CHECK:         %[[CH:.*]] = arith.divui %[[CDY]], %[[C3:[^ ]*]] : index
// CHECK:         %[[DY:.*]] = arith.remui %[[CDY]], %{{[^ ]*}} : index
// CHECK:         %[[DX:.*]] = arith.remui %[[K]], %[[C2]] : index
// CHECK:         scf.for %[[N:.*]] = 
// CHECK:           %[[Y:.*]] = arith.divui %[[N]], %[[OW]] : index
// CHECK:           %[[X:.*]] = arith.remui %[[N]], %[[OW]] : index
// CHECK:           %[[ROW:.*]] = arith.addi %[[DY]], %[[Y]] : index
// CHECK:           %[[COL:.*]] = arith.addi %[[DX]], %[[X]] : index
// CHECK:           memref.load %[[IMG]][%[[CH]], %[[ROW]], %[[COL]]]
func.func @window(%rp: memref<3xi32>, %ci: memref<6xi32>, %v: memref<6x2xf32>,
                  %img: memref<2x4x?xf32>, %c: memref<3x?xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> window [3, 2]
      ins(%rp, %ci, %v, %img : memref<3xi32>, memref<6xi32>, memref<6x2xf32>, memref<2x4x?xf32>)
      outs(%c : memref<3x?xf32>)
  return
}

// -----

// `clamp` in the reference lowering: one pass after the accumulation.
// CHECK-LABEL: func.func @clamp(
// CHECK:         arith.addf
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             %[[X:.*]] = memref.load
// CHECK:             %[[A:.*]] = arith.maxnumf %[[X]], %{{.*}} : f32
// CHECK:             %[[B:.*]] = arith.minnumf %[[A]], %{{.*}} : f32
// CHECK:             memref.store %[[B]]
func.func @clamp(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                 %x: memref<4x3xf32>, %c: memref<5x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> clamp [0.0, 6.0]
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x3xf32>)
      outs(%c : memref<5x3xf32>)
  return
}

// -----

// f16 packed values (blkrew-half-weights): each weight extended to f32 as
// it is read, by both ops.
// CHECK-LABEL: func.func @half_values(
// CHECK-SAME:    %{{[^:]*}}: memref<4xi32>, %{{[^:]*}}: memref<?xi32>, %[[V:[^:]*]]: memref<?x2xf16>,
// CHECK:                 %[[H:.*]] = memref.load %[[V]][%{{.*}}, %{{.*}}] : memref<?x2xf16>
// CHECK-NEXT:            %[[W:.*]] = arith.extf %[[H]] : f16 to f32
// CHECK:                   arith.mulf %[[W]], %{{.*}} : f32
// CHECK-LABEL: func.func @half_values_to_dense(
// CHECK:             %[[H:.*]] = memref.load %{{.*}} : memref<?x2xf16>
// CHECK-NEXT:        %[[W:.*]] = arith.extf %[[H]] : f16 to f32
// CHECK-NEXT:        memref.store %[[W]], %{{.*}} : memref<4x4xf32>
func.func @half_values(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf16>,
                       %x: memref<4x3xf32>, %c: memref<5x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf16>, memref<4x3xf32>)
      outs(%c : memref<5x3xf32>)
  return
}
func.func @half_values_to_dense(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf16>,
                                %w: memref<4x4xf32>) {
  blkrew.to_dense #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v : memref<3xi32>, memref<?xi32>, memref<?x2xf16>)
      outs(%w : memref<4x4xf32>)
  return
}
