/* gpu_map.c — cg_gpu_step_of (gpu.h): the table of CPU templates whose
 * steps a GPU template computes from the same descriptor. */
#include <string.h>

#include "gpu.h"
#include "nvptx/nvptx.h"

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
    if (!map[i].launch(desc, &l))
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
                           "kernels: int8 convolution, GEMM, depthwise, "
                           "layout conversion, copy)",
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
