/* gpu_engine.c — the GPU sections of a --target cuda engine (gpu.h;
 * runtime/engine_format.h, format 1.3, blobs aligned from 1.4;
 * docs/gpu.md).
 *
 * The plan is the CPU plan for the generic target: every step maps to a
 * GPU template with the same descriptor (cg_gpu_step_of), so the engine
 * runs on the CPU (its CPU_CODE) and on a GPU (one kernel launch per step,
 * in plan order, over one device arena laid out like the CPU arena).  One
 * PTX module per --sm holds a kernel per step, named after the step's CPU
 * symbol.  With ptxas, each module is also assembled for its sm and ptxas
 * -v's figures go into GPU_PLAN; without it the engine carries PTX only
 * (the driver JIT-compiles it) and the build says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "gpu.h"
#include "plan.h"

void cg_gpu_sections_free(cg_gpu_sections *s) {
  free(s->ptx);
  free(s->cubin);
  free(s->plan);
  memset(s, 0, sizeof *s);
}

/* ".version 7.0" -> 70. */
static uint32_t ptx_version_of(const char *ptx) {
  const char *v = strstr(ptx, ".version ");
  unsigned a = 0, b = 0;
  if (!v || sscanf(v, ".version %u.%u", &a, &b) != 2) return 0;
  return a * 10 + b;
}

/* A GPU_PTX / GPU_CUBIN section from |n| blobs. */
static ingot_status pack_blobs(char **data, const size_t *sizes,
                               const uint32_t *sms, const uint32_t *vers,
                               size_t n, void **out, size_t *out_size) {
  const size_t al = INGOT_GPU_BLOB_ALIGN;
  size_t head = sizeof(ingot_gpu_blob_header) + n * sizeof(ingot_gpu_blob);
  size_t total = (head + al - 1) / al * al;
  for (size_t i = 0; i < n; i++) total += (sizes[i] + al - 1) / al * al;
  uint8_t *b = calloc(1, total);
  if (!b) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  ingot_gpu_blob_header h = {(uint32_t)n, sizeof(ingot_gpu_blob)};
  memcpy(b, &h, sizeof h);
  size_t pos = (head + al - 1) / al * al; /* padding stays zero */
  for (size_t i = 0; i < n; i++) {
    ingot_gpu_blob e = {sms[i], vers ? vers[i] : 0, pos, sizes[i]};
    memcpy(b + sizeof h + i * sizeof e, &e, sizeof e);
    memcpy(b + pos, data[i], sizes[i]);
    pos += (sizes[i] + al - 1) / al * al;
  }
  *out = b, *out_size = total;
  return NULL;
}

