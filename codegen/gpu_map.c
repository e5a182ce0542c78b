/* gpu_map.c — cg_gpu_step_of (gpu.h): the table of CPU templates whose
 * steps a GPU template computes from the same descriptor. */
#include <string.h>

#include "gpu.h"
#include "nvptx/nvptx.h"
#include "nvptx/dense.h"
#include "nvptx/reduce.h"
#include "nvptx/tasks.h"

static int launch_conv(const void *desc, g_launch *l) {
  return g_launch_of(desc, l);
}
static int launch_relayout(const void *desc, g_launch *l) {
  const k_relayout_desc *d = desc;
  return g_launch_elems(d->n * d->c * d->h * d->w, l);
}
static int launch_copy(const void *desc, g_launch *l) {
  const k_copy_desc *d = desc;
  return g_launch_elems(d->bytes, l);
}

/* Task-grid kernels (nvptx/tasks.h): GT_THREADS threads per block, one
 * thread per work unit of the descriptor split by gt_split_*. */
static int launch_tasks(int64_t units, g_launch *l) {
  int64_t gx = (units + GT_THREADS - 1) / GT_THREADS;
  if (gx < 1 || gx >= ((int64_t)1 << 31)) return 0;
  l->grid[0] = (uint32_t)gx, l->grid[1] = l->grid[2] = 1;
  l->block[0] = GT_THREADS, l->block[1] = l->block[2] = 1;
  l->smem = 0;
  return 1;
}
#define GT_LAUNCH(name, T, split)                                          \
  static int name(const void *desc, g_launch *l) {                         \
    T d;                                                                   \
    memcpy(&d, desc, sizeof d);                                            \
    return launch_tasks(split(&d), l);                                     \
  }
GT_LAUNCH(lt_conv, k_conv_desc, gt_split_conv)
GT_LAUNCH(lt_mm, k_mm_desc, gt_split_mm)
GT_LAUNCH(lt_pool, k_pool_desc, gt_split_pool)
GT_LAUNCH(lt_ew_unary, kew_unary, gt_split_ew_unary)
GT_LAUNCH(lt_ew_binary, kew_binary, gt_split_ew_binary)
GT_LAUNCH(lt_ql_binary, kql_binary, gt_split_ql_binary)
GT_LAUNCH(lt_ql_table, kql_table, gt_split_ql_table)
GT_LAUNCH(lt_ql_concat, kql_concat, gt_split_ql_concat)
GT_LAUNCH(lt_q, kq_linear, gt_split_q)
GT_LAUNCH(lt_mv_copy, kmv_copy, gt_split_mv_copy)
GT_LAUNCH(lt_mv_pad, kmv_pad, gt_split_mv_pad)
GT_LAUNCH(lt_mv_gather, kmv_gather, gt_split_mv_gather)
GT_LAUNCH(lt_mv_fill, kmv_fill, gt_split_mv_fill)
GT_LAUNCH(lt_red, kred, gt_split_red)
GT_LAUNCH(lt_red_arg, kred_arg, gt_split_red_arg)
GT_LAUNCH(lt_channel, knorm_channel, gt_split_channel)
GT_LAUNCH(lt_lrn, knorm_lrn, gt_split_lrn)
GT_LAUNCH(lt_rs, krs, gt_split_rs)

GT_LAUNCH(lt_softmax, knorm_softmax, gt_split_softmax)
GT_LAUNCH(lt_layer, knorm_layer, gt_split_layer)

static int launch_dense(int64_t n, g_launch *l) {
  int64_t gx = (n + GD_THREADS - 1) / GD_THREADS;
  if (gx < 1 || gx >= ((int64_t)1 << 31)) return 0;
  l->grid[0] = (uint32_t)gx, l->grid[1] = l->grid[2] = 1;
  l->block[0] = GD_THREADS, l->block[1] = l->block[2] = 1;
  l->smem = 0;
  return 1;
}

/* Warp / block reductions (nvptx/reduce.h): -1 leaves the step to the
 * next row of the table with the same CPU template. */
