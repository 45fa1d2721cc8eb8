// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 tile-vectors=1" -canonicalize -cse -split-input-file | FileCheck %s
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 tile-vectors=2" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=WIDE
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 tile-vectors=3" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=REST
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 tile-vectors=1 prefetch-distance=2" -split-input-file | FileCheck %s --check-prefix=PF
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 max-unroll-rows=1" -split-input-file | FileCheck %s --check-prefix=FALLBACK
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 parallel=true" -split-input-file | FileCheck %s --check-prefix=PAR
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 parallel=true parallel-min-fmas=0 parallel-min-outputs=32" -split-input-file | FileCheck %s --check-prefix=PARALL
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 parallel=true parallel-min-fmas=7 parallel-min-outputs=33" -split-input-file | FileCheck %s --check-prefix=FEWOUT
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 parallel=true parallel-min-fmas=6 parallel-min-outputs=33" -split-input-file | FileCheck %s --check-prefix=MANYFMA
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 weight-prefetch-bytes=64" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=WPF
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 accumulators=6" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=SLAB
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 accumulators=6 prefetch-distance=2 weight-prefetch-bytes=64" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=SLABPF
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 accumulators=6 tile-vectors=4" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=SLAB4
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 accumulators=6 slab-chunk-bytes=96" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=CHUNK
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 tile-vectors=1 panel-bytes=128" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=PANEL
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 tile-vectors=1 panel-bytes=128 parallel=true parallel-min-fmas=0 parallel-min-outputs=0" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=PANELPAR
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 tile-vectors=3 panel-bytes=128 prefetch-distance=2" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=PANELPF
// RUN: blkrew-opt %s -convert-blkrew-to-vector="tile-chains=1 vector-width=4 tile-vectors=1 panel-bytes=176" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=TWOPANELS
// RUN: blkrew-opt %s -convert-blkrew-to-vector="vector-width=4 tile-vectors=1 tile-chains=4" -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=SETS
// RUN: not blkrew-opt %s -convert-blkrew-to-vector="tile-chains=0" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADCHAINS
// RUN: not blkrew-opt %s -convert-blkrew-to-vector="parallel-min-outputs=-1" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not blkrew-opt %s -convert-blkrew-to-vector="slab-chunk-bytes=-1" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT

// BADOPT: parallel-min-fmas, parallel-min-outputs and slab-chunk-bytes non-negative
// BADCHAINS: accumulators and tile-chains must be positive

// The register tile: per row group and 4-wide slice of N, the 2 rows of the
// group accumulate in 2 vectors carried through the loop over kept columns;
// each kept column loads one rhs slice and broadcasts each of its 2 weights
// from memory (x86 folds the broadcast into the FMA).
// CHECK-LABEL: func.func @bsr(
// CHECK-SAME:    %[[RP:[^:]*]]: memref<4xi32>, %[[CI:[^:]*]]: memref<?xi32>, %[[V:[^:]*]]: memref<?x2xf32>, %[[X:[^:]*]]: memref<4x?xf32>, %[[C:[^:]*]]: memref<5x?xf32>)
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[N:.*]] = memref.dim %[[C]], %{{.*}} : memref<5x?xf32>
// CHECK:         %[[TAIL:.*]] = arith.remui %[[N]], %[[C4]] : index
// CHECK:         %[[FULL:.*]] = arith.subi %[[N]], %[[TAIL]] : index
// CHECK:         scf.for %[[G:.*]] =
// CHECK:           scf.for %[[N0:.*]] = %{{.*}} to %[[FULL]] step %[[C4]] {
// CHECK:             %[[A0:.*]] = scf.if %{{.*}} -> (vector<4xf32>) {
// CHECK:               vector.load %[[C]][%{{.*}}, %[[N0]]] : memref<5x?xf32>, vector<4xf32>
// CHECK:             %[[A1:.*]] = scf.if %{{.*}} -> (vector<4xf32>) {
// CHECK:             %[[ACC:.*]]:2 = scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[I0:.*]] = %[[A0]], %[[I1:.*]] = %[[A1]]) -> (vector<4xf32>, vector<4xf32>) {
// CHECK:               %[[K:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK:               %[[XV:.*]] = vector.load %[[X]][%[[K]], %[[N0]]] : memref<4x?xf32>, vector<4xf32>
// CHECK:               %[[W0:.*]] = memref.load %[[V]][%[[J]], %{{.*}}] : memref<?x2xf32>
// CHECK:               %[[B0:.*]] = vector.broadcast %[[W0]] : f32 to vector<4xf32>
// CHECK:               %[[F0:.*]] = vector.fma %[[B0]], %[[XV]], %[[I0]] : vector<4xf32>
// CHECK:               %[[W1:.*]] = memref.load %[[V]][%[[J]], %{{.*}}] : memref<?x2xf32>
// CHECK:               %[[B1:.*]] = vector.broadcast %[[W1]] : f32 to vector<4xf32>
// CHECK:               %[[F1:.*]] = vector.fma %[[B1]], %[[XV]], %[[I1]] : vector<4xf32>
// CHECK:               scf.yield %[[F0]], %[[F1]]
// CHECK:             vector.store %[[ACC]]#0, %[[C]]
// CHECK:             vector.store %[[ACC]]#1, %[[C]]
// The tail of N uses masked loads and stores.
// CHECK:           scf.if
// CHECK:             %[[M:.*]] = vector.create_mask %[[TAIL]] : vector<4xi1>
// CHECK:             vector.maskedload %[[X]][%{{.*}}, %[[FULL]]], %[[M]]
// CHECK:             vector.maskedstore %[[C]][%{{.*}}, %[[FULL]]], %[[M]]
// tile-chains=4: the 2-accumulator tile runs 2 sets of them over
// consecutive kept columns (the second from zero), the column left over
// after the last pair into the first set; the sets are summed before the
// stores.
// SETS-LABEL: func.func @bsr(
// SETS-DAG:     %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// SETS-DAG:     %[[C2:.*]] = arith.constant 2 : index
// SETS:         %[[A0:.*]] = scf.if %{{.*}} -> (vector<4xf32>) {
// SETS:         %[[A1:.*]] = scf.if %{{.*}} -> (vector<4xf32>) {
// SETS:         %[[SPAN:.*]] = arith.subi %[[END:.*]], %[[BEGIN:.*]] : index
// SETS:         %[[PAIRS:.*]] = arith.divui %[[SPAN]], %[[C2]] : index
// SETS:         %[[EVEN:.*]] = arith.muli %[[PAIRS]], %[[C2]] : index
// SETS:         %[[STEPPED:.*]] = arith.addi %[[BEGIN]], %[[EVEN]] : index
// SETS:         %[[P:.*]]:4 = scf.for %[[J:.*]] = %[[BEGIN]] to %[[STEPPED]] step %[[C2]] iter_args(%[[I0:.*]] = %[[A0]], %[[I1:.*]] = %[[A1]], %[[I2:.*]] = %[[Z]], %[[I3:.*]] = %[[Z]])
// SETS:           vector.fma %{{.*}}, %{{.*}}, %[[I0]]
// SETS:           vector.fma %{{.*}}, %{{.*}}, %[[I1]]
// SETS:           %[[J1:.*]] = arith.addi %[[J]], %{{.*}} : index
// SETS:           memref.load %{{.*}}[%[[J1]]] : memref<?xi32>
// SETS:           vector.fma %{{.*}}, %{{.*}}, %[[I2]]
// SETS:           vector.fma %{{.*}}, %{{.*}}, %[[I3]]
// SETS:         %[[R:.*]]:2 = scf.for %{{.*}} = %[[STEPPED]] to %[[END]] step %{{.*}} iter_args(%{{.*}} = %[[P]]#0, %{{.*}} = %[[P]]#1)
// SETS:         %[[S0:.*]] = arith.addf %[[R]]#0, %[[P]]#2 : vector<4xf32>
// SETS:         %[[S1:.*]] = arith.addf %[[R]]#1, %[[P]]#3 : vector<4xf32>
// SETS:         vector.store %[[S0]]
// SETS:         vector.store %[[S1]]
// tile-vectors=2: 8-wide slices of N in a 2x(2*4) tile, four accumulators
// and two rhs loads per kept column, each weight broadcast once for two
// FMAs; then 4-wide slices, then the masked tail.
// WIDE-LABEL: func.func @bsr(
// WIDE-DAG:     %[[C8:.*]] = arith.constant 8 : index
// WIDE-DAG:     %[[C4:.*]] = arith.constant 4 : index
// WIDE:         %[[R8:.*]] = arith.remui %{{.*}}, %[[C8]] : index
// WIDE:         %[[WEND:.*]] = arith.subi %{{.*}}, %[[R8]] : index
// WIDE:         scf.for
// WIDE:           scf.for %[[N0:.*]] = %{{.*}} to %[[WEND]] step %[[C8]] {
// WIDE:             %[[N1:.*]] = arith.addi %[[N0]], %[[C4]] : index
// WIDE:             scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// WIDE:               %[[X0:.*]] = vector.load %{{.*}}[%{{.*}}, %[[N0]]]
// WIDE:               %[[X1:.*]] = vector.load %{{.*}}[%{{.*}}, %[[N1]]]
// WIDE:               %[[W:.*]] = memref.load
// WIDE:               %[[B:.*]] = vector.broadcast %[[W]]
// WIDE:               vector.fma %[[B]], %[[X0]]
// WIDE:               vector.fma %[[B]], %[[X1]]
// WIDE:           scf.for %{{.*}} = %[[WEND]] to %{{.*}} step %[[C4]] {
// WIDE:             scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>) {
// WIDE:           vector.create_mask
// prefetch-distance=2: each kept column prefetches the rhs row of the kept
// column two ahead, clamped to the group's last.
// PF-LABEL: func.func @bsr(
// PF:         scf.for %[[J:.*]] = %{{.*}} to %[[END:.*]] step %{{.*}} iter_args
// PF:           %[[AH:.*]] = arith.addi %[[J]], %{{.*}} : index
// PF:           %[[LAST:.*]] = arith.subi %[[END]], %{{.*}} : index
// PF:           %[[CL:.*]] = arith.minui %[[AH]], %[[LAST]] : index
// PF:           %[[C:.*]] = memref.load %{{.*}}[%[[CL]]] : memref<?xi32>
// PF:           %[[CI:.*]] = arith.index_cast %[[C]] : i32 to index
// PF:           memref.prefetch %{{.*}}[%[[CI]], %{{.*}}], read, locality<3>, data
// PF:           vector.fma
// With parallel=true the row groups (which write disjoint rows) go to the
// threads in chunks of consecutive groups of about equal work: the work
// before group g is row_ptr[g] + g (its kept columns and one column's
// worth per group), and chunk c starts at the group whose work before it
// is nearest c * total / chunks: a binary search finds the first group
// at or past it, then that group or the one before. Chunk c + 1's start
// ends it. The same tile code runs on each group.
// PAR-LABEL: func.func @bsr(
// PAR-SAME:    %[[RP:[^:]*]]: memref<4xi32>
// PAR:         %[[G:.*]] = arith.ceildivui
// PAR:         %[[PTR:.*]] = memref.load %[[RP]][%[[G]]] : memref<4xi32>
// PAR:         %[[KEPT:.*]] = arith.index_cast %[[PTR]] : i32 to index
// PAR:         %[[TOTAL:.*]] = arith.addi %[[KEPT]], %[[G]] : index
// PAR:         %[[C24:.*]] = arith.constant 24 : index
// PAR:         %[[CHUNKS:.*]] = arith.minui %[[G]], %[[C24]] : index
// PAR:         scf.parallel (%[[CH:.*]]) = (%{{.*}}) to (%[[CHUNKS]]) step (%{{.*}}) {
// PAR:           %[[MUL:.*]] = arith.muli %[[CH]], %[[TOTAL]] : index
// PAR:           %[[TARGET:.*]] = arith.divui %[[MUL]], %[[CHUNKS]] : index
// PAR:           %[[LO:.*]]:2 = scf.while (%[[A:[^ ]+]] = %{{[^,]+}}, %[[B:[^ ]+]] = %[[G]])
// PAR:             %[[OPEN:.*]] = arith.cmpi ult, %[[A]], %[[B]] : index
// PAR:             scf.condition(%[[OPEN]]) %[[A]], %[[B]]
// PAR:           ^bb0(%[[A2:[^:]+]]: index, %[[B2:[^:]+]]: index):
// PAR:             %[[SUM:.*]] = arith.addi %[[A2]], %[[B2]] : index
// PAR:             %[[MID:.*]] = arith.shrui %[[SUM]], %{{.*}} : index
// PAR:             %[[MPTR:.*]] = memref.load %[[RP]][%[[MID]]] : memref<4xi32>
// PAR:             %[[MKEPT:.*]] = arith.index_cast %[[MPTR]] : i32 to index
// PAR:             %[[WORK:.*]] = arith.addi %[[MKEPT]], %[[MID]] : index
// PAR:             %[[BEFORE:.*]] = arith.cmpi ult, %[[WORK]], %[[TARGET]] : index
// PAR:             %[[UP:.*]] = arith.addi %[[MID]], %{{.*}} : index
// PAR:             %[[NLO:.*]] = arith.select %[[BEFORE]], %[[UP]], %[[A2]] : index
// PAR:             %[[NHI:.*]] = arith.select %[[BEFORE]], %[[B2]], %[[MID]] : index
// PAR:             scf.yield %[[NLO]], %[[NHI]] : index, index
// PAR:           %[[ATLEAST1:.*]] = arith.maxui %[[LO]]#0, %{{.*}} : index
// PAR:           %[[PREV:.*]] = arith.subi %[[ATLEAST1]], %{{.*}} : index
// PAR:           %[[PPTR:.*]] = memref.load %[[RP]][%[[PREV]]] : memref<4xi32>
// PAR:           %[[PKEPT:.*]] = arith.index_cast %[[PPTR]] : i32 to index
// PAR:           %[[PWORK:.*]] = arith.addi %[[PKEPT]], %[[PREV]] : index
// PAR:           %[[BELOW:.*]] = arith.subi %[[TARGET]], %[[PWORK]] : index
// PAR:           %[[FPTR:.*]] = memref.load %[[RP]][%[[LO]]#0] : memref<4xi32>
// PAR:           %[[FKEPT:.*]] = arith.index_cast %[[FPTR]] : i32 to index
// PAR:           %[[FWORK:.*]] = arith.addi %[[FKEPT]], %[[LO]]#0 : index
// PAR:           %[[ABOVE:.*]] = arith.subi %[[FWORK]], %[[TARGET]] : index
// PAR:           %[[DOWN:.*]] = arith.cmpi ult, %[[BELOW]], %[[ABOVE]] : index
// PAR:           %[[START:.*]] = arith.select %[[DOWN]], %[[PREV]], %[[LO]]#0 : index
// PAR:           %[[NEXT:.*]] = arith.addi %[[CH]], %{{.*}} : index
// PAR:           %[[NMUL:.*]] = arith.muli %[[NEXT]], %[[TOTAL]] : index
// PAR:           arith.divui %[[NMUL]], %[[CHUNKS]] : index
// PAR:           scf.while
// PAR:           %[[END:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}}#0 : index
// PAR:           scf.for %{{.*}} = %[[START]] to %[[END]] step %{{.*}} {
// PAR:             scf.for
// PAR:               vector.fma
// Groups taller than max-unroll-rows use the reference scalar loops.
// FALLBACK-LABEL: func.func @bsr(
// FALLBACK-NOT:   vector.fma
// FALLBACK:       arith.mulf
func.func @bsr(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
               %x: memref<4x?xf32>, %c: memref<5x?xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x?xf32>)
      outs(%c : memref<5x?xf32>)
  return
}

