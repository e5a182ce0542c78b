/* resize.c — Resize (opsets 10..17) and Upsample (7, 9).
 *
 * Forms.  Resize-11+ takes (X, roi, scales, sizes); Resize-10 and Upsample
 * take (X, scales), Upsample-7 its scales as an attribute, which parse turns
 * into the constant float input 1 so every legacy node reads (X, scales).
 * The legacy forms (params->legacy) use asymmetric coordinates and the
 * pre-opset-11 nearest rule: floor when upsampling, ceil when downsampling.
 *
 * Shape.  Output dim = floor(in * scale) (times roi_end - roi_start for
 * tf_crop_and_resize), or sizes[d] when sizes is given; the scale used for
 * coordinates is then sizes[d] / in.
 *
 * Evaluation follows the ONNX reference (interpolate_nd in the backend test
 * generator): every dim, including N and C, maps each output index to a
 * source coordinate x, then takes up to four taps around it with weights
 * from the mode (nearest 1, linear 2, cubic 4), clamping tap indices to the
 * edge.  The mapping is separable, so linear and cubic run one dim at a
 * time, innermost first (the reference's nesting order), over double
 * buffers with a contiguous inner loop; dims that map onto themselves are
 * skipped.  Nearest gathers raw elements instead, so it is exact for every
 * dtype.  tf_crop_and_resize writes extrapolation_value where x falls
 * outside [0, in - 1] in any dim.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

static ingot_status oom(const ir_node *n) {
  return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

static bool value_is_empty(const ir_value *v) {
  return ir_shape_is_static(&v->shape) && ir_shape_numel(&v->shape) == 0;
}

/*===------------------------------------------------------------------===*/
/* Parse                                                                   */
/*===------------------------------------------------------------------===*/

typedef struct name_code {
  const char *name;
  int code;
} name_code;

static const name_code modes[] = {
    {"nearest", IR_RESIZE_NEAREST},
    {"linear", IR_RESIZE_LINEAR},
    {"bilinear", IR_RESIZE_LINEAR}, /* Upsample before opset 7 spelling */
    {"cubic", IR_RESIZE_CUBIC},
    {NULL, 0}};
static const name_code coords[] = {
    {"half_pixel", IR_COORD_HALF_PIXEL},
    {"asymmetric", IR_COORD_ASYMMETRIC},
    {"pytorch_half_pixel", IR_COORD_PYTORCH_HALF_PIXEL},
    {"tf_half_pixel_for_nn", IR_COORD_TF_HALF_PIXEL_FOR_NN},
    {"align_corners", IR_COORD_ALIGN_CORNERS},
    {"tf_crop_and_resize", IR_COORD_TF_CROP_AND_RESIZE},
    {NULL, 0}};
static const name_code nearests[] = {
    {"round_prefer_floor", IR_NEAREST_ROUND_PREFER_FLOOR},
    {"round_prefer_ceil", IR_NEAREST_ROUND_PREFER_CEIL},
    {"floor", IR_NEAREST_FLOOR},
    {"ceil", IR_NEAREST_CEIL},
    {NULL, 0}};

/* Reads string attribute |attr| and maps it through |table|. */
static ingot_status attr_enum(const ir_node *n, const char *attr,
                              const char *dflt, const name_code *table,
                              int *out) {
  const char *s;
  INGOT_RETURN_IF_ERROR(ir_attr_string(n, attr, dflt, &s));
  for (const name_code *t = table; t->name; t++) {
    if (strcmp(t->name, s) == 0) {
      *out = t->code;
      return NULL;
    }
  }
  return ir_node_error(n, INGOT_UNIMPLEMENTED,
                       "attribute '%s' value '%s' is not supported", attr, s);
}

