/* conv.c — reference Conv, ConvTranspose, ConvInteger and QLinearConv.
 *
 * All four share one attribute parser and one geometry routine.  The
 * geometry normalises the spatial part to three dims (missing leading dims
 * have size 1, kernel 1, stride 1), so a single loop nest serves 1-D, 2-D
 * and 3-D convolutions; ranks above 3 are rejected as unimplemented.
 *
 * Two forward kernels exist, in the ggml "_generic vs fast" pattern:
 *  - conv_ref: per output element, in double.  It is the readable spec and
 *    runs every dtype but float32, including the integer ops (sums of
 *    products of 8-bit values are exact in double far beyond int32 range).
 *  - conv_f32: float32 Conv, which calibration runs over whole CNNs.  Rows
 *    of the output are updated one kernel tap at a time, with the range of
 *    valid output positions per tap precomputed, so the innermost loop is a
 *    contiguous (for stride 1) multiply-add with no bounds checks.
 *  - conv_int: ConvInteger and QLinearConv with 8-bit x and w, the same
 *    loops on int32 values shifted by their zero points, accumulated
 *    modulo 2^32: bit-identical to wrap_i32 of conv_ref's exact sum
 *    (int_fast_ok says when; otherwise, or when the environment variable
 *    INGOT_REF_CONV_GENERIC is set, as the tests do, conv_ref runs).
 * ConvTranspose has one kernel, in double, for every dtype: it scatters
 * each input row through the kernel taps, again with precomputed ranges.
 * The ConvTranspose padding split follows the spec: with output_shape or
 * SAME_*, the odd unit of total padding goes to the end for SAME_UPPER and
 * to the beginning otherwise.
 *
 * QLinearConv follows DESIGN.md §5: the accumulator is the exact int32 sum
 * Σ (x−zx)(w−zw[c]) + B[c]; the multiplier M[c] = s_x·s_w[c]/s_y is
 * computed in float32 in that order, and y = clamp(rne(float(acc)·M[c]) +
 * zy) with one float multiply (no FMA can form).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

/* Attribute bounds that keep every geometry product far from overflow. */
#define CONV_ATTR_MAX ((int64_t)1 << 20) /* kernel, stride, dilation, group */
#define CONV_DIM_MAX ((int64_t)1 << 40)  /* pads, dims, output sizes */

/*===------------------------------------------------------------------===*/
/* Attributes                                                              */
/*===------------------------------------------------------------------===*/

static ingot_status parse_auto_pad(const ir_node *n, ir_auto_pad *out) {
  const char *s;
  INGOT_RETURN_IF_ERROR(ir_attr_string(n, "auto_pad", "NOTSET", &s));
  if (!strcmp(s, "NOTSET") || !*s)
    *out = IR_PAD_NOTSET;
  else if (!strcmp(s, "VALID"))
    *out = IR_PAD_VALID;
  else if (!strcmp(s, "SAME_UPPER"))
    *out = IR_PAD_SAME_UPPER;
  else if (!strcmp(s, "SAME_LOWER"))
    *out = IR_PAD_SAME_LOWER;
  else
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute auto_pad has unknown value '%s'", s);
  return NULL;
}

ingot_status ref_parse_conv(ir_graph *g, ir_node_id nid) {
  static const char *const conv_attrs[] = {
      "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides",
      NULL};
  static const char *const convt_attrs[] = {
      "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides",
      "output_padding", "output_shape", NULL};
  const ir_node *n = ref_node(g, nid);
  bool transposed = n->op == IR_OP_CONV_TRANSPOSE;
  INGOT_RETURN_IF_ERROR(
      ir_attr_check_known(n, transposed ? convt_attrs : conv_attrs));

  ir_p_conv p;
  memset(&p, 0, sizeof p);
  for (int i = 0; i < IR_MAX_RANK; i++) p.strides[i] = p.dilations[i] = 1;
  int rank = 0;
  bool has_op = false;
  INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "kernel_shape", 1, 1, CONV_ATTR_MAX,
                                     p.kernel, &rank, &p.has_kernel));
  INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "strides", 1, 1, CONV_ATTR_MAX,
                                     p.strides, &rank, &p.has_strides));
  INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "dilations", 1, 1, CONV_ATTR_MAX,
                                     p.dilations, &rank, &p.has_dilations));
  INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "pads", 2, 0, CONV_DIM_MAX, p.pads,
                                     &rank, &p.has_pads));
  if (transposed) {
    INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "output_padding", 1, 0,
                                       CONV_ATTR_MAX, p.output_padding,
                                       &rank, &has_op));
    INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "output_shape", 1, 1,
                                       CONV_DIM_MAX, p.output_shape, &rank,
                                       &p.has_output_shape));
  }
  p.n_spatial = p.has_kernel ? rank : 0;
  p.n_given = rank;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "group", 1, &p.group));
  if (p.group < 1 || p.group > CONV_ATTR_MAX)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute group = %lld is outside [1, %lld]",
                         (long long)p.group, (long long)CONV_ATTR_MAX);
  INGOT_RETURN_IF_ERROR(parse_auto_pad(n, &p.auto_pad));

  ir_p_conv *dst = ref_params_new(g, nid, sizeof *dst);
  if (!dst)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                         "out of memory for attributes");
  *dst = p;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Geometry                                                                */
/*===------------------------------------------------------------------===*/

