// RUN: blkrew-opt %s -convert-blkrew-to-parallel-loops -split-input-file | FileCheck %s
// RUN: blkrew-opt %s -convert-blkrew-to-parallel-loops=rows-per-invocation=0 -split-input-file | FileCheck %s --check-prefix=TILE
// RUN: blkrew-opt %s -convert-blkrew-to-parallel-loops=rows-per-invocation=2 -split-input-file | FileCheck %s --check-prefix=TWO

// One parallel iteration per output element (group, row of the group, rhs
// column); the kept columns of the group are a sequential reduction with the
// accumulator carried in a register and stored once.
// CHECK-LABEL: func.func @bsr_matmul(
// CHECK-SAME:    %[[RP:[^:]*]]: memref<4xi32>, %[[CI:[^:]*]]: memref<?xi32>, %[[V:[^:]*]]: memref<?x2xf32>, %[[X:[^:]*]]: memref<4x3xf32>, %[[C:[^:]*]]: memref<5x3xf32>)
// CHECK-DAG:     %[[M:.*]] = memref.dim %[[C]], %{{.*}} : memref<5x3xf32>
// CHECK-DAG:     %[[N:.*]] = memref.dim %[[C]], %{{.*}} : memref<5x3xf32>
// CHECK-DAG:     %[[P:.*]] = arith.constant 2 : index
// CHECK:         %[[G:.*]] = arith.ceildivui %[[M]], %[[P]] : index
// CHECK:         scf.parallel (%[[GI:.*]], %[[R:.*]], %[[NI:.*]]) = ({{.*}}) to (%[[G]], %[[P]], %[[N]])
// CHECK:           %[[I:.*]] = arith.addi %{{.*}}, %[[R]] : index
// CHECK:           %[[IN:.*]] = arith.cmpi ult, %[[I]], %[[M]] : index
// CHECK:           scf.if %[[IN]] {
// CHECK:             %[[B:.*]] = memref.load %[[RP]][%[[GI]]] : memref<4xi32>
// CHECK:             %[[BI:.*]] = arith.index_cast %[[B]] : i32 to index
// CHECK:             %[[E:.*]] = memref.load %[[RP]][%{{.*}}] : memref<4xi32>
// CHECK:             %[[EI:.*]] = arith.index_cast %[[E]] : i32 to index
// CHECK:             %[[A0:.*]] = memref.load %[[C]][%[[I]], %[[NI]]]
// CHECK:             %[[SUM:.*]] = scf.for %[[J:.*]] = %[[BI]] to %[[EI]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[A0]]) -> (f32) {
// CHECK:               %[[K:.*]] = memref.load %[[CI]][%[[J]]] : memref<?xi32>
// CHECK:               %[[KI:.*]] = arith.index_cast %[[K]] : i32 to index
// CHECK:               %[[W:.*]] = memref.load %[[V]][%[[J]], %[[R]]] : memref<?x2xf32>
// CHECK:               %[[XV:.*]] = memref.load %[[X]][%[[KI]], %[[NI]]] : memref<4x3xf32>
// CHECK:               %[[PR:.*]] = arith.mulf %[[W]], %[[XV]] : f32
// CHECK:               %[[S:.*]] = arith.addf %[[ACC]], %[[PR]] : f32
// CHECK:               scf.yield %[[S]] : f32
// CHECK:             memref.store %[[SUM]], %[[C]][%[[I]], %[[NI]]]
// CHECK-NOT:     blkrew.
func.func @bsr_matmul(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                      %x: memref<4x3xf32>, %c: memref<5x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x3xf32>)
      outs(%c : memref<5x3xf32>)
  return
}

// -----