ingot_status cg_gpu_build_sections(const cg_plan *p, const uint32_t *sms,
                                   size_t n_sm, FILE *log,
                                   cg_gpu_sections *out) {
  memset(out, 0, sizeof *out);
  if (n_sm == 0 || n_sm > INGOT_GPU_MAX_SM)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "--sm: between 1 and %d architectures",
                             INGOT_GPU_MAX_SM);
  if (p->n_steps == 0)
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "--target cuda: the plan has no steps");
  ingot_gpu_step *gs = calloc(p->n_steps, sizeof *gs);
  ingot_gpu_kernel_info *info =
      calloc((size_t)p->n_steps * n_sm, sizeof *info);
  char *ptx[INGOT_GPU_MAX_SM] = {0}, *bin[INGOT_GPU_MAX_SM] = {0};
  size_t ptx_n[INGOT_GPU_MAX_SM] = {0}, bin_n[INGOT_GPU_MAX_SM] = {0};
  uint32_t vers[INGOT_GPU_MAX_SM] = {0};
  ingot_status s = gs && info ? NULL
                              : ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                                                  "out of memory");
  for (uint32_t k = 0; !s && k < p->n_steps; k++) {
    const cg_plan_step *st = &p->steps[k];
    cg_gpu_step g;
    s = cg_gpu_step_for(st->kernel, p->descs[k], p->desc_sizes[k], sms[0],
                        &g);
    if (s) {
      char from[256];
      snprintf(from, sizeof from, "%s",
               st->provenance && *st->provenance ? st->provenance : "-");
      for (char *c = from; *c; c++)
        if (*c == '\n') *c = ',';
      ingot_status w = ingot_make_status(
          ingot_status_code_of(s), "--target cuda: step %u (%s, from %s): %s",
          k, st->op, from, ingot_status_message(s));
      ingot_status_free(s);
      s = w;
      break;
    }
    if (strlen(st->symbol) >= sizeof gs[k].entry) {
      s = ingot_make_status(INGOT_INTERNAL, "step symbol %s is too long",
                            st->symbol);
      break;
    }
    memcpy(gs[k].entry, st->symbol, strlen(st->symbol));
    memcpy(gs[k].kernel, g.kernel, strlen(g.kernel));
    memcpy(gs[k].grid, g.grid, sizeof g.grid);
    memcpy(gs[k].block, g.block, sizeof g.block);
    gs[k].shared_bytes = g.smem;
    gs[k].param_bytes = 16;
  }
  char pbuf[512];
  const char *ptxas = s ? NULL : cg_ptxas_find(pbuf, sizeof pbuf);
  if (!s && !ptxas)
    snprintf(out->note, sizeof out->note,
             "ptxas not found (/usr/local/cuda/bin/ptxas, $INGOT_PTXAS, "
             "PATH): the engine carries PTX only, which the CUDA driver "
             "compiles when it loads");
  for (size_t i = 0; !s && i < n_sm; i++) {
    cg_gpu_module *m = NULL;
    s = cg_gpu_module_create(sms[i], &m);
    for (uint32_t k = 0; !s && k < p->n_steps; k++)
      s = cg_gpu_module_add_step(m, gs[k].entry, gs[k].kernel, p->descs[k],
                                 p->desc_sizes[k]);
    if (!s) s = cg_gpu_module_emit(m, &ptx[i], &ptx_n[i]);
    cg_gpu_module_destroy(m);
    if (s) break;
    vers[i] = ptx_version_of(ptx[i]);
    if (!ptxas) {
      if (log)
        fprintf(log, "gpu: sm_%u: PTX %u.%u, %zu bytes (no ptxas)\n", sms[i],
                vers[i] / 10, vers[i] % 10, ptx_n[i]);
      continue;
    }
    cg_ptxas_kernel *ks = NULL;
    size_t nk = 0;
    void *cubin = NULL;
    s = cg_ptxas_run(ptxas, ptx[i], ptx_n[i], sms[i], &cubin, &bin_n[i], &ks,
                     &nk);
    bin[i] = cubin;
    for (size_t j = 0; !s && j < nk; j++)
      for (uint32_t k = 0; k < p->n_steps; k++)
        if (strcmp(ks[j].name, gs[k].entry) == 0) {
          ingot_gpu_kernel_info *f = &info[i * p->n_steps + k];
          f->registers = ks[j].registers;
          f->shared_bytes = ks[j].shared_bytes;
          f->stack_bytes = ks[j].stack_bytes;
          f->spill_stores = ks[j].spill_stores;
          f->spill_loads = ks[j].spill_loads;
        }
    free(ks);
    if (!s && log)
      fprintf(log, "gpu: sm_%u: PTX %u.%u, %zu bytes; cubin %zu bytes "
              "(%s)\n", sms[i], vers[i] / 10, vers[i] % 10, ptx_n[i],
              bin_n[i], ptxas);
  }
  if (!s)
    s = pack_blobs(ptx, ptx_n, sms, vers, n_sm, &out->ptx, &out->ptx_size);
  if (!s && ptxas)
    s = pack_blobs(bin, bin_n, sms, NULL, n_sm, &out->cubin,
                   &out->cubin_size);
  if (!s) {
    size_t ncubin = ptxas ? n_sm : 0;
    size_t total = sizeof(ingot_gpu_plan_header) +
                   p->n_steps * sizeof(ingot_gpu_step) +
                   ncubin * p->n_steps * sizeof(ingot_gpu_kernel_info);
    uint8_t *b = calloc(1, total);
    if (!b) {
      s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    } else {
      ingot_gpu_plan_header h;
      memset(&h, 0, sizeof h);
      h.step_count = p->n_steps;
      h.step_size = sizeof(ingot_gpu_step);
      h.sm_count = (uint32_t)ncubin;
      h.info_size = sizeof(ingot_gpu_kernel_info);
      for (size_t i = 0; i < ncubin; i++) h.sms[i] = sms[i];
      memcpy(b, &h, sizeof h);
      memcpy(b + sizeof h, gs, p->n_steps * sizeof *gs);
      memcpy(b + sizeof h + p->n_steps * sizeof *gs, info,
             ncubin * p->n_steps * sizeof *info);
      out->plan = b, out->plan_size = total;
      out->lowest_sm = sms[0];
    }
  }
  for (size_t i = 0; i < INGOT_GPU_MAX_SM; i++) free(ptx[i]), free(bin[i]);
  free(gs);
  free(info);
  if (s) cg_gpu_sections_free(out);
  return s;
}
