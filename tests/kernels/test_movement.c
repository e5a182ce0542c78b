/* test_movement.c — the data-movement lowering (codegen/lower_movement.c)
 * and templates (kernels/generic/movement.c) against the reference
 * interpreter, through the real planner (native_exec.h).
 *
 * Randomised shapes (odd sizes, ranks 0..5), every element size (bool,
 * uint8, int16/float16, float32/int32, int64/float64), and for each op
 * the attribute corners: Transpose of every rank and permutation, Concat
 * with empty inputs, Split with zero-size parts, Slice with negative and
 * out-of-range starts/ends and negative steps, Gather with negative and
 * run-time indices (and the documented clamp of out-of-range ones), Tile
 * with zero repeats, Expand, Pad in all three modes with negative pads,
 * and the reshape family.  Data movement is exact: results must equal
 * the reference byte for byte.
 */
#include "kt_graph.h"
#include "params.h"

static void rand_shape(tg *t, int rank, int64_t lo, int64_t hi,
                       int64_t *dims) {
  for (int d = 0; d < rank; d++) dims[d] = tg_rnd_in(t, lo, hi);
}

/*===------------------------------------------------------------------===*/
/* Tests                                                                   */
/*===------------------------------------------------------------------===*/

static const ir_dtype kTypes[] = {IR_F32, IR_U8, IR_I16, IR_I64, IR_BOOL,
                                  IR_F16, IR_F64, IR_I32};
#define NTYPES (int)(sizeof kTypes / sizeof kTypes[0])

static void test_transpose(void) {
  for (int it = 0; it < 60; it++) {
    tg t;
    tg_init(&t, 100u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 1, 5);
    int64_t dims[8], perm[8];
    rand_shape(&t, rank, 1, it < 50 ? 7 : 40, dims);
    for (int d = 0; d < rank; d++) perm[d] = d;
    for (int d = rank - 1; d > 0; d--) {
      int j = (int)tg_rnd_in(&t, 0, d);
      int64_t x = perm[d];
      perm[d] = perm[j];
      perm[j] = x;
    }
    ir_tensor_id x = tg_input(&t, kTypes[it % NTYPES], rank, dims), y;
    ir_node_id n = tg_node(&t, IR_OP_TRANSPOSE, 13, &x, 1, 1, &y);
    if (it % 7 != 3) kt_attr_ints(t.g, n, "perm", perm, rank);
    tg_run(&t, 0, "Transpose");
  }
}

static void test_concat_split(void) {
  for (int it = 0; it < 40; it++) {
    tg t;
    tg_init(&t, 200u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 1, 4), axis = (int)tg_rnd_in(&t, 0, rank - 1);
    int k = (int)tg_rnd_in(&t, 1, 4);
    int64_t dims[8];
    rand_shape(&t, rank, 1, 6, dims);
    ir_dtype dt = kTypes[it % NTYPES];
    ir_tensor_id in[4], y;
    for (int i = 0; i < k; i++) {
      dims[axis] = tg_rnd_in(&t, it % 5 == 0 ? 0 : 1, 5);
      in[i] = tg_input(&t, dt, rank, dims);
    }
    ir_node_id n = tg_node(&t, IR_OP_CONCAT, 13, in, k, 1, &y);
    kt_attr_int(t.g, n, "axis", it % 2 ? axis - rank : axis);
    tg_run(&t, 0, "Concat");
  }
  for (int it = 0; it < 40; it++) {
    tg t;
    tg_init(&t, 300u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 1, 4), axis = (int)tg_rnd_in(&t, 0, rank - 1);
    int k = (int)tg_rnd_in(&t, 1, 4);
    int64_t dims[8], sizes[4], total = 0;
    rand_shape(&t, rank, 1, 6, dims);
    for (int i = 0; i < k; i++) total += sizes[i] = tg_rnd_in(&t, 0, 4);
    bool equal = it % 3 == 0;
    dims[axis] = equal ? k * tg_rnd_in(&t, 1, 3) : total;
    ir_tensor_id in[2], y[4];
    in[0] = tg_input(&t, kTypes[it % NTYPES], rank, dims);
    if (!equal) in[1] = tg_ints(&t, sizes, k);
    ir_node_id n = tg_node(&t, IR_OP_SPLIT, 13, in, equal ? 1 : 2, k, y);
    kt_attr_int(t.g, n, "axis", axis);
    tg_run(&t, 0, "Split");
  }
}