// A permuted layout reads the original row from a constant global.
// CHECK:       memref.global "private" constant @__blkrew_perm{{.*}} : memref<4xi32> = dense<[2, 0, 3, 1]>
// CHECK-LABEL: func.func @permuted(
// CHECK:         %[[PERM:.*]] = memref.get_global @__blkrew_perm
// CHECK:         scf.parallel
// CHECK:           scf.if
// CHECK:             %[[ROW:.*]] = memref.load %[[PERM]][%{{.*}}] : memref<4xi32>
// CHECK:             %[[ROWI:.*]] = arith.index_cast %[[ROW]] : i32 to index
// CHECK:             scf.for
// CHECK:             memref.store %{{.*}}, %{{.*}}[%[[ROWI]], %{{.*}}]
func.func @permuted(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                    %x: memref<4x3xf32>, %c: memref<4x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column, perm = [2, 0, 3, 1]>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x3xf32>)
      outs(%c : memref<4x3xf32>)
  return
}

// -----

// Nothing kept: init += 0, no loops at all.
// CHECK-LABEL: func.func @empty(
// CHECK-NEXT:    return
func.func @empty(%rp: memref<3xi32>, %ci: memref<0xi32>, %v: memref<0x2xf32>,
                 %x: memref<4x3xf32>, %c: memref<4x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<0xi32>, memref<0x2xf32>, memref<4x3xf32>)
      outs(%c : memref<4x3xf32>)
  return
}

// -----

// `overwrite`: the register accumulator starts at zero; init is only stored.
// CHECK-LABEL: func.func @overwrite(
// CHECK-SAME:    %{{[^:]*}}: memref<3xi32>, %{{[^:]*}}: memref<2xi32>, %{{[^:]*}}: memref<2x2xf32>, %{{[^:]*}}: memref<4x3xf32>, %[[C:[^:]*]]: memref<4x3xf32>)
// CHECK:         %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT:     memref.load %[[C]]
// CHECK:         %[[ACC:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[Z]]) -> (f32) {
// CHECK:         memref.store %[[ACC]], %[[C]]
func.func @overwrite(%rp: memref<3xi32>, %ci: memref<2xi32>, %v: memref<2x2xf32>,
                     %x: memref<4x3xf32>, %c: memref<4x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<2xi32>, memref<2x2xf32>, memref<4x3xf32>)
      outs(%c : memref<4x3xf32>)
  return
}

// -----

// Nothing kept but `overwrite`: init = 0, a parallel zero fill.
// CHECK-LABEL: func.func @empty_overwrite(
// CHECK-SAME:    %{{[^:]*}}: memref<3xi32>, %{{[^:]*}}: memref<0xi32>, %{{[^:]*}}: memref<0x2xf32>, %{{[^:]*}}: memref<4x3xf32>, %[[C:[^:]*]]: memref<4x3xf32>)
// CHECK:         %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         scf.parallel (%[[I:.*]], %[[K:.*]]) =
// CHECK-NEXT:      memref.store %[[Z]], %[[C]][%[[I]], %[[K]]]
func.func @empty_overwrite(%rp: memref<3xi32>, %ci: memref<0xi32>, %v: memref<0x2xf32>,
                           %x: memref<4x3xf32>, %c: memref<4x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<0xi32>, memref<0x2xf32>, memref<4x3xf32>)
      outs(%c : memref<4x3xf32>)
  return
}

// -----

// to_dense: a parallel zero fill, then one iteration per (group, row)
// scattering the group's kept values.
// CHECK-LABEL: func.func @to_dense(
// CHECK-SAME:    %[[RP:[^:]*]]: memref<3xi32>, %[[CI:[^:]*]]: memref<?xi32>, %[[V:[^:]*]]: memref<?x2xf32>, %[[D:[^:]*]]: memref<4x6xf32>)
// CHECK:         %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         scf.parallel (%[[I:.*]], %[[K:.*]]) =
// CHECK:           memref.store %[[Z]], %[[D]][%[[I]], %[[K]]]
// CHECK:         scf.parallel (%[[G:.*]], %[[R:.*]]) =
// CHECK:           scf.if
// CHECK:             scf.for %[[J:.*]] =
// CHECK:               %[[COL:.*]] = memref.load %[[CI]][%[[J]]]
// CHECK:               %[[COLI:.*]] = arith.index_cast %[[COL]] : i32 to index
// CHECK:               %[[W:.*]] = memref.load %[[V]][%[[J]], %[[R]]]
// CHECK:               memref.store %[[W]], %[[D]][%{{.*}}, %[[COLI]]]
func.func @to_dense(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                    %d: memref<4x6xf32>) {
  blkrew.to_dense #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v : memref<3xi32>, memref<?xi32>, memref<?x2xf32>)
      outs(%d : memref<4x6xf32>)
  return
}

