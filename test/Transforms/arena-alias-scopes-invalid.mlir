// A malformed record of the views is an error, not a silent guess.
// RUN: blkrew-opt %s -blkrew-arena-alias-scopes -split-input-file -verify-diagnostics

// expected-error @+1 {{'blkrew.arena_views' must be a dictionary}}
module attributes {blkrew.arena_views = [0, 64]} {
}

// -----

// expected-error @+1 {{'blkrew.arena_views' entry '__blkrew_arena_f' must be an array of (offset, bytes) pairs}}
module attributes {blkrew.arena_views = {__blkrew_arena_f = array<i64: 0, 64, 64>}} {
}

// -----

// expected-error @+1 {{'blkrew.arena_views' entry '__blkrew_arena_f' has a view at a negative offset or of no bytes}}
module attributes {blkrew.arena_views = {__blkrew_arena_f = array<i64: 0, 64, 64, 0>}} {
}