static void test_slice(void) {
  for (int it = 0; it < 80; it++) {
    tg t;
    tg_init(&t, 400u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 1, 5);
    int64_t dims[8], starts[8], ends[8], axes[8], steps[8];
    rand_shape(&t, rank, 1, 9, dims);
    int k = (int)tg_rnd_in(&t, 1, rank);
    int order[8];
    for (int d = 0; d < rank; d++) order[d] = d;
    for (int d = rank - 1; d > 0; d--) {
      int j = (int)tg_rnd_in(&t, 0, d), x = order[d];
      order[d] = order[j];
      order[j] = x;
    }
    bool all_inputs = it % 4 != 0; /* else: axes 0..k-1, steps 1 */
    for (int i = 0; i < k; i++) {
      int a = all_inputs ? order[i] : i;
      int64_t dim = dims[a];
      axes[i] = tg_rnd(&t) % 2 ? a : a - rank;
      starts[i] = tg_rnd_in(&t, -dim - 2, dim + 2);
      ends[i] = tg_rnd_in(&t, -dim - 2, dim + 2);
      steps[i] =
          all_inputs ? tg_rnd_in(&t, 1, 3) * (tg_rnd(&t) % 2 ? 1 : -1) : 1;
      if (tg_rnd(&t) % 4 != 0) { /* mostly non-empty slices */
        int64_t b = tg_rnd_in(&t, 0, dim - 1), e;
        if (steps[i] > 0)
          e = tg_rnd_in(&t, b + 1, dim + 2);
        else
          e = b == 0 ? -dim - 1 : tg_rnd_in(&t, -1, b - 1);
        if (e == -1) e = -dim - 1; /* before element 0 */
        starts[i] = tg_rnd(&t) % 2 ? b : b - dim;
        ends[i] = e >= 0 && e < dim && tg_rnd(&t) % 2 ? e - dim : e;
      }
      if (it % 9 == 0) ends[i] = steps[i] > 0 ? INT64_MAX : INT64_MIN;
    }
    ir_tensor_id in[5], y;
    in[0] = tg_input(&t, kTypes[it % NTYPES], rank, dims);
    in[1] = tg_ints(&t, starts, k);
    in[2] = tg_ints(&t, ends, k);
    in[3] = tg_ints(&t, axes, k);
    in[4] = tg_ints(&t, steps, k);
    tg_node(&t, IR_OP_SLICE, 13, in, all_inputs ? 5 : 3, 1, &y);
    tg_run(&t, 0, "Slice");
  }
}

static void test_gather(void) {
  for (int it = 0; it < 40; it++) {
    tg t;
    tg_init(&t, 500u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 1, 4), axis = (int)tg_rnd_in(&t, 0, rank - 1);
    int irank = (int)tg_rnd_in(&t, 0, 2);
    int64_t dims[8], idims[8];
    rand_shape(&t, rank, 1, 6, dims);
    rand_shape(&t, irank, 1, 4, idims);
    ir_tensor_id in[2], y;
    in[0] = tg_input(&t, kTypes[it % NTYPES], rank, dims);
    ir_dtype it_dt = it % 2 ? IR_I32 : IR_I64;
    in[1] = tg_input(&t, it_dt, irank, idims);
    ir_value *iv = &t.vals[1];
    size_t n = ir_shape_numel(&iv->shape);
    for (size_t i = 0; i < n; i++) /* valid indices, negatives included */
      ir_store_i64(it_dt, iv->data, i,
                   tg_rnd_in(&t, -dims[axis], dims[axis] - 1));
    ir_node_id nd = tg_node(&t, IR_OP_GATHER, 13, in, 2, 1, &y);
    kt_attr_int(t.g, nd, "axis", axis);
    tg_run(&t, 0, "Gather");
  }
}

/* Out-of-range run-time indices: the reference rejects them; the engine
 * wraps a negative index once and clamps what is still outside. */