// -----

// A static N of eight 4-wide slices with 3-vector tiles: two 3-vector
// tiles, then the two slices left as one 2-vector tile (each weight
// broadcast once for both), not two single-slice tiles; no masked tail.
// REST-LABEL: func.func @static_rest(
// REST-DAG:     %[[C12:.*]] = arith.constant 12 : index
// REST-DAG:     %[[C24:.*]] = arith.constant 24 : index
// REST-DAG:     %[[C28:.*]] = arith.constant 28 : index
// REST:         scf.for
// REST:           scf.for %{{.*}} = %{{.*}} to %[[C24]] step %[[C12]] {
// REST:             scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// REST-NOT:       scf.for %{{.*}} step %
// REST:           scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// REST:             vector.load %{{.*}}[%{{.*}}, %[[C24]]]
// REST:             vector.load %{{.*}}[%{{.*}}, %[[C28]]]
// REST:             %[[B:.*]] = vector.broadcast
// REST:             vector.fma %[[B]]
// REST:             vector.fma %[[B]]
// REST-NOT:     vector.maskedstore
// REST:         return
func.func @static_rest(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                       %x: memref<4x32xf32>, %c: memref<4x32xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x32xf32>)
      outs(%c : memref<4x32xf32>)
  return
}

// -----

// A bias broadcast into init right before the product (through the NCHW
// buffer init collapses) is folded: each tile row starts from its bias,
// broadcast from one scalar load, and the broadcast is gone. A broadcast
// along the columns is no bias per row, and between another broadcast and
// its product a store intervenes: no fold there.
// CHECK-LABEL: func.func @bias_init(
// CHECK-SAME:    %[[B:[^:]*]]: memref<4xf32>
// CHECK-NOT:     linalg.broadcast
// CHECK:         scf.for
// CHECK:           %[[BR:.*]] = memref.load %[[B]][%{{.*}}] : memref<4xf32>
// CHECK:           vector.broadcast %[[BR]] : f32 to vector<4xf32>
// CHECK:         return
// CHECK-LABEL: func.func @bias_along_columns(
// CHECK:         linalg.broadcast
// CHECK:         vector.load
// CHECK-LABEL: func.func @bias_init_not_last(
// CHECK-SAME:    %[[C:[^:]*]]: memref<4x8xf32>, %{{[^:]*}}: f32)
// CHECK:         linalg.broadcast
// CHECK:         memref.store
// CHECK:         vector.load %[[C]][%{{.*}}] : memref<4x8xf32>, vector<4xf32>
func.func @bias_init(%b: memref<4xf32>, %rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                     %x: memref<4x8xf32>, %o: memref<1x4x2x4xf32>) {
  linalg.broadcast ins(%b : memref<4xf32>) outs(%o : memref<1x4x2x4xf32>) dimensions = [0, 2, 3]
  %c = memref.collapse_shape %o [[0, 1], [2, 3]] : memref<1x4x2x4xf32> into memref<4x8xf32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x8xf32>)
      outs(%c : memref<4x8xf32>)
  return
}
func.func @bias_along_columns(%b: memref<8xf32>, %rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                              %x: memref<4x8xf32>, %c: memref<4x8xf32>) {
  linalg.broadcast ins(%b : memref<8xf32>) outs(%c : memref<4x8xf32>) dimensions = [0]
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x8xf32>)
      outs(%c : memref<4x8xf32>)
  return
}
func.func @bias_init_not_last(%b: memref<4xf32>, %rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                              %x: memref<4x8xf32>, %c: memref<4x8xf32>, %f: f32) {
  linalg.broadcast ins(%b : memref<4xf32>) outs(%c : memref<4x8xf32>) dimensions = [1]
  %i = arith.constant 1 : index
  memref.store %f, %c[%i, %i] : memref<4x8xf32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x8xf32>)
      outs(%c : memref<4x8xf32>)
  return
}

// -----

// With a permutation, each tile row's destination is looked up once.
// CHECK-LABEL: func.func @bsr_perm(
// CHECK:         %[[P:.*]] = memref.get_global @__blkrew_perm : memref<2xi32>
// CHECK:         memref.load %[[P]]
// CHECK:         vector.fma
// to_dense keeps its reference lowering.
// CHECK-LABEL: func.func @to_dense(
// CHECK-NOT:     vector.
// CHECK:         memref.store
func.func @bsr_perm(%rp: memref<2xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                    %x: memref<4x8xf32>, %c: memref<2x8xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column, perm = [1, 0]>
      ins(%rp, %ci, %v, %x : memref<2xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x8xf32>)
      outs(%c : memref<2x8xf32>)
  return
}
func.func @to_dense(%rp: memref<2xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>, %d: memref<2x4xf32>) {
  blkrew.to_dense #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v : memref<2xi32>, memref<?xi32>, memref<?x2xf32>)
      outs(%d : memref<2x4xf32>)
  return
}

// -----

// Memrefs whose rows are not contiguous cannot use vector loads: the
// reference loops are used instead.
// CHECK-LABEL: func.func @strided(
// CHECK-NOT:     vector.
// CHECK:         arith.mulf
func.func @strided(%rp: memref<2xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                   %x: memref<4x8xf32, strided<[16, 2]>>, %c: memref<2x8xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<2xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x8xf32, strided<[16, 2]>>)
      outs(%c : memref<2x8xf32>)
  return
}

// -----

