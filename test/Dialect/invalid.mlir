// One case per verifier diagnostic of the blkrew attribute and ops.
// RUN: blkrew-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{block must have two sizes [p, q], got 1}}
func.func @block_rank() attributes {l = #blkrew.layout<block = [8], scheme = column>} {
  return
}

// -----

// expected-error @+1 {{block sizes must be positive, got [8, 0]}}
func.func @block_positive() attributes {l = #blkrew.layout<block = [8, 0], scheme = column>} {
  return
}

// -----

// expected-error @+1 {{perm[1] = 3 is not a row of a 3-row matrix}}
func.func @perm_range() attributes {l = #blkrew.layout<block = [1, 1], scheme = row, perm = [0, 3, 1]>} {
  return
}

// -----

// expected-error @+1 {{perm is not a permutation: row 1 appears twice}}
func.func @perm_twice() attributes {l = #blkrew.layout<block = [1, 1], scheme = row, perm = [1, 0, 1]>} {
  return
}

// -----

// expected-error @+2 {{expected ::mlir::blkrew::PruneScheme to be one of: column, row, bcr}}
// expected-error @+1 {{failed to parse BlkRew_LayoutAttr parameter 'scheme'}}
func.func @scheme() attributes {l = #blkrew.layout<block = [2, 2], scheme = diagonal>} {
  return
}

// -----

func.func @mixed(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                 %x: tensor<4x8xf32>, %c: memref<4x8xf32>) {
  // expected-error @+1 {{operands must be all tensors or all memrefs}}
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : memref<4x8xf32>)
  return
}

// -----

func.func @tensor_no_result(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                            %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{with tensor operands must return the updated init tensor}}
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>)
  return
}

// -----