// -----

// `relu`: each element's sum is clamped as it is stored.
// CHECK-LABEL: func.func @relu(
// CHECK-SAME:    %{{[^:]*}}: memref<3xi32>, %{{[^:]*}}: memref<2xi32>, %{{[^:]*}}: memref<2x2xf32>, %{{[^:]*}}: memref<4x3xf32>, %[[C:[^:]*]]: memref<4x3xf32>)
// CHECK:         %[[ACC:.*]] = scf.for
// CHECK:         %[[Y:.*]] = arith.maximumf %[[ACC]], %{{.*}} : f32
// CHECK:         memref.store %[[Y]], %[[C]]
func.func @relu(%rp: memref<3xi32>, %ci: memref<2xi32>, %v: memref<2x2xf32>,
                %x: memref<4x3xf32>, %c: memref<4x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> relu
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<2xi32>, memref<2x2xf32>, memref<4x3xf32>)
      outs(%c : memref<4x3xf32>)
  return
}

// -----

// Nothing kept, `relu`: init = max(init, 0), one parallel iteration each.
// CHECK-LABEL: func.func @empty_relu(
// CHECK-SAME:    %{{[^:]*}}: memref<3xi32>, %{{[^:]*}}: memref<0xi32>, %{{[^:]*}}: memref<0x2xf32>, %{{[^:]*}}: memref<4x3xf32>, %[[C:[^:]*]]: memref<4x3xf32>)
// CHECK:         scf.parallel (%[[I:.*]], %[[K:.*]]) =
// CHECK-NEXT:      %[[X:.*]] = memref.load %[[C]][%[[I]], %[[K]]]
// CHECK-NEXT:      %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:      %[[Y:.*]] = arith.maximumf %[[X]], %[[Z]] : f32
// CHECK-NEXT:      memref.store %[[Y]], %[[C]][%[[I]], %[[K]]]
func.func @empty_relu(%rp: memref<3xi32>, %ci: memref<0xi32>, %v: memref<0x2xf32>,
                      %x: memref<4x3xf32>, %c: memref<4x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> relu
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<0xi32>, memref<0x2xf32>, memref<4x3xf32>)
      outs(%c : memref<4x3xf32>)
  return
}

// -----

// `window`: each parallel iteration splits its column n into the image row
// and column once; the reduction splits each kept column k.
// CHECK-LABEL: func.func @window(
// CHECK-SAME:    %[[CI:[^:]*]]: memref<6xi32>, %{{[^:]*}}: memref<6x2xf32>, %[[IMG:[^:]*]]: memref<2x4x10xf32>, %{{[^:]*}}: memref<3x16xf32>)
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %[[N:.*]]) =
// CHECK:           %[[Y:.*]] = arith.divui %[[N]], %[[OW:.*]] : index
// CHECK:           %[[X:.*]] = arith.remui %[[N]], %[[OW]] : index
// CHECK:           scf.for
// CHECK:             %[[KI:.*]] = memref.load %[[CI]]
// CHECK:             %[[K:.*]] = arith.index_cast %[[KI]] : i32 to index
// CHECK:             %[[CDY:.*]] = arith.divui %[[K]], %[[C3:[^ ]*]] : index
// CHECK:             %[[CH:.*]] = arith.divui %[[CDY]], %{{[^ ]*}} : index
// CHECK:             %[[DY:.*]] = arith.remui %[[CDY]], %{{[^ ]*}} : index
// CHECK:             %[[DX:.*]] = arith.remui %[[K]], %{{[^ ]*}} : index
// CHECK:             %[[ROW:.*]] = arith.addi %[[DY]], %[[Y]] : index
// CHECK:             %[[COL:.*]] = arith.addi %[[DX]], %[[X]] : index
// CHECK:             memref.load %[[IMG]][%[[CH]], %[[ROW]], %[[COL]]]
func.func @window(%rp: memref<3xi32>, %ci: memref<6xi32>, %v: memref<6x2xf32>,
                  %img: memref<2x4x10xf32>, %c: memref<3x16xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> window [3, 3]
      ins(%rp, %ci, %v, %img : memref<3xi32>, memref<6xi32>, memref<6x2xf32>, memref<2x4x10xf32>)
      outs(%c : memref<3x16xf32>)
  return
}