ingot_status ref_parse_resize(ir_graph *g, ir_node_id nid) {
  static const char *const attrs_upsample7[] = {"mode", "scales", NULL};
  static const char *const attrs_legacy[] = {"mode", NULL};
  static const char *const attrs_resize[] = {
      "coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
      "extrapolation_value", "mode", "nearest_mode", NULL};
  ir_node *n = ref_node(g, nid);
  bool upsample = n->op == IR_OP_UPSAMPLE;
  bool legacy = upsample || n->opset < 11;
  const char *const *known = !legacy               ? attrs_resize
                             : upsample && n->opset < 9 ? attrs_upsample7
                                                        : attrs_legacy;
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));

  int mode, coord = IR_COORD_HALF_PIXEL, nearest = IR_NEAREST_ROUND_PREFER_FLOOR;
  float cubic_a = -0.75f, extrapolation = 0.0f;
  int64_t exclude = 0;
  INGOT_RETURN_IF_ERROR(attr_enum(n, "mode", "nearest", modes, &mode));
  if (legacy) {
    if (mode == IR_RESIZE_CUBIC)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "mode 'cubic' needs Resize from opset 11");
    coord = IR_COORD_ASYMMETRIC;
  } else {
    INGOT_RETURN_IF_ERROR(attr_enum(n, "coordinate_transformation_mode",
                                    "half_pixel", coords, &coord));
    INGOT_RETURN_IF_ERROR(attr_enum(n, "nearest_mode", "round_prefer_floor",
                                    nearests, &nearest));
    INGOT_RETURN_IF_ERROR(ir_attr_float(n, "cubic_coeff_a", -0.75f, &cubic_a));
    INGOT_RETURN_IF_ERROR(ir_attr_int(n, "exclude_outside", 0, &exclude));
    INGOT_RETURN_IF_ERROR(
        ir_attr_float(n, "extrapolation_value", 0.0f, &extrapolation));
    if (exclude != 0 && exclude != 1)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "attribute 'exclude_outside' must be 0 or 1, not "
                           "%lld",
                           (long long)exclude);
  }

  if (upsample && n->opset < 9) { /* scales attribute -> input 1 */
    float scales[IR_MAX_RANK];
    int k;
    INGOT_RETURN_IF_ERROR(
        ir_attr_floats(n, "scales", scales, IR_MAX_RANK, &k));
    if (k <= 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "attribute 'scales' is required");
    if (n->n_in > 1 && n->in[1])
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "opset %d takes scales as an attribute, not as an "
                           "input",
                           n->opset);
    ir_value v = {.dtype = IR_F32,
                  .shape = {.rank = 1, .dims = {k}},
                  .data = scales,
                  .borrowed = true};
    INGOT_RETURN_IF_ERROR(ir_node_set_const_input(g, nid, 1, &v));
    n = ref_node(g, nid);
  } else if (legacy && (n->n_in < 2 || !n->in[1])) {
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input 1 (scales) is required");
  } else if (legacy && n->n_in > 2) {
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "opset %d takes only X and scales", n->opset);
  }

  ir_p_resize *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return oom(n);
  p->mode = (ir_resize_mode)mode;
  p->coord = (ir_resize_coord)coord;
  p->nearest = (ir_resize_nearest)nearest;
  p->cubic_coeff_a = cubic_a;
  p->exclude_outside = exclude != 0;
  p->extrapolation_value = extrapolation;
  p->legacy = legacy;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Shape                                                                   */
/*===------------------------------------------------------------------===*/

typedef ref_resize_plan rs_plan;

