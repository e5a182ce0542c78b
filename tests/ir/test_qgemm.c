/* test_qgemm.c — the reference com.microsoft QGemm (ir/ref/qgemm.c) against
 * a direct transcription of its definition, on random cases: transA/transB,
 * alpha, per-tensor and per-column b scale/zero point, uint8 and int8,
 * C absent / [N] / [M,N] / scalar, float output (no y_scale) and quantised
 * output; plus the errors for bad shapes and scales.  Budget: well under a
 * second under ASan.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ir.h"

static uint32_t rng_state = 12345;
static uint32_t rnd(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return rng_state >> 8;
}

static ir_tensor_id constant(ir_graph *g, ir_dtype dt, int rank,
                             const int64_t *dims, const void *data) {
  ir_value v = {.dtype = dt};
  v.shape.rank = rank;
  for (int i = 0; i < rank; i++) v.shape.dims[i] = dims[i];
  v.data = (void *)data;
  v.borrowed = true;
  ir_tensor_id t = 0;
  CHECK_OK(ir_graph_add_constant(g, NULL, "c", &v, &t));
  return t;
}

static int64_t ld(ir_dtype t, const void *p, size_t i) {
  return ir_load_i64(t, p, i);
}

static int64_t sat_rne(float v, int64_t zp, int64_t lo, int64_t hi) {
  double s = (double)nearbyintf(v) + (double)zp;
  return s < (double)lo ? lo : s > (double)hi ? hi : (int64_t)s;
}

/* One random case: builds a graph with one QGemm and compares the
 * reference with the definition written out here. */
static void one_case(int k) {
  int64_t m = 1 + rnd() % 5, kk = 1 + rnd() % 9, n = 1 + rnd() % 6;
  bool ta = rnd() % 2, tb = rnd() % 2, per_col = rnd() % 2;
  ir_dtype at = rnd() % 2 ? IR_U8 : IR_I8, bt = rnd() % 2 ? IR_U8 : IR_I8;
  int cmode = rnd() % 4; /* 0 none, 1 [N], 2 [M,N], 3 scalar */
  int ymode = rnd() % 3; /* 0 float, 1 u8, 2 s8 */
  float alpha = (k % 3 == 0) ? 0.5f : 1.0f;
  uint8_t a[64], b[64], az, bz[8], yz;
  int32_t c[64];
  float as = 0.01f + (float)(rnd() % 100) / 1000.0f, bs[8], ys = 0.05f;
  for (int i = 0; i < 64; i++) {
    a[i] = (uint8_t)rnd();
    b[i] = (uint8_t)rnd();
    c[i] = (int32_t)(rnd() % 2001) - 1000;
  }
  az = (uint8_t)rnd();
  yz = (uint8_t)(rnd() % 50);
  for (int i = 0; i < 8; i++) {
    bz[i] = (uint8_t)rnd();
    bs[i] = 0.002f + (float)(rnd() % 100) / 5000.0f;
  }
  ir_graph *g = NULL;
  CHECK_OK(ir_graph_create(&g));
  if (!g) return;
  g->opset = 13;
  int64_t adims[2] = {ta ? kk : m, ta ? m : kk};
  int64_t bdims[2] = {tb ? n : kk, tb ? kk : n};
  int64_t one = 1, ndim = n, mn[2] = {m, n};
  ir_tensor_id in[9] = {0};
  in[0] = constant(g, at, 2, adims, a);
  in[1] = constant(g, IR_F32, 0, NULL, &as);
  in[2] = constant(g, at, 0, NULL, &az);
  in[3] = constant(g, bt, 2, bdims, b);
  in[4] = constant(g, IR_F32, per_col ? 1 : 0, &ndim, bs);
  in[5] = constant(g, bt, per_col ? 1 : 0, &ndim, bz);
  if (cmode == 1) in[6] = constant(g, IR_I32, 1, &ndim, c);
  if (cmode == 2) in[6] = constant(g, IR_I32, 2, mn, c);
  if (cmode == 3) in[6] = constant(g, IR_I32, 1, &one, c);
  ir_dtype yt = ymode == 2 ? IR_I8 : IR_U8;
  if (ymode) {
    in[7] = constant(g, IR_F32, 0, NULL, &ys);
    in[8] = constant(g, yt, 0, NULL, &yz);
  }
  ir_tensor_id y;
  CHECK_OK(ir_graph_add_tensor(g, "y", &y));
  ir_node_id nid;
  CHECK_OK(ir_graph_add_node(g, IR_OP_QGEMM, "qgemm", in, ymode ? 9 : 7, &y,
                             1, &nid));
  ir_attr attrs[3] = {{.name = "transA", .kind = IR_ATTR_INT, .i = ta},
                      {.name = "transB", .kind = IR_ATTR_INT, .i = tb},
                      {.name = "alpha", .kind = IR_ATTR_FLOAT, .f = alpha}};
  g->nodes[nid].attrs = attrs;
  g->nodes[nid].n_attrs = 3;
  g->nodes[nid].domain = "com.microsoft";
  g->tensors[y].is_output = true;
  g->outputs = &y;
  g->n_outputs = 1;
  CHECK_OK(ir_parse_nodes(g));
  CHECK_OK(ir_infer_shapes(g));
  ir_value out = {0};
  CHECK_OK(ir_interp_run(g, NULL, &out, NULL));
  CHECK(out.dtype == (ymode ? yt : IR_F32));
  int bad = 0;
  for (int64_t i = 0; out.data && i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      int64_t zb = ld(bt, bz, per_col ? (size_t)j : 0);
      uint32_t acc = 0;
      for (int64_t p = 0; p < kk; p++) {
        int64_t av = ld(at, a, (size_t)(ta ? p * m + i : i * kk + p));
        int64_t bv = ld(bt, b, (size_t)(tb ? j * kk + p : p * n + j));
        acc += (uint32_t)((av - ld(at, &az, 0)) * (bv - zb));
      }
      if (cmode == 1) acc += (uint32_t)c[j];
      if (cmode == 2) acc += (uint32_t)c[i * n + j];
      if (cmode == 3) acc += (uint32_t)c[0];
      float mul = alpha * as;
      mul = mul * bs[per_col ? j : 0];
      size_t o = (size_t)(i * n + j);
      if (!ymode) {
        float want = (float)(int32_t)acc * mul;
        bad += memcmp(&want, &((float *)out.data)[o], sizeof want) != 0;
      } else {
        mul = mul / ys;
        int64_t lo = yt == IR_I8 ? -128 : 0, hi = yt == IR_I8 ? 127 : 255;
        int64_t want = sat_rne((float)(int32_t)acc * mul, ld(yt, &yz, 0), lo,
                               hi);
        bad += want != ld(yt, out.data, o);
      }
    }
  if (bad)
    fprintf(stderr,
            "case %d: %d wrong values (M %lld K %lld N %lld ta %d tb %d "
            "per_col %d C %d y %d)\n",
            k, bad, (long long)m, (long long)kk, (long long)n, ta, tb,
            per_col, cmode, ymode);
  CHECK(bad == 0);
  ir_value_free(&out);
  g->outputs = NULL; /* borrowed above */
  g->n_outputs = 0;
  g->nodes[nid].attrs = NULL; /* stack memory */
  g->nodes[nid].n_attrs = 0;
  ir_graph_destroy(g);
}

int main(void) {
  for (int k = 0; k < 300; k++) one_case(k);
  return check_report("test_qgemm");
}