// Small static N (here 2 < vector-width): vectorized along the group's 4
// rows instead. One 4-lane accumulator per column of N, built once from
// init; each kept column loads its 4 weights as one vector and broadcasts
// each of its 2 rhs elements. Two accumulators are two FMA chains: four
// sets of them (8 chains) take four consecutive kept columns per step, the
// columns left over go into the first set, and the sets are summed;
// results go back element by element. With 6 accumulators, three sets.
// CHECK-LABEL: func.func @small_n(
// CHECK-SAME:    %{{[^:]*}}: memref<3xi32>, %{{[^:]*}}: memref<?xi32>, %[[V:[^:]*]]: memref<?x4xf32>, %[[X:[^:]*]]: memref<9x2xf32>, %[[C:[^:]*]]: memref<7x2xf32>)
// CHECK-DAG:     %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK:         scf.for
// CHECK:           %[[A0:.*]] = vector.from_elements %{{.*}} : vector<4xf32>
// CHECK:           %[[A1:.*]] = vector.from_elements %{{.*}} : vector<4xf32>
// CHECK:           arith.divui %{{.*}}, %[[C4]] : index
// CHECK:           %[[R:.*]]:8 = scf.for %[[J:.*]] = %{{.*}} to %[[E:.*]] step %[[C4]] iter_args(%[[I0:.*]] = %[[A0]], %[[I1:.*]] = %[[A1]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %[[I7:.*]] = %[[Z]]) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHECK:             %[[W:.*]] = vector.load %[[V]][%[[J]], %{{.*}}] : memref<?x4xf32>, vector<4xf32>
// CHECK:             %[[X0:.*]] = memref.load %[[X]][%{{.*}}, %{{.*}}] : memref<9x2xf32>
// CHECK:             %[[B0:.*]] = vector.broadcast %[[X0]] : f32 to vector<4xf32>
// CHECK:             vector.fma %[[W]], %[[B0]], %[[I0]] : vector<4xf32>
// CHECK:             %[[X1:.*]] = memref.load %[[X]][%{{.*}}, %{{.*}}] : memref<9x2xf32>
// CHECK:             %[[B1:.*]] = vector.broadcast %[[X1]] : f32 to vector<4xf32>
// CHECK:             vector.fma %[[W]], %[[B1]], %[[I1]] : vector<4xf32>
// CHECK:             %[[J3:.*]] = arith.addi %[[J]], %c3 : index
// CHECK:             %[[W3:.*]] = vector.load %[[V]][%[[J3]], %{{.*}}] : memref<?x4xf32>, vector<4xf32>
// CHECK:             vector.fma %[[W3]], %{{.*}}, %[[I7]] : vector<4xf32>
// CHECK:           %[[T:.*]]:2 = scf.for %{{.*}} = %[[E]] to %{{.*}} step %c1 iter_args(%{{.*}} = %[[R]]#0, %{{.*}} = %[[R]]#1) -> (vector<4xf32>, vector<4xf32>) {
// CHECK:             vector.fma
// CHECK:             vector.fma
// CHECK-NEXT:        scf.yield
// CHECK:           %[[S0:.*]] = arith.addf %[[T]]#0, %[[R]]#2 : vector<4xf32>
// CHECK:           %[[S1:.*]] = arith.addf %[[S0]], %[[R]]#4 : vector<4xf32>
// CHECK:           %[[S2:.*]] = arith.addf %[[S1]], %[[R]]#6 : vector<4xf32>
// CHECK:           vector.extract %[[S2]][0] : f32 from vector<4xf32>
// CHECK:           memref.store
// CHECK-NOT:     vector.maskedload
// SLAB-LABEL: func.func @small_n(
// SLAB:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c3 iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
func.func @small_n(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x4xf32>,
                   %x: memref<9x2xf32>, %c: memref<7x2xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 3], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x4xf32>, memref<9x2xf32>)
      outs(%c : memref<7x2xf32>)
  return
}

// -----

// The auto-tuner's per-op choices override the pass options: this op asks
// for two vectors per row (under tile-vectors=1) and a prefetch 3 ahead.
// CHECK-LABEL: func.func @tuned(
// CHECK:         scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHECK:           memref.prefetch
// CHECK:           vector.fma
func.func @tuned(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                 %x: memref<4x?xf32>, %c: memref<5x?xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x?xf32>)
      outs(%c : memref<5x?xf32>) {blkrew.prefetch_distance = 3 : i64, blkrew.tile_vectors = 2 : i64}
  return
}

// -----

// `overwrite`: the tile starts at zero and init is only stored to, never
// loaded (so neither a fill before the kernel nor a read of the output).
// CHECK-LABEL: func.func @overwrite(
// CHECK-SAME:    %{{[^:]*}}: memref<4xi32>, %{{[^:]*}}: memref<?xi32>, %{{[^:]*}}: memref<?x2xf32>, %{{[^:]*}}: memref<4x?xf32>, %[[C:[^:]*]]: memref<5x?xf32>)
// CHECK:         %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK-NOT:     vector.load %[[C]]
// CHECK-NOT:     vector.maskedload %[[C]]
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %[[Z]], %{{.*}} = %[[Z]]) -> (vector<4xf32>, vector<4xf32>) {
// CHECK-NOT:     vector.load %[[C]]
// CHECK-NOT:     vector.maskedload %[[C]]
// CHECK:         vector.store %{{.*}}, %[[C]]
// CHECK-NOT:     vector.load %[[C]]
// CHECK-NOT:     vector.maskedload %[[C]]
// CHECK:         vector.maskedstore %[[C]]
func.func @overwrite(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                     %x: memref<4x?xf32>, %c: memref<5x?xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x?xf32>)
      outs(%c : memref<5x?xf32>)
  return
}

// -----

// The small-N shape with `overwrite`: zero accumulators, no scalar loads of
// init.
// CHECK-LABEL: func.func @small_n_overwrite(
// CHECK-SAME:    %{{[^:]*}}: memref<3xi32>, %{{[^:]*}}: memref<?xi32>, %{{[^:]*}}: memref<?x4xf32>, %{{[^:]*}}: memref<9x2xf32>, %[[C:[^:]*]]: memref<7x2xf32>)
// CHECK:         %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK-NOT:     memref.load %[[C]]
// CHECK-NOT:     vector.from_elements
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]]) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHECK-NOT:     memref.load %[[C]]
// CHECK:         memref.store %{{.*}}, %[[C]]
func.func @small_n_overwrite(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x4xf32>,
                             %x: memref<9x2xf32>, %c: memref<7x2xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 3], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x4xf32>, memref<9x2xf32>)
      outs(%c : memref<7x2xf32>)
  return
}

// -----

// `relu`: each accumulator is clamped as it is stored, on the wide tiles,
// the masked tail and the small-N shape alike.
// CHECK-LABEL: func.func @relu(
// CHECK-SAME:    %{{[^:]*}}: memref<4xi32>, %{{[^:]*}}: memref<?xi32>, %{{[^:]*}}: memref<?x2xf32>, %{{[^:]*}}: memref<4x?xf32>, %[[C:[^:]*]]: memref<5x?xf32>)
// CHECK:         %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK:         %[[ACC:.*]]:2 = scf.for
// CHECK:         %[[R0:.*]] = arith.maximumf %[[ACC]]#0, %[[Z]] : vector<4xf32>
// CHECK:         vector.store %[[R0]], %[[C]]
// CHECK:         %[[R1:.*]] = arith.maximumf %[[ACC]]#1, %[[Z]] : vector<4xf32>
// CHECK:         vector.store %[[R1]], %[[C]]
// CHECK:         %[[T:.*]]:2 = scf.for
// CHECK:         %[[TR:.*]] = arith.maximumf %[[T]]#0, %[[Z]] : vector<4xf32>
// CHECK:         vector.maskedstore %[[C]][{{.*}}], %{{.*}}, %[[TR]]
func.func @relu(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                %x: memref<4x?xf32>, %c: memref<5x?xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> relu
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x?xf32>)
      outs(%c : memref<5x?xf32>)
  return
}

// -----

// CHECK-LABEL: func.func @small_n_relu(
// CHECK-SAME:    %{{[^:]*}}: memref<3xi32>, %{{[^:]*}}: memref<?xi32>, %{{[^:]*}}: memref<?x4xf32>, %{{[^:]*}}: memref<9x2xf32>, %[[C:[^:]*]]: memref<7x2xf32>)
// CHECK:         %[[ACC:.*]]:8 = scf.for
// CHECK:         %[[T:.*]]:2 = scf.for
// CHECK:         %[[S0:.*]] = arith.addf %[[T]]#0, %[[ACC]]#2
// CHECK:         %[[S1:.*]] = arith.addf %[[S0]], %[[ACC]]#4
// CHECK:         %[[S2:.*]] = arith.addf %[[S1]], %[[ACC]]#6
// CHECK-DAG:     %[[R0:.*]] = arith.maximumf %[[S2]], %{{.*}} : vector<4xf32>
// CHECK-DAG:     %[[R1:.*]] = arith.maximumf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK:         vector.extract %[[R0]][0]
// CHECK:         memref.store %{{.*}}, %[[C]]
func.func @small_n_relu(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x4xf32>,
                        %x: memref<9x2xf32>, %c: memref<7x2xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 3], scheme = column> overwrite relu
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x4xf32>, memref<9x2xf32>)
      outs(%c : memref<7x2xf32>)
  return
}

// -----

// With `parallel`, an op with little static work (here 3 x 2 kept values x
// N = 8: 48 FMAs, under parallel-min-fmas' default) stays a sequential
// loop over groups; so does one whose output (32 elements) is under
// parallel-min-outputs unless it has 8 x parallel-min-fmas of work (48
// FMAs: not for 7, for 6); with parallel-min-fmas=0 and
// parallel-min-outputs at most 32 it runs in parallel.
// PAR-LABEL: func.func @tiny_static(
// PAR-NOT:     scf.parallel
// PAR:         scf.for
// PAR-NOT:     scf.parallel
// PARALL-LABEL: func.func @tiny_static(
// PARALL:        scf.parallel
// FEWOUT-LABEL: func.func @tiny_static(
// FEWOUT-NOT:     scf.parallel
// FEWOUT:         scf.for
// MANYFMA-LABEL: func.func @tiny_static(
// MANYFMA:         scf.parallel
// FEWOUT-NOT:     scf.parallel
func.func @tiny_static(%rp: memref<3xi32>, %ci: memref<3xi32>, %v: memref<3x2xf32>,
                       %x: memref<4x8xf32>, %c: memref<4x8xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<3xi32>, memref<3x2xf32>, memref<4x8xf32>)
      outs(%c : memref<4x8xf32>)
  return
}

// -----

// `window`: the slices read the image in place. A slice's image row and
// column (n / OW, n % OW) are computed per tile; each kept column k splits
// into (channel, dy, dx) in the reduction loop.
// (FEWOUT-LABEL only ends the checks of @tiny_static above.)
// FEWOUT-LABEL: func.func @window(
// MANYFMA-LABEL: func.func @window(
// CHECK-LABEL: func.func @window(
// CHECK-SAME:    %{{[^:]*}}: memref<3xi32>, %[[CI:[^:]*]]: memref<6xi32>, %{{[^:]*}}: memref<6x2xf32>, %[[IMG:[^:]*]]: memref<2x4x10xf32>, %{{[^:]*}}: memref<3x16xf32>)
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK:         scf.for
// CHECK:         scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-DAG:       %[[Y:.*]] = arith.divui %[[N]], %[[C8]] : index
// CHECK-DAG:       %[[X:.*]] = arith.remui %[[N]], %[[C8]] : index
// CHECK:           scf.for
// CHECK:             %[[K:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK:             %[[CDY:.*]] = arith.divui %[[K]], %[[C3]] : index
// CHECK-DAG:         %[[CH:.*]] = arith.divui %[[CDY]], %[[C3]] : index
// CHECK-DAG:         %[[DY:.*]] = arith.remui %[[CDY]], %[[C3]] : index
// CHECK-DAG:         %[[DX:.*]] = arith.remui %[[K]], %[[C3]] : index
// CHECK-DAG:         %[[ROW:.*]] = arith.addi %[[DY]], %[[Y]] : index
// CHECK-DAG:         %[[COL:.*]] = arith.addi %[[DX]], %[[X]] : index
// CHECK:             vector.load %[[IMG]][%[[CH]], %[[ROW]], %[[COL]]] : memref<2x4x10xf32>, vector<4xf32>
func.func @window(%rp: memref<3xi32>, %ci: memref<6xi32>, %v: memref<6x2xf32>,
                  %img: memref<2x4x10xf32>, %c: memref<3x16xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> window [3, 3]
      ins(%rp, %ci, %v, %img : memref<3xi32>, memref<6xi32>, memref<6x2xf32>, memref<2x4x10xf32>)
      outs(%c : memref<3x16xf32>)
  return
}