static int launch_rows(int64_t rows, uint32_t threads, uint32_t smem,
                       g_launch *l) {
  if (rows < 1 || rows >= ((int64_t)1 << 31)) return 0;
  l->grid[0] = (uint32_t)rows, l->grid[1] = l->grid[2] = 1;
  l->block[0] = threads, l->block[1] = l->block[2] = 1;
  l->smem = smem;
  return 1;
}
static int launch_softmax(const void *desc, g_launch *l) {
  const knorm_softmax *d = desc;
  if (!g_softmax_takes(d)) return -1;
  return launch_rows(d->outer, GR_THREADS, 0, l);
}
static int launch_layernorm(const void *desc, g_launch *l) {
  const knorm_layer *d = desc;
  return launch_rows(d->outer, GR_THREADS, 0, l);
}
static int launch_gpool(const void *desc, g_launch *l) {
  const k_pool_desc *d = desc;
  if (!g_gpool_takes(d)) return -1;
  return launch_rows(d->rows * d->c, GP_THREADS, GP_SMEM, l);
}

/* One thread per output (nvptx/dense.h); -1 as above. */
static int launch_ew_f32(const void *desc, g_launch *l) {
  const kew_binary *d = desc;
  return g_ew_f32_takes(d) ? launch_dense(d->n, l) : -1;
}
static int launch_mm_f32(const void *desc, g_launch *l) {
  const k_mm_desc *d = desc;
  return g_mm_f32_takes(d) ? launch_dense(g_mm_outputs(d), l) : -1;
}
static int launch_red_f32(const void *desc, g_launch *l) {
  const kred *d = desc;
  return g_red_f32_takes(d) ? launch_dense(d->rows * d->inner, l) : -1;
}
static int launch_conv_f32(const void *desc, g_launch *l) {
  const k_conv_desc *d = desc;
  return g_conv_f32_takes(d) ? launch_dense(g_conv_outputs(d), l) : -1;
}

/* The int8 product templates of every CPU family share k_q8_desc and the
 * generic packed layout, except AMX (its own layout), which a GPU plan
 * never selects (it is planned for the generic target). */
static const struct {
  const char *cpu, *gpu;
  size_t desc_size;
  int (*launch)(const void *desc, g_launch *l);
} map[] = {
    {"k_qconv", "g_qconv", sizeof(k_q8_desc), launch_conv},
    {"k_qconv_dw", "g_qconv_dw", sizeof(k_q8_desc), launch_conv},
    {"k_plan_relayout", "g_relayout", sizeof(k_relayout_desc),
     launch_relayout},
    {"k_plan_copy", "g_copy", sizeof(k_copy_desc), launch_copy},
    /* warp-reduction kernels (nvptx/reduce.c) */
    {"k_norm_softmax", "g_softmax", sizeof(knorm_softmax), launch_softmax},
    {"k_norm_layer", "g_layernorm", sizeof(knorm_layer), launch_layernorm},
    {"k_pool", "g_gpool", sizeof(k_pool_desc), launch_gpool},
    /* one thread per output (nvptx/dense.c) */
    {"k_ew_binary", "g_ew_f32", sizeof(kew_binary), launch_ew_f32},
    {"k_mm_f32", "g_mm_f32", sizeof(k_mm_desc), launch_mm_f32},
    {"k_conv_f32", "g_conv_f32", sizeof(k_conv_desc), launch_conv_f32},
    {"k_conv_dw_f32", "g_conv_f32", sizeof(k_conv_desc), launch_conv_f32},
    {"k_red", "g_red_f32", sizeof(kred), launch_red_f32},
    /* task grids (nvptx/tasks.c) */
    {"k_conv_f32", "g_conv_f32_tasks", sizeof(k_conv_desc), lt_conv},
    {"k_conv_dw_f32", "g_conv_dw_f32_tasks", sizeof(k_conv_desc), lt_conv},
    {"k_conv_q8", "g_conv_q8", sizeof(k_conv_desc), lt_conv},
    {"k_mm_f32", "g_mm_f32_tasks", sizeof(k_mm_desc), lt_mm},
    {"k_mm_q8", "g_mm_q8", sizeof(k_mm_desc), lt_mm},
    {"k_pool", "g_pool", sizeof(k_pool_desc), lt_pool},
    {"k_ew_unary", "g_ew_unary", sizeof(kew_unary), lt_ew_unary},
    {"k_ew_binary", "g_ew_binary", sizeof(kew_binary), lt_ew_binary},
    {"k_ql_binary", "g_ql_binary", sizeof(kql_binary), lt_ql_binary},
    {"k_ql_table", "g_ql_table", sizeof(kql_table), lt_ql_table},
    {"k_ql_concat", "g_ql_concat", sizeof(kql_concat), lt_ql_concat},
    {"k_q_quantize", "g_q_quantize", sizeof(kq_linear), lt_q},
    {"k_q_dequantize", "g_q_dequantize", sizeof(kq_linear), lt_q},
    {"k_mv_copy", "g_mv_copy", sizeof(kmv_copy), lt_mv_copy},
    {"k_mv_pad", "g_mv_pad", sizeof(kmv_pad), lt_mv_pad},
    {"k_mv_gather", "g_mv_gather", sizeof(kmv_gather), lt_mv_gather},
    {"k_mv_fill", "g_mv_fill", sizeof(kmv_fill), lt_mv_fill},
    {"k_red", "g_red", sizeof(kred), lt_red},
    {"k_red_arg", "g_red_arg", sizeof(kred_arg), lt_red_arg},
    {"k_norm_softmax", "g_norm_softmax", sizeof(knorm_softmax), lt_softmax},
    {"k_norm_layer", "g_norm_layer", sizeof(knorm_layer), lt_layer},
    {"k_norm_channel", "g_norm_channel", sizeof(knorm_channel), lt_channel},
    {"k_norm_lrn", "g_norm_lrn", sizeof(knorm_lrn), lt_lrn},
    {"k_rs_nearest", "g_rs_nearest", sizeof(krs), lt_rs},
    {"k_rs_interp", "g_rs_interp", sizeof(krs), lt_rs},
};

