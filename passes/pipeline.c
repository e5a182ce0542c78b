/* pipeline.c — the engine build's passes, in order.  Printed by
 * `ingot build --verbose`; `--dump-ir STAGE` writes the graph after the
 * pass named STAGE ("import" is the graph as imported). */
#include <string.h>

#include "passes.h"

const pass_info pass_pipeline[] = {
    {"fold", pass_fold, "compute every node whose inputs are constant"},
    {"fold-bn", pass_fold_bn,
     "fold inference BatchNormalization into the preceding Conv"},
    {"simplify", pass_simplify,
     "remove Identity, inference Dropout and unused nodes"},
    {"static-shapes", pass_static_shapes,
     "check every tensor has a static shape"},
    {"fuse-gelu", pass_fuse_gelu,
     "Erf- and tanh-form GELU subgraphs become Gelu (not with --no-fuse)"},
    {"fuse-layernorm", pass_fuse_layernorm,
     "ReduceMean/Sub/Pow/Sqrt/Div subgraphs become LayerNormalization"},
    {"fuse-reduce", pass_fuse_reduce,
     "two reductions of one kind in a row become one over both axes"},
    {"calibrate", pass_calibrate,
     "--int8 --calib: ranges of every float tensor from calibration data"},
    {"quantize", pass_quantize,
     "--int8: QuantizeLinear/DequantizeLinear pairs from the ranges"},
    {"qdq-fold", pass_qdq_fold,
     "QDQ patterns become int8 QOperator ops (explicit quantisation)"},
    {"layout", pass_layout,
     "store conv/pool activations NHWC, insert layout casts"},
};
const int pass_pipeline_count =
    (int)(sizeof pass_pipeline / sizeof pass_pipeline[0]);

ingot_status pass_run_pipeline(ir_graph *g, const pass_options *opt) {
  if (opt && opt->dump && opt->dump_stage &&
      strcmp(opt->dump_stage, "import") == 0)
    INGOT_RETURN_IF_ERROR(opt->dump(g, "import", opt->dump_ctx));
  for (int i = 0; i < pass_pipeline_count; i++) {
    const pass_info *p = &pass_pipeline[i];
    ingot_status s = p->fn(g, opt);
    if (!s && opt && opt->verify) s = ir_verify(g);
    if (s) return ingot_status_annotate(s, "pass %s: ", p->name);
    if (opt && opt->dump && opt->dump_stage &&
        strcmp(opt->dump_stage, p->name) == 0)
      INGOT_RETURN_IF_ERROR(opt->dump(g, p->name, opt->dump_ctx));
  }
  return NULL;
}