/* Batch, channels and the spatial part padded to three dims. */
typedef struct conv_geom {
  int64_t batch, c, m, group; /* input channels, output channels */
  int64_t in[3], k[3], s[3], d[3], pb[3], out[3];
} conv_geom;

/* Output shape |ys| (unknown dims propagate as -1) and, when every dim is
 * known, the geometry |geo| of a Conv-family node with input shape |xs| and
 * weight shape |ws|; checks that the shapes agree with each other and with
 * the attributes. */
static ingot_status conv_shape(const ir_node *n, const ir_shape *xs,
                               const ir_shape *ws, conv_geom *geo,
                               ir_shape *ys) {
  const ir_p_conv *p = n->params;
  bool transposed = n->op == IR_OP_CONV_TRANSPOSE;
  char b1[96], b2[96];
  if (!p)
    return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  int r = xs->rank;
  if (r < 3)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input must be N x C x spatial dims, got shape %s",
                         ir_shape_str(xs, b1, sizeof b1));
  if (ws->rank != r)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "weights of shape %s do not match input of shape %s",
                         ir_shape_str(ws, b1, sizeof b1),
                         ir_shape_str(xs, b2, sizeof b2));
  int nsp = r - 2;
  if (nsp > 3)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%d spatial dims are not supported (at most 3)",
                         nsp);
  if (p->n_given != 0 && p->n_given != nsp)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attributes describe %d spatial dims but the input "
                         "has %d",
                         p->n_given, nsp);
  for (int i = 0; i < r; i++)
    if (xs->dims[i] > CONV_DIM_MAX || ws->dims[i] > CONV_DIM_MAX)
      return ir_node_error(n, INGOT_OUT_OF_RANGE, "dimension too large");

  int64_t g = p->group, c = xs->dims[1], m;
  if (!transposed) {
    m = ws->dims[0];
    if (c >= 0 && ws->dims[1] >= 0 && c != ws->dims[1] * g)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input has %lld channels but weights %s with "
                           "group %lld expect %lld",
                           (long long)c, ir_shape_str(ws, b1, sizeof b1),
                           (long long)g, (long long)(ws->dims[1] * g));
    if (m >= 0 && m % g != 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%lld output channels are not divisible by "
                           "group %lld",
                           (long long)m, (long long)g);
  } else {
    if (c >= 0 && ws->dims[0] >= 0 && c != ws->dims[0])
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input has %lld channels but weights %s expect "
                           "%lld",
                           (long long)c, ir_shape_str(ws, b1, sizeof b1),
                           (long long)ws->dims[0]);
    if (c >= 0 && c % g != 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%lld input channels are not divisible by group "
                           "%lld",
                           (long long)c, (long long)g);
    m = ws->dims[1] >= 0 ? ws->dims[1] * g : -1;
  }
  ys->rank = r;
  ys->dims[0] = xs->dims[0];
  ys->dims[1] = m;
  *geo = (conv_geom){.batch = xs->dims[0], .c = c, .m = m, .group = g};
  for (int j = 0; j < 3; j++)
    geo->in[j] = geo->k[j] = geo->s[j] = geo->d[j] = geo->out[j] = 1;

  for (int i = 0; i < nsp; i++) {
    int j = 3 - nsp + i;
    int64_t in = xs->dims[2 + i], wk = ws->dims[2 + i];
    int64_t k = p->has_kernel ? p->kernel[i] : wk;
    if (p->has_kernel && wk >= 0 && wk != k)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "kernel_shape[%d] = %lld but the weights %s have "
                           "%lld",
                           i, (long long)k, ir_shape_str(ws, b1, sizeof b1),
                           (long long)wk);
    if (k == 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "weights %s have an empty kernel",
                           ir_shape_str(ws, b1, sizeof b1));
    int64_t s = p->strides[i], d = p->dilations[i];
    int64_t pb = p->pads[i], pe = p->pads[nsp + i], out;
    if (in < 0 || k < 0) {
      ys->dims[2 + i] = -1;
      continue;
    }
    int64_t ek = (k - 1) * d + 1; /* extent of the dilated kernel */
    if (!transposed) {
      if (p->auto_pad == IR_PAD_SAME_UPPER ||
          p->auto_pad == IR_PAD_SAME_LOWER) {
        out = ref_ceil_div(in, s);
        int64_t total = (out - 1) * s + ek - in;
        if (total < 0) total = 0;
        pb = p->auto_pad == IR_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        pe = total - pb;
      } else {
        if (p->auto_pad == IR_PAD_VALID) pb = pe = 0;
        int64_t span = in + pb + pe - ek;
        out = span < 0 ? 0 : span / s + 1;
      }
    } else {
      int64_t full = s * (in - 1) + p->output_padding[i] + ek;
      if (p->has_output_shape || p->auto_pad == IR_PAD_SAME_UPPER ||
          p->auto_pad == IR_PAD_SAME_LOWER) {
        /* Floor division: total < 0 means the output extends past the
         * full result, and the extra positions hold only the bias. */
        out = p->has_output_shape ? p->output_shape[i] : in * s;
        int64_t total = full - out;
        pb = p->auto_pad == IR_PAD_SAME_UPPER ? ref_floor_div(total, 2)
                                              : total - ref_floor_div(total, 2);
      } else {
        if (p->auto_pad == IR_PAD_VALID) pb = pe = 0;
        out = full - pb - pe;
      }
    }
    if (out < 1)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "spatial dim %d of the output would be %lld "
                           "(input %s, kernel %lld)",
                           i, (long long)out, ir_shape_str(xs, b1, sizeof b1),
                           (long long)k);
    ys->dims[2 + i] = out;
    geo->in[j] = in;
    geo->k[j] = k;
    geo->s[j] = s;
    geo->d[j] = d;
    geo->pb[j] = pb;
    geo->out[j] = out;
  }
  return NULL;
}