func.func @memref_result(%rp: memref<3xi32>, %ci: memref<2xi32>, %v: memref<2x2xf32>,
                         %x: memref<4x8xf32>, %c: memref<4x8xf32>) {
  // expected-error @+1 {{with memref operands must not return a value}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<2xi32>, memref<2x2xf32>, memref<4x8xf32>)
      outs(%c : memref<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @result_type(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                       %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{result type 'tensor<4x?xf32>' must match init type 'tensor<4x8xf32>'}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x?xf32>
  return
}

// -----

func.func @init_rank(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                     %d: tensor<16xf32>) {
  // expected-error @+1 {{init must be 2-D, got rank 1}}
  %w = blkrew.to_dense #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>)
      outs(%d : tensor<16xf32>) -> tensor<16xf32>
  return
}

// -----

func.func @rhs_rank(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                    %x: tensor<4xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{rhs must be 2-D, got rank 1}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @clamp_size(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                      %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{clamp must be [lo, hi] with lo <= hi}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> clamp [1.0]
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @clamp_empty(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                       %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{clamp must be [lo, hi] with lo <= hi}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> clamp [6.0, 0.0]
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @clamp_and_relu(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                          %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{takes relu or clamp, not both}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> relu clamp [0.0, 6.0]
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @window_size(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                       %x: tensor<1x4x4xf32>, %c: tensor<4x16xf32>) {
  // expected-error @+1 {{window must be two positive sizes [KH, KW]}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      window [0, 1] ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<1x4x4xf32>)
      outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @window_rhs_rank(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                           %x: tensor<4x16xf32>, %c: tensor<4x16xf32>) {
  // expected-error @+1 {{rhs must be a 3-D image [C, H, W] with a window, got rank 2}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      window [1, 1] ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x16xf32>)
      outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @window_too_big(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                          %x: tensor<1x2x6xf32>, %c: tensor<4x16xf32>) {
  // expected-error @+1 {{window [3, 3] does not fit in a 2x6 image}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      window [3, 3] ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<1x2x6xf32>)
      outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @window_cols(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                       %x: tensor<1x6x6xf32>, %c: tensor<4x36xf32>) {
  // expected-error @+1 {{the window has 16 columns but init has 36}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      window [3, 3] ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<1x6x6xf32>)
      outs(%c : tensor<4x36xf32>) -> tensor<4x36xf32>
  return
}

// -----

func.func @window_col_idx(%rp: tensor<3xi32>, %v: tensor<2x2xf32>,
                          %x: tensor<2x4x4xf32>, %c: tensor<4x4xf32>) {
  %ci = arith.constant dense<[1, 18]> : tensor<2xi32>
  // expected-error @+1 {{col_idx[1] = 18 is out of range for a matrix with 18 columns}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      window [3, 3] ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<2x4x4xf32>)
      outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @rhs_cols(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                    %x: tensor<4x7xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{rhs has 7 columns but init has 8}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x7xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// f16 values go only with f32 operands (blkrew-half-weights).
func.func @half_values_f64(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf16>,
                           %x: tensor<4x8xf64>, %c: tensor<4x8xf64>) {
  // expected-error @+1 {{element type mismatch: values hold 'f16' but an operand of type 'tensor<4x8xf64>' holds 'f64' (values may be f16 only where the operands are f32)}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf16>, tensor<4x8xf64>)
      outs(%c : tensor<4x8xf64>) -> tensor<4x8xf64>
  return
}

// -----

func.func @elem_type(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                     %x: tensor<4x8xf16>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{element type mismatch: values hold 'f32' but an operand of type 'tensor<4x8xf16>' holds 'f16'}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf16>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @index_type(%rp: tensor<3xi64>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                      %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{operand #0 must be 1-D tensor or memref of i32}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi64>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @values_cols(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x4xf32>,
                       %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{values has 4 columns but the layout's block has 2 rows: each kept column stores one value per block row}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 4], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x4xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @nnz(%rp: tensor<3xi32>, %ci: tensor<3xi32>, %v: tensor<2x2xf32>,
               %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{col_idx has 3 entries but values has 2 rows: values needs one row per kept column}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<3xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @row_ptr_size(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                        %x: tensor<4x8xf32>, %c: tensor<5x8xf32>) {
  // expected-error @+1 {{row_ptr has 3 entries; a 5-row matrix in groups of 2 rows needs 4}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<5x8xf32>) -> tensor<5x8xf32>
  return
}

// -----

func.func @perm_size(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                     %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{layout perm has 3 entries but the matrix has 4 rows}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column, perm = [2, 1, 0]>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @row_ptr_start(%ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                         %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  %rp = arith.constant dense<[1, 1, 2]> : tensor<3xi32>
  // expected-error @+1 {{row_ptr must start at 0, got 1}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @row_ptr_monotone(%ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                            %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  %rp = arith.constant dense<[0, 2, 1]> : tensor<3xi32>
  // expected-error @+1 {{row_ptr must be non-decreasing: row_ptr[2] = 1 < row_ptr[1] = 2}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @row_ptr_end(%ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                       %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  %rp = arith.constant dense<[0, 1, 3]> : tensor<3xi32>
  // expected-error @+1 {{row_ptr ends at 3 but col_idx has 2 entries}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @col_range(%rp: tensor<3xi32>, %v: tensor<2x2xf32>,
                     %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  %ci = arith.constant dense<[1, 4]> : tensor<2xi32>
  // expected-error @+1 {{col_idx[1] = 4 is out of range for a matrix with 4 columns}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @col_order(%v: tensor<3x2xf32>, %d: tensor<4x4xf32>) {
  %rp = arith.constant dense<[0, 2, 3]> : tensor<3xi32>
  %ci = arith.constant dense<[3, 1, 0]> : tensor<3xi32>
  // expected-error @+1 {{col_idx must be strictly increasing within a row group: group 0 has col_idx[1] = 1 after 3}}
  %w = blkrew.to_dense #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>)
      outs(%d : tensor<4x4xf32>) -> tensor<4x4xf32>
  return
}