// -----

// An output width (6) that is not a multiple of the vector width: a slice
// would span two image rows, so the op takes the reference loops.
// CHECK-LABEL: func.func @window_crossing_rows(
// CHECK-NOT:     vector.load
// CHECK:         memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x4x8xf32>
// CHECK-NOT:     vector.load
func.func @window_crossing_rows(%rp: memref<3xi32>, %ci: memref<6xi32>, %v: memref<6x2xf32>,
                                %img: memref<2x4x8xf32>, %c: memref<3x12xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> window [3, 3]
      ins(%rp, %ci, %v, %img : memref<3xi32>, memref<6xi32>, memref<6x2xf32>, memref<2x4x8xf32>)
      outs(%c : memref<3x12xf32>)
  return
}

// -----

// Small N with a window: the row-vectorized shape broadcasts image elements.
// CHECK-LABEL: func.func @window_small_n(
// CHECK:         scf.for
// CHECK:           vector.load %{{.*}} : memref<3x4xf32>, vector<4xf32>
// CHECK:           memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x3x4xf32>
// CHECK:           vector.broadcast
func.func @window_small_n(%rp: memref<2xi32>, %ci: memref<3xi32>, %v: memref<3x4xf32>,
                          %img: memref<2x3x4xf32>, %c: memref<4x2xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 1], scheme = column> window [3, 3]
      ins(%rp, %ci, %v, %img : memref<2xi32>, memref<3xi32>, memref<3x4xf32>, memref<2x3x4xf32>)
      outs(%c : memref<4x2xf32>)
  return
}

// -----

// Constant col_idx: each kept column's offset into the flattened image,
// (c * H + dy) * W + dx, is computed at compile time into a global, and the
// reduction loop adds it to the slice's y * W + x.
// CHECK:       memref.global "private" constant @__blkrew_rhs_offsets : memref<6xi32> = dense<[0, 11, 40, 62, 10, 41]>
// CHECK-LABEL: func.func @window_offsets(
// CHECK-SAME:    %[[IMG:[^:]*]]: memref<2x4x10xf32>, %{{[^:]*}}: memref<3x16xf32>)
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:     %[[C10:.*]] = arith.constant 10 : index
// CHECK-DAG:     %[[OFFS:.*]] = memref.get_global @__blkrew_rhs_offsets : memref<6xi32>
// CHECK-DAG:     %[[FLAT:.*]] = memref.collapse_shape %[[IMG]] {{\[\[}}0, 1, 2]] : memref<2x4x10xf32> into memref<80xf32>
// CHECK:         scf.for
// CHECK:         scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-DAG:       %[[Y:.*]] = arith.divui %[[N]], %[[C8]] : index
// CHECK-DAG:       %[[X:.*]] = arith.remui %[[N]], %[[C8]] : index
// CHECK:           %[[YW:.*]] = arith.muli %[[Y]], %[[C10]] : index
// CHECK:           %[[TILE:.*]] = arith.addi %[[YW]], %[[X]] : index
// CHECK:           scf.for %[[J:[^ ]*]] = 
// CHECK:             %[[O:.*]] = memref.load %[[OFFS]][%[[J]]] : memref<6xi32>
// CHECK:             %[[OI:.*]] = arith.index_cast %[[O]] : i32 to index
// CHECK:             %[[A:.*]] = arith.addi %[[OI]], %[[TILE]] : index
// CHECK:             vector.load %[[FLAT]][%[[A]]] : memref<80xf32>, vector<4xf32>
memref.global "private" constant @ci : memref<6xi32> = dense<[0, 4, 9, 17, 3, 10]>
func.func @window_offsets(%rp: memref<3xi32>, %v: memref<6x2xf32>,
                          %img: memref<2x4x10xf32>, %c: memref<3x16xf32>) {
  %ci = memref.get_global @ci : memref<6xi32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> window [3, 3]
      ins(%rp, %ci, %v, %img : memref<3xi32>, memref<6xi32>, memref<6x2xf32>, memref<2x4x10xf32>)
      outs(%c : memref<3x16xf32>)
  return
}

// -----

// One image of a batch (a subview at a dynamic offset, contiguous) takes
// the offsets too; an image whose rows are not contiguous does not (its
// column index is split into channel and tap instead).
// CHECK-LABEL: func.func @window_offsets_subview(
// CHECK-SAME:    %[[IMG:[^:]*]]: memref<2x4x10xf32, strided<[40, 10, 1], offset: ?>>
// CHECK:         memref.get_global @__blkrew_rhs_offsets
// CHECK:         memref.collapse_shape %[[IMG]] {{\[\[}}0, 1, 2]] : memref<2x4x10xf32, strided<[40, 10, 1], offset: ?>> into memref<80xf32, strided<[1], offset: ?>>
// CHECK-LABEL: func.func @window_gapped_rows(
// CHECK-NOT:     __blkrew_rhs_offsets
// CHECK-NOT:     memref.collapse_shape
// CHECK:         arith.divui
// CHECK:         return
memref.global "private" constant @ci : memref<6xi32> = dense<[0, 4, 9, 17, 3, 10]>
func.func @window_offsets_subview(%rp: memref<3xi32>, %v: memref<6x2xf32>,
    %img: memref<2x4x10xf32, strided<[40, 10, 1], offset: ?>>,
    %c: memref<3x16xf32, strided<[16, 1], offset: ?>>) {
  %ci = memref.get_global @ci : memref<6xi32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> window [3, 3]
      ins(%rp, %ci, %v, %img : memref<3xi32>, memref<6xi32>, memref<6x2xf32>, memref<2x4x10xf32, strided<[40, 10, 1], offset: ?>>)
      outs(%c : memref<3x16xf32, strided<[16, 1], offset: ?>>)
  return
}
func.func @window_gapped_rows(%rp: memref<3xi32>, %v: memref<6x2xf32>,
    %img: memref<2x4x10xf32, strided<[80, 10, 1], offset: ?>>,
    %c: memref<3x16xf32>) {
  %ci = memref.get_global @ci : memref<6xi32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> window [3, 3]
      ins(%rp, %ci, %v, %img : memref<3xi32>, memref<6xi32>, memref<6x2xf32>, memref<2x4x10xf32, strided<[80, 10, 1], offset: ?>>)
      outs(%c : memref<3x16xf32>)
  return
}

// -----

// Constant col_idx and a static rhs without a window: the offsets are
// k * N, the rhs is read as 1-D. With prefetching, the offsets end in
// prefetch-distance zeros, so the prefetch reads the offset that many
// columns ahead without clamping it to the group's last (PF); without
// offsets (the @bsr case above) it is clamped.
// CHECK:       memref.global "private" constant @__blkrew_rhs_offsets : memref<3xi32> = dense<[0, 24, 16]>
// CHECK-LABEL: func.func @plain_offsets(
// CHECK-SAME:    %[[X:[^:]*]]: memref<4x8xf32>, %{{[^:]*}}: memref<2x8xf32>)
// CHECK-DAG:     %[[OFFS:.*]] = memref.get_global @__blkrew_rhs_offsets : memref<3xi32>
// CHECK-DAG:     %[[FLAT:.*]] = memref.collapse_shape %[[X]] {{\[\[}}0, 1]] : memref<4x8xf32> into memref<32xf32>
// CHECK:         scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:           scf.for %[[J:[^ ]*]] =
// CHECK:             %[[O:.*]] = memref.load %[[OFFS]][%[[J]]] : memref<3xi32>
// CHECK:             %[[OI:.*]] = arith.index_cast %[[O]] : i32 to index
// CHECK:             %[[A:.*]] = arith.addi %[[OI]], %[[N]] : index
// CHECK:             vector.load %[[FLAT]][%[[A]]] : memref<32xf32>, vector<4xf32>
// PF:          memref.global "private" constant @__blkrew_rhs_offsets : memref<5xi32> = dense<[0, 24, 16, 0, 0]>
// PF-LABEL:    func.func @plain_offsets(
// PF:            %[[OFFS:.*]] = memref.get_global @__blkrew_rhs_offsets : memref<5xi32>
// PF:            scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// PF-NOT:          arith.minui
// PF:              %[[AH:.*]] = arith.addi %[[J]], %{{.*}} : index
// PF-NOT:          arith.minui
// PF:              %[[O:.*]] = memref.load %[[OFFS]][%[[AH]]] : memref<5xi32>
// PF:              %[[OI:.*]] = arith.index_cast %[[O]] : i32 to index
// PF:              %[[A:.*]] = arith.addi %[[OI]], %{{.*}} : index
// PF:              memref.prefetch %{{.*}}[%[[A]]], read, locality<3>, data
// PF:              vector.fma
memref.global "private" constant @ci_plain : memref<3xi32> = dense<[0, 3, 2]>
func.func @plain_offsets(%rp: memref<2xi32>, %v: memref<3x2xf32>,
                         %x: memref<4x8xf32>, %c: memref<2x8xf32>) {
  %ci = memref.get_global @ci_plain : memref<3xi32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<2xi32>, memref<3xi32>, memref<3x2xf32>, memref<4x8xf32>)
      outs(%c : memref<2x8xf32>)
  return
}

// -----

// An rhs of 2^31 elements: its offsets would not fit 32 bits, so the
// kernel reads it as 2-D through col_idx, and the prefetch is clamped.
// CHECK-LABEL: func.func @huge_rhs(
// CHECK-NOT:     __blkrew_rhs_offsets
// CHECK:         memref.load %{{.*}} : memref<3xi32>
// CHECK:         vector.load %{{.*}} : memref<65536x32768xf32>, vector<4xf32>
// PF-NOT:      __blkrew_rhs_offsets
// PF-LABEL:    func.func @huge_rhs(
// PF:            arith.minui
// PF:            memref.prefetch %{{.*}} : memref<65536x32768xf32>
memref.global "private" constant @ci_huge : memref<3xi32> = dense<[0, 3, 2]>
func.func @huge_rhs(%rp: memref<2xi32>, %v: memref<3x2xf32>,
                    %x: memref<65536x32768xf32>, %c: memref<2x32768xf32>) {
  %ci = memref.get_global @ci_huge : memref<3xi32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<2xi32>, memref<3xi32>, memref<3x2xf32>, memref<65536x32768xf32>)
      outs(%c : memref<2x32768xf32>)
  return
}