/* Positions o in [0, n_out) with o*s + off in [0, n_in): [*lo, *hi). */
static void tap_range(int64_t n_out, int64_t n_in, int64_t s, int64_t off,
                      int64_t *lo, int64_t *hi) {
  int64_t a = ref_ceil_div(-off, s), b = ref_floor_div(n_in - 1 - off, s) + 1;
  if (a < 0) a = 0;
  if (b > n_out) b = n_out;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

/* For each spatial dim j and kernel tap t, the range of positions along
 * the iterated dim (n_iter) whose partner index along the other dim
 * (n_other) is valid.  One malloc'd array: dim j starts at 2*(k0+..+kj-1).
 * For Conv iterate outputs over inputs; for ConvTranspose the reverse. */
static int64_t *tap_ranges(const conv_geom *g, const int64_t *n_iter,
                           const int64_t *n_other) {
  int64_t total = g->k[0] + g->k[1] + g->k[2];
  int64_t *r = malloc((size_t)total * 2 * sizeof *r);
  if (!r) return NULL;
  int64_t *q = r;
  for (int j = 0; j < 3; j++)
    for (int64_t t = 0; t < g->k[j]; t++, q += 2)
      tap_range(n_iter[j], n_other[j], g->s[j], t * g->d[j] - g->pb[j], q,
                q + 1);
  return r;
}

static int64_t geo_size(const int64_t *v) { return v[0] * v[1] * v[2]; }

/*===------------------------------------------------------------------===*/
/* Kernels                                                                 */
/*===------------------------------------------------------------------===*/

/* The reference: y[b,m,o] = bias[m] + Σ x[b,c,o*s+k*d-pb] * w[m,c',k]. */
static void conv_ref(const conv_geom *g, const double *x, const double *w,
                     const double *bias, double *y) {
  int64_t cg = g->c / g->group, mg = g->m / g->group;
  int64_t isz = geo_size(g->in), ksz = geo_size(g->k);
  for (int64_t b = 0; b < g->batch; b++)
    for (int64_t m = 0; m < g->m; m++)
      for (int64_t o0 = 0; o0 < g->out[0]; o0++)
        for (int64_t o1 = 0; o1 < g->out[1]; o1++)
          for (int64_t o2 = 0; o2 < g->out[2]; o2++) {
            double acc = bias ? bias[m] : 0.0;
            for (int64_t ci = 0; ci < cg; ci++) {
              const double *xp = x + (b * g->c + m / mg * cg + ci) * isz;
              const double *wp = w + (m * cg + ci) * ksz;
              for (int64_t k0 = 0; k0 < g->k[0]; k0++) {
                int64_t i0 = o0 * g->s[0] + k0 * g->d[0] - g->pb[0];
                if (i0 < 0 || i0 >= g->in[0]) continue;
                for (int64_t k1 = 0; k1 < g->k[1]; k1++) {
                  int64_t i1 = o1 * g->s[1] + k1 * g->d[1] - g->pb[1];
                  if (i1 < 0 || i1 >= g->in[1]) continue;
                  for (int64_t k2 = 0; k2 < g->k[2]; k2++) {
                    int64_t i2 = o2 * g->s[2] + k2 * g->d[2] - g->pb[2];
                    if (i2 < 0 || i2 >= g->in[2]) continue;
                    acc += xp[(i0 * g->in[1] + i1) * g->in[2] + i2] *
                           wp[(k0 * g->k[1] + k1) * g->k[2] + k2];
                  }
                }
              }
            }
            y[(((b * g->m + m) * g->out[0] + o0) * g->out[1] + o1) *
                  g->out[2] +
              o2] = acc;
          }
}

/* The float32 fast path; same result as conv_ref up to float rounding. */
static bool conv_f32(const conv_geom *geo, const float *x, const float *w,
                     const float *bias, float *y) {
  conv_geom g = *geo;
  bool pointwise = true;
  for (int j = 0; j < 3; j++)
    pointwise = pointwise && g.k[j] == 1 && g.s[j] == 1 && g.pb[j] == 0 &&
                g.out[j] == g.in[j];
  if (pointwise) { /* 1x1: one long row per plane */
    g.out[2] = g.in[2] = geo_size(geo->in);
    g.out[0] = g.out[1] = g.in[0] = g.in[1] = 1;
  }
  int64_t *rng = tap_ranges(&g, g.out, g.in);
  if (!rng) return false;
  const int64_t *r0 = rng, *r1 = r0 + 2 * g.k[0], *r2 = r1 + 2 * g.k[1];
  int64_t cg = g.c / g.group, mg = g.m / g.group;
  int64_t isz = geo_size(g.in), osz = geo_size(g.out), ksz = geo_size(g.k);
  for (int64_t b = 0; b < g.batch; b++)
    for (int64_t m = 0; m < g.m; m++) {
      float *yp = y + (b * g.m + m) * osz;
      float bv = bias ? bias[m] : 0.0f;
      for (int64_t i = 0; i < osz; i++) yp[i] = bv;
      for (int64_t ci = 0; ci < cg; ci++) {
        const float *xp = x + (b * g.c + m / mg * cg + ci) * isz;
        const float *wp = w + (m * cg + ci) * ksz;
        for (int64_t k0 = 0; k0 < g.k[0]; k0++)
          for (int64_t k1 = 0; k1 < g.k[1]; k1++)
            for (int64_t k2 = 0; k2 < g.k[2]; k2++) {
              float wv = wp[(k0 * g.k[1] + k1) * g.k[2] + k2];
              int64_t lo = r2[2 * k2], len = r2[2 * k2 + 1] - lo;
              int64_t off = lo * g.s[2] + k2 * g.d[2] - g.pb[2];
              if (len <= 0) continue;
              for (int64_t o0 = r0[2 * k0]; o0 < r0[2 * k0 + 1]; o0++) {
                int64_t i0 = o0 * g.s[0] + k0 * g.d[0] - g.pb[0];
                for (int64_t o1 = r1[2 * k1]; o1 < r1[2 * k1 + 1]; o1++) {
                  int64_t i1 = o1 * g.s[1] + k1 * g.d[1] - g.pb[1];
                  float *restrict yr =
                      yp + (o0 * g.out[1] + o1) * g.out[2] + lo;
                  const float *restrict xr =
                      xp + (i0 * g.in[1] + i1) * g.in[2] + off;
                  if (g.s[2] == 1)
                    for (int64_t t = 0; t < len; t++) yr[t] += wv * xr[t];
                  else
                    for (int64_t t = 0; t < len; t++)
                      yr[t] += wv * xr[t * g.s[2]];
                }
              }
            }
      }
    }
  free(rng);
  return true;
}

/* The exact integer fast path of ConvInteger and QLinearConv: x and w
 * arrive already shifted by their zero points as int32 (|value| <= 510, so
 * every product fits int32), and y[b,m,o] = bias[m] + Σ x·w is accumulated
 * modulo 2^32 in uint32 — the same bits as wrap_i32 of conv_ref's exact
 * double sum, in any order.  Loops as in conv_f32. */
static bool conv_int(const conv_geom *geo, const int32_t *x, const int32_t *w,
                     const int32_t *bias, uint32_t *y) {
  conv_geom g = *geo;
  bool pointwise = true;
  for (int j = 0; j < 3; j++)
    pointwise = pointwise && g.k[j] == 1 && g.s[j] == 1 && g.pb[j] == 0 &&
                g.out[j] == g.in[j];
  if (pointwise) { /* 1x1: one long row per plane */
    g.out[2] = g.in[2] = geo_size(geo->in);
    g.out[0] = g.out[1] = g.in[0] = g.in[1] = 1;
  }
  int64_t *rng = tap_ranges(&g, g.out, g.in);
  if (!rng) return false;
  const int64_t *r0 = rng, *r1 = r0 + 2 * g.k[0], *r2 = r1 + 2 * g.k[1];
  int64_t cg = g.c / g.group, mg = g.m / g.group;
  int64_t isz = geo_size(g.in), osz = geo_size(g.out), ksz = geo_size(g.k);
  for (int64_t b = 0; b < g.batch; b++)
    for (int64_t m = 0; m < g.m; m++) {
      uint32_t *yp = y + (b * g.m + m) * osz;
      uint32_t bv = bias ? (uint32_t)bias[m] : 0u;
      for (int64_t i = 0; i < osz; i++) yp[i] = bv;
      for (int64_t ci = 0; ci < cg; ci++) {
        const int32_t *xp = x + (b * g.c + m / mg * cg + ci) * isz;
        const int32_t *wp = w + (m * cg + ci) * ksz;
        for (int64_t k0 = 0; k0 < g.k[0]; k0++)
          for (int64_t k1 = 0; k1 < g.k[1]; k1++)
            for (int64_t k2 = 0; k2 < g.k[2]; k2++) {
              int32_t wv = wp[(k0 * g.k[1] + k1) * g.k[2] + k2];
              int64_t lo = r2[2 * k2], len = r2[2 * k2 + 1] - lo;
              int64_t off = lo * g.s[2] + k2 * g.d[2] - g.pb[2];
              if (len <= 0 || wv == 0) continue;
              for (int64_t o0 = r0[2 * k0]; o0 < r0[2 * k0 + 1]; o0++) {
                int64_t i0 = o0 * g.s[0] + k0 * g.d[0] - g.pb[0];
                for (int64_t o1 = r1[2 * k1]; o1 < r1[2 * k1 + 1]; o1++) {
                  int64_t i1 = o1 * g.s[1] + k1 * g.d[1] - g.pb[1];
                  uint32_t *restrict yr =
                      yp + (o0 * g.out[1] + o1) * g.out[2] + lo;
                  const int32_t *restrict xr =
                      xp + (i0 * g.in[1] + i1) * g.in[2] + off;
                  if (g.s[2] == 1)
                    for (int64_t t = 0; t < len; t++)
                      yr[t] += (uint32_t)(wv * xr[t]);
                  else
                    for (int64_t t = 0; t < len; t++)
                      yr[t] += (uint32_t)(wv * xr[t * g.s[2]]);
                }
              }
            }
      }
    }
  free(rng);
  return true;
}

/* ConvTranspose: scatters each input element through the kernel. */
static bool conv_transpose_f64(const conv_geom *g, const double *x,
                               const double *w, const double *bias,
                               double *y) {
  int64_t *rng = tap_ranges(g, g->in, g->out);
  if (!rng) return false;
  const int64_t *r0 = rng, *r1 = r0 + 2 * g->k[0], *r2 = r1 + 2 * g->k[1];
  int64_t cg = g->c / g->group, mg = g->m / g->group;
  int64_t isz = geo_size(g->in), osz = geo_size(g->out), ksz = geo_size(g->k);
  for (int64_t b = 0; b < g->batch; b++)
    for (int64_t m = 0; m < g->m; m++) {
      double *yp = y + (b * g->m + m) * osz;
      for (int64_t i = 0; i < osz; i++) yp[i] = bias ? bias[m] : 0.0;
      for (int64_t ci = 0; ci < cg; ci++) {
        int64_t c = m / mg * cg + ci;
        const double *xp = x + (b * g->c + c) * isz;
        const double *wp = w + (c * mg + m % mg) * ksz;
        for (int64_t k0 = 0; k0 < g->k[0]; k0++)
          for (int64_t k1 = 0; k1 < g->k[1]; k1++)
            for (int64_t k2 = 0; k2 < g->k[2]; k2++) {
              double wv = wp[(k0 * g->k[1] + k1) * g->k[2] + k2];
              int64_t lo = r2[2 * k2], hi = r2[2 * k2 + 1];
              int64_t off = k2 * g->d[2] - g->pb[2];
              for (int64_t i0 = r0[2 * k0]; i0 < r0[2 * k0 + 1]; i0++) {
                int64_t o0 = i0 * g->s[0] + k0 * g->d[0] - g->pb[0];
                for (int64_t i1 = r1[2 * k1]; i1 < r1[2 * k1 + 1]; i1++) {
                  int64_t o1 = i1 * g->s[1] + k1 * g->d[1] - g->pb[1];
                  double *yr = yp + (o0 * g->out[1] + o1) * g->out[2];
                  const double *xr = xp + (i0 * g->in[1] + i1) * g->in[2];
                  for (int64_t i2 = lo; i2 < hi; i2++)
                    yr[i2 * g->s[2] + off] += wv * xr[i2];
                }
              }
            }
      }
    }
  free(rng);
  return true;
}

/*===------------------------------------------------------------------===*/
/* Loading and storing                                                     */
/*===------------------------------------------------------------------===*/

static double load_num(const ir_value *v, size_t i) {
  const ir_dtype_info *t = ir_dtype_get(v->dtype);
  return t && t->is_float ? ir_load_f64(v->dtype, v->data, i)
                          : (double)ir_load_i64(v->dtype, v->data, i);
}

/* A malloc'd double copy of |v| minus a zero point: zp[0] when nzp is 1,
 * else zp[(i / block) % nzp] (one per output channel of the weights). */
static double *load_f64(const ir_value *v, const double *zp, int64_t nzp,
                        int64_t block) {
  size_t count = ir_shape_numel(&v->shape);
  double *d = malloc((count ? count : 1) * sizeof *d);
  if (!d) return NULL;
  if (v->dtype == IR_F32 && !zp) {
    const float *f = v->data;
    for (size_t i = 0; i < count; i++) d[i] = f[i];
    return d;
  }
  for (size_t i = 0; i < count; i++) {
    double z = !zp ? 0.0 : nzp == 1 ? zp[0] : zp[(int64_t)i / block % nzp];
    d[i] = load_num(v, i) - z;
  }
  return d;
}

/* Up to |cap| values of a scale or zero-point input; absent = one zero. */
static ingot_status quant_vec(const ir_node *n, const ir_value *in, int nin,
                              int idx, int64_t cap, double *out,
                              int64_t *count) {
  if (!ref_has(in, nin, idx)) {
    out[0] = 0.0;
    *count = 1;
    return NULL;
  }
  size_t k = ir_shape_numel(&in[idx].shape);
  if (!ir_shape_is_static(&in[idx].shape) || (k != 1 && k != (size_t)cap))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d must have 1%s element%s, not %zu", idx,
                         cap > 1 ? " or one per output channel" : "",
                         cap > 1 ? "s" : "", k);
  if (!in[idx].data) return ir_needs_value(n, idx);
  for (size_t i = 0; i < k; i++) out[i] = load_num(&in[idx], i);
  *count = (int64_t)k;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Shape inference                                                         */
/*===------------------------------------------------------------------===*/

static const ir_dtype conv_float_types[] = {IR_F32, IR_F64, IR_F16, IR_BF16,
                                            IR_DT_UNDEF};
static const ir_dtype conv_q_types[] = {IR_U8, IR_I8, IR_DT_UNDEF};
static const ir_dtype conv_scale_types[] = {IR_F32, IR_F64, IR_F16,
                                            IR_DT_UNDEF};
static const ir_dtype conv_i32[] = {IR_I32, IR_DT_UNDEF};

/* Bias (or per-channel quantisation input) |idx| holds |m| values. */
static ingot_status check_per_channel(const ir_node *n, const ir_value *in,
                                      int nin, int idx, int64_t m,
                                      bool allow_scalar) {
  if (!ref_has(in, nin, idx)) return NULL;
  const ir_shape *s = &in[idx].shape;
  char buf[96];
  if (!ir_shape_is_static(s) || m < 0) return NULL;
  size_t k = ir_shape_numel(s);
  bool ok = allow_scalar
                ? s->rank <= 1 && (k == (size_t)m || k == 1)
                : s->rank == 1 && k == (size_t)m;
  if (!ok)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d has shape %s; expected %s%lld values", idx,
                         ir_shape_str(s, buf, sizeof buf),
                         allow_scalar ? "1 or " : "", (long long)m);
  return NULL;
}