ingot_status ref_resize_plan_make(const ir_node *n, const ir_value *in,
                                  int nin, ref_resize_plan *pl) {
  const ir_p_resize *p = n->params;
  const ir_shape *x = &in[0].shape;
  int rank = x->rank;
  int si = p->legacy ? 1 : 2, zi = p->legacy ? -1 : 3;
  bool has_scales = ref_has(in, nin, si) && !value_is_empty(&in[si]);
  bool has_sizes =
      zi > 0 && ref_has(in, nin, zi) && !value_is_empty(&in[zi]);
  memset(pl, 0, sizeof *pl);
  pl->out.rank = rank;

  if (has_scales && has_sizes)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "only one of scales and sizes may be given");
  if (!has_scales && !has_sizes)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         p->legacy ? "input 1 (scales) is required"
                                   : "one of scales and sizes is required");

  /* roi: only read by tf_crop_and_resize; absent means the whole input */
  for (int d = 0; d < rank; d++) {
    pl->roi[d] = 0.0;
    pl->roi[rank + d] = 1.0;
  }
  bool crop = p->coord == IR_COORD_TF_CROP_AND_RESIZE;
  if (crop && ref_has(in, nin, 1) && !value_is_empty(&in[1])) {
    int k;
    INGOT_RETURN_IF_ERROR(
        ref_read_floats(n, in, 1, pl->roi, 2 * IR_MAX_RANK, &k));
    if (k != 2 * rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "roi has %d values; a rank-%d input needs %d", k,
                           rank, 2 * rank);
  }

  if (has_sizes) {
    int64_t sizes[IR_MAX_RANK];
    int k;
    INGOT_RETURN_IF_ERROR(ref_read_ints(n, in, zi, sizes, IR_MAX_RANK, &k));
    if (k != rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "sizes has %d values for a rank-%d input", k, rank);
    pl->from_sizes = true;
    for (int d = 0; d < rank; d++) {
      if (sizes[d] < 0)
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "sizes[%d] = %lld is negative", d,
                             (long long)sizes[d]);
      pl->out.dims[d] = sizes[d];
      pl->scale[d] =
          x->dims[d] > 0 ? (double)sizes[d] / (double)x->dims[d] : 1.0;
    }
  } else {
    double scales[IR_MAX_RANK];
    int k;
    INGOT_RETURN_IF_ERROR(ref_read_floats(n, in, si, scales, IR_MAX_RANK, &k));
    if (k != rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "scales has %d values for a rank-%d input", k,
                           rank);
    for (int d = 0; d < rank; d++) {
      double s = scales[d];
      if (!(s > 0) || isinf(s))
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "scales[%d] = %g must be positive and finite", d,
                             s);
      pl->scale[d] = s;
      if (x->dims[d] < 0) {
        pl->out.dims[d] = -1;
        continue;
      }
      double len = (double)x->dims[d] * s;
      if (crop) len *= pl->roi[rank + d] - pl->roi[d];
      if (!(len < 9.0e15))
        return ir_node_error(n, INGOT_OUT_OF_RANGE,
                             "output dim %d would be too large", d);
      pl->out.dims[d] = len > 0 ? (int64_t)floor(len) : 0;
    }
  }
  for (int d = 0; d < rank; d++)
    if (x->dims[d] == 0 && pl->out.dims[d] > 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "cannot resize empty dim %d to %lld", d,
                           (long long)pl->out.dims[d]);
  return NULL;
}

ingot_status ref_infer_resize(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  (void)nout;
  const ir_dtype_info *info = ir_dtype_get(in[0].dtype);
  if (!info || !info->size)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "input 0 has dtype %s, which this op does not "
                         "support",
                         ir_dtype_name(in[0].dtype));
  if (n->params &&
      ((const ir_p_resize *)n->params)->mode != IR_RESIZE_NEAREST &&
      !info->is_float && !info->is_int)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "linear and cubic modes need a numeric input, not "
                         "%s",
                         ir_dtype_name(in[0].dtype));
  rs_plan pl;
  INGOT_RETURN_IF_ERROR(ref_resize_plan_make(n, in, nin, &pl));
  out[0].dtype = in[0].dtype;
  out[0].shape = pl.out;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Evaluation                                                              */
/*===------------------------------------------------------------------===*/

typedef ref_resize_map dim_map;

static int64_t clamp_idx(int64_t i, int64_t len) {
  return i < 0 ? 0 : i >= len ? len - 1 : i;
}