// -----

// Two kernels with different constant col_idx: one offsets global each,
// the second renamed.
// CHECK-DAG:   memref.global "private" constant @__blkrew_rhs_offsets : memref<2xi32> = dense<[0, 1]>
// CHECK-DAG:   memref.global "private" constant @__blkrew_rhs_offsets_0 : memref<2xi32> = dense<[1, 40]>
// CHECK-LABEL: func.func @two_windows(
// CHECK:         memref.get_global @__blkrew_rhs_offsets :
// CHECK:         memref.get_global @__blkrew_rhs_offsets_0 :
memref.global "private" constant @ci1 : memref<2xi32> = dense<[0, 1]>
memref.global "private" constant @ci2 : memref<2xi32> = dense<[1, 9]>
func.func @two_windows(%rp: memref<2xi32>, %v: memref<2x2xf32>,
                       %img: memref<2x4x10xf32>, %c: memref<2x16xf32>) {
  %ci1 = memref.get_global @ci1 : memref<2xi32>
  %ci2 = memref.get_global @ci2 : memref<2xi32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> window [3, 3]
      ins(%rp, %ci1, %v, %img : memref<2xi32>, memref<2xi32>, memref<2x2xf32>, memref<2x4x10xf32>)
      outs(%c : memref<2x16xf32>)
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> window [3, 3]
      ins(%rp, %ci2, %v, %img : memref<2xi32>, memref<2xi32>, memref<2x2xf32>, memref<2x4x10xf32>)
      outs(%c : memref<2x16xf32>)
  return
}

// -----

// `clamp`: maxnumf then minnumf on each accumulator as it is stored, on the
// N-sliced and the small-N shapes.
// (PAR-LABEL only ends the checks of @tiny_static above.)
// PAR-LABEL: func.func @clamp(
// CHECK-LABEL: func.func @clamp(
// CHECK-DAG:     %[[LO:.*]] = arith.constant dense<-1.000000e+00> : vector<4xf32>
// CHECK-DAG:     %[[HI:.*]] = arith.constant dense<6.000000e+00> : vector<4xf32>
// CHECK:         %[[ACC:.*]]:2 = scf.for
// CHECK:         %[[A:.*]] = arith.maxnumf %[[ACC]]#0, %[[LO]] : vector<4xf32>
// CHECK:         %[[B:.*]] = arith.minnumf %[[A]], %[[HI]] : vector<4xf32>
// CHECK:         vector.store %[[B]]
// CHECK-LABEL: func.func @small_n_clamp(
// CHECK:         scf.for
// CHECK:         %[[ACC:.*]]:2 = scf.for
// CHECK:         arith.addf %[[ACC]]#0
// CHECK:         arith.addf
// CHECK:         %[[S:.*]] = arith.addf
// CHECK:         arith.maxnumf %[[S]], %{{.*}} : vector<4xf32>
// CHECK:         arith.minnumf
func.func @clamp(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                 %x: memref<4x8xf32>, %c: memref<5x8xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> clamp [-1.0, 6.0]
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<4x8xf32>)
      outs(%c : memref<5x8xf32>)
  return
}
func.func @small_n_clamp(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x4xf32>,
                         %x: memref<9x2xf32>, %c: memref<7x2xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 3], scheme = column> overwrite clamp [0.0, 6.0]
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x4xf32>, memref<9x2xf32>)
      outs(%c : memref<7x2xf32>)
  return
}

// -----

// N within one vector: no prefetch (the rows are read once per group from a
// matrix that stays in cache), unless the op's own choice says otherwise.
// PF-LABEL: func.func @one_vector(
// PF-NOT:     memref.prefetch
// PF-LABEL: func.func @one_vector_tuned(
// PF:         memref.prefetch
func.func @one_vector(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                      %x: memref<9x4xf32>, %c: memref<5x4xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 3], scheme = column>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<9x4xf32>)
      outs(%c : memref<5x4xf32>)
  return
}
func.func @one_vector_tuned(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                            %x: memref<9x4xf32>, %c: memref<5x4xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 3], scheme = column>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf32>, memref<9x4xf32>)
      outs(%c : memref<5x4xf32>) {blkrew.prefetch_distance = 1 : i64}
  return
}

// -----

// weight-prefetch-bytes: with a static N of at most 64, each kept column
// prefetches the packed values that many bytes ahead (64 bytes: 8 kept
// columns of 2 f32, 4 of 4), clamped to the last kept column, in both
// kernel shapes; with a larger or dynamic N, not at all.
// WPF-LABEL: func.func @weight_prefetch(
// WPF-SAME:    %{{[^:]*}}: memref<3xi32>, %{{[^:]*}}: memref<?xi32>, %[[V:[^:]*]]: memref<?x2xf32>
// WPF-DAG:     %[[C8:.*]] = arith.constant 8 : index
// WPF-DAG:     %[[C1:.*]] = arith.constant 1 : index
// WPF:         %[[NNZ:.*]] = memref.dim %[[V]], %{{.*}} : memref<?x2xf32>
// WPF:         %[[LAST:.*]] = arith.subi %[[NNZ]], %[[C1]] : index
// WPF:         scf.for %[[J:[^ ]*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// WPF:           %[[A:.*]] = arith.addi %[[J]], %[[C8]] : index
// WPF:           %[[M:.*]] = arith.minui %[[A]], %[[LAST]] : index
// WPF:           memref.prefetch %[[V]][%[[M]], %{{.*}}], read, locality<3>, data : memref<?x2xf32>
// WPF:           vector.fma
// WPF-LABEL: func.func @weight_prefetch_small_n(
// WPF-SAME:    %{{[^:]*}}: memref<2xi32>, %{{[^:]*}}: memref<?xi32>, %[[V:[^:]*]]: memref<?x4xf32>
// WPF-DAG:     %[[C4:.*]] = arith.constant 4 : index
// WPF:         scf.for %[[J:[^ ]*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// WPF:           %[[A:.*]] = arith.addi %[[J]], %[[C4]] : index
// WPF:           %[[M:.*]] = arith.minui %[[A]], %{{.*}} : index
// WPF:           memref.prefetch %[[V]][%[[M]], %{{.*}}], read, locality<3>, data : memref<?x4xf32>
// WPF:           vector.load %[[V]]
// Eight sets of one accumulator step over 8 kept columns of 8 values,
// four lines: one prefetch per line, each 2 columns (64 bytes) ahead of
// its line's first column.
// WPF-LABEL: func.func @weight_prefetch_per_line(
// WPF:         scf.for %[[J:[^ ]*]] = %{{.*}} to %{{.*}} step %c8 iter_args
// WPF-NEXT:      %[[A2:.*]] = arith.addi %[[J]], %c2 : index
// WPF-NEXT:      %[[M2:.*]] = arith.minui %[[A2]], %{{.*}} : index
// WPF-NEXT:      memref.prefetch %{{.*}}[%[[M2]], %{{.*}}]
// WPF-NEXT:      %[[A4:.*]] = arith.addi %[[J]], %c4 : index
// WPF-NEXT:      %[[M4:.*]] = arith.minui %[[A4]], %{{.*}} : index
// WPF-NEXT:      memref.prefetch %{{.*}}[%[[M4]], %{{.*}}]
// WPF-NEXT:      %[[A6:.*]] = arith.addi %[[J]], %c6 : index
// WPF-NEXT:      %[[M6:.*]] = arith.minui %[[A6]], %{{.*}} : index
// WPF-NEXT:      memref.prefetch %{{.*}}[%[[M6]], %{{.*}}]
// WPF-NEXT:      %[[A8:.*]] = arith.addi %[[J]], %c8 : index
// WPF-NEXT:      %[[M8:.*]] = arith.minui %[[A8]], %{{.*}} : index
// WPF-NEXT:      memref.prefetch %{{.*}}[%[[M8]], %{{.*}}]
// WPF-NOT:       memref.prefetch
// WPF:           scf.yield
// WPF-LABEL: func.func @no_weight_prefetch(
// WPF-NOT:     memref.prefetch
// WPF:         return
func.func @weight_prefetch(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                           %x: memref<16x8xf32>, %c: memref<4x8xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<16x8xf32>)
      outs(%c : memref<4x8xf32>)
  return
}
func.func @weight_prefetch_small_n(%rp: memref<2xi32>, %ci: memref<?xi32>, %v: memref<?x4xf32>,
                                   %x: memref<16x2xf32>, %c: memref<4x2xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<2xi32>, memref<?xi32>, memref<?x4xf32>, memref<16x2xf32>)
      outs(%c : memref<4x2xf32>)
  return
}
func.func @weight_prefetch_per_line(%rp: memref<2xi32>, %ci: memref<?xi32>, %v: memref<?x8xf32>,
                                    %x: memref<16x1xf32>, %c: memref<8x1xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [8, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<2xi32>, memref<?xi32>, memref<?x8xf32>, memref<16x1xf32>)
      outs(%c : memref<8x1xf32>)
  return
}
func.func @no_weight_prefetch(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x2xf32>,
                              %x: memref<16x128xf32>, %c: memref<4x128xf32>,
                              %xd: memref<16x?xf32>, %cd: memref<4x?xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<16x128xf32>)
      outs(%c : memref<4x128xf32>)
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %xd : memref<3xi32>, memref<?xi32>, memref<?x2xf32>, memref<16x?xf32>)
      outs(%cd : memref<4x?xf32>)
  return
}

// -----

// With 6 accumulators a 4-row group would get one vector per row: it is
// walked in 2 slabs of 2 rows with 3-vector tiles, each slab reading its own
// rows' weights (columns 0-1, then 2-3 of the packed values) for the same
// slice of N. Where N is one vector, a wider tile cannot help: no slabs.
// Given tile-vectors=4, the slabs are as thin as the budget needs: 1 row
// (4 slabs for the 4-vector tile, 4 for the 2 vectors left).
// SLAB-LABEL: func.func @slabs(
// SLAB-DAG:     %[[C0:.*]] = arith.constant 0 : index
// SLAB-DAG:     %[[C1:.*]] = arith.constant 1 : index
// SLAB-DAG:     %[[C2:.*]] = arith.constant 2 : index
// SLAB-DAG:     %[[C3:.*]] = arith.constant 3 : index
// SLAB-DAG:     %[[C12:.*]] = arith.constant 12 : index
// SLAB:         scf.for
// SLAB:           scf.for %[[N0:.*]] = %{{.*}} step %[[C12]] {
// SLAB:             scf.for %[[J:[^ ]*]] = {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// SLAB:               memref.load %{{.*}}[%[[J]], %[[C0]]]
// SLAB:               memref.load %{{.*}}[%[[J]], %[[C1]]]
// SLAB-NOT:           memref.load %{{.*}}[%[[J]], %[[C2]]]
// SLAB:               scf.yield
// SLAB:             scf.for %[[J2:[^ ]*]] = {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// SLAB:               memref.load %{{.*}}[%[[J2]], %[[C2]]]
// SLAB:               memref.load %{{.*}}[%[[J2]], %[[C3]]]
// SLAB:               scf.yield
// Only the first slab prefetches (rhs rows and packed values): the second
// reads the same lines right after it.
// SLABPF-LABEL: func.func @slabs(
// SLABPF:         scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// SLABPF-COUNT-4:   memref.prefetch
// SLABPF:           scf.yield
// SLABPF:         scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// SLABPF-NOT:       memref.prefetch
// SLABPF:           scf.yield
// SLAB-LABEL: func.func @one_vector_no_slabs(
// SLAB:         scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// SLAB-NOT:     scf.for {{.*}} -> (vector
// SLAB:         return
// SLAB4-LABEL: func.func @slabs(
// SLAB4-COUNT-4: scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// SLAB4-COUNT-4: scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>) {
// SLAB4-NOT:     scf.for {{.*}} -> (vector
// SLAB4-LABEL: func.func @one_vector_no_slabs(
func.func @slabs(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x4xf32>,
                 %x: memref<16x24xf32>, %c: memref<8x24xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x4xf32>, memref<16x24xf32>)
      outs(%c : memref<8x24xf32>)
  return
}
func.func @one_vector_no_slabs(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x4xf32>,
                               %x: memref<16x4xf32>, %c: memref<8x4xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x4xf32>, memref<16x4xf32>)
      outs(%c : memref<8x4xf32>)
  return
}

