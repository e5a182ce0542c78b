/* amx.h — descriptors of the AMX int8 templates (amx.c), shared with
 * codegen/lower_amx.c, which fills them.
 *
 * One template, k_q8_amx (named k_conv_q8_amx for convolutions and
 * k_mm_q8_amx for matrix products), computes every int8 product AMX takes:
 * QLinearConv/ConvInteger (2-D, one group, any kernel, padding, dilation,
 * equal strides) and QLinearMatMul/MatMulInteger with a constant B.  Both
 * are an implicit GEMM over a "grid" of rows:
 *
 *   row q of image b   A(q, k) = a[b*a_img + q*a_rs + tap(k) + chunk(k)*64 + k%64]
 *   K = kh_n * kw_n taps x cchunks chunks of 64 channels (bytes);
 *   tap (kh, kw) adds kh*tap_h + kw*tap_w bytes.
 *
 * For a convolution, A is the input padded by the zero point and stored
 * NHWC with cp = 64*cchunks channels (k_pad_u8_amx below writes it; extra
 * channels meet zero weights), and the grid is the output rows at the
 * padded width: q = oh*gw + ow with gw = Wp, a_rs = stride*cp.  Rows with
 * ow >= ow_n (the output width) are computed and dropped: one uniform row
 * stride is what lets a tile load 16 rows at once.  For a product, q is a
 * row of A, a_rs its stride (gw = ow_n = m).  The lowering guarantees that
 * every row up to the next multiple of 32 is readable (it pads A into
 * scratch otherwise), so blocks are always 32 rows x 32 columns and every
 * tile has one shape, 16 rows x 64 bytes.
 *
 * Packed weights ("Packed weights" in docs/int8.md): for each block of 16
 * output channels (zero-padded to an even count of blocks) and each 64-byte
 * K chunk, one 1 KiB B tile: byte [r*64 + col*4 + i] = w'(col, 4r + i),
 * i.e. 64-byte rows each holding 4 consecutive K values of 16 channels,
 * the layout tdpbusd (and vpdpbusd) multiply.  w' is the weight as int8
 * (uint8 weights with zero point 128 are stored as w - 128), so the
 * template computes acc = Σ a·w' + bias[c] with bias folding every zero
 * point term (docs/int8.md "Kernels"); the lowering takes AMX only when
 * the Σa term is zero.  Requantisation: y = clamp(rne(float(acc)·mul[c])
 * + yzp, qmin, qmax) (DESIGN.md §5); int32 outputs store acc.
 */
#ifndef INGOT_K_AMX_H
#define INGOT_K_AMX_H

#include "kabi.h"

#define KAMX_TILE_BYTES 1024 /* 16 rows x 64 bytes */

typedef struct k_amx_desc {
  kbuf a;    /* u8 rows, see above */
  kbuf w;    /* packed weights: [n/16 blocks][kc][16][64] int8 */
  kbuf bias; /* int32 [n32]: folded bias per output channel */
  kbuf mul;  /* float [n32]: requantisation multiplier M[c] */
  kbuf y;
  int32_t ytype; /* ONNX: 2 uint8, 3 int8, 6 int32 (no requantisation) */
  int32_t qmin, qmax, yzp;
  int32_t pad0_;
  int64_t batch;
  int64_t a_img, a_rs;          /* bytes */
  int64_t kh_n, kw_n, tap_h, tap_w, cchunks;
  int64_t m;                    /* grid rows per image */
  int64_t gw, ow_n;             /* q -> (q / gw, q % gw); valid: q % gw < ow_n */
  int64_t n;                    /* output channels */
  int64_t y_img, y_h, y_w, y_c; /* element strides of Y */
  /* Tasks: batch x tiles_m x tiles_n; a task owns mt grid rows (a
   * multiple of 32) and nt columns (a multiple of 32). */
  int64_t mt, nt, tiles_m, tiles_n;
} k_amx_desc;

/* k_pad_u8_amx: x (any strides, elements) -> NHWC u8 buffer of Hp x Wp x
 * cp per image, each byte XOR xflip (0x80 turns int8 activations into the
 * unsigned operand tdpbusd takes: a_u = a + 128); positions outside x
 * hold zp (the zero point, flipped likewise), channels >= c hold 0; the
 * |slack| bytes after the last image are zeroed.  Tasks: batch x hp. */
typedef struct k_amx_pad_desc {
  kbuf x, out;
  int64_t batch, c, h, w;
  int64_t xs_n, xs_c, xs_h, xs_w;
  int64_t pad_t, pad_l, hp, wp, cp;
  int64_t slack;
  int32_t zp, xflip;
} k_amx_pad_desc;

#endif /* INGOT_K_AMX_H */
