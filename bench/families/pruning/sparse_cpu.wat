;; CPU kernels for pruned Linear layers: y = W·x in float32 with 128-bit SIMD, W [rows × cols]
;; dense (row-major), CSR or N:M-compressed. Batch 1: x is [cols] and y is [rows]. Batch B: x is
;; transposed to xt [cols × bp] and y comes out as yt [rows × bp], bp = B rounded up to a multiple
;; of 4 with zero padding columns, so every weight scales a contiguous run of xt (lanes run over
;; the batch). All pointers are byte offsets. Each sum runs in a fixed order: deterministic.
(module
  (memory (export "memory") 1)

  ;; The lanes of v summed in a fixed order: (l0 + l1) + (l2 + l3).
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; y = W·x with W row-major. Four rows at a time share each vector load of x; lanes run over
  ;; k (four partial sums per row), the cols % 4 tail is summed apart and added last.
  (func (export "dense_gemv")
    (param $w i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (local $o i32) (local $k i32) (local $rb i32) (local $k4 i32) (local $xp i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $xv v128)
    (local $t0 f32) (local $t1 f32) (local $t2 f32) (local $t3 f32) (local $xs f32)
    (local.set $rb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $k4 (i32.and (local.get $cols) (i32.const -4)))
    (block $end4
      (loop $rows4
        (br_if $end4 (i32.gt_u (i32.add (local.get $o) (i32.const 4)) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $o) (local.get $rb))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $rb)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $rb)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $rb)))
        (local.set $xp (local.get $x))
        (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $k (i32.const 0))
        (block $vend
          (loop $vec
            (br_if $vend (i32.ge_u (local.get $k) (local.get $k4)))
            (local.set $xv (v128.load (local.get $xp)))
            (local.set $a0
              (f32x4.add (local.get $a0) (f32x4.mul (v128.load (local.get $p0)) (local.get $xv))))
            (local.set $a1
              (f32x4.add (local.get $a1) (f32x4.mul (v128.load (local.get $p1)) (local.get $xv))))
            (local.set $a2
              (f32x4.add (local.get $a2) (f32x4.mul (v128.load (local.get $p2)) (local.get $xv))))
            (local.set $a3
              (f32x4.add (local.get $a3) (f32x4.mul (v128.load (local.get $p3)) (local.get $xv))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $vec)))
        (local.set $t0 (f32.const 0)) (local.set $t1 (f32.const 0))
        (local.set $t2 (f32.const 0)) (local.set $t3 (f32.const 0))
        (block $tend
          (loop $tail
            (br_if $tend (i32.ge_u (local.get $k) (local.get $cols)))
            (local.set $xs (f32.load (local.get $xp)))
            (local.set $t0 (f32.add (local.get $t0)
              (f32.mul (f32.load (local.get $p0)) (local.get $xs))))
            (local.set $t1 (f32.add (local.get $t1)
              (f32.mul (f32.load (local.get $p1)) (local.get $xs))))
            (local.set $t2 (f32.add (local.get $t2)
              (f32.mul (f32.load (local.get $p2)) (local.get $xs))))
            (local.set $t3 (f32.add (local.get $t3)
              (f32.mul (f32.load (local.get $p3)) (local.get $xs))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 4)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 4)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 4)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 4)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $tail)))
        (local.set $p0 (i32.add (local.get $y) (i32.shl (local.get $o) (i32.const 2))))
        (f32.store (local.get $p0) (f32.add (call $hsum (local.get $a0)) (local.get $t0)))
        (f32.store offset=4 (local.get $p0) (f32.add (call $hsum (local.get $a1)) (local.get $t1)))
        (f32.store offset=8 (local.get $p0) (f32.add (call $hsum (local.get $a2)) (local.get $t2)))
        (f32.store offset=12 (local.get $p0) (f32.add (call $hsum (local.get $a3)) (local.get $t3)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $rows4)))
    (block $end1
      (loop $rows1
        (br_if $end1 (i32.ge_u (local.get $o) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $o) (local.get $rb))))
        (local.set $xp (local.get $x))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $k (i32.const 0))
        (block $vend1
          (loop $vec1
            (br_if $vend1 (i32.ge_u (local.get $k) (local.get $k4)))
            (local.set $a0 (f32x4.add (local.get $a0)
              (f32x4.mul (v128.load (local.get $p0)) (v128.load (local.get $xp)))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $vec1)))
        (local.set $t0 (f32.const 0))
        (block $tend1
          (loop $tail1
            (br_if $tend1 (i32.ge_u (local.get $k) (local.get $cols)))
            (local.set $t0 (f32.add (local.get $t0)
              (f32.mul (f32.load (local.get $p0)) (f32.load (local.get $xp)))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 4)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $tail1)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $o) (i32.const 2)))
          (f32.add (call $hsum (local.get $a0)) (local.get $t0)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $rows1))))

  ;; yt = W·xt with W row-major. A block of 4 rows × 8 batch columns sits in eight accumulators;
  ;; per k it loads two vectors of xt and splats four weights, one from each row (gemm.wat's 4×8
  ;; block with W read in place). Blocks of 1 row and of 4 columns take the remainders.
  (func (export "dense_gemm")
    (param $w i32) (param $xt i32) (param $yt i32) (param $rows i32) (param $cols i32)
    (param $bp i32)
    (local $o i32) (local $b i32) (local $k i32) (local $rb i32) (local $xb i32) (local $xp i32)
    (local $yp i32) (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $x0 v128) (local $x1 v128) (local $s v128)
    (local.set $rb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $xb (i32.shl (local.get $bp) (i32.const 2)))
    (block $end4
      (loop $rows4
        (br_if $end4 (i32.gt_u (i32.add (local.get $o) (i32.const 4)) (local.get $rows)))
        (local.set $b (i32.const 0))
        (block $end8
          (loop $cols8
            (br_if $end8 (i32.gt_u (i32.add (local.get $b) (i32.const 8)) (local.get $bp)))
            (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $o) (local.get $rb))))
            (local.set $p1 (i32.add (local.get $p0) (local.get $rb)))
            (local.set $p2 (i32.add (local.get $p1) (local.get $rb)))
            (local.set $p3 (i32.add (local.get $p2) (local.get $rb)))
            (local.set $xp (i32.add (local.get $xt) (i32.shl (local.get $b) (i32.const 2))))
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.const 0))
            (block $kend
              (loop $inner
                (br_if $kend (i32.ge_u (local.get $k) (local.get $cols)))
                (local.set $x0 (v128.load (local.get $xp)))
                (local.set $x1 (v128.load offset=16 (local.get $xp)))
                (local.set $s (v128.load32_splat (local.get $p0)))
                (local.set $c00 (f32x4.add (local.get $c00)
                  (f32x4.mul (local.get $s) (local.get $x0))))
                (local.set $c01 (f32x4.add (local.get $c01)
                  (f32x4.mul (local.get $s) (local.get $x1))))
                (local.set $s (v128.load32_splat (local.get $p1)))
                (local.set $c10 (f32x4.add (local.get $c10)
                  (f32x4.mul (local.get $s) (local.get $x0))))
                (local.set $c11 (f32x4.add (local.get $c11)
                  (f32x4.mul (local.get $s) (local.get $x1))))
                (local.set $s (v128.load32_splat (local.get $p2)))
                (local.set $c20 (f32x4.add (local.get $c20)
                  (f32x4.mul (local.get $s) (local.get $x0))))
                (local.set $c21 (f32x4.add (local.get $c21)
                  (f32x4.mul (local.get $s) (local.get $x1))))
                (local.set $s (v128.load32_splat (local.get $p3)))
                (local.set $c30 (f32x4.add (local.get $c30)
                  (f32x4.mul (local.get $s) (local.get $x0))))
                (local.set $c31 (f32x4.add (local.get $c31)
                  (f32x4.mul (local.get $s) (local.get $x1))))
                (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
                (local.set $p1 (i32.add (local.get $p1) (i32.const 4)))
                (local.set $p2 (i32.add (local.get $p2) (i32.const 4)))
                (local.set $p3 (i32.add (local.get $p3) (i32.const 4)))
                (local.set $xp (i32.add (local.get $xp) (local.get $xb)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $inner)))
            (local.set $yp (i32.add (local.get $yt)
              (i32.shl (i32.add (i32.mul (local.get $o) (local.get $bp)) (local.get $b))
                (i32.const 2))))
            (v128.store (local.get $yp) (local.get $c00))
            (v128.store offset=16 (local.get $yp) (local.get $c01))
            (local.set $yp (i32.add (local.get $yp) (local.get $xb)))
            (v128.store (local.get $yp) (local.get $c10))
            (v128.store offset=16 (local.get $yp) (local.get $c11))
            (local.set $yp (i32.add (local.get $yp) (local.get $xb)))
            (v128.store (local.get $yp) (local.get $c20))
            (v128.store offset=16 (local.get $yp) (local.get $c21))
            (local.set $yp (i32.add (local.get $yp) (local.get $xb)))
            (v128.store (local.get $yp) (local.get $c30))
            (v128.store offset=16 (local.get $yp) (local.get $c31))
            (local.set $b (i32.add (local.get $b) (i32.const 8)))
            (br $cols8)))
        ;; bp is a multiple of 4, so at most one block of 4 columns is left.
        (if (i32.lt_u (local.get $b) (local.get $bp))
          (then
            (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $o) (local.get $rb))))
            (local.set $p1 (i32.add (local.get $p0) (local.get $rb)))
            (local.set $p2 (i32.add (local.get $p1) (local.get $rb)))
            (local.set $p3 (i32.add (local.get $p2) (local.get $rb)))
            (local.set $xp (i32.add (local.get $xt) (i32.shl (local.get $b) (i32.const 2))))
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c10 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c30 (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.const 0))
            (block $kend4
              (loop $inner4
                (br_if $kend4 (i32.ge_u (local.get $k) (local.get $cols)))
                (local.set $x0 (v128.load (local.get $xp)))
                (local.set $c00 (f32x4.add (local.get $c00)
                  (f32x4.mul (v128.load32_splat (local.get $p0)) (local.get $x0))))
                (local.set $c10 (f32x4.add (local.get $c10)
                  (f32x4.mul (v128.load32_splat (local.get $p1)) (local.get $x0))))
                (local.set $c20 (f32x4.add (local.get $c20)
                  (f32x4.mul (v128.load32_splat (local.get $p2)) (local.get $x0))))
                (local.set $c30 (f32x4.add (local.get $c30)
                  (f32x4.mul (v128.load32_splat (local.get $p3)) (local.get $x0))))
                (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
                (local.set $p1 (i32.add (local.get $p1) (i32.const 4)))
                (local.set $p2 (i32.add (local.get $p2) (i32.const 4)))
                (local.set $p3 (i32.add (local.get $p3) (i32.const 4)))
                (local.set $xp (i32.add (local.get $xp) (local.get $xb)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $inner4)))
            (local.set $yp (i32.add (local.get $yt)
              (i32.shl (i32.add (i32.mul (local.get $o) (local.get $bp)) (local.get $b))
                (i32.const 2))))
            (v128.store (local.get $yp) (local.get $c00))
            (local.set $yp (i32.add (local.get $yp) (local.get $xb)))
            (v128.store (local.get $yp) (local.get $c10))
            (local.set $yp (i32.add (local.get $yp) (local.get $xb)))
            (v128.store (local.get $yp) (local.get $c20))
            (local.set $yp (i32.add (local.get $yp) (local.get $xb)))
            (v128.store (local.get $yp) (local.get $c30))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $rows4)))
    (block $end1
      (loop $rows1
        (br_if $end1 (i32.ge_u (local.get $o) (local.get $rows)))
        (local.set $b (i32.const 0))
        (block $end18
          (loop $cols18
            (br_if $end18 (i32.gt_u (i32.add (local.get $b) (i32.const 8)) (local.get $bp)))
            (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $o) (local.get $rb))))
            (local.set $xp (i32.add (local.get $xt) (i32.shl (local.get $b) (i32.const 2))))
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.const 0))
            (block $kend18
              (loop $inner18
                (br_if $kend18 (i32.ge_u (local.get $k) (local.get $cols)))
                (local.set $s (v128.load32_splat (local.get $p0)))
                (local.set $c00 (f32x4.add (local.get $c00)
                  (f32x4.mul (local.get $s) (v128.load (local.get $xp)))))
                (local.set $c01 (f32x4.add (local.get $c01)
                  (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $xp)))))
                (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
                (local.set $xp (i32.add (local.get $xp) (local.get $xb)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $inner18)))
            (local.set $yp (i32.add (local.get $yt)
              (i32.shl (i32.add (i32.mul (local.get $o) (local.get $bp)) (local.get $b))
                (i32.const 2))))
            (v128.store (local.get $yp) (local.get $c00))
            (v128.store offset=16 (local.get $yp) (local.get $c01))
            (local.set $b (i32.add (local.get $b) (i32.const 8)))
            (br $cols18)))
        (if (i32.lt_u (local.get $b) (local.get $bp))
          (then
            (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $o) (local.get $rb))))
            (local.set $xp (i32.add (local.get $xt) (i32.shl (local.get $b) (i32.const 2))))
            (local.set $c00 (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.const 0))
            (block $kend14
              (loop $inner14
                (br_if $kend14 (i32.ge_u (local.get $k) (local.get $cols)))
                (local.set $c00 (f32x4.add (local.get $c00)
                  (f32x4.mul (v128.load32_splat (local.get $p0)) (v128.load (local.get $xp)))))
                (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
                (local.set $xp (i32.add (local.get $xp) (local.get $xb)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $inner14)))
            (v128.store
              (i32.add (local.get $yt)
                (i32.shl (i32.add (i32.mul (local.get $o) (local.get $bp)) (local.get $b))
                  (i32.const 2)))
              (local.get $c00))))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $rows1))))

  ;; y = W·x, W in CSR (rowptr [rows + 1] and colidx [nnz] as i32, values [nnz] as f32). Four
  ;; nonzeros at a time: their x entries are gathered into one vector (lanes: four partial sums),
  ;; the row's nnz % 4 tail is summed apart and added last.
  (func (export "csr_spmv")
    (param $rowptr i32) (param $colidx i32) (param $values i32) (param $x i32) (param $y i32)
    (param $rows i32)
    (local $o i32) (local $cp i32) (local $cend i32) (local $vp i32)
    (local $start i32) (local $acc v128) (local $xv v128) (local $t f32)
    (block $end
      (loop $row
        (br_if $end (i32.ge_u (local.get $o) (local.get $rows)))
        (local.set $start (i32.load (i32.add (local.get $rowptr)
          (i32.shl (local.get $o) (i32.const 2)))))
        (local.set $cp (i32.add (local.get $colidx) (i32.shl (local.get $start) (i32.const 2))))
        (local.set $vp (i32.add (local.get $values) (i32.shl (local.get $start) (i32.const 2))))
        (local.set $cend (i32.add (local.get $colidx)
          (i32.shl
            (i32.load offset=4 (i32.add (local.get $rowptr) (i32.shl (local.get $o) (i32.const 2))))
            (i32.const 2))))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $t (f32.const 0))
        (block $vend
          (loop $vec
            (br_if $vend (i32.gt_u (i32.add (local.get $cp) (i32.const 16)) (local.get $cend)))
            (local.set $xv (v128.load32_zero
              (i32.add (local.get $x) (i32.shl (i32.load (local.get $cp)) (i32.const 2)))))
            (local.set $xv (v128.load32_lane 1
              (i32.add (local.get $x) (i32.shl (i32.load offset=4 (local.get $cp)) (i32.const 2)))
              (local.get $xv)))
            (local.set $xv (v128.load32_lane 2
              (i32.add (local.get $x) (i32.shl (i32.load offset=8 (local.get $cp)) (i32.const 2)))
              (local.get $xv)))
            (local.set $xv (v128.load32_lane 3
              (i32.add (local.get $x) (i32.shl (i32.load offset=12 (local.get $cp)) (i32.const 2)))
              (local.get $xv)))
            (local.set $acc
              (f32x4.add (local.get $acc) (f32x4.mul (v128.load (local.get $vp)) (local.get $xv))))
            (local.set $cp (i32.add (local.get $cp) (i32.const 16)))
            (local.set $vp (i32.add (local.get $vp) (i32.const 16)))
            (br $vec)))
        (block $tend
          (loop $tail
            (br_if $tend (i32.ge_u (local.get $cp) (local.get $cend)))
            (local.set $t (f32.add (local.get $t)
              (f32.mul (f32.load (local.get $vp))
                (f32.load (i32.add (local.get $x)
                  (i32.shl (i32.load (local.get $cp)) (i32.const 2)))))))
            (local.set $cp (i32.add (local.get $cp) (i32.const 4)))
            (local.set $vp (i32.add (local.get $vp) (i32.const 4)))
            (br $tail)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $o) (i32.const 2)))
          (f32.add (call $hsum (local.get $acc)) (local.get $t)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $row))))

  ;; yt = W·xt, W in CSR. Each nonzero (o, k, v) adds v·xt[k, b…b+16) to sixteen accumulators
  ;; of row o (a contiguous SIMD axpy over the batch), nonzeros in stored order; 4-column blocks
  ;; take the rest of bp. A row's nonzeros stay in cache across its blocks.
  (func (export "csr_spmm")
    (param $rowptr i32) (param $colidx i32) (param $values i32) (param $xt i32) (param $yt i32)
    (param $rows i32) (param $bp i32)
    (local $o i32) (local $b i32) (local $xb i32) (local $start i32) (local $cs i32)
    (local $cend i32) (local $cp i32) (local $vp i32) (local $xbase i32) (local $xp i32)
    (local $yp i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $s v128)
    (local.set $xb (i32.shl (local.get $bp) (i32.const 2)))
    (block $end
      (loop $row
        (br_if $end (i32.ge_u (local.get $o) (local.get $rows)))
        (local.set $start (i32.load (i32.add (local.get $rowptr)
          (i32.shl (local.get $o) (i32.const 2)))))
        (local.set $cs (i32.add (local.get $colidx) (i32.shl (local.get $start) (i32.const 2))))
        (local.set $cend (i32.add (local.get $colidx)
          (i32.shl
            (i32.load offset=4 (i32.add (local.get $rowptr) (i32.shl (local.get $o) (i32.const 2))))
            (i32.const 2))))
        (local.set $yp (i32.add (local.get $yt) (i32.mul (local.get $o) (local.get $xb))))
        (local.set $b (i32.const 0))
        (block $end16
          (loop $cols16
            (br_if $end16 (i32.gt_u (i32.add (local.get $b) (i32.const 16)) (local.get $bp)))
            (local.set $xbase (i32.add (local.get $xt) (i32.shl (local.get $b) (i32.const 2))))
            (local.set $cp (local.get $cs))
            (local.set $vp (i32.add (local.get $values) (i32.shl (local.get $start) (i32.const 2))))
            (local.set $c0 (v128.const i32x4 0 0 0 0)) (local.set $c1 (v128.const i32x4 0 0 0 0))
            (local.set $c2 (v128.const i32x4 0 0 0 0)) (local.set $c3 (v128.const i32x4 0 0 0 0))
            (block $nend16
              (loop $nz16
                (br_if $nend16 (i32.ge_u (local.get $cp) (local.get $cend)))
                (local.set $s (v128.load32_splat (local.get $vp)))
                (local.set $xp (i32.add (local.get $xbase)
                  (i32.mul (i32.load (local.get $cp)) (local.get $xb))))
                (local.set $c0 (f32x4.add (local.get $c0)
                  (f32x4.mul (local.get $s) (v128.load (local.get $xp)))))
                (local.set $c1 (f32x4.add (local.get $c1)
                  (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $xp)))))
                (local.set $c2 (f32x4.add (local.get $c2)
                  (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $xp)))))
                (local.set $c3 (f32x4.add (local.get $c3)
                  (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $xp)))))
                (local.set $cp (i32.add (local.get $cp) (i32.const 4)))
                (local.set $vp (i32.add (local.get $vp) (i32.const 4)))
                (br $nz16)))
            (v128.store (local.get $yp) (local.get $c0))
            (v128.store offset=16 (local.get $yp) (local.get $c1))
            (v128.store offset=32 (local.get $yp) (local.get $c2))
            (v128.store offset=48 (local.get $yp) (local.get $c3))
            (local.set $yp (i32.add (local.get $yp) (i32.const 64)))
            (local.set $b (i32.add (local.get $b) (i32.const 16)))
            (br $cols16)))
        (block $end4
          (loop $cols4
            (br_if $end4 (i32.ge_u (local.get $b) (local.get $bp)))
            (local.set $xbase (i32.add (local.get $xt) (i32.shl (local.get $b) (i32.const 2))))
            (local.set $cp (local.get $cs))
            (local.set $vp (i32.add (local.get $values) (i32.shl (local.get $start) (i32.const 2))))
            (local.set $c0 (v128.const i32x4 0 0 0 0))
            (block $nend4
              (loop $nz4
                (br_if $nend4 (i32.ge_u (local.get $cp) (local.get $cend)))
                (local.set $c0 (f32x4.add (local.get $c0)
                  (f32x4.mul (v128.load32_splat (local.get $vp))
                    (v128.load (i32.add (local.get $xbase)
                      (i32.mul (i32.load (local.get $cp)) (local.get $xb)))))))
                (local.set $cp (i32.add (local.get $cp) (i32.const 4)))
                (local.set $vp (i32.add (local.get $vp) (i32.const 4)))
                (br $nz4)))
            (v128.store (local.get $yp) (local.get $c0))
            (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
            (local.set $b (i32.add (local.get $b) (i32.const 4)))
            (br $cols4)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $row))))

  ;; y = W·x, W N:M-compressed: per row, `slots` = groups·n values (f32) and as many in-group
  ;; indices of `bits` bits (2 or 4, so none straddles a byte), packed from the low bits of each
  ;; byte up, a row's indices starting at a fresh `irb`-byte stride. Slot j of a row belongs to
  ;; group j / n, whose first column is (j / n)·m; a counter tracks it instead of a division.
  ;; Four slots at a time, as csr_spmv: gathered x lanes, the slots % 4 tail summed apart.
  (func (export "nm_gemv")
    (param $values i32) (param $indices i32) (param $x i32) (param $y i32) (param $rows i32)
    (param $n i32) (param $m i32) (param $slots i32) (param $irb i32) (param $bits i32)
    (local $o i32) (local $j i32) (local $s4 i32) (local $vp i32) (local $ip i32) (local $bit i32)
    (local $s i32) (local $gb i32) (local $mb i32) (local $mask i32) (local $a i32)
    (local $acc v128) (local $xv v128) (local $t f32)
    (local.set $mb (i32.shl (local.get $m) (i32.const 2)))
    (local.set $mask (i32.sub (i32.shl (i32.const 1) (local.get $bits)) (i32.const 1)))
    (local.set $s4 (i32.and (local.get $slots) (i32.const -4)))
    (local.set $vp (local.get $values))
    (block $end
      (loop $row
        (br_if $end (i32.ge_u (local.get $o) (local.get $rows)))
        (local.set $ip (i32.add (local.get $indices) (i32.mul (local.get $o) (local.get $irb))))
        (local.set $bit (i32.const 0))
        (local.set $s (i32.const 0))
        (local.set $gb (local.get $x))
        (local.set $j (i32.const 0))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $t (f32.const 0))
        (block $vend
          (loop $vec
            (br_if $vend (i32.ge_u (local.get $j) (local.get $s4)))
            ;; lane 0
            (local.set $a (i32.add (local.get $gb) (i32.shl
              (i32.and (i32.shr_u
                (i32.load8_u (i32.add (local.get $ip) (i32.shr_u (local.get $bit) (i32.const 3))))
                (i32.and (local.get $bit) (i32.const 7))) (local.get $mask))
              (i32.const 2))))
            (local.set $xv (v128.load32_zero (local.get $a)))
            (local.set $bit (i32.add (local.get $bit) (local.get $bits)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (if (i32.eq (local.get $s) (local.get $n)) (then
              (local.set $s (i32.const 0))
              (local.set $gb (i32.add (local.get $gb) (local.get $mb)))))
            ;; lane 1
            (local.set $a (i32.add (local.get $gb) (i32.shl
              (i32.and (i32.shr_u
                (i32.load8_u (i32.add (local.get $ip) (i32.shr_u (local.get $bit) (i32.const 3))))
                (i32.and (local.get $bit) (i32.const 7))) (local.get $mask))
              (i32.const 2))))
            (local.set $xv (v128.load32_lane 1 (local.get $a) (local.get $xv)))
            (local.set $bit (i32.add (local.get $bit) (local.get $bits)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (if (i32.eq (local.get $s) (local.get $n)) (then
              (local.set $s (i32.const 0))
              (local.set $gb (i32.add (local.get $gb) (local.get $mb)))))
            ;; lane 2
            (local.set $a (i32.add (local.get $gb) (i32.shl
              (i32.and (i32.shr_u
                (i32.load8_u (i32.add (local.get $ip) (i32.shr_u (local.get $bit) (i32.const 3))))
                (i32.and (local.get $bit) (i32.const 7))) (local.get $mask))
              (i32.const 2))))
            (local.set $xv (v128.load32_lane 2 (local.get $a) (local.get $xv)))
            (local.set $bit (i32.add (local.get $bit) (local.get $bits)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (if (i32.eq (local.get $s) (local.get $n)) (then
              (local.set $s (i32.const 0))
              (local.set $gb (i32.add (local.get $gb) (local.get $mb)))))
            ;; lane 3
            (local.set $a (i32.add (local.get $gb) (i32.shl
              (i32.and (i32.shr_u
                (i32.load8_u (i32.add (local.get $ip) (i32.shr_u (local.get $bit) (i32.const 3))))
                (i32.and (local.get $bit) (i32.const 7))) (local.get $mask))
              (i32.const 2))))
            (local.set $xv (v128.load32_lane 3 (local.get $a) (local.get $xv)))
            (local.set $bit (i32.add (local.get $bit) (local.get $bits)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (if (i32.eq (local.get $s) (local.get $n)) (then
              (local.set $s (i32.const 0))
              (local.set $gb (i32.add (local.get $gb) (local.get $mb)))))
            (local.set $acc
              (f32x4.add (local.get $acc) (f32x4.mul (v128.load (local.get $vp)) (local.get $xv))))
            (local.set $vp (i32.add (local.get $vp) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (block $tend
          (loop $tail
            (br_if $tend (i32.ge_u (local.get $j) (local.get $slots)))
            (local.set $a (i32.add (local.get $gb) (i32.shl
              (i32.and (i32.shr_u
                (i32.load8_u (i32.add (local.get $ip) (i32.shr_u (local.get $bit) (i32.const 3))))
                (i32.and (local.get $bit) (i32.const 7))) (local.get $mask))
              (i32.const 2))))
            (local.set $t (f32.add (local.get $t)
              (f32.mul (f32.load (local.get $vp)) (f32.load (local.get $a)))))
            (local.set $bit (i32.add (local.get $bit) (local.get $bits)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (if (i32.eq (local.get $s) (local.get $n)) (then
              (local.set $s (i32.const 0))
              (local.set $gb (i32.add (local.get $gb) (local.get $mb)))))
            (local.set $vp (i32.add (local.get $vp) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $o) (i32.const 2)))
          (f32.add (call $hsum (local.get $acc)) (local.get $t)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $row))))

  ;; yt = W·xt, W N:M-compressed as for nm_gemv. Each slot adds value·xt[column, b…b+16) to
  ;; sixteen accumulators of its row, slots in stored order (csr_spmm with the column decoded
  ;; from the group counter and the packed index); 4-column blocks take the rest of bp.
  (func (export "nm_gemm")
    (param $values i32) (param $indices i32) (param $xt i32) (param $yt i32) (param $rows i32)
    (param $n i32) (param $m i32) (param $slots i32) (param $irb i32) (param $bits i32)
    (param $bp i32)
    (local $o i32) (local $b i32) (local $j i32) (local $xb i32) (local $mb i32) (local $mask i32)
    (local $rowv i32) (local $vp i32) (local $ip i32) (local $bit i32) (local $s i32)
    (local $gb i32) (local $xp i32) (local $yp i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $sv v128)
    (local.set $xb (i32.shl (local.get $bp) (i32.const 2)))
    (local.set $mb (i32.mul (local.get $m) (local.get $xb)))
    (local.set $mask (i32.sub (i32.shl (i32.const 1) (local.get $bits)) (i32.const 1)))
    (block $end
      (loop $row
        (br_if $end (i32.ge_u (local.get $o) (local.get $rows)))
        (local.set $rowv (i32.add (local.get $values)
          (i32.shl (i32.mul (local.get $o) (local.get $slots)) (i32.const 2))))
        (local.set $ip (i32.add (local.get $indices) (i32.mul (local.get $o) (local.get $irb))))
        (local.set $yp (i32.add (local.get $yt) (i32.mul (local.get $o) (local.get $xb))))
        (local.set $b (i32.const 0))
        (block $end16
          (loop $cols16
            (br_if $end16 (i32.gt_u (i32.add (local.get $b) (i32.const 16)) (local.get $bp)))
            (local.set $vp (local.get $rowv))
            (local.set $bit (i32.const 0))
            (local.set $s (i32.const 0))
            (local.set $gb (i32.add (local.get $xt) (i32.shl (local.get $b) (i32.const 2))))
            (local.set $j (i32.const 0))
            (local.set $c0 (v128.const i32x4 0 0 0 0)) (local.set $c1 (v128.const i32x4 0 0 0 0))
            (local.set $c2 (v128.const i32x4 0 0 0 0)) (local.set $c3 (v128.const i32x4 0 0 0 0))
            (block $send16
              (loop $slot16
                (br_if $send16 (i32.ge_u (local.get $j) (local.get $slots)))
                (local.set $xp (i32.add (local.get $gb) (i32.mul
                  (i32.and (i32.shr_u
                    (i32.load8_u
                      (i32.add (local.get $ip) (i32.shr_u (local.get $bit) (i32.const 3))))
                    (i32.and (local.get $bit) (i32.const 7))) (local.get $mask))
                  (local.get $xb))))
                (local.set $sv (v128.load32_splat (local.get $vp)))
                (local.set $c0 (f32x4.add (local.get $c0)
                  (f32x4.mul (local.get $sv) (v128.load (local.get $xp)))))
                (local.set $c1 (f32x4.add (local.get $c1)
                  (f32x4.mul (local.get $sv) (v128.load offset=16 (local.get $xp)))))
                (local.set $c2 (f32x4.add (local.get $c2)
                  (f32x4.mul (local.get $sv) (v128.load offset=32 (local.get $xp)))))
                (local.set $c3 (f32x4.add (local.get $c3)
                  (f32x4.mul (local.get $sv) (v128.load offset=48 (local.get $xp)))))
                (local.set $bit (i32.add (local.get $bit) (local.get $bits)))
                (local.set $s (i32.add (local.get $s) (i32.const 1)))
                (if (i32.eq (local.get $s) (local.get $n)) (then
                  (local.set $s (i32.const 0))
                  (local.set $gb (i32.add (local.get $gb) (local.get $mb)))))
                (local.set $vp (i32.add (local.get $vp) (i32.const 4)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $slot16)))
            (v128.store (local.get $yp) (local.get $c0))
            (v128.store offset=16 (local.get $yp) (local.get $c1))
            (v128.store offset=32 (local.get $yp) (local.get $c2))
            (v128.store offset=48 (local.get $yp) (local.get $c3))
            (local.set $yp (i32.add (local.get $yp) (i32.const 64)))
            (local.set $b (i32.add (local.get $b) (i32.const 16)))
            (br $cols16)))
        (block $end4
          (loop $cols4
            (br_if $end4 (i32.ge_u (local.get $b) (local.get $bp)))
            (local.set $vp (local.get $rowv))
            (local.set $bit (i32.const 0))
            (local.set $s (i32.const 0))
            (local.set $gb (i32.add (local.get $xt) (i32.shl (local.get $b) (i32.const 2))))
            (local.set $j (i32.const 0))
            (local.set $c0 (v128.const i32x4 0 0 0 0))
            (block $send4
              (loop $slot4
                (br_if $send4 (i32.ge_u (local.get $j) (local.get $slots)))
                (local.set $xp (i32.add (local.get $gb) (i32.mul
                  (i32.and (i32.shr_u
                    (i32.load8_u
                      (i32.add (local.get $ip) (i32.shr_u (local.get $bit) (i32.const 3))))
                    (i32.and (local.get $bit) (i32.const 7))) (local.get $mask))
                  (local.get $xb))))
                (local.set $c0 (f32x4.add (local.get $c0)
                  (f32x4.mul (v128.load32_splat (local.get $vp)) (v128.load (local.get $xp)))))
                (local.set $bit (i32.add (local.get $bit) (local.get $bits)))
                (local.set $s (i32.add (local.get $s) (i32.const 1)))
                (if (i32.eq (local.get $s) (local.get $n)) (then
                  (local.set $s (i32.const 0))
                  (local.set $gb (i32.add (local.get $gb) (local.get $mb)))))
                (local.set $vp (i32.add (local.get $vp) (i32.const 4)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $slot4)))
            (v128.store (local.get $yp) (local.get $c0))
            (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
            (local.set $b (i32.add (local.get $b) (i32.const 4)))
            (br $cols4)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $row)))))