// -----

// A group walked in slabs (2 of 2 rows, 2-vector tiles) whose kept columns
// outnumber two chunks: 10 columns over 2 groups, 5 a group on average, and
// slab-chunk-bytes=96 makes chunks of 96 / (2 vectors * 16 + 4 values * 4)
// = 2 columns. Both slabs run over one chunk before the next, their 8
// accumulators carried across the chunks; then all are stored. With 6
// kept columns (3 a group: more than one chunk, not two), no chunks: slab
// after slab over the whole group, as without the option.
// CHUNK-LABEL: func.func @slab_chunks(
// CHUNK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHUNK:         scf.for %[[G:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHUNK:           %[[R:.*]]:8 = scf.for %[[LO:.*]] = %{{.*}} to %[[E:.*]] step %[[C2]] iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHUNK:             %[[HI:.*]] = arith.minui %{{.*}}, %[[E]] : index
// CHUNK:             %[[S0:.*]]:4 = scf.for %{{.*}} = %[[LO]] to %[[HI]] step %{{.*}} iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHUNK:             %[[S1:.*]]:4 = scf.for %{{.*}} = %[[LO]] to %[[HI]] step %{{.*}} iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHUNK:             scf.yield %[[S0]]#0, %[[S0]]#1, %[[S0]]#2, %[[S0]]#3, %[[S1]]#0, %[[S1]]#1, %[[S1]]#2, %[[S1]]#3
// CHUNK:           vector.store %[[R]]#0
// CHUNK:           vector.store %[[R]]#7
// CHUNK-LABEL: func.func @short_groups_no_chunks(
// CHUNK-NOT:     arith.minui
// CHUNK:         scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHUNK:         scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHUNK-NOT:     arith.minui
// CHUNK:         return
func.func @slab_chunks(%rp: memref<3xi32>, %ci: memref<10xi32>, %v: memref<10x4xf32>,
                       %x: memref<16x8xf32>, %c: memref<8x8xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<10xi32>, memref<10x4xf32>, memref<16x8xf32>)
      outs(%c : memref<8x8xf32>)
  return
}
func.func @short_groups_no_chunks(%rp: memref<3xi32>, %ci: memref<6xi32>, %v: memref<6x4xf32>,
                                  %x: memref<16x8xf32>, %c: memref<8x8xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<6xi32>, memref<6x4xf32>, memref<16x8xf32>)
      outs(%c : memref<8x8xf32>)
  return
}

// -----

// Panels: the rhs (4 x 22, 352 bytes) is larger than two panels of
// panel-bytes=128 and each rhs element feeds 128 * 2 / 4 = 64 FMAs, so
// N's 5 whole 4-wide
// tiles run in panels of 2 tiles (128 bytes of 16-byte columns fit 2),
// [0, 8), [8, 16), [16, 20): each copied into one 64-byte-aligned 4 x 8
// buffer (whole vectors, no masks), which every group then reads. After
// its tiles, each group prefetches its share (half) of the rhs rows the
// next panel's copy reads: a run of 8 columns from `hi`, its first and
// last element (one line apart at most), clamped to the last column;
// after the last panel, nothing. The 2 columns left are copied last, into
// the same buffer with masked loads (zero-filled), and read by the masked
// tail tile.
// With panel-bytes=176 the rhs is two panels' worth, no more: it stays in
// L2 read in place, and nothing is copied.
// TWOPANELS-LABEL: func.func @panels(
// TWOPANELS-NOT:     memref.alloc
// TWOPANELS:         vector.fma
// TWOPANELS-NOT:     memref.alloc
// TWOPANELS-LABEL: func.func @few_uses(
// PANEL-LABEL: func.func @panels(
// PANEL-SAME:    %[[X:[^:]*]]: memref<4x22xf32>, %[[C:[^:]*]]: memref<4x22xf32>)
// PANEL-DAG:     %[[C8:.*]] = arith.constant 8 : index
// PANEL-DAG:     %[[C20:.*]] = arith.constant 20 : index
// PANEL:         %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
// PANEL:         scf.for %[[LO:.*]] = %{{.*}} to %[[C20]] step %[[C8]] {
// PANEL:           %[[HI:.*]] = arith.minui %{{.*}}, %[[C20]] : index
// PANEL:           scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// PANEL:             scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// PANEL:               %[[AT:.*]] = arith.addi %[[LO]], %[[N]] : index
// PANEL:               %[[V:.*]] = vector.load %[[X]][%[[K]], %[[AT]]]
// PANEL:               vector.store %[[V]], %[[BUF]][%[[K]], %[[N]]]
// PANEL:           scf.for %[[G:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// PANEL:             scf.for %[[N0:.*]] = %[[LO]] to %[[HI]] step %{{.*}} {
// PANEL:               %[[R:.*]] = arith.subi %[[N0]], %[[LO]] : index
// PANEL:               scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>) {
// PANEL:                 vector.load %[[BUF]][%{{.*}}, %[[R]]] : memref<4x8xf32>, vector<4xf32>
// PANEL:               vector.store %{{.*}}, %[[C]][%{{.*}}, %[[N0]]]
// PANEL:             %[[MORE:.*]] = arith.cmpi ult, %[[HI]], %[[C20]] : index
// PANEL:             scf.if %[[MORE]] {
// PANEL:               scf.for %[[KP:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// PANEL:                 %[[FIRST:.*]] = arith.minui %[[HI]], %[[C21:.*]] : index
// PANEL:                 memref.prefetch %[[X]][%[[KP]], %[[FIRST]]], read, locality<2>, data
// PANEL:                 %[[END:.*]] = arith.addi %[[HI]], %{{.*}} : index
// PANEL:                 %[[LAST:.*]] = arith.minui %[[END]], %[[C21]] : index
// PANEL:                 memref.prefetch %[[X]][%[[KP]], %[[LAST]]], read, locality<2>, data
// PANEL:         scf.for
// PANEL:           vector.maskedload %[[X]][%{{.*}}, %[[C20]]]
// PANEL:           vector.store %{{.*}}, %[[BUF]]
// PANEL:         scf.for
// PANEL:           scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>) {
// PANEL:             vector.maskedload %[[BUF]]
// PANEL:           vector.maskedstore %[[C]][%{{.*}}, %[[C20]]]
// PANEL:         memref.dealloc %[[BUF]] : memref<4x8xf32>
// With threads, each thread takes one stripe of consecutive groups of about
// equal work (as many stripes as the OpenMP runtime has threads, at most one
// per group) and runs it over every panel and then the columns left, each
// copied into the thread's own buffer: one parallel region.
// PANELPAR:         llvm.func @omp_get_max_threads() -> i32
// PANELPAR-LABEL: func.func @panels(
// PANELPAR:         %[[T:.*]] = llvm.call @omp_get_max_threads() : () -> i32
// PANELPAR:         %[[TI:.*]] = arith.index_castui %[[T]] : i32 to index
// PANELPAR:         %[[S:.*]] = arith.minui %[[TI]], %c2 : index
// PANELPAR:         scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[S]]) step
// PANELPAR:           scf.while
// PANELPAR:           scf.while
// PANELPAR:           %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
// PANELPAR-NOT:       scf.parallel
// PANELPAR:           scf.for %{{.*}} = %c0 to %c20 step %c8 {
// PANELPAR:             vector.store %{{.*}}, %[[BUF]]
// PANELPAR:             scf.for %[[G:.*]] = %[[LO:.*]] to %[[HI:.*]] step %c1 {
// PANELPAR:               vector.load %[[BUF]]
// PANELPAR:               %[[STRIPE:.*]] = arith.subi %[[HI]], %[[LO]] : index
// PANELPAR:               arith.ceildivui %c4, %[[STRIPE]] : index
// PANELPAR:               arith.subi %[[G]], %[[LO]] : index
// PANELPAR:               memref.prefetch
// PANELPAR:           vector.maskedload %{{.*}}[%{{.*}}, %c20]
// PANELPAR:           vector.store %{{.*}}, %[[BUF]]
// PANELPAR:           scf.for %{{.*}} = %[[LO]] to %[[HI]] step %c1 {
// PANELPAR:             vector.maskedload %[[BUF]]
// PANELPAR:           memref.dealloc %[[BUF]] : memref<4x8xf32>
// PANELPAR-NOT:     scf.parallel
// PANELPAR:         return
func.func @panels(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>,
                  %x: memref<4x22xf32>, %c: memref<4x22xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%c : memref<4x22xf32>)
  return
}

// -----

// One kept value fewer: each rhs element feeds under 64 FMAs, too few to
// pay for the copy; no panels.
// PANEL-LABEL: func.func @few_uses(
// PANEL-NOT:     memref.alloc
// PANEL:         return
func.func @few_uses(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<127x2xf32>,
                    %x: memref<4x22xf32>, %c: memref<4x22xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<127x2xf32>, memref<4x22xf32>)
      outs(%c : memref<4x22xf32>)
  return
}

// -----

// A constant col_idx: the kernels read only the packed copy, through
// offsets k * 8 (its row stride); no table of the rhs's k * 22.
// PANEL-NOT:   dense<22>
// PANEL:       memref.global "private" constant @__blkrew_rhs_offsets : memref<128xi32> = dense<8>
// PANEL-NOT:   dense<22>
// PANEL-LABEL: func.func @panel_offsets(
// PANEL:         memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
memref.global "private" constant @ci_panel : memref<128xi32> = dense<1>
func.func @panel_offsets(%rp: memref<3xi32>, %v: memref<128x2xf32>,
                         %x: memref<4x22xf32>, %c: memref<4x22xf32>) {
  %ci = memref.get_global @ci_panel : memref<128xi32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<128xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%c : memref<4x22xf32>)
  return
}