// -----

// `clamp`: applied to the register sum before its one store; nothing kept
// with `overwrite`: zeros, then clamped in place (clamp(0) is lo here).
// CHECK-LABEL: func.func @clamp(
// CHECK:         scf.for
// CHECK:         %[[A:.*]] = arith.maxnumf %{{.*}}, %{{.*}} : f32
// CHECK:         %[[B:.*]] = arith.minnumf %[[A]], %{{.*}} : f32
// CHECK:         memref.store %[[B]]
// CHECK-LABEL: func.func @empty_clamp(
// CHECK:         scf.parallel
// CHECK:           memref.store %{{.*}} : memref<4x3xf32>
// CHECK:         scf.parallel
// CHECK:           arith.maxnumf
// CHECK:           arith.minnumf
func.func @clamp(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                 %x: memref<4x3xf32>, %c: memref<4x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> clamp [0.0, 6.0]
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x3xf32>)
      outs(%c : memref<4x3xf32>)
  return
}
func.func @empty_clamp(%rp: memref<3xi32>, %ci: memref<0xi32>, %v: memref<0x2xf32>,
                       %x: memref<4x3xf32>, %c: memref<4x3xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite clamp [1.0, 6.0]
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<0xi32>, memref<0x2xf32>, memref<4x3xf32>)
      outs(%c : memref<4x3xf32>)
  return
}

// -----

// rows-per-invocation: one iteration computes several rows of its group
// (0: all 3), one accumulator each; each rhs element loaded feeds all of
// them. The first row of the tile is inside the matrix (the scf.if around
// the body); the others of the last, partial group are checked: their
// initial value is read from a row inside, their store skipped. With 2
// asked, 3 rows a group take 1 (the largest divisor of 3 not above 2).
// TILE-LABEL: func.func @row_tile(
// TILE-SAME:    %{{[^:]*}}: memref<4xi32>, %{{[^:]*}}: memref<?xi32>, %[[V:[^:]*]]: memref<?x3xf32>, %[[X:[^:]*]]: memref<4x5xf32>, %[[C:[^:]*]]: memref<7x5xf32>)
// TILE-DAG:     %[[M:.*]] = memref.dim %[[C]], %{{.*}} : memref<7x5xf32>
// TILE:         arith.ceildivui
// TILE-NEXT:    %[[ONE:.*]] = arith.constant 1 : index
// TILE-NEXT:    scf.parallel (%{{.*}}, %[[T:.*]], %[[N:.*]]) = ({{.*}}) to (%{{.*}}, %[[ONE]], %{{.*}})
// TILE:           %[[R0:.*]] = arith.muli %[[T]], %{{.*}} : index
// TILE:           %[[I0:.*]] = arith.addi %{{.*}}, %[[R0]] : index
// TILE:           scf.if
// TILE:             %[[A0:.*]] = memref.load %[[C]][%[[I0]], %[[N]]]
// TILE:             %[[I1:.*]] = arith.addi %[[I0]], %{{.*}} : index
// TILE:             %[[IN1:.*]] = arith.cmpi ult, %[[I1]], %[[M]] : index
// TILE:             %[[S1:.*]] = arith.select %[[IN1]], %[[I1]], %[[I0]] : index
// TILE:             %[[A1:.*]] = memref.load %[[C]][%[[S1]], %[[N]]]
// TILE:             %[[I2:.*]] = arith.addi %[[I0]], %{{.*}} : index
// TILE:             %[[IN2:.*]] = arith.cmpi ult, %[[I2]], %[[M]] : index
// TILE:             %[[A2:.*]] = memref.load %[[C]]
// TILE:             %[[SUM:.*]]:3 = scf.for {{.*}} iter_args(%[[ACC0:.*]] = %[[A0]], %[[ACC1:.*]] = %[[A1]], %[[ACC2:.*]] = %[[A2]]) -> (f32, f32, f32) {
// TILE:               memref.load %[[V]]
// TILE:               memref.load %[[V]]
// TILE:               memref.load %[[V]]
// TILE:               %[[XV:.*]] = memref.load %[[X]]
// TILE-NOT:           memref.load %[[X]]
// TILE:               scf.yield
// TILE:             memref.store %[[SUM]]#0, %[[C]][%[[I0]], %[[N]]]
// TILE:             scf.if %[[IN1]] {
// TILE-NEXT:          memref.store %[[SUM]]#1, %[[C]][%[[S1]], %[[N]]]
// TILE:             scf.if %[[IN2]] {
// TILE-NEXT:          memref.store %[[SUM]]#2
// TWO-LABEL:   func.func @row_tile(
// TWO:           %[[P:.*]] = arith.constant 3 : index
// TWO:           scf.parallel ({{.*}}) = ({{.*}}) to (%{{.*}}, %[[P]], %{{.*}})
// TWO:             scf.for {{.*}} -> (f32) {
func.func @row_tile(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x3xf32>,
                    %x: memref<4x5xf32>, %c: memref<7x5xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [3, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x3xf32>, memref<4x5xf32>)
      outs(%c : memref<7x5xf32>)
  return
}

