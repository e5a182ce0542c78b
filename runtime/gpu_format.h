/* gpu_format.h — checks and views of an engine's GPU sections (GPU_PTX,
 * GPU_CUBIN, GPU_PLAN; engine_format.h, format 1.3), shared by the CUDA
 * executor (cuda.c) and the tools (compiler/engine_view.c).  Header-only.
 *
 * The sections are untrusted input: every count, size and offset is
 * checked against the section and the file before use, entry names must be
 * NUL-terminated, blobs must lie inside their section, sms must ascend, and
 * the GPU plan must have one step per PLAN step.  On failure the check
 * returns a static message naming what is wrong. */
#ifndef INGOT_RT_GPU_FORMAT_H
#define INGOT_RT_GPU_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine_format.h"

typedef struct rt_gpu_view {
  ingot_gpu_plan_header plan;
  const uint8_t *steps; /* plan.step_count ingot_gpu_step (read by memcpy) */
  const uint8_t *info;  /* [plan.sm_count][step_count] kernel info */
  uint32_t n_ptx, n_cubin;
  ingot_gpu_blob ptx[INGOT_GPU_MAX_SM];   /* offsets from the file start */
  ingot_gpu_blob cubin[INGOT_GPU_MAX_SM];
} rt_gpu_view;

static inline int rt_gpu_in(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

static inline const char *rt_gpu_blobs(const uint8_t *file,
                                       const ingot_section_entry *s,
                                       int aligned, ingot_gpu_blob *out,
                                       uint32_t *n) {
  *n = 0;
  if (!s) return NULL;
  ingot_gpu_blob_header h;
  if (s->size < sizeof h) return "GPU blob section shorter than its header";
  memcpy(&h, file + s->offset, sizeof h);
  if (h.entry_size != sizeof(ingot_gpu_blob) || h.count == 0 ||
      h.count > INGOT_GPU_MAX_SM ||
      sizeof h + (uint64_t)h.count * sizeof(ingot_gpu_blob) > s->size)
    return "GPU blob table: bad count or entry size";
  for (uint32_t i = 0; i < h.count; i++) {
    ingot_gpu_blob b;
    memcpy(&b, file + s->offset + sizeof h + i * sizeof b, sizeof b);
    if (!rt_gpu_in(b.offset, b.size, s->size) || b.size == 0)
      return "GPU blob outside its section";
    if (b.sm < 10 || b.sm > 1000 || (i && b.sm <= out[i - 1].sm))
      return "GPU blob sms are not valid and ascending";
    if (aligned && b.offset % INGOT_GPU_BLOB_ALIGN)
      return "GPU blob not 64-byte aligned (format 1.4 aligns them)";
    b.offset += s->offset;
    out[i] = b;
  }
  *n = h.count;
  return NULL;
}

/* Checks the GPU sections of an engine of |steps| plan steps (the section
 * entries may be NULL: absent; the table itself was checked to lie inside
 * the file) and format 1.|minor| (>= 4: blobs aligned).  Without GPU_PLAN
 * the view is empty (plan.step_count 0). */
static inline const char *rt_gpu_view_init(const uint8_t *file,
                                           const ingot_section_entry *ptx,
                                           const ingot_section_entry *cubin,
                                           const ingot_section_entry *plan,
                                           uint32_t steps, unsigned minor,
                                           rt_gpu_view *out) {
  memset(out, 0, sizeof *out);
  if (!plan) return ptx || cubin ? "GPU code without a GPU_PLAN section" : NULL;
  if (!ptx) return "GPU_PLAN without a GPU_PTX section";
  if (plan->size < sizeof out->plan) return "GPU_PLAN shorter than its header";
  memcpy(&out->plan, file + plan->offset, sizeof out->plan);
  const ingot_gpu_plan_header *h = &out->plan;
  if (h->step_size != sizeof(ingot_gpu_step) ||
      h->info_size != sizeof(ingot_gpu_kernel_info))
    return "GPU_PLAN: unknown step or kernel-info size";
  if (h->step_count != steps)
    return "GPU_PLAN: its step count differs from PLAN's";
  if (h->sm_count > INGOT_GPU_MAX_SM)
    return "GPU_PLAN: too many sms";
  uint64_t need = sizeof *h + (uint64_t)h->step_count * sizeof(ingot_gpu_step) +
                  (uint64_t)h->sm_count * h->step_count *
                      sizeof(ingot_gpu_kernel_info);
  if (need != plan->size) return "GPU_PLAN: size does not match its counts";
  out->steps = file + plan->offset + sizeof *h;
  out->info = out->steps + (size_t)h->step_count * sizeof(ingot_gpu_step);
  for (uint32_t k = 0; k < h->step_count; k++) {
    ingot_gpu_step st;
    memcpy(&st, out->steps + (size_t)k * sizeof st, sizeof st);
    if (!memchr(st.entry, 0, sizeof st.entry) || !st.entry[0] ||
        !memchr(st.kernel, 0, sizeof st.kernel))
      return "GPU_PLAN: a step name is not NUL-terminated";
    for (int d = 0; d < 3; d++)
      if (st.grid[d] == 0 || st.block[d] == 0)
        return "GPU_PLAN: a step has an empty grid or block";
    if (st.param_bytes != 16) return "GPU_PLAN: unknown kernel parameters";
  }
  const char *e = rt_gpu_blobs(file, ptx, minor >= 4, out->ptx, &out->n_ptx);
  if (!e)
    e = rt_gpu_blobs(file, cubin, minor >= 4, out->cubin, &out->n_cubin);
  if (e) return e;
  if (out->n_cubin != h->sm_count) return "GPU_PLAN: sm count differs from GPU_CUBIN's";
  for (uint32_t i = 0; i < h->sm_count; i++)
    if (h->sms[i] != out->cubin[i].sm) return "GPU_PLAN: sms differ from GPU_CUBIN's";
  return NULL;
}

static inline ingot_gpu_step rt_gpu_step(const rt_gpu_view *v, uint32_t k) {
  ingot_gpu_step st;
  memcpy(&st, v->steps + (size_t)k * sizeof st, sizeof st);
  return st;
}

static inline ingot_gpu_kernel_info rt_gpu_info(const rt_gpu_view *v,
                                                uint32_t sm_index,
                                                uint32_t k) {
  ingot_gpu_kernel_info in;
  memcpy(&in,
         v->info + ((size_t)sm_index * v->plan.step_count + k) * sizeof in,
         sizeof in);
  return in;
}

#endif
