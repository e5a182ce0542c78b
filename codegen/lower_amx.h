/* lower_amx.h — the AMX int8 family (kernels/x86_amx/amx.c): the hooks
 * lower_conv.c and lower_matmul.c call before their own int8 lowering.
 *
 * Each hook either emits the node's steps with the AMX templates and sets
 * *done, or leaves *done false (the node is not one AMX takes, or the
 * target lacks amx-int8) and the caller lowers it as before.  An error is
 * returned only for a real failure (out of memory), never for "does not
 * fit".
 */
#ifndef INGOT_CODEGEN_LOWER_AMX_H
#define INGOT_CODEGEN_LOWER_AMX_H

#include <stdbool.h>

#include "generic/conv.h"
#include "lower.h"

/* Whether the target has AMX-TILE and AMX-INT8. */
bool cg_amx_target(const cg_lower_ctx *ctx);

/* QLinearConv / ConvInteger |n| with geometry |geo| (conv_geometry's:
 * sizes, strides, dilations, begin pads, x and y strides for their
 * layouts). */
ingot_status cg_amx_lower_conv(cg_lower_ctx *ctx, const ir_node *n,
                               const k_conv_desc *geo, bool *done);

/* QLinearMatMul / MatMulInteger |n|. */
ingot_status cg_amx_lower_matmul(cg_lower_ctx *ctx, const ir_node *n,
                                 bool *done);

#endif /* INGOT_CODEGEN_LOWER_AMX_H */
