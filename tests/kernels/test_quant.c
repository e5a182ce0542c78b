/* test_quant.c — the quantisation lowering (codegen/lower_quant.c) and
 * templates (kernels/generic/quant.c) against the reference interpreter,
 * through the real planner.
 *
 * QuantizeLinear (float32 and int32 in, uint8/int8 out, with and without a
 * zero point), DequantizeLinear (uint8, int8, int32 in), per tensor and
 * per axis (every axis, negative too), constant and run-time scales and
 * zero points; values on rounding ties, NaN, infinities and far out of
 * range; DynamicQuantizeLinear on random, all-positive, all-negative,
 * all-zero and NaN-holding inputs.
 * Tolerance: none — DESIGN.md §5 requires bit-exact agreement.
 */
#include "kt_graph.h"
#include "params.h"

/* A float32 tensor value (rank 0 or 1) as a constant, or as a graph input
 * when |runtime|. */
static ir_tensor_id tg_param(tg *t, ir_dtype dt, int rank, int64_t n,
                             const double *v, bool runtime) {
  ir_value c = {.dtype = dt, .shape = {rank, {n}}};
  CHECK_OK(ir_value_alloc(&c));
  for (int64_t i = 0; i < n; i++) {
    if (ir_dtype_traits[dt].is_float)
      ir_store_f64(dt, c.data, (size_t)i, v[i]);
    else
      ir_store_i64(dt, c.data, (size_t)i, (int64_t)v[i]);
  }
  ir_tensor_id id;
  if (runtime) {
    id = tg_value_input(t, c);
  } else {
    id = tg_const(t, &c);
    ir_value_free(&c);
  }
  return id;
}

/* Mixes special values into a float32 input. */
static void spice(tg *t, ir_value *v) {
  static const float special[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f,
                                  0.0f, -0.0f, 2.5f, -2.5f, 1e-30f};
  float *x = v->data;
  size_t n = ir_shape_numel(&v->shape);
  for (size_t i = 0; i < n; i++) {
    uint32_t r = tg_rnd(t) % 16;
    if (r < 10) x[i] = special[r];
    else if (r < 13) x[i] = (float)((int32_t)tg_rnd(t) % 100000) / 137.0f;
  }
}

/*===------------------------------------------------------------------===*/
/* Tests                                                                   */
/*===------------------------------------------------------------------===*/

static void test_linear(void) {
  for (int it = 0; it < 240; it++) {
    tg t;
    tg_init(&t, 11000u + (uint32_t)it);
    bool quant = it % 2 == 0;
    int rank = (int)tg_rnd_in(&t, 1, 4);
    int64_t dims[8];
    for (int d = 0; d < rank; d++) dims[d] = tg_rnd_in(&t, 1, 6);
    if (it % 7 == 0) dims[rank - 1] = tg_rnd_in(&t, 600, 9000); /* chunks */
    int axis = (int)tg_rnd_in(&t, -rank, rank - 1);
    int a = axis < 0 ? axis + rank : axis;
    bool per_axis = (it / 2) % 3 == 1, scalar = (it / 2) % 3 == 0;
    int64_t ch = per_axis ? dims[a] : 1;
    static const ir_dtype qt[3] = {IR_U8, IR_I8, IR_I32};
    ir_dtype xt = quant ? ((it / 6) % 3 == 2 ? IR_I32 : IR_F32)
                        : qt[(it / 6) % 3];
    ir_dtype zt = quant ? qt[(it / 6) % 2] : xt;
    bool has_zp = (it / 4) % 4 != 0;
    bool runtime = (it / 8) % 3 == 0;
    static double scale[10000], zp[10000];
    for (int64_t c = 0; c < ch; c++) {
      static const double sv[] = {0.5, 0.25, 0.1, 3.0, 0.0078125, 1e-3};
      scale[c] = sv[tg_rnd(&t) % 6];
      zp[c] = zt == IR_U8 ? (double)tg_rnd_in(&t, 0, 255)
              : zt == IR_I8 ? (double)tg_rnd_in(&t, -128, 127)
                            : (double)tg_rnd_in(&t, -1000, 1000);
    }
    ir_tensor_id in[3], y;
    in[0] = tg_input(&t, xt, rank, dims);
    if (xt == IR_F32 && it % 3 == 0) spice(&t, &t.vals[0]);
    if (xt != IR_F32) { /* integers over the type's range */
      size_t n = ir_shape_numel(&t.vals[0].shape);
      for (size_t i = 0; i < n; i++)
        ir_store_i64(xt, t.vals[0].data, i,
                     xt == IR_I32 ? tg_rnd_in(&t, -100000, 100000)
                                  : (int64_t)(tg_rnd(&t) & 0xff));
    }
    int srank = scalar ? 0 : 1;
    in[1] = tg_param(&t, IR_F32, srank, ch, scale, runtime);
    int nin = 2;
    if (has_zp) in[nin++] = tg_param(&t, zt, srank, ch, zp, runtime);
    ir_node_id n = tg_node(&t, quant ? IR_OP_QUANTIZE_LINEAR
                                     : IR_OP_DEQUANTIZE_LINEAR,
                           13, in, nin, 1, &y);
    kt_attr_int(t.g, n, "axis", axis);
    char what[128];
    snprintf(what, sizeof what, "%s %s rank %d axis %d ch %lld%s%s",
             quant ? "QuantizeLinear" : "DequantizeLinear",
             ir_dtype_name(xt), rank, axis, (long long)ch,
             has_zp ? " zp" : "", runtime ? " run-time params" : "");
    tg_run(&t, 0, what);
  }
}

static void test_dynamic(void) {
  for (int it = 0; it < 40; it++) {
    tg t;
    tg_init(&t, 12000u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 1, 3);
    int64_t dims[8];
    for (int d = 0; d < rank; d++) dims[d] = tg_rnd_in(&t, 1, it % 5 ? 9 : 300);
    ir_tensor_id x = tg_input(&t, IR_F32, rank, dims), y[3];
    float *v = t.vals[0].data;
    size_t n = ir_shape_numel(&t.vals[0].shape);
    for (size_t i = 0; i < n; i++) {
      switch (it % 5) {
      case 0: break; /* multiples of 1/4 around 0 */
      case 1: v[i] = fabsf(v[i]) + 1.0f; break;
      case 2: v[i] = -fabsf(v[i]) - 0.5f; break;
      case 3: v[i] = 0.0f; break;
      default: if (i % 7 == 3) v[i] = NAN; break;
      }
    }
    tg_node(&t, IR_OP_DYNAMIC_QUANTIZE_LINEAR, 13, &x, 1, 3, y);
    tg_run(&t, 0, "DynamicQuantizeLinear");
  }
}

int main(void) {
  test_linear();
  test_dynamic();
  return check_report("test_quant");
}