static void test_gather_clamp(void) {
  tg t;
  tg_init(&t, 77);
  int64_t dims[2] = {5, 3}, idims[1] = {6};
  ir_tensor_id in[2], y;
  in[0] = tg_input(&t, IR_F32, 2, dims);
  in[1] = tg_input(&t, IR_I64, 1, idims);
  int64_t idx[6] = {-1, -5, -6, -100, 5, 1000};
  int64_t want[6] = {4, 0, 0, 0, 4, 4};
  memcpy(t.vals[1].data, idx, sizeof idx);
  tg_node(&t, IR_OP_GATHER, 13, in, 2, 1, &y);
  ir_graph *g = t.g;
  cg_target host;
  ir_value got = {0};
  CHECK_OK(kt_finish(g));
  CHECK_OK(cg_target_host(&host));
  CHECK_OK(native_run_target(g, &host, t.vals, &got));
  const float *x = t.vals[0].data, *o = got.data;
  for (int i = 0; o && i < 6; i++)
    for (int j = 0; j < 3; j++) CHECK(o[i * 3 + j] == x[want[i] * 3 + j]);
  ir_value_free(&got);
  for (int i = 0; i < t.nin; i++) ir_value_free(&t.vals[i]);
  ir_graph_destroy(g);
}

static void test_tile_expand(void) {
  for (int it = 0; it < 30; it++) {
    tg t;
    tg_init(&t, 600u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 1, 4);
    int64_t dims[8], rep[8];
    rand_shape(&t, rank, 1, 5, dims);
    for (int d = 0; d < rank; d++) rep[d] = tg_rnd_in(&t, it % 6 ? 1 : 0, 3);
    ir_tensor_id in[2], y;
    in[0] = tg_input(&t, kTypes[it % NTYPES], rank, dims);
    in[1] = tg_ints(&t, rep, rank);
    tg_node(&t, IR_OP_TILE, 13, in, 2, 1, &y);
    tg_run(&t, 0, "Tile");
  }
  for (int it = 0; it < 30; it++) {
    tg t;
    tg_init(&t, 700u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 1, 4);
    int orank = rank + (int)tg_rnd_in(&t, 0, 2);
    int64_t dims[8], shape[8];
    rand_shape(&t, orank, 1, 5, shape);
    for (int d = 0; d < rank; d++) {
      int64_t o = shape[orank - rank + d];
      dims[d] = tg_rnd(&t) % 2 ? 1 : o;
    }
    for (int d = 0; d < orank; d++) /* the shape may hold 1 where x has n */
      if (d >= orank - rank && tg_rnd(&t) % 4 == 0) shape[d] = 1;
    ir_tensor_id in[2], y;
    in[0] = tg_input(&t, kTypes[it % NTYPES], rank, dims);
    in[1] = tg_ints(&t, shape, orank);
    tg_node(&t, IR_OP_EXPAND, 13, in, 2, 1, &y);
    tg_run(&t, 0, "Expand");
  }
}

static void test_pad(void) {
  static const char *const modes[] = {"constant", "reflect", "edge"};
  for (int it = 0; it < 60; it++) {
    tg t;
    tg_init(&t, 800u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 1, 4), mode = it % 3;
    int64_t dims[8], pads[16];
    rand_shape(&t, rank, 1, 6, dims);
    for (int d = 0; d < rank; d++) {
      /* reflect needs pads below the dim; crops keep at least one */
      int64_t hi = mode == 1 ? dims[d] - 1 : 4;
      pads[d] = tg_rnd_in(&t, mode == 0 ? -1 : 0, hi);
      pads[rank + d] = tg_rnd_in(&t, mode == 0 ? -1 : 0, hi);
      if (dims[d] + pads[d] + pads[rank + d] < 1) pads[d] = pads[rank + d] = 0;
    }
    ir_dtype dt = kTypes[it % NTYPES];
    ir_tensor_id in[3], y;
    in[0] = tg_input(&t, dt, rank, dims);
    in[1] = tg_ints(&t, pads, 2 * rank);
    int nin = 2;
    if (mode == 0 && it % 2) { /* an explicit constant */
      unsigned char v[8] = {0};
      ir_store_f64(dt, v, 0, 3.0);
      ir_value c = {.dtype = dt, .shape = {0, {0}}, .data = v};
      in[2] = tg_const(&t, &c);
      nin = 3;
    }
    ir_node_id n = tg_node(&t, IR_OP_PAD, 13, in, nin, 1, &y);
    kt_attr_string(t.g, n, "mode", modes[mode]);
    tg_run(&t, 0, "Pad");
  }
}