static ingot_status check_scalar(const ir_node *n, const ir_value *in,
                                 int nin, int idx) {
  if (!ref_has(in, nin, idx) || !ir_shape_is_static(&in[idx].shape))
    return NULL;
  if (ir_shape_numel(&in[idx].shape) != 1 || in[idx].shape.rank > 1) {
    char buf[96];
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d must be a scalar, has shape %s", idx,
                         ir_shape_str(&in[idx].shape, buf, sizeof buf));
  }
  return NULL;
}

ingot_status ref_infer_conv(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  (void)nout;
  conv_geom geo;
  ir_shape ys;
  ir_dtype yt;
  int wi = n->op == IR_OP_QLINEAR_CONV ? 3 : 1;
  INGOT_RETURN_IF_ERROR(conv_shape(n, &in[0].shape, &in[wi].shape, &geo, &ys));
  int64_t m = ys.dims[1];
  switch (n->op) {
  case IR_OP_CONV_INTEGER:
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, conv_q_types));
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 1, conv_q_types));
    if (ref_has(in, nin, 2))
      INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 2));
    if (ref_has(in, nin, 3))
      INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 1, 3));
    INGOT_RETURN_IF_ERROR(check_scalar(n, in, nin, 2));
    INGOT_RETURN_IF_ERROR(check_per_channel(n, in, nin, 3, m, true));
    yt = IR_I32;
    break;
  case IR_OP_QLINEAR_CONV:
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, conv_q_types));
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 3, conv_q_types));
    for (int i = 1; i <= 6; i++) { /* x_scale, w_scale, y_scale */
      if (i != 1 && i != 4 && i != 6) continue;
      if (!ref_has(in, nin, i))
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "input %d (a scale) is required", i);
      INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, i, conv_scale_types));
    }
    if (ref_has(in, nin, 2))
      INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 2));
    if (ref_has(in, nin, 5))
      INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 3, 5));
    if (!ref_has(in, nin, 7))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input 7 (y_zero_point) is required: it gives "
                           "the output type");
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 7, conv_q_types));
    for (int i = 1; i <= 7; i++)
      if (i != 3 && i != 4 && i != 5)
        INGOT_RETURN_IF_ERROR(check_scalar(n, in, nin, i));
    INGOT_RETURN_IF_ERROR(check_per_channel(n, in, nin, 4, m, true));
    INGOT_RETURN_IF_ERROR(check_per_channel(n, in, nin, 5, m, true));
    INGOT_RETURN_IF_ERROR(ref_check_scale_values(n, in, nin, 1, "x_scale"));
    INGOT_RETURN_IF_ERROR(ref_check_scale_values(n, in, nin, 4, "w_scale"));
    INGOT_RETURN_IF_ERROR(ref_check_scale_values(n, in, nin, 6, "y_scale"));
    if (ref_has(in, nin, 8)) {
      INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 8, conv_i32));
      INGOT_RETURN_IF_ERROR(check_per_channel(n, in, nin, 8, m, false));
    }
    yt = in[7].dtype;
    break;
  default: /* Conv */
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, conv_float_types));
    INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 1));
    if (ref_has(in, nin, 2)) {
      INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 2));
      INGOT_RETURN_IF_ERROR(check_per_channel(n, in, nin, 2, m, false));
    }
    yt = in[0].dtype;
    break;
  }
  out[0].dtype = yt;
  out[0].shape = ys;
  return NULL;
}