ingot_status cg_gpu_step_of(const char *cpu_kernel, const void *desc,
                            size_t desc_size, cg_gpu_step *out) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    if (strcmp(map[i].cpu, cpu_kernel) != 0) continue;
    if (desc_size != map[i].desc_size)
      return ingot_make_status(INGOT_INTERNAL,
                               "%s: descriptor of %zu bytes, expected %zu",
                               cpu_kernel, desc_size, map[i].desc_size);
    if (map[i].launch == launch_conv) {
      const k_q8_desc *d = desc;
      int want_dw = strcmp(map[i].gpu, "g_qconv_dw") == 0;
      if (d->depthwise != want_dw)
        return ingot_make_status(INGOT_INTERNAL,
                                 "%s: descriptor says depthwise=%d",
                                 cpu_kernel, (int)d->depthwise);
    }
    g_launch l;
    int ok = map[i].launch(desc, &l);
    if (ok < 0) continue; /* not this kernel's case: a later row's */
    if (!ok)
      return ingot_make_status(INGOT_UNIMPLEMENTED,
                               "%s: the step's work exceeds one CUDA grid",
                               map[i].gpu);
    out->kernel = map[i].gpu;
    memcpy(out->grid, l.grid, sizeof l.grid);
    memcpy(out->block, l.block, sizeof l.block);
    out->smem = l.smem;
    return NULL;
  }
  return ingot_make_status(INGOT_UNIMPLEMENTED,
                           "no GPU kernel computes template %s yet (GPU "
                           "kernels: docs/gpu.md)",
                           cpu_kernel);
}

/* The int8 product on the tensor cores (g_qconv_mma, nvptx.h) replaces
 * g_qconv when every sm the engine is built for has mma.sync m16n8k32
 * (sm_80+; the GPU plan is shared by every sm's module) and K spans at
 * least one mma k-step (kp >= 32; below that most of each mma would
 * multiply padding).  Everything else keeps its cg_gpu_step_of kernel. */
ingot_status cg_gpu_step_for(const char *cpu_kernel, const void *desc,
                             size_t desc_size, uint32_t lowest_sm,
                             cg_gpu_step *out) {
  INGOT_RETURN_IF_ERROR(cg_gpu_step_of(cpu_kernel, desc, desc_size, out));
  if (strcmp(out->kernel, "g_qconv") != 0 || lowest_sm < GM_MIN_SM)
    return NULL;
  const k_q8_desc *d = desc;
  g_launch l;
  if (d->kp < 32 || !g_launch_mma(d, &l)) return NULL;
  out->kernel = "g_qconv_mma";
  memcpy(out->grid, l.grid, sizeof l.grid);
  memcpy(out->block, l.block, sizeof l.block);
  out->smem = l.smem;
  return NULL;
}