static void test_reshapes(void) {
  for (int it = 0; it < 24; it++) {
    tg t;
    tg_init(&t, 900u + (uint32_t)it);
    int64_t dims[4] = {2, 3, 1, 5};
    ir_tensor_id in[2], y;
    in[0] = tg_input(&t, kTypes[it % NTYPES], 4, dims);
    ir_node_id n;
    switch (it % 4) {
    case 0: {
      int64_t shape[3] = {3, -1, 5};
      in[1] = tg_ints(&t, shape, 3);
      tg_node(&t, IR_OP_RESHAPE, 13, in, 2, 1, &y);
      break;
    }
    case 1:
      n = tg_node(&t, IR_OP_FLATTEN, 13, in, 1, 1, &y);
      kt_attr_int(t.g, n, "axis", it % 3);
      break;
    case 2: {
      int64_t axes[1] = {2};
      in[1] = tg_ints(&t, axes, 1);
      tg_node(&t, IR_OP_SQUEEZE, 13, in, 2, 1, &y);
      break;
    }
    default: {
      int64_t axes[2] = {0, -1};
      in[1] = tg_ints(&t, axes, 2);
      tg_node(&t, IR_OP_UNSQUEEZE, 13, in, 2, 1, &y);
      break;
    }
    }
    tg_run(&t, 0, "Reshape family");
  }
}

/* Chains: a transpose feeding a slice feeding a concat, so operands come
 * from other steps' outputs rather than graph inputs. */
static void test_chain(void) {
  tg t;
  tg_init(&t, 1000);
  int64_t dims[3] = {4, 7, 6};
  int64_t perm[3] = {2, 0, 1};
  int64_t st[1] = {1}, en[1] = {-1}, ax[1] = {2}, sp[1] = {2};
  ir_tensor_id x = tg_input(&t, IR_F32, 3, dims), a, b, c;
  ir_node_id n = tg_node(&t, IR_OP_TRANSPOSE, 13, &x, 1, 1, &a);
  kt_attr_ints(t.g, n, "perm", perm, 3);
  ir_tensor_id sin[5] = {a, tg_ints(&t, st, 1), tg_ints(&t, en, 1),
                         tg_ints(&t, ax, 1), tg_ints(&t, sp, 1)};
  tg_node(&t, IR_OP_SLICE, 13, sin, 5, 1, &b);
  ir_tensor_id cin[2] = {b, b};
  n = tg_node(&t, IR_OP_CONCAT, 13, cin, 2, 1, &c);
  kt_attr_int(t.g, n, "axis", 1);
  tg_run(&t, 0, "Transpose-Slice-Concat");
}

/* Single long strided rows, which the lowering splits for the tasks:
 * a broadcast fill (stride 0) and a step-2 slice. */
static void test_long_rows(void) {
  tg t;
  tg_init(&t, 1100);
  int64_t one[1] = {1}, shape[1] = {40000};
  ir_tensor_id in[5], y;
  in[0] = tg_input(&t, IR_F32, 1, one);
  in[1] = tg_ints(&t, shape, 1);
  tg_node(&t, IR_OP_EXPAND, 13, in, 2, 1, &y);
  tg_run(&t, 0, "Expand to a long row");

  tg_init(&t, 1101);
  int64_t len[1] = {100001}, st[1] = {1}, en[1] = {100001}, ax[1] = {0};
  int64_t sp[1] = {2};
  in[0] = tg_input(&t, IR_I16, 1, len);
  in[1] = tg_ints(&t, st, 1);
  in[2] = tg_ints(&t, en, 1);
  in[3] = tg_ints(&t, ax, 1);
  in[4] = tg_ints(&t, sp, 1);
  tg_node(&t, IR_OP_SLICE, 13, in, 5, 1, &y);
  tg_run(&t, 0, "Slice of a long row");
}

int main(void) {
  test_long_rows();
  test_transpose();
  test_concat_split();
  test_slice();
  test_gather();
  test_gather_clamp();
  test_tile_expand();
  test_pad();
  test_reshapes();
  test_chain();
  return check_report("test_movement");
}
