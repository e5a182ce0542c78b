/* tasks.c — the task-grid GPU kernels (tasks.h): each runs one generic CPU
 * template with one GPU thread per work unit.  The generic templates are
 * compiled for nvptx64 into the same GPU bitcode (codegen/CMakeLists.txt
 * part (d)); on the host the tests link their native build. */
#include "nvptx/tasks.h"
#include "nvptx/simt.h"

/* g_NAME runs k_NAME with the descriptor split by SPLIT, task = the
 * global thread index. */
#define GT_KERNEL(gname, kname, T, split)                                  \
  KSIG(kname);                                                             \
  GSIG(gname);                                                             \
  GSIG(gname) {                                                            \
    T d = *(const T *)desc_;                                               \
    int64_t units = split(&d);                                             \
    int64_t t = (int64_t)simt_bid_x() * simt_ntid() + simt_tid();          \
    if (t < units) kname(&d, arena, weights, t, t + 1);                    \
  }

GT_KERNEL(g_conv_f32_tasks, k_conv_f32, k_conv_desc, gt_split_conv)
GT_KERNEL(g_conv_dw_f32_tasks, k_conv_dw_f32, k_conv_desc, gt_split_conv)
GT_KERNEL(g_conv_q8, k_conv_q8, k_conv_desc, gt_split_conv)
GT_KERNEL(g_mm_f32_tasks, k_mm_f32, k_mm_desc, gt_split_mm)
GT_KERNEL(g_mm_q8, k_mm_q8, k_mm_desc, gt_split_mm)
GT_KERNEL(g_pool, k_pool, k_pool_desc, gt_split_pool)
GT_KERNEL(g_ew_unary, k_ew_unary, kew_unary, gt_split_ew_unary)
GT_KERNEL(g_ew_binary, k_ew_binary, kew_binary, gt_split_ew_binary)
GT_KERNEL(g_ql_binary, k_ql_binary, kql_binary, gt_split_ql_binary)
GT_KERNEL(g_ql_table, k_ql_table, kql_table, gt_split_ql_table)
GT_KERNEL(g_ql_concat, k_ql_concat, kql_concat, gt_split_ql_concat)
GT_KERNEL(g_q_quantize, k_q_quantize, kq_linear, gt_split_q)
GT_KERNEL(g_q_dequantize, k_q_dequantize, kq_linear, gt_split_q)
GT_KERNEL(g_mv_copy, k_mv_copy, kmv_copy, gt_split_mv_copy)
GT_KERNEL(g_mv_pad, k_mv_pad, kmv_pad, gt_split_mv_pad)
GT_KERNEL(g_mv_gather, k_mv_gather, kmv_gather, gt_split_mv_gather)
GT_KERNEL(g_mv_fill, k_mv_fill, kmv_fill, gt_split_mv_fill)
GT_KERNEL(g_red, k_red, kred, gt_split_red)
GT_KERNEL(g_red_arg, k_red_arg, kred_arg, gt_split_red_arg)
GT_KERNEL(g_norm_channel, k_norm_channel, knorm_channel, gt_split_channel)
GT_KERNEL(g_norm_lrn, k_norm_lrn, knorm_lrn, gt_split_lrn)
GT_KERNEL(g_rs_nearest, k_rs_nearest, krs, gt_split_rs)
GT_KERNEL(g_rs_interp, k_rs_interp, krs, gt_split_rs)
/* Softmax and LayerNorm steps g_softmax / g_layernorm (reduce.c) do not
 * take run here. */
GT_KERNEL(g_norm_softmax, k_norm_softmax, knorm_softmax, gt_split_softmax)
GT_KERNEL(g_norm_layer, k_norm_layer, knorm_layer, gt_split_layer)