ingot_status ref_infer_conv_transpose(const ir_node *n, const ir_value *in,
                                      int nin, ir_value *out, int nout) {
  (void)nout;
  conv_geom geo;
  ir_shape ys;
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, conv_float_types));
  INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 1));
  INGOT_RETURN_IF_ERROR(conv_shape(n, &in[0].shape, &in[1].shape, &geo, &ys));
  if (ref_has(in, nin, 2)) {
    INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 2));
    INGOT_RETURN_IF_ERROR(check_per_channel(n, in, nin, 2, ys.dims[1], false));
  }
  out[0].dtype = in[0].dtype;
  out[0].shape = ys;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Evaluation                                                              */
/*===------------------------------------------------------------------===*/

static ingot_status oom(const ir_node *n) {
  return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                       "out of memory for the convolution's buffers");
}

/* A Conv computing in bf16 (ir_node.compute, set by passes/quantize.c):
 * X and W rounded to bfloat16, nearest even (ir_f32_to_bf16), as the
 * bf16 MatMul does (ir/ref/matmul.c).  Their products are exact in double
 * and conv_ref sums them in double; the bias is added unrounded. */
static void round_bf16(double *v, size_t count) {
  for (size_t i = 0; i < count; i++)
    v[i] = ir_bf16_to_f32(ir_f32_to_bf16((float)v[i]));
}