/* Keys cubic convolution kernel (a = cubic_coeff_a) at distance |t|. */
static double cubic_w(double t, double a) {
  t = fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/* Source coordinate of output index |o| along dim |d|. */
static double src_coord(const ir_p_resize *p, const rs_plan *pl, int rank,
                        int d, int64_t o, int64_t in_len, int64_t out_len,
                        bool *outside) {
  double s = pl->scale[d], x = (double)o;
  *outside = false;
  switch (p->coord) {
  case IR_COORD_HALF_PIXEL:
    return (x + 0.5) / s - 0.5;
  case IR_COORD_PYTORCH_HALF_PIXEL:
    return out_len > 1 ? (x + 0.5) / s - 0.5 : 0.0;
  case IR_COORD_TF_HALF_PIXEL_FOR_NN:
    return (x + 0.5) / s;
  case IR_COORD_ALIGN_CORNERS: {
    /* The resized length is in * scale as a real number, as the ONNX
     * reference computes it (it equals sizes[d] when sizes is given). */
    double len = pl->from_sizes ? (double)out_len : s * (double)in_len;
    return len == 1.0 ? 0.0 : x * (double)(in_len - 1) / (len - 1.0);
  }
  case IR_COORD_TF_CROP_AND_RESIZE: {
    double start = pl->roi[d], end = pl->roi[rank + d];
    double span = (double)(in_len - 1), r;
    if (out_len > 1)
      r = start * span + x * (end - start) * span / (double)(out_len - 1);
    else
      r = 0.5 * (start + end) * span;
    *outside = r < 0 || r > span;
    return r;
  }
  case IR_COORD_ASYMMETRIC:
  default:
    return x / s;
  }
}

ingot_status ref_resize_map_make(const ir_node *n, const ref_resize_plan *pl,
                                 int rank, int d, int64_t in_len,
                                 ref_resize_map *m) {
  const ir_p_resize *p = n->params;
  int64_t out_len = pl->out.dims[d];
  m->in_len = in_len;
  m->out_len = out_len;
  m->identity = in_len == out_len;
  size_t cap = (size_t)(out_len ? out_len : 1) * 4;
  m->idx = malloc(cap * sizeof *m->idx);
  m->w = malloc(cap * sizeof *m->w);
  m->ntap = malloc((size_t)(out_len ? out_len : 1));
  if (!m->idx || !m->w || !m->ntap) return oom(n);

  for (int64_t o = 0; o < out_len; o++) {
    int64_t *idx = m->idx + o * 4;
    double *w = m->w + o * 4;
    bool outside;
    double x = src_coord(p, pl, rank, d, o, in_len, out_len, &outside);
    if (outside) {
      m->ntap[o] = 0;
      m->identity = false;
      continue;
    }
    double fl = floor(x), t = x - fl;
    int64_t i0 = (int64_t)fl;
    int k = 0;
    if (p->mode == IR_RESIZE_NEAREST) {
      int64_t i = i0;
      if (p->legacy)
        i = pl->scale[d] < 1.0 ? (int64_t)ceil(x) : i0;
      else if (t > 0) {
        switch (p->nearest) {
        case IR_NEAREST_ROUND_PREFER_FLOOR: i = t <= 0.5 ? i0 : i0 + 1; break;
        case IR_NEAREST_ROUND_PREFER_CEIL: i = t < 0.5 ? i0 : i0 + 1; break;
        case IR_NEAREST_FLOOR: i = i0; break;
        case IR_NEAREST_CEIL: i = i0 + 1; break;
        }
      }
      idx[k] = clamp_idx(i, in_len);
      w[k++] = 1.0;
    } else if (p->mode == IR_RESIZE_LINEAR) {
      idx[k] = clamp_idx(i0, in_len);
      w[k++] = 1.0 - t;
      if (t > 0) {
        idx[k] = clamp_idx(i0 + 1, in_len);
        w[k++] = t;
      }
    } else {
      double a = p->cubic_coeff_a, sum = 0;
      for (int j = 0; j < 4; j++) {
        int64_t i = i0 - 1 + j;
        double wj = cubic_w(t + 1 - j, a);
        if (p->exclude_outside && (i < 0 || i >= in_len)) wj = 0;
        if (wj == 0) continue;
        idx[k] = clamp_idx(i, in_len);
        w[k++] = wj;
        sum += wj;
      }
      if (p->exclude_outside && sum != 0)
        for (int j = 0; j < k; j++) w[j] /= sum;
      if (k == 0) { /* cannot happen for x inside the input; be safe */
        idx[k] = clamp_idx(i0, in_len);
        w[k++] = 1.0;
      }
    }
    m->ntap[o] = (uint8_t)k;
    if (k != 1 || idx[0] != o || w[0] != 1.0) m->identity = false;
  }
  return NULL;
}

void ref_resize_map_free(ref_resize_map *m) {
  free(m->idx);
  free(m->w);
  free(m->ntap);
}

/* Nearest: every output element is one input element (or the
 * extrapolation value), copied as raw bytes. */
static void eval_nearest(const ir_value *x, ir_value *y, const dim_map *maps,
                         float extrapolation) {
  int rank = x->shape.rank;
  size_t es = ir_dtype_get(x->dtype)->size, onum = ir_shape_numel(&y->shape);
  int64_t istr[IR_MAX_RANK], oidx[IR_MAX_RANK] = {0};
  ref_strides(&x->shape, istr);
  const char *src = x->data;
  char *dst = y->data;
  for (size_t o = 0; o < onum; o++) {
    int64_t off = 0;
    bool outside = false;
    for (int d = 0; d < rank; d++) {
      const dim_map *m = &maps[d];
      if (!m->ntap[oidx[d]]) {
        outside = true;
        break;
      }
      off += m->idx[oidx[d] * 4] * istr[d];
    }
    if (outside)
      ir_store_f64(y->dtype, dst, o, extrapolation);
    else
      memcpy(dst + o * es, src + (size_t)off * es, es);
    for (int d = rank - 1; d >= 0; d--) {
      if (++oidx[d] < y->shape.dims[d]) break;
      oidx[d] = 0;
    }
  }
}

/* Linear/cubic along one dim: |src| is [outer, in_len, inner], |dst|
 * [outer, out_len, inner]. */
static void resample_dim(const double *src, double *dst, int64_t outer,
                         int64_t inner, const dim_map *m,
                         double extrapolation) {
  for (int64_t a = 0; a < outer; a++) {
    const double *s = src + a * m->in_len * inner;
    for (int64_t o = 0; o < m->out_len; o++) {
      double *t = dst + (a * m->out_len + o) * inner;
      int k = m->ntap[o];
      if (k == 0) {
        for (int64_t i = 0; i < inner; i++) t[i] = extrapolation;
        continue;
      }
      for (int64_t i = 0; i < inner; i++) t[i] = 0;
      for (int j = 0; j < k; j++) {
        const double *row = s + m->idx[o * 4 + j] * inner;
        double w = m->w[o * 4 + j];
        for (int64_t i = 0; i < inner; i++) t[i] += w * row[i];
      }
    }
  }
}

static ingot_status eval_interp(const ir_node *n, const ir_value *x,
                                ir_value *y, const dim_map *maps,
                                double extrapolation) {
  int rank = x->shape.rank;
  size_t num = ir_shape_numel(&x->shape);
  double *cur = malloc((num ? num : 1) * sizeof *cur);
  if (!cur) return oom(n);
  if (x->dtype == IR_F32)
    for (size_t i = 0; i < num; i++) cur[i] = ((const float *)x->data)[i];
  else
    for (size_t i = 0; i < num; i++) cur[i] = ir_load_f64(x->dtype, x->data, i);

  ir_shape sh = x->shape; /* shape of |cur| */
  for (int d = rank - 1; d >= 0; d--) {
    if (maps[d].identity) continue;
    int64_t outer = 1, inner = 1;
    for (int e = 0; e < d; e++) outer *= sh.dims[e];
    for (int e = d + 1; e < rank; e++) inner *= sh.dims[e];
    sh.dims[d] = maps[d].out_len;
    size_t nn = ir_shape_numel(&sh);
    double *next = malloc((nn ? nn : 1) * sizeof *next);
    if (!next) {
      free(cur);
      return oom(n);
    }
    resample_dim(cur, next, outer, inner, &maps[d], extrapolation);
    free(cur);
    cur = next;
  }

  size_t onum = ir_shape_numel(&y->shape);
  if (y->dtype == IR_F32)
    for (size_t i = 0; i < onum; i++) ((float *)y->data)[i] = (float)cur[i];
  else
    for (size_t i = 0; i < onum; i++) ir_store_f64(y->dtype, y->data, i, cur[i]);
  free(cur);
  return NULL;
}

ingot_status ref_eval_resize(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  (void)nout;
  const ir_p_resize *p = n->params;
  const ir_value *x = &in[0];
  rs_plan pl;
  INGOT_RETURN_IF_ERROR(ref_resize_plan_make(n, in, nin, &pl));
  if (ir_shape_numel(&out[0].shape) == 0) return NULL;

  int rank = x->shape.rank;
  dim_map maps[IR_MAX_RANK];
  memset(maps, 0, sizeof maps);
  ingot_status st = NULL;
  for (int d = 0; d < rank && !st; d++)
    st = ref_resize_map_make(n, &pl, rank, d, x->shape.dims[d], &maps[d]);
  if (!st) {
    if (p->mode == IR_RESIZE_NEAREST)
      eval_nearest(x, &out[0], maps, p->extrapolation_value);
    else
      st = eval_interp(n, x, &out[0], maps, p->extrapolation_value);
  }
  for (int d = 0; d < rank; d++) ref_resize_map_free(&maps[d]);
  return st;
}