// -----

// A bias broadcast into init just before the product (a layer's bias, here
// into the NCHW output that init collapses): each accumulator starts from
// its row's bias and the broadcast goes; init is only stored.
// CHECK-LABEL: func.func @bias(
// CHECK-SAME:    %[[B:[^:]*]]: memref<4xf32>, %[[OUT:[^:]*]]: memref<1x4x1x3xf32>)
// CHECK-NOT:     linalg.broadcast
// CHECK:         %[[C:.*]] = memref.collapse_shape %[[OUT]]
// CHECK:         scf.parallel
// CHECK:           %[[ROW:.*]] = arith.addi
// CHECK-NOT:       memref.load %[[C]]
// CHECK:           %[[A0:.*]] = memref.load %[[B]][%[[ROW]]] : memref<4xf32>
// CHECK:           scf.for {{.*}} iter_args(%{{.*}} = %[[A0]]) -> (f32)
// CHECK:           memref.store %{{.*}}, %[[C]][%[[ROW]], %{{.*}}]
func.func @bias(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                %x: memref<4x3xf32>, %b: memref<4xf32>, %out: memref<1x4x1x3xf32>) {
  linalg.broadcast ins(%b : memref<4xf32>) outs(%out : memref<1x4x1x3xf32>) dimensions = [0, 2, 3]
  %c = memref.collapse_shape %out [[0, 1], [2, 3]] : memref<1x4x1x3xf32> into memref<4x3xf32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x3xf32>)
      outs(%c : memref<4x3xf32>)
  return
}

// -----

// Something else writes memory between the broadcast and the product: the
// broadcast stays and init is read.
// CHECK-LABEL: func.func @bias_then_other_write(
// CHECK:         linalg.broadcast
// CHECK:         scf.parallel
// CHECK:           memref.load %{{.*}} : memref<4x3xf32>
func.func @bias_then_other_write(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                                 %x: memref<4x3xf32>, %b: memref<4xf32>, %c: memref<4x3xf32>,
                                 %other: memref<4xf32>) {
  linalg.broadcast ins(%b : memref<4xf32>) outs(%c : memref<4x3xf32>) dimensions = [1]
  linalg.copy ins(%b : memref<4xf32>) outs(%other : memref<4xf32>)
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x3xf32>)
      outs(%c : memref<4x3xf32>)
  return
}