// -----

// A packed panel's slices start on a vector boundary, so the prefetch of a
// kept column's slice needs one instruction per cache line, not per
// vector: of 3 vectors of 16 bytes, the first and the last. The slices of
// the rhs itself may start anywhere in a line: one per vector.
// PANELPF-LABEL: func.func @panel_prefetch(
// PANELPF:         memref.alloc() {alignment = 64 : i64} : memref<4x12xf32>
// PANELPF:         scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// PANELPF-COUNT-2:   memref.prefetch
// PANELPF-NOT:       memref.prefetch
// PANELPF:           scf.yield
func.func @panel_prefetch(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>,
                          %x: memref<4x40xf32>, %c: memref<4x40xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x40xf32>)
      outs(%c : memref<4x40xf32>)
  return
}

// -----

// A linear layer's input: x[N, K] transposed into a temporary just before
// the kernel, which nothing reads after it. The panels are transposed from
// x's rows instead of copied from the temporary's columns, and the
// transpose goes. Such panels are one tile wide whatever panel-bytes
// allows (here 4 columns, five panels, all alike). The groups prefetch the
// next panel's rows of x (one line each: 4 columns). The 2 columns left
// are transposed into the rest buffer, and its 2 columns past them
// zero-filled.
// PANEL-LABEL: func.func @panels_from_transpose(
// PANEL-SAME:    %[[X:[^:]*]]: memref<22x4xf32>, %[[C:[^:]*]]: memref<4x22xf32>)
// PANEL-NOT:     linalg.transpose ins(%[[X]] :
// PANEL:         %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x4xf32>
// PANEL:         scf.for %[[LO:.*]] = %c0 to %c20 step %c4 {
// PANEL-NOT:       scf.if
// PANEL:           %[[SRC:.*]] = memref.subview %[[X]][%[[LO]], 0] [4, 4] [1, 1]
// PANEL:           linalg.transpose ins(%[[SRC]] : {{.*}}) outs(%{{.*}} : memref<4x4xf32, strided<[4, 1]>>) permutation = [1, 0]
// PANEL:           scf.for
// PANEL:             vector.load %[[BUF]]
// PANEL:             scf.if
// PANEL:               scf.for
// PANEL:                 memref.prefetch %[[X]][%{{.*}}, %c0], read, locality<2>, data : memref<22x4xf32>
// PANEL:         memref.subview %[[X]][20, 0] [2, 4] [1, 1]
// PANEL:         %[[LEFTDST:.*]] = memref.subview %[[BUF]][0, 0] [4, 2] [1, 1]
// PANEL:         linalg.transpose ins(%{{.*}} : memref<2x4xf32, {{.*}}) outs(%[[LEFTDST]] : {{.*}}) permutation = [1, 0]
// PANEL:         %[[PAD:.*]] = memref.subview %[[BUF]][0, 2] [4, 2] [1, 1]
// PANEL:         linalg.fill ins(%{{.*}} : f32) outs(%[[PAD]] : {{.*}})
// PANEL:         vector.maskedload %[[BUF]]
// PANEL:         memref.dealloc %[[BUF]] : memref<4x4xf32>
// PANEL-NOT:     linalg.transpose
// PANEL:         return
// At 176 panel bytes the rhs (352 bytes) is two panels, which leaves a
// plain one in place (@panels above); transposed, it is packed all the same.
// TWOPANELS-LABEL: func.func @panels_from_transpose(
// TWOPANELS-NOT:     linalg.transpose ins(%{{.*}} : memref<22x4xf32>) outs(%{{.*}} : memref<4x22xf32>)
// TWOPANELS:         memref.alloc() {alignment = 64 : i64} : memref<4x4xf32>
// TWOPANELS:         return
func.func @panels_from_transpose(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>,
                                 %x: memref<22x4xf32>, %c: memref<4x22xf32>) {
  %t = memref.alloc() : memref<4x22xf32>
  linalg.transpose ins(%x : memref<22x4xf32>) outs(%t : memref<4x22xf32>) permutation = [1, 0]
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %t : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%c : memref<4x22xf32>)
  memref.dealloc %t : memref<4x22xf32>
  return
}

// -----

// The transposed input is read again after the kernel, or is the caller's
// buffer: the transpose stays, and the panels are copied from it.
// PANEL-LABEL: func.func @transpose_read_again(
// PANEL:         linalg.transpose ins(%{{.*}} : memref<22x4xf32>)
// PANEL:         memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
// PANEL:         memref.copy
// PANEL-LABEL: func.func @transpose_into_argument(
// PANEL:         linalg.transpose ins(%{{.*}} : memref<22x4xf32>)
// PANEL:         memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
func.func @transpose_read_again(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>,
                                %x: memref<22x4xf32>, %c: memref<4x22xf32>,
                                %d: memref<4x22xf32>) {
  %t = memref.alloc() : memref<4x22xf32>
  linalg.transpose ins(%x : memref<22x4xf32>) outs(%t : memref<4x22xf32>) permutation = [1, 0]
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %t : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%c : memref<4x22xf32>)
  memref.copy %t, %d : memref<4x22xf32> to memref<4x22xf32>
  memref.dealloc %t : memref<4x22xf32>
  return
}
func.func @transpose_into_argument(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>,
                                   %x: memref<22x4xf32>, %c: memref<4x22xf32>,
                                   %t: memref<4x22xf32>) {
  linalg.transpose ins(%x : memref<22x4xf32>) outs(%t : memref<4x22xf32>) permutation = [1, 0]
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %t : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%c : memref<4x22xf32>)
  return
}

// -----

// A 3-D linear layer's operands, in the arena: the input is a reshape of
// a view, and the transposed temporary is reached again only through a
// reshape that a later op overwrites whole. The transpose is still folded
// into the panels: a reshape spans its source's bytes (apart from the
// kernel's output, another view), and the overwrite through the reshape
// leaves the temporary dead after the kernel.
memref.global "private" @arena_reshaped : memref<1280xi8>
// PANEL-LABEL: func.func @panels_from_reshaped_transpose(
// PANEL-NOT:     linalg.transpose ins(%{{.*}} : memref<22x4xf32>) outs(%{{.*}} : memref<4x22xf32>)
// PANEL:         memref.alloc() {alignment = 64 : i64} : memref<4x4xf32>
// PANEL:         linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<4x2x11xf32>)
// PANEL-NEXT:    return
func.func @panels_from_reshaped_transpose(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>) {
  %arena = memref.get_global @arena_reshaped : memref<1280xi8>
  %c0 = arith.constant 0 : index
  %c512 = arith.constant 512 : index
  %c896 = arith.constant 896 : index
  %x3 = memref.view %arena[%c0][] : memref<1280xi8> to memref<2x11x4xf32>
  %t = memref.view %arena[%c512][] : memref<1280xi8> to memref<4x22xf32>
  %c = memref.view %arena[%c896][] : memref<1280xi8> to memref<4x22xf32>
  %x = memref.collapse_shape %x3 [[0, 1], [2]] : memref<2x11x4xf32> into memref<22x4xf32>
  %t3 = memref.expand_shape %t [[0], [1, 2]] output_shape [4, 2, 11] : memref<4x22xf32> into memref<4x2x11xf32>
  linalg.transpose ins(%x : memref<22x4xf32>) outs(%t : memref<4x22xf32>) permutation = [1, 0]
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %t : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%c : memref<4x22xf32>)
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%t3 : memref<4x2x11xf32>)
  return
}

// -----

// A whole linear layer: x[N, K] transposed in, the product into a
// temporary that only its destination is set by (overwrite), transposed
// out into y[N, M]. Each panel's tiles store into an M x panel output
// buffer at column n0 - lo, which is then transposed into y's rows
// [lo, lo + width); likewise the columns left. Neither whole transpose
// stays.
// PANEL-LABEL: func.func @linear_panels(
// PANEL-SAME:    %[[X:[^:]*]]: memref<22x4xf32>, %[[Y:[^:]*]]: memref<22x4xf32>)
// PANEL-NOT:     linalg.transpose ins(%[[X]] :
// PANEL:         %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x4xf32>
// PANEL:         %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x4xf32>
// PANEL:         scf.for %[[LO:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// PANEL:           linalg.transpose
// PANEL:           scf.for %[[N0:.*]] = %[[LO]] to
// PANEL:             %[[R:.*]] = arith.subi %[[N0]], %[[LO]] : index
// PANEL:             vector.store %{{.*}}, %[[OUT]][%{{.*}}, %[[R]]]
// PANEL:           %[[OUTC:.*]] = memref.cast %[[OUT]]
// PANEL:           %[[YROWS:.*]] = memref.subview %[[Y]][%[[LO]], 0] [4, 4] [1, 1]
// PANEL:           linalg.transpose ins(%[[OUTC]] : memref<4x4xf32, strided<[4, 1]>>) outs(%[[YROWS]] : {{.*}}) permutation = [1, 0]
// PANEL:         linalg.fill
// PANEL:         vector.maskedstore %[[OUT]]
// PANEL:         %[[OUTLEFT:.*]] = memref.subview %[[OUT]][0, 0] [4, 2] [1, 1]
// PANEL:         memref.subview %[[Y]][20, 0] [2, 4] [1, 1]
// PANEL:         linalg.transpose ins(%[[OUTLEFT]] : {{.*}}) outs(%{{.*}} : memref<2x4xf32, {{.*}}) permutation = [1, 0]
// PANEL-DAG:     memref.dealloc %[[BUF]] : memref<4x4xf32>
// PANEL-DAG:     memref.dealloc %[[OUT]] : memref<4x4xf32>
// PANEL-NOT:     linalg.transpose
// PANEL:         return
// With threads and the output's transpose folded, threads take whole panels
// instead, each with its own output buffer too, moved into `y`'s rows (a
// stripe's rows of the output would not be one block).
// PANELPAR-LABEL: func.func @linear_panels(
// PANELPAR-NOT:     omp_get_max_threads
// PANELPAR:         scf.parallel (%{{.*}}) = (%{{.*}}) to (%c5) step
// PANELPAR:           %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x4xf32>
// PANELPAR:           %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x4xf32>
// PANELPAR-NOT:       scf.parallel
// PANELPAR:           vector.store %{{.*}}, %[[OUT]]
// PANELPAR:           linalg.transpose
// PANELPAR-DAG:       memref.dealloc %[[BUF]] : memref<4x4xf32>
// PANELPAR-DAG:       memref.dealloc %[[OUT]] : memref<4x4xf32>
func.func @linear_panels(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>,
                         %x: memref<22x4xf32>, %y: memref<22x4xf32>) {
  %t = memref.alloc() : memref<4x22xf32>
  %o = memref.alloc() : memref<4x22xf32>
  linalg.transpose ins(%x : memref<22x4xf32>) outs(%t : memref<4x22xf32>) permutation = [1, 0]
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column> overwrite
      ins(%rp, %ci, %v, %t : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%o : memref<4x22xf32>)
  linalg.transpose ins(%o : memref<4x22xf32>) outs(%y : memref<22x4xf32>) permutation = [1, 0]
  memref.dealloc %t : memref<4x22xf32>
  memref.dealloc %o : memref<4x22xf32>
  return
}

