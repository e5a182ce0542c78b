/* gpu_exec.c — see gpu_exec.h. */
#include "gpu_exec.h"

#include <string.h>

#include "gpu.h"
#include "nvptx/nvptx.h"
#include "nvptx/simt.h"
#include "simt_emu.h"

GSIG(g_qconv);
GSIG(g_qconv_dw);
GSIG(g_qconv_mma);
GSIG(g_relayout);
GSIG(g_copy);
GSIG(g_ew_f32);
GSIG(g_mm_f32);
GSIG(g_conv_f32);
GSIG(g_red_f32);
GSIG(g_conv_f32_tasks);
GSIG(g_conv_dw_f32_tasks);
GSIG(g_conv_q8);
GSIG(g_mm_f32_tasks);
GSIG(g_mm_q8);
GSIG(g_pool);
GSIG(g_ew_unary);
GSIG(g_ew_binary);
GSIG(g_ql_binary);
GSIG(g_ql_table);
GSIG(g_ql_concat);
GSIG(g_q_quantize);
GSIG(g_q_dequantize);
GSIG(g_mv_copy);
GSIG(g_mv_pad);
GSIG(g_mv_gather);
GSIG(g_mv_fill);
GSIG(g_red);
GSIG(g_red_arg);
GSIG(g_norm_channel);
GSIG(g_norm_lrn);
GSIG(g_rs_nearest);
GSIG(g_rs_interp);
GSIG(g_norm_softmax);
GSIG(g_norm_layer);
GSIG(g_softmax);
GSIG(g_layernorm);
GSIG(g_gpool);

static const struct {
  const char *name;
  simt_kernel fn;
} kernels_host[] = {
    {"g_qconv", g_qconv},
    {"g_qconv_dw", g_qconv_dw},
    {"g_qconv_mma", g_qconv_mma},
    {"g_relayout", g_relayout},
    {"g_copy", g_copy},
    {"g_ew_f32", g_ew_f32},
    {"g_mm_f32", g_mm_f32},
    {"g_conv_f32", g_conv_f32},
    {"g_red_f32", g_red_f32},
    {"g_conv_f32_tasks", g_conv_f32_tasks},
    {"g_conv_dw_f32_tasks", g_conv_dw_f32_tasks},
    {"g_conv_q8", g_conv_q8},
    {"g_mm_f32_tasks", g_mm_f32_tasks},
    {"g_mm_q8", g_mm_q8},
    {"g_pool", g_pool},
    {"g_ew_unary", g_ew_unary},
    {"g_ew_binary", g_ew_binary},
    {"g_ql_binary", g_ql_binary},
    {"g_ql_table", g_ql_table},
    {"g_ql_concat", g_ql_concat},
    {"g_q_quantize", g_q_quantize},
    {"g_q_dequantize", g_q_dequantize},
    {"g_mv_copy", g_mv_copy},
    {"g_mv_pad", g_mv_pad},
    {"g_mv_gather", g_mv_gather},
    {"g_mv_fill", g_mv_fill},
    {"g_red", g_red},
    {"g_red_arg", g_red_arg},
    {"g_norm_channel", g_norm_channel},
    {"g_norm_lrn", g_norm_lrn},
    {"g_rs_nearest", g_rs_nearest},
    {"g_rs_interp", g_rs_interp},
    {"g_norm_softmax", g_norm_softmax},
    {"g_norm_layer", g_norm_layer},
    {"g_softmax", g_softmax},
    {"g_layernorm", g_layernorm},
    {"g_gpool", g_gpool},
};

static uint32_t exec_sm = 80; /* the lowest sm of a default build */
static int exec_force_mma;

void gpu_exec_set_sm(uint32_t sm, int force_mma) {
  exec_sm = sm, exec_force_mma = force_mma;
}

static int run_step(void *ctx, const cg_plan *p, uint32_t k, uint8_t *arena,
                    char *name, size_t ncap, ingot_status *err) {
  (void)ctx;
  const cg_plan_step *st = &p->steps[k];
  cg_gpu_step gs;
  ingot_status s = cg_gpu_step_for(st->kernel, p->descs[k],
                                   p->desc_sizes[k], exec_sm, &gs);
  if (s) {
    *err = ingot_make_status(ingot_status_code_of(s), "step %u (%s): %s", k,
                             st->op, ingot_status_message(s));
    ingot_status_free(s);
    return -1;
  }
  g_launch l;
  if (exec_force_mma && strcmp(gs.kernel, "g_qconv") == 0 &&
      g_launch_mma(p->descs[k], &l)) {
    gs.kernel = "g_qconv_mma";
    memcpy(gs.grid, l.grid, sizeof l.grid);
    memcpy(gs.block, l.block, sizeof l.block);
    gs.smem = l.smem;
  }
  simt_kernel fn = NULL;
  for (size_t i = 0; i < sizeof kernels_host / sizeof kernels_host[0]; i++)
    if (strcmp(kernels_host[i].name, gs.kernel) == 0) fn = kernels_host[i].fn;
  if (!fn) {
    *err = ingot_make_status(INGOT_INTERNAL, "no host build of %s", gs.kernel);
    return -1;
  }
  char msg[512];
  if (!simt_launch(fn, p->descs[k], arena, p->weights, gs.grid, gs.block,
                   gs.smem, msg, sizeof msg)) {
    *err = ingot_make_status(INGOT_INTERNAL, "step %u (%s) on %s: %s", k,
                             st->op, gs.kernel, msg);
    return -1;
  }
  snprintf(name, ncap, "%s", gs.kernel);
  return 1;
}

ingot_status gpu_run_traced(ir_graph *g, const cg_target *t,
                            const ir_value *inputs, ir_value *outputs,
                            char *kernels, size_t kcap) {
  return native_run_hooked(g, t, inputs, outputs, kernels, kcap, run_step,
                           NULL);
}