/* Runs the double kernel (|transposed| or forward) on x − zx and w − zw
 * and returns the result in the malloc'd *out_y. */
static ingot_status run_f64(const ir_node *n, const conv_geom *g,
                            const ir_value *x, const double *zx,
                            const ir_value *w, const double *zw, int64_t nzw,
                            const ir_value *bias, double **out_y) {
  size_t ny = (size_t)(g->batch * g->m * geo_size(g->out));
  int64_t wblock = ir_shape_numel(&w->shape) / (size_t)(g->m ? g->m : 1);
  double *xd = load_f64(x, zx, 1, 1);
  double *wd = load_f64(w, zw, nzw, wblock ? wblock : 1);
  double *bd = bias ? load_f64(bias, NULL, 1, 1) : NULL;
  double *yd = malloc((ny ? ny : 1) * sizeof *yd);
  bool ok = xd && wd && yd && (!bias || bd);
  if (ok && n->compute == IR_BF16) { /* docs/accuracy.md "bf16" */
    round_bf16(xd, ir_shape_numel(&x->shape));
    round_bf16(wd, ir_shape_numel(&w->shape));
  }
  if (ok) {
    if (n->op == IR_OP_CONV_TRANSPOSE)
      ok = conv_transpose_f64(g, xd, wd, bd, yd);
    else
      conv_ref(g, xd, wd, bd, yd);
  }
  free(xd);
  free(wd);
  free(bd);
  if (!ok) {
    free(yd);
    return oom(n);
  }
  *out_y = yd;
  return NULL;
}