// -----

// The output transpose's destination is an arena view the planner put
// after the kernel (nn.MultiheadAttention's output projection): the view
// moves before the kernel, which writes y's rows through it.
// PANEL-LABEL: func.func @late_destination(
// PANEL-SAME:    %[[ARENA:[^:]*]]: memref<512xi8>)
// PANEL:         %[[Y:.*]] = memref.view %[[ARENA]]
// PANEL:         scf.for %[[LO:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// PANEL:           %[[YROWS:.*]] = memref.subview %[[Y]][%[[LO]], 0] [4, 4] [1, 1]
// PANEL:           linalg.transpose ins(%{{.*}} : memref<4x4xf32, strided<[4, 1]>>) outs(%[[YROWS]] : {{.*}}) permutation = [1, 0]
// PANEL-NOT:     linalg.transpose ins(%{{.*}} : memref<4x22xf32>)
// PANEL:         return
func.func @late_destination(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>,
                            %x: memref<22x4xf32>, %arena: memref<512xi8>) {
  %t = memref.alloc() : memref<4x22xf32>
  %o = memref.alloc() : memref<4x22xf32>
  linalg.transpose ins(%x : memref<22x4xf32>) outs(%t : memref<4x22xf32>) permutation = [1, 0]
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column> overwrite
      ins(%rp, %ci, %v, %t : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%o : memref<4x22xf32>)
  %c0 = arith.constant 0 : index
  %y = memref.view %arena[%c0][] : memref<512xi8> to memref<22x4xf32>
  linalg.transpose ins(%o : memref<4x22xf32>) outs(%y : memref<22x4xf32>) permutation = [1, 0]
  memref.dealloc %t : memref<4x22xf32>
  memref.dealloc %o : memref<4x22xf32>
  return
}

// -----

// The tiles would load init (no overwrite): the output transpose stays.
// PANEL-LABEL: func.func @accumulate_then_transpose(
// PANEL:         memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
// PANEL-NOT:     memref.alloc
// PANEL:         linalg.transpose ins(%{{.*}} : memref<4x22xf32>) outs(%{{.*}} : memref<22x4xf32>)
func.func @accumulate_then_transpose(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>,
                                     %x: memref<4x22xf32>, %o: memref<4x22xf32>,
                                     %y: memref<22x4xf32>) {
  %t = memref.alloc() : memref<4x22xf32>
  memref.copy %o, %t : memref<4x22xf32> to memref<4x22xf32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%t : memref<4x22xf32>)
  linalg.transpose ins(%t : memref<4x22xf32>) outs(%y : memref<22x4xf32>) permutation = [1, 0]
  memref.dealloc %t : memref<4x22xf32>
  return
}

// -----

// With a bias broadcast into init between the input transpose and the
// product (or before the transpose): the tiles start from the bias, and
// both transposes still fold.
// PANEL-LABEL: func.func @linear_bias_panels(
// PANEL-SAME:    %[[B:[^:]*]]: memref<4xf32>)
// PANEL-NOT:     linalg.broadcast
// PANEL-NOT:     linalg.transpose ins(%{{.*}} : memref<22x4xf32>)
// PANEL:         %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x4xf32>
// PANEL:         scf.for
// PANEL:           memref.load %[[B]]
// PANEL:           vector.store %{{.*}}, %[[OUT]]
// PANEL-NOT:     linalg.transpose ins(%{{.*}} : memref<4x22xf32>)
// PANEL-NOT:     linalg.broadcast
// PANEL:         return
// PANEL-LABEL: func.func @bias_before_transpose(
// PANEL-NOT:     linalg.broadcast
// PANEL-NOT:     linalg.transpose ins(%{{.*}} : memref<22x4xf32>)
// PANEL-NOT:     linalg.transpose ins(%{{.*}} : memref<4x22xf32>)
// PANEL:         return
func.func @linear_bias_panels(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>,
                              %x: memref<22x4xf32>, %y: memref<22x4xf32>,
                              %b: memref<4xf32>) {
  %t = memref.alloc() : memref<4x22xf32>
  %o = memref.alloc() : memref<4x22xf32>
  linalg.transpose ins(%x : memref<22x4xf32>) outs(%t : memref<4x22xf32>) permutation = [1, 0]
  linalg.broadcast ins(%b : memref<4xf32>) outs(%o : memref<4x22xf32>) dimensions = [1]
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %t : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%o : memref<4x22xf32>)
  linalg.transpose ins(%o : memref<4x22xf32>) outs(%y : memref<22x4xf32>) permutation = [1, 0]
  memref.dealloc %t : memref<4x22xf32>
  memref.dealloc %o : memref<4x22xf32>
  return
}
func.func @bias_before_transpose(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<128x2xf32>,
                                 %x: memref<22x4xf32>, %y: memref<22x4xf32>,
                                 %b: memref<4xf32>) {
  %t = memref.alloc() : memref<4x22xf32>
  %o = memref.alloc() : memref<4x22xf32>
  linalg.broadcast ins(%b : memref<4xf32>) outs(%o : memref<4x22xf32>) dimensions = [1]
  linalg.transpose ins(%x : memref<22x4xf32>) outs(%t : memref<4x22xf32>) permutation = [1, 0]
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %t : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%o : memref<4x22xf32>)
  linalg.transpose ins(%o : memref<4x22xf32>) outs(%y : memref<22x4xf32>) permutation = [1, 0]
  memref.dealloc %t : memref<4x22xf32>
  memref.dealloc %o : memref<4x22xf32>
  return
}

// -----

// Buffers the planner put in the same bytes of the arena (never live at
// once before the folds): the transposes' source x and the product's
// output, then the output transpose's destination and the product's
// input. Folding would read x (or the input) after the kernel wrote over
// it, so the transposes stay.
// PANEL-LABEL: func.func @input_shares_bytes_with_output(
// PANEL:         linalg.transpose ins(%{{.*}} : memref<22x4xf32>)
// PANEL-LABEL: func.func @destination_shares_bytes_with_input(
// PANEL:         linalg.transpose ins(%{{.*}} : memref<4x22xf32>) outs(%{{.*}} : memref<22x4xf32>)
memref.global "private" @arena : memref<1056xi8> = uninitialized
func.func @input_shares_bytes_with_output(%rp: memref<3xi32>, %ci: memref<?xi32>,
                                          %v: memref<128x2xf32>, %c: memref<4x22xf32>) {
  %c0 = arith.constant 0 : index
  %c352 = arith.constant 352 : index
  %a = memref.get_global @arena : memref<1056xi8>
  %x = memref.view %a[%c0][] : memref<1056xi8> to memref<22x4xf32>
  %t = memref.view %a[%c352][] : memref<1056xi8> to memref<4x22xf32>
  %o = memref.view %a[%c0][] : memref<1056xi8> to memref<4x22xf32>
  linalg.transpose ins(%x : memref<22x4xf32>) outs(%t : memref<4x22xf32>) permutation = [1, 0]
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column> overwrite
      ins(%rp, %ci, %v, %t : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%o : memref<4x22xf32>)
  memref.copy %o, %c : memref<4x22xf32> to memref<4x22xf32>
  return
}
func.func @destination_shares_bytes_with_input(%rp: memref<3xi32>, %ci: memref<?xi32>,
                                               %v: memref<128x2xf32>, %c: memref<22x4xf32>) {
  %c0 = arith.constant 0 : index
  %c352 = arith.constant 352 : index
  %c704 = arith.constant 704 : index
  %a = memref.get_global @arena : memref<1056xi8>
  %t = memref.view %a[%c0][] : memref<1056xi8> to memref<4x22xf32>
  %o = memref.view %a[%c352][] : memref<1056xi8> to memref<4x22xf32>
  %y = memref.view %a[%c0][] : memref<1056xi8> to memref<22x4xf32>
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column> overwrite
      ins(%rp, %ci, %v, %t : memref<3xi32>, memref<?xi32>, memref<128x2xf32>, memref<4x22xf32>)
      outs(%o : memref<4x22xf32>)
  linalg.transpose ins(%o : memref<4x22xf32>) outs(%y : memref<22x4xf32>) permutation = [1, 0]
  memref.copy %y, %c : memref<22x4xf32> to memref<22x4xf32>
  return
}

// -----

// f16 packed values (blkrew-half-weights) with f32 rhs and init: each weight
// is loaded as f16 and extended to f32 before its broadcast; the rhs, the
// accumulators and the FMAs stay f32.
// CHECK-LABEL: func.func @half_values(
// CHECK-SAME:    %{{[^:]*}}: memref<4xi32>, %{{[^:]*}}: memref<?xi32>, %[[V:[^:]*]]: memref<?x2xf16>,
// CHECK:           scf.for %[[J:[^ ]*]] = {{.*}} -> (vector<4xf32>, vector<4xf32>) {
// CHECK:             %[[XV:.*]] = vector.load {{.*}} : memref<4x?xf32>, vector<4xf32>
// CHECK:             %[[H0:.*]] = memref.load %[[V]][%[[J]], %{{.*}}] : memref<?x2xf16>
// CHECK-NEXT:        %[[W0:.*]] = arith.extf %[[H0]] : f16 to f32
// CHECK-NEXT:        %[[B0:.*]] = vector.broadcast %[[W0]] : f32 to vector<4xf32>
// CHECK-NEXT:        vector.fma %[[B0]], %[[XV]], %{{.*}} : vector<4xf32>
func.func @half_values(%rp: memref<4xi32>, %ci: memref<?xi32>, %v: memref<?x2xf16>,
                       %x: memref<4x?xf32>, %c: memref<5x?xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : memref<4xi32>, memref<?xi32>, memref<?x2xf16>, memref<4x?xf32>)
      outs(%c : memref<5x?xf32>)
  return
}

// -----

// The small-N shape: each kept column's 4 weights loaded as one f16 vector
// and extended to an f32 vector.
// CHECK-LABEL: func.func @half_values_small_n(
// CHECK-SAME:    %{{[^:]*}}: memref<3xi32>, %{{[^:]*}}: memref<?xi32>, %[[V:[^:]*]]: memref<?x4xf16>,
// CHECK:             %[[H:.*]] = vector.load %[[V]][%{{.*}}, %{{.*}}] : memref<?x4xf16>, vector<4xf16>
// CHECK-NEXT:        %[[W:.*]] = arith.extf %[[H]] : vector<4xf16> to vector<4xf32>
// CHECK:             vector.fma %[[W]], %{{.*}}, %{{.*}} : vector<4xf32>
func.func @half_values_small_n(%rp: memref<3xi32>, %ci: memref<?xi32>, %v: memref<?x4xf16>,
                               %x: memref<9x2xf32>, %c: memref<7x2xf32>) {
  blkrew.bsr_matmul #blkrew.layout<block = [4, 3], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<?xi32>, memref<?x4xf16>, memref<9x2xf32>)
      outs(%c : memref<7x2xf32>)
  return
}
