/* test_resize.c — the Resize/Upsample lowering (codegen/lower_resize.c)
 * and templates (kernels/generic/resize.c) against the reference
 * interpreter, through the real planner.
 *
 * Random ranks 2..5 and sizes, resizing random subsets of dims up and
 * down, from scales and from sizes, in every mode (nearest, linear,
 * cubic), every coordinate transformation (half_pixel, asymmetric,
 * pytorch_half_pixel, tf_half_pixel_for_nn, align_corners,
 * tf_crop_and_resize with a roi and an extrapolation value), every
 * nearest_mode, cubic_coeff_a and exclude_outside, plus Resize-10 and
 * Upsample-7/9 (legacy rules), in float32, float64, float16, uint8, int32
 * and (nearest) bool.
 * Tolerance: none.  The tap tables are the reference's, computed with the
 * same double arithmetic, and the template sums the taps in the order of
 * the reference's separable passes, so every dtype must match exactly.
 */
#include "kt_graph.h"
#include "params.h"

/*===------------------------------------------------------------------===*/
/* Tests                                                                   */
/*===------------------------------------------------------------------===*/

static const char *const kModes[] = {"nearest", "linear", "cubic"};
static const char *const kCoords[] = {
    "half_pixel", "asymmetric", "pytorch_half_pixel", "tf_half_pixel_for_nn",
    "align_corners", "tf_crop_and_resize"};
static const char *const kNearest[] = {"round_prefer_floor",
                                       "round_prefer_ceil", "floor", "ceil"};
static const ir_dtype kTypes[] = {IR_F32, IR_U8, IR_F64, IR_I32, IR_F16,
                                  IR_BOOL};

/* Scale factors that give interesting coordinates. */
static const float kScales[] = {0.5f, 0.6f, 0.75f, 1.0f, 1.5f, 1.7f, 2.0f,
                                3.0f, 0.34f};

static void test_resize_random(void) {
  for (int it = 0; it < 400; it++) {
    tg t;
    tg_init(&t, 7000u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 2, it % 10 == 0 ? 5 : 4);
    int mode = it % 3, coord = (it / 3) % 6;
    ir_dtype dt = kTypes[(it / 18) % 6];
    if (dt == IR_BOOL) mode = 0;
    int64_t dims[8], sizes[8];
    float scales[8], roi[16];
    bool use_sizes = tg_rnd(&t) % 2;
    for (int d = 0; d < rank; d++) {
      dims[d] = tg_rnd_in(&t, 1, d < rank - 2 ? 3 : 9);
      bool resized = d >= rank - 2 ? tg_rnd(&t) % 4 != 0 : tg_rnd(&t) % 4 == 0;
      scales[d] = resized ? kScales[tg_rnd(&t) % 9] : 1.0f;
      sizes[d] = resized ? tg_rnd_in(&t, 1, 12) : dims[d];
      roi[d] = resized ? (float)tg_rnd_in(&t, -2, 4) / 10.0f : 0.0f;
      roi[rank + d] = resized ? (float)tg_rnd_in(&t, 6, 12) / 10.0f : 1.0f;
    }
    ir_tensor_id in[4] = {0, 0, 0, 0}, y;
    in[0] = tg_input(&t, dt, rank, dims);
    if (coord == 5) in[1] = tg_floats(&t, roi, 2 * rank);
    if (use_sizes)
      in[3] = tg_ints(&t, sizes, rank);
    else
      in[2] = tg_floats(&t, scales, rank);
    ir_node_id n = tg_node(&t, IR_OP_RESIZE, 13, in, 4, 1, &y);
    kt_attr_string(t.g, n, "mode", kModes[mode]);
    kt_attr_string(t.g, n, "coordinate_transformation_mode", kCoords[coord]);
    if (mode == 0)
      kt_attr_string(t.g, n, "nearest_mode", kNearest[tg_rnd(&t) % 4]);
    if (mode == 2) {
      kt_attr_float(t.g, n, "cubic_coeff_a", tg_rnd(&t) % 2 ? -0.5f : -0.75f);
      kt_attr_int(t.g, n, "exclude_outside", (int64_t)(tg_rnd(&t) % 2));
    }
    if (coord == 5) kt_attr_float(t.g, n, "extrapolation_value", 7.5f);
    char what[160];
    snprintf(what, sizeof what, "Resize %s %s %s rank %d %s",
             kModes[mode], kCoords[coord], ir_dtype_name(dt), rank,
             use_sizes ? "sizes" : "scales");
    tg_run(&t, 0, what);
  }
}

/* Channels-last style: only middle dims resized, a long kept inner run
 * (the template's vector path, blocks of KRS_BLOCK plus a tail). */
static void test_resize_inner(void) {
  for (int mode = 0; mode < 3; mode++) {
    tg t;
    tg_init(&t, 8000u + (uint32_t)mode);
    int64_t dims[4] = {2, 5, 4, 70};
    float scales[4] = {1.0f, 1.6f, 0.75f, 1.0f};
    ir_tensor_id in[4] = {0, 0, 0, 0}, y;
    in[0] = tg_input(&t, IR_F32, 4, dims);
    in[2] = tg_floats(&t, scales, 4);
    ir_node_id n = tg_node(&t, IR_OP_RESIZE, 13, in, 4, 1, &y);
    kt_attr_string(t.g, n, "mode", kModes[mode]);
    tg_run(&t, 0, "Resize with an inner run");
  }
}

/* The pre-opset-11 forms: Upsample-7 (scales attribute), Upsample-9 and
 * Resize-10 (scales input), asymmetric coordinates. */
static void test_legacy(void) {
  for (int it = 0; it < 24; it++) {
    tg t;
    tg_init(&t, 9000u + (uint32_t)it);
    int64_t dims[4] = {1, 2, tg_rnd_in(&t, 1, 6), tg_rnd_in(&t, 1, 6)};
    float scales[4] = {1.0f, 1.0f, kScales[tg_rnd(&t) % 9],
                       kScales[tg_rnd(&t) % 9]};
    ir_tensor_id in[2], y;
    in[0] = tg_input(&t, it % 2 ? IR_F32 : IR_U8, 4, dims);
    int form = it % 3;
    ir_op op = form == 2 ? IR_OP_RESIZE : IR_OP_UPSAMPLE;
    int opset = form == 0 ? 7 : form == 1 ? 9 : 10;
    ir_node_id n;
    if (form == 0) {
      n = tg_node(&t, op, opset, in, 1, 1, &y);
      ir_attr *a = kt_attr(t.g, n, "scales", IR_ATTR_FLOATS);
      a->n = 4;
      a->floats = ir_arena_memdup(&t.g->arena, scales, sizeof scales);
    } else {
      in[1] = tg_floats(&t, scales, 4);
      n = tg_node(&t, op, opset, in, 2, 1, &y);
    }
    kt_attr_string(t.g, n, "mode", (it / 3) % 2 ? "linear" : "nearest");
    tg_run(&t, 0, "Upsample / Resize-10");
  }
}

int main(void) {
  test_resize_random();
  test_resize_inner();
  test_legacy();
  return check_report("test_resize");
}