/* Whether run_int gives exactly run_f64's bits: 8-bit x and w, int32 (or
 * no) bias, integral zero points within 8-bit range (so |x−zx|, |w−zw| <=
 * 510 and products fit int32) and a reduction short enough that conv_ref's
 * double sum is exact. */
static bool int_fast_ok(const conv_geom *g, const ir_value *x, double zx,
                        const ir_value *w, const double *zw, int64_t nzw,
                        const ir_value *bias) {
  /* INGOT_REF_CONV_GENERIC (set by tests/quantized) sends ConvInteger and
   * QLinearConv through the generic path, so the fast integer path can be
   * compared with it bit for bit.  No global state: the environment. */
  if (getenv("INGOT_REF_CONV_GENERIC")) return false;
  if ((x->dtype != IR_U8 && x->dtype != IR_I8) ||
      (w->dtype != IR_U8 && w->dtype != IR_I8) ||
      (bias && bias->dtype != IR_I32))
    return false;
  if (g->group < 1 || g->c / g->group * geo_size(g->k) > ((int64_t)1 << 30))
    return false;
  for (int64_t i = -1; i < nzw; i++) {
    double z = i < 0 ? zx : zw[i];
    if (!(z >= -255.0 && z <= 255.0) || z != (double)(int64_t)z) return false;
  }
  return true;
}

/* |v| (uint8 or int8) minus its zero point (as load_f64) as int32. */
static int32_t *load_i32(const ir_value *v, const double *zp, int64_t nzp,
                         int64_t block) {
  size_t count = ir_shape_numel(&v->shape);
  int32_t *d = malloc((count ? count : 1) * sizeof *d);
  if (!d) return NULL;
  const uint8_t *u = v->data;
  const int8_t *s = v->data;
  for (size_t i = 0; i < count;) {
    int64_t c = nzp == 1 ? 0 : (int64_t)i / block % nzp;
    int32_t z = (int32_t)zp[c];
    size_t end =
        nzp == 1 ? count : ((size_t)i / (size_t)block + 1) * (size_t)block;
    if (end > count) end = count;
    if (v->dtype == IR_U8)
      for (; i < end; i++) d[i] = (int32_t)u[i] - z;
    else
      for (; i < end; i++) d[i] = (int32_t)s[i] - z;
  }
  return d;
}

/* run_f64's integer twin (forward only): the malloc'd *out_y holds the
 * accumulators modulo 2^32. */
static ingot_status run_int(const ir_node *n, const conv_geom *g,
                            const ir_value *x, double zx, const ir_value *w,
                            const double *zw, int64_t nzw,
                            const ir_value *bias, uint32_t **out_y) {
  size_t ny = (size_t)(g->batch * g->m * geo_size(g->out));
  int64_t wblock = ir_shape_numel(&w->shape) / (size_t)(g->m ? g->m : 1);
  int32_t *xd = load_i32(x, &zx, 1, 1);
  int32_t *wd = load_i32(w, zw, nzw, wblock ? wblock : 1);
  uint32_t *yd = malloc((ny ? ny : 1) * sizeof *yd);
  bool ok = xd && wd && yd &&
            conv_int(g, xd, wd, bias ? bias->data : NULL, yd);
  free(xd);
  free(wd);
  if (!ok) {
    free(yd);
    return oom(n);
  }
  *out_y = yd;
  return NULL;
}

static ingot_status eval_float(const ir_node *n, const ir_value *in, int nin,
                               ir_value *out) {
  conv_geom g;
  ir_shape ys;
  INGOT_RETURN_IF_ERROR(conv_shape(n, &in[0].shape, &in[1].shape, &g, &ys));
  const ir_value *bias = ref_has(in, nin, 2) ? &in[2] : NULL;
  if (n->op == IR_OP_CONV && in[0].dtype == IR_F32 &&
      n->compute != IR_BF16) {
    if (!conv_f32(&g, in[0].data, in[1].data, bias ? bias->data : NULL,
                  out[0].data))
      return oom(n);
    return NULL;
  }
  double *y;
  INGOT_RETURN_IF_ERROR(
      run_f64(n, &g, &in[0], NULL, &in[1], NULL, 1, bias, &y));
  size_t ny = ir_shape_numel(&out[0].shape);
  for (size_t i = 0; i < ny; i++)
    ir_store_f64(out[0].dtype, out[0].data, i, y[i]);
  free(y);
  return NULL;
}

ingot_status ref_eval_conv(const ir_node *n, const ir_value *in, int nin,
                           ir_value *out, int nout) {
  (void)nout;
  return eval_float(n, in, nin, out);
}

ingot_status ref_eval_conv_transpose(const ir_node *n, const ir_value *in,
                                     int nin, ir_value *out, int nout) {
  (void)nout;
  return eval_float(n, in, nin, out);
}

/* int32 with two's-complement wrap, as an int32 accumulator would hold. */
static int32_t wrap_i32(double acc) {
  return (int32_t)(uint32_t)(uint64_t)(int64_t)acc;
}

ingot_status ref_eval_conv_integer(const ir_node *n, const ir_value *in,
                                   int nin, ir_value *out, int nout) {
  (void)nout;
  conv_geom g;
  ir_shape ys;
  INGOT_RETURN_IF_ERROR(conv_shape(n, &in[0].shape, &in[1].shape, &g, &ys));
  double zx, *zw = malloc((size_t)(g.m ? g.m : 1) * sizeof *zw), *y = NULL;
  int64_t nzx, nzw;
  if (!zw) return oom(n);
  ingot_status s = quant_vec(n, in, nin, 2, 1, &zx, &nzx);
  if (!s) s = quant_vec(n, in, nin, 3, g.m, zw, &nzw);
  uint32_t *yi = NULL;
  bool fast = !s && int_fast_ok(&g, &in[0], zx, &in[1], zw, nzw, NULL);
  if (!s && fast) s = run_int(n, &g, &in[0], zx, &in[1], zw, nzw, NULL, &yi);
  if (!s && !fast) s = run_f64(n, &g, &in[0], &zx, &in[1], zw, nzw, NULL, &y);
  free(zw);
  if (s) return s;
  int32_t *yo = out[0].data;
  size_t ny = ir_shape_numel(&out[0].shape);
  for (size_t i = 0; i < ny; i++)
    yo[i] = fast ? (int32_t)yi[i] : wrap_i32(y[i]);
  free(y);
  free(yi);
  return NULL;
}

/* DESIGN.md §5 requantisation of one accumulator: float32 product, then
 * the shared rounding step (no FMA: the product is its own expression). */
static int64_t requantise(int32_t acc, float mult, int64_t zy, int64_t lo,
                          int64_t hi) {
  float v = (float)acc * mult;
  return ref_saturate_rne(v, zy, lo, hi);
}

ingot_status ref_eval_qlinear_conv(const ir_node *n, const ir_value *in,
                                   int nin, ir_value *out, int nout) {
  (void)nout;
  conv_geom g;
  ir_shape ys;
  INGOT_RETURN_IF_ERROR(conv_shape(n, &in[0].shape, &in[3].shape, &g, &ys));
  size_t mcap = (size_t)(g.m ? g.m : 1);
  double sx, zx, sy, zy, *sw = malloc(mcap * sizeof *sw);
  double *zw = malloc(mcap * sizeof *zw), *y = NULL;
  int64_t nsx, nzx, nsw, nzw, nsy, nzy;
  ingot_status s = sw && zw ? NULL : oom(n);
  if (!s) s = quant_vec(n, in, nin, 1, 1, &sx, &nsx);
  if (!s) s = quant_vec(n, in, nin, 2, 1, &zx, &nzx);
  if (!s) s = quant_vec(n, in, nin, 4, g.m, sw, &nsw);
  if (!s) s = quant_vec(n, in, nin, 5, g.m, zw, &nzw);
  if (!s) s = quant_vec(n, in, nin, 6, 1, &sy, &nsy);
  if (!s) s = quant_vec(n, in, nin, 7, 1, &zy, &nzy);
  const ir_value *bias = ref_has(in, nin, 8) ? &in[8] : NULL;
  uint32_t *yi = NULL;
  bool fast = !s && int_fast_ok(&g, &in[0], zx, &in[3], zw, nzw, bias);
  if (!s && fast) s = run_int(n, &g, &in[0], zx, &in[3], zw, nzw, bias, &yi);
  if (!s && !fast) s = run_f64(n, &g, &in[0], &zx, &in[3], zw, nzw, bias, &y);
  if (s) {
    free(sw);
    free(zw);
    return s;
  }
  ir_dtype yt = out[0].dtype;
  int64_t lo = yt == IR_U8 ? 0 : -128, hi = yt == IR_U8 ? 255 : 127;
  int64_t osz = geo_size(g.out);
  for (int64_t b = 0; b < g.batch; b++)
    for (int64_t m = 0; m < g.m; m++) {
      /* M[c] = s_x·s_w[c]/s_y in float32, in this order. */
      float mult = (float)sx * (float)sw[nsw == 1 ? 0 : m];
      mult = mult / (float)sy;
      size_t base = (size_t)((b * g.m + m) * osz);
      for (int64_t i = 0; i < osz; i++) {
        size_t e = base + (size_t)i;
        int32_t acc = fast ? (int32_t)yi[e] : wrap_i32(y[e]);
        ir_store_i64(yt, out[0].data, e,
                     requantise(acc, mult, (int64_t)zy, lo, hi));
      }
    }
  free(sw);
  free(zw);
  free(y);
  free(yi);
  return NULL;
}
