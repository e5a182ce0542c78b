/* inspect_engine.c — `ingot inspect ENGINE`: what an engine holds and
 * whether this machine can run it.
 *
 * The report has one source of truth per fact: the header (format,
 * target, features, sizes), the section table, TENSORS and PLAN (steps,
 * their chosen precision and provenance) and BUILD_INFO (what the build
 * decided: requested precision and its rule, the memory plan's peak and
 * naive sum, the nodes passes fused).  Everything is read with
 * engine_view.c, so an engine built for another CPU is described too; the
 * runtime then says why it cannot run here.  When it can, the runtime also
 * loads it (code and every step), so "runs here: yes" means the whole
 * engine loaded.  The text form and --json print the same facts; the JSON
 * schema is docs/inspect-format.md (ORDER: keep the two in step).
 *
 * --ir STEP prints the step's function from the LLVM_IR section (no LLVM
 * needed: it is text); --disasm STEP runs ingot_plugin_disasm in the
 * plugin, which links LLVM's disassembler.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine_view.h"
#include "inspect.h"

typedef struct report {
  ev_engine e;
  bool runs;
  char why[1024];     /* why not, when !runs */
  char requested[64]; /* BUILD_INFO precision, "fp32" */
  char req_why[512], req_rule[512];
  long long activations, scratch, naive; /* -1: not recorded */
  struct fusion *fusions; /* from BUILD_INFO's "fused:" lines */
  int n_fusions;
} report;

/*===--- shared facts -------------------------------------------------===*/

static long long info_number(const ev_engine *e, const char *key) {
  char buf[64];
  if (!ev_build_info(e, key, buf, sizeof buf)) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(buf, &end, 10);
  return (end == buf || *end || errno || v < 0) ? -1 : v;
}

/* "none" for a step that records no compute dtype (pure data movement). */
static const char *dtype_name(uint32_t dt) {
  return dt ? ir_dtype_name((ir_dtype)dt) : "none";
}

/* Why step |st| runs at its precision, given the requested one. */
static const char *precision_why(const report *r, const ev_step *st,
                                 char *buf, size_t n) {
  const char *dt = dtype_name(st->precision);
  if (!strcmp(r->requested, "fp32") && st->precision == IR_F32)
    snprintf(buf, n, "as requested");
  else if (st->ops == 0 && !st->precision)
    snprintf(buf, n, "moves data, no arithmetic");
  else if (st->ops == 0)
    snprintf(buf, n, "moves %s data, no arithmetic", dt);
  else if (!strcmp(r->requested, "fp32"))
    snprintf(buf, n, "the model's %s op: fp32 applies to float ops", dt);
  else
    snprintf(buf, n, "chosen by the build (precision-rule)");
  return buf;
}

/* Steps through a '\n'-separated list: the next line into |s|, |len|. */
static bool next_line(const char **cur, const char **s, size_t *len) {
  if (!**cur) return false;
  *s = *cur;
  *len = strcspn(*cur, "\n");
  *cur += *len + ((*cur)[*len] == '\n');
  return true;
}

/* The step computing fused node |name| (not as its first node), or -1. */
static long find_fused_step(const ev_engine *e, const char *name, size_t n) {
  for (uint32_t i = 0; i < e->n_steps; i++) {
    const char *cur = e->steps[i].provenance, *q;
    size_t len;
    next_line(&cur, &q, &len); /* the step's own node */
    while (next_line(&cur, &q, &len))
      if (len == n && !memcmp(q, name, n)) return (long)i;
  }
  return -1;
}

/* A "fused: PASS OP NAME" line split up; false if malformed. */
typedef struct fusion {
  const char *pass, *op, *name;
  int pass_len, op_len, name_len;
  long step; /* -1: no step computes it */
} fusion;

static bool parse_fusion(const ev_engine *e, const char *v, size_t len,
                         fusion *f) {
  const char *sp1 = memchr(v, ' ', len);
  if (!sp1) return false;
  const char *sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - v));
  if (!sp2) return false;
  f->pass = v;
  f->pass_len = (int)(sp1 - v);
  f->op = sp1 + 1;
  f->op_len = (int)(sp2 - sp1 - 1);
  f->name = sp2 + 1;
  f->name_len = (int)(len - (size_t)(sp2 + 1 - v));
  f->step = find_fused_step(e, f->name, (size_t)f->name_len);
  return true;
}

/* Every well-formed "fused:" line of BUILD_INFO into *out (malloc'd);
 * returns the count, -1 without memory. */
static int collect_fusions(const ev_engine *e, fusion **out) {
  int n = 0, cap = 0;
  *out = NULL;
  const char *cur = e->build_info, *line;
  size_t len;
  while (next_line(&cur, &line, &len)) {
    fusion f;
    if (len < 7 || strncmp(line, "fused: ", 7) ||
        !parse_fusion(e, line + 7, len - 7, &f))
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 16;
      fusion *grown = realloc(*out, (size_t)cap * sizeof *grown);
      if (!grown) {
        free(*out);
        *out = NULL;
        return -1;
      }
      *out = grown;
    }
    (*out)[n++] = f;
  }
  return n;
}

static size_t first_word(const char *s) { return strcspn(s, " "); }

/*===--- text -----------------------------------------------------------===*/

static void print_bytes_line(const char *what, long long v, long long of) {
  if (v < 0) return;
  printf("  %-22s %12lld bytes", what, v);
  if (of > 0) printf("  (%.1f%%)", 100.0 * (double)v / (double)of);
  printf("\n");
}

/* GPU engines (--target cuda, format 1.3): the PTX/cubin sms and, per
 * step, its GPU kernel, launch and ptxas -v's registers / shared memory /
 * spills for each cubin. */
static void jstr(const char *s);
static void jkey(const char *k);

/* "gpu": null, or {"ptx":[{"sm","ptx_version"}],"cubin_sm":[...],
 * "steps":[{"kernel","grid","block","shared_bytes","ptxas":[{"sm",
 * "registers","shared_bytes","stack_bytes","spill_stores","spill_loads"}]}]}
 * (docs/inspect-format.md). */
static void json_gpu(const ev_engine *e) {
  const rt_gpu_view *g = &e->gpu;
  printf(",\"gpu\":");
  if (!g->plan.step_count) {
    printf("null");
    return;
  }
  printf("{\"ptx\":[");
  for (uint32_t i = 0; i < g->n_ptx; i++)
    printf("%s{\"sm\":%u,\"ptx_version\":\"%u.%u\"}", i ? "," : "",
           g->ptx[i].sm, g->ptx[i].ptx_version / 10,
           g->ptx[i].ptx_version % 10);
  printf("],\"cubin_sm\":[");
  for (uint32_t i = 0; i < g->n_cubin; i++)
    printf("%s%u", i ? "," : "", g->cubin[i].sm);
  printf("],\"steps\":[");
  for (uint32_t k = 0; k < g->plan.step_count; k++) {
    ingot_gpu_step st = rt_gpu_step(g, k);
    printf("%s{", k ? "," : ""), jkey("kernel"), jstr(st.kernel);
    printf(",\"entry\":"), jstr(st.entry);
    printf(",\"grid\":[%u,%u,%u],\"block\":[%u,%u,%u],\"shared_bytes\":%u,"
           "\"ptxas\":[",
           st.grid[0], st.grid[1], st.grid[2], st.block[0], st.block[1],
           st.block[2], st.shared_bytes);
    for (uint32_t i = 0; i < g->plan.sm_count; i++) {
      ingot_gpu_kernel_info in = rt_gpu_info(g, i, k);
      printf("%s{\"sm\":%u,\"registers\":%u,\"shared_bytes\":%u,"
             "\"stack_bytes\":%u,\"spill_stores\":%u,\"spill_loads\":%u}",
             i ? "," : "", g->plan.sms[i], in.registers, in.shared_bytes,
             in.stack_bytes, in.spill_stores, in.spill_loads);
    }
    printf("]}");
  }
  printf("]}");
}

static void print_gpu(const ev_engine *e) {
  const rt_gpu_view *g = &e->gpu;
  if (!g->plan.step_count) return;
  printf("gpu: PTX for");
  for (uint32_t i = 0; i < g->n_ptx; i++)
    printf(" sm_%u (PTX %u.%u)%s", g->ptx[i].sm, g->ptx[i].ptx_version / 10,
           g->ptx[i].ptx_version % 10, i + 1 < g->n_ptx ? "," : "");
  if (g->n_cubin) {
    printf("; cubins for");
    for (uint32_t i = 0; i < g->n_cubin; i++) printf(" sm_%u", g->cubin[i].sm);
    printf("\n");
  } else {
    printf("; no cubins (built without ptxas: the driver compiles the "
           "PTX)\n");
  }
  printf("  %-4s %-12s %-14s %-8s %6s", "#", "kernel", "grid", "block",
         "smem");
  for (uint32_t i = 0; i < g->plan.sm_count; i++)
    printf("  sm_%u regs/smem/spill-st/spill-ld", g->plan.sms[i]);
  printf("\n");
  for (uint32_t k = 0; k < g->plan.step_count; k++) {
    ingot_gpu_step st = rt_gpu_step(g, k);
    char grid[48], block[32];
    snprintf(grid, sizeof grid, "%ux%ux%u", st.grid[0], st.grid[1],
             st.grid[2]);
    snprintf(block, sizeof block, "%u", st.block[0] * st.block[1] *
                                            st.block[2]);
    printf("  %-4u %-12s %-14s %-8s %6u", k, st.kernel, grid, block,
           st.shared_bytes);
    for (uint32_t i = 0; i < g->plan.sm_count; i++) {
      ingot_gpu_kernel_info in = rt_gpu_info(g, i, k);
      char cell[64];
      snprintf(cell, sizeof cell, "%u/%u/%u/%u", in.registers,
               in.shared_bytes, in.spill_stores, in.spill_loads);
      printf("  %-34s", cell);
    }
    printf("\n");
  }
}

static void print_text(const report *r) {
  const ev_engine *e = &r->e;
  const ingot_file_header *h = &e->header;
  char feats[512];
  printf("engine      %s\n", e->path);
  printf("format      %u.%u (this ingot writes %d.%d), %zu bytes, content "
         "hash %016llx\n",
         h->format_major, h->format_minor, INGOT_FORMAT_MAJOR,
         INGOT_FORMAT_MINOR, e->size, (unsigned long long)h->content_hash);
  printf("producer    %s\n", h->producer);
  printf("target      %s, cpu %s\n", h->target_triple, h->target_cpu);
  printf("needs       %s\n", h->cpu_features
                                 ? ingot_cpu_feature_names(h->cpu_features,
                                                           feats, sizeof feats)
                                 : "(baseline x86-64)");
  printf("runs here   %s%s\n", r->runs ? "yes" : "no: ", r->runs ? "" : r->why);
  printf("sections   ");
  for (uint32_t i = 0; i < h->section_count; i++)
    printf(" %s %llu%s", ev_section_name(e->sections[i].kind),
           (unsigned long long)e->sections[i].size,
           i + 1 < h->section_count ? "," : "\n");

  printf("memory:\n");
  print_bytes_line("arena", (long long)h->arena_size, 0);
  print_bytes_line("  activations peak", r->activations,
                   (long long)h->arena_size);
  print_bytes_line("  step scratch", r->scratch, (long long)h->arena_size);
  if (r->naive > 0)
    printf("  %-22s %12lld bytes  (the plan reuses memory: arena is %.1f%% "
           "of it)\n",
           "naive sum", r->naive,
           100.0 * (double)h->arena_size / (double)r->naive);
  print_bytes_line("weights", (long long)h->weights_size, 0);
  print_bytes_line("code", (long long)h->code_size, 0);

  printf("inputs and outputs:\n");
  for (uint32_t i = 0; i < e->n_inputs + e->n_outputs; i++) {
    const ev_tensor *t = &e->tensors[i];
    printf("  %-6s %-24s %-8s [", i < e->n_inputs ? "input" : "output",
           t->name, dtype_name(t->dtype));
    for (uint32_t d = 0; d < t->rank; d++)
      printf("%s%lld", d ? ", " : "", (long long)t->dims[d]);
    printf("]  arena [%llu, +%llu)%s\n", (unsigned long long)t->arena_offset,
           (unsigned long long)t->arena_bytes,
           t->layout == INGOT_LAYOUT_NHWC ? " stored NHWC" : "");
  }

  printf("steps (%u):\n", e->n_steps);
  printf("  %-4s %-40s %-24s %-8s %7s %12s %12s  %s\n", "#", "op", "kernel",
         "prec", "tasks", "ops", "bytes", "model nodes");
  for (uint32_t i = 0; i < e->n_steps; i++) {
    const ev_step *st = &e->steps[i];
    printf("  %-4u %-40.40s %-24.24s %-8s %7lld %12llu %12llu  ", i, st->op,
           st->kernel, dtype_name(st->precision), (long long)st->tasks,
           (unsigned long long)st->ops, (unsigned long long)st->bytes);
    const char *cur = st->provenance, *p;
    size_t len;
    bool first = true;
    while (next_line(&cur, &p, &len)) {
      printf("%s%.*s", first ? "" : " + ", (int)len, p);
      first = false;
    }
    printf("%s\n", first ? "-" : "");
  }

  print_gpu(e);
  printf("precision: requested %s", r->requested);
  if (*r->req_why) printf(" (%s)", r->req_why);
  printf("\n");
  if (*r->req_rule) printf("  rule: %s\n", r->req_rule);
  /* Steps grouped by (chosen, why), in plan order of first appearance. */
  bool *done = calloc(e->n_steps ? e->n_steps : 1, sizeof *done);
  for (uint32_t i = 0; done && i < e->n_steps; i++) {
    if (done[i]) continue;
    char why[256], why2[256];
    precision_why(r, &e->steps[i], why, sizeof why);
    uint32_t count = 0;
    for (uint32_t j = i; j < e->n_steps; j++)
      if (!done[j] && e->steps[j].precision == e->steps[i].precision &&
          !strcmp(precision_why(r, &e->steps[j], why2, sizeof why2), why))
        count++;
    printf("  %-8s %s: %u step%s", dtype_name(e->steps[i].precision), why,
           count, count == 1 ? "" : "s");
    /* The steps as ranges: "0-16, 18". */
    long run_start = -1, last = -2;
    const char *sep = " (";
    for (uint32_t j = i; j <= e->n_steps; j++) {
      bool in = j < e->n_steps && !done[j] &&
                e->steps[j].precision == e->steps[i].precision &&
                !strcmp(precision_why(r, &e->steps[j], why2, sizeof why2), why);
      if (in) {
        done[j] = true;
        if (last != (long)j - 1) run_start = (long)j;
        last = (long)j;
        continue;
      }
      if (run_start < 0 || last != (long)j - 1) continue;
      if (run_start == last)
        printf("%s%ld", sep, last);
      else
        printf("%s%ld-%ld", sep, run_start, last);
      sep = ", ";
      run_start = -1;
    }
    printf(")\n");
  }
  free(done);

  printf("fusions (%d):\n", r->n_fusions);
  for (int i = 0; i < r->n_fusions; i++) {
    const fusion f = r->fusions[i];
    if (f.step < 0) {
      printf("  %.*s %.*s: %.*s (no step names it)\n", f.pass_len, f.pass,
             f.op_len, f.op, f.name_len, f.name);
      continue;
    }
    const ev_step *st = &e->steps[f.step];
    printf("  step %-4ld %.*s %.*s folded into %.*s %.*s (%.*s)\n", f.step,
           f.op_len, f.op, f.name_len, f.name, (int)first_word(st->op), st->op,
           (int)strcspn(st->provenance, "\n"), st->provenance, f.pass_len,
           f.pass);
  }
  printf("llvm ir     %s\n", e->llvm_ir ? "kept (inspect --ir STEP)"
                                        : "not kept (build with --keep-ir)");
  if (*e->build_info) {
    printf("build info:\n");
    const char *cur = e->build_info, *p;
    size_t len;
    while (next_line(&cur, &p, &len)) printf("  %.*s\n", (int)len, p);
  }
}

/*===--- JSON -----------------------------------------------------------===*/

static void jstrn(const char *s, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c == '\n')
      printf("\\n");
    else if (c == '\t')
      printf("\\t");
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}
static void jstr(const char *s) { jstrn(s, strlen(s)); }
static void jkey(const char *k) {
  jstr(k);
  putchar(':');
}
static void jnum_or_null(long long v) {
  if (v < 0)
    printf("null");
  else
    printf("%lld", v);
}

static void print_json(const report *r) {
  const ev_engine *e = &r->e;
  const ingot_file_header *h = &e->header;
  printf("{");
  jkey("schema"), jstr("ingot-inspect-engine/1");
  printf(","), jkey("path"), jstr(e->path);
  printf(",\"format\":{\"major\":%u,\"minor\":%u}", h->format_major,
         h->format_minor);
  printf(",\"file_bytes\":%zu,\"content_hash\":\"%016llx\"", e->size,
         (unsigned long long)h->content_hash);
  printf(","), jkey("producer"), jstr(h->producer);
  printf(",\"target\":{"), jkey("triple"), jstr(h->target_triple);
  printf(","), jkey("cpu"), jstr(h->target_cpu);
  printf(",\"features\":[");
  char feats[512];
  ingot_cpu_feature_names(h->cpu_features, feats, sizeof feats);
  bool first = true;
  for (char *save = NULL, *t = strtok_r(feats, " ", &save); t;
       t = strtok_r(NULL, " ", &save)) {
    printf("%s", first ? "" : ",");
    jstr(t);
    first = false;
  }
  printf("]},\"compatibility\":{\"runs_here\":%s,\"reason\":",
         r->runs ? "true" : "false");
  if (r->runs)
    printf("null");
  else
    jstr(r->why);
  printf("},\"sections\":[");
  for (uint32_t i = 0; i < h->section_count; i++) {
    printf("%s{", i ? "," : ""), jkey("kind");
    jstr(ev_section_name(e->sections[i].kind));
    printf(",\"kind_id\":%u,\"offset\":%llu,\"bytes\":%llu}",
           e->sections[i].kind, (unsigned long long)e->sections[i].offset,
           (unsigned long long)e->sections[i].size);
  }
  printf("],\"memory\":{\"arena_bytes\":%llu,\"activations_peak_bytes\":",
         (unsigned long long)h->arena_size);
  jnum_or_null(r->activations);
  printf(",\"scratch_bytes\":"), jnum_or_null(r->scratch);
  printf(",\"naive_bytes\":"), jnum_or_null(r->naive);
  printf(",\"weights_bytes\":%llu,\"code_bytes\":%llu}",
         (unsigned long long)h->weights_size,
         (unsigned long long)h->code_size);
  json_gpu(e);
  printf(",\"tensors\":[");
  for (uint32_t i = 0; i < e->n_inputs + e->n_outputs; i++) {
    const ev_tensor *t = &e->tensors[i];
    printf("%s{", i ? "," : ""), jkey("name"), jstr(t->name);
    printf(",\"role\":\"%s\",\"dtype\":", i < e->n_inputs ? "input" : "output");
    jstr(dtype_name(t->dtype));
    printf(",\"stored_dtype\":"), jstr(dtype_name(t->stored_dtype));
    printf(",\"shape\":[");
    for (uint32_t d = 0; d < t->rank; d++)
      printf("%s%lld", d ? "," : "", (long long)t->dims[d]);
    printf("],\"layout\":\"%s\",\"arena_offset\":%llu,\"arena_bytes\":%llu}",
           t->layout == INGOT_LAYOUT_NHWC ? "NHWC" : "as-model",
           (unsigned long long)t->arena_offset,
           (unsigned long long)t->arena_bytes);
  }
  printf("],\"precision\":{"), jkey("requested"), jstr(r->requested);
  printf(","), jkey("why"), jstr(r->req_why);
  printf(","), jkey("rule"), jstr(r->req_rule);
  printf("},\"steps\":[");
  for (uint32_t i = 0; i < e->n_steps; i++) {
    const ev_step *st = &e->steps[i];
    char why[256];
    printf("%s{\"index\":%u,", i ? "," : "", i), jkey("symbol");
    jstr(st->symbol);
    printf(","), jkey("op"), jstr(st->op);
    printf(","), jkey("kernel"), jstr(st->kernel);
    printf(",\"tasks\":%lld,\"ops\":%llu,\"bytes\":%llu,\"nodes\":[",
           (long long)st->tasks, (unsigned long long)st->ops,
           (unsigned long long)st->bytes);
    first = true;
    const char *cur = st->provenance, *p;
    size_t len;
    while (next_line(&cur, &p, &len)) {
      printf("%s", first ? "" : ",");
      jstrn(p, len);
      first = false;
    }
    printf("],\"precision\":{"), jkey("requested"), jstr(r->requested);
    printf(","), jkey("chosen"), jstr(dtype_name(st->precision));
    printf(","), jkey("why"), jstr(precision_why(r, st, why, sizeof why));
    printf("}}");
  }
  printf("],\"fusions\":[");
  for (int i = 0; i < r->n_fusions; i++) {
    const fusion f = r->fusions[i];
    printf("%s{\"step\":", i ? "," : "");
    if (f.step < 0)
      printf("null");
    else
      printf("%ld", f.step);
    printf(","), jkey("pass"), jstrn(f.pass, (size_t)f.pass_len);
    printf(","), jkey("op"), jstrn(f.op, (size_t)f.op_len);
    printf(","), jkey("node"), jstrn(f.name, (size_t)f.name_len);
    if (f.step >= 0) {
      const ev_step *st = &e->steps[f.step];
      printf(","), jkey("into_op"), jstrn(st->op, first_word(st->op));
      printf(","), jkey("into_node");
      jstrn(st->provenance, strcspn(st->provenance, "\n"));
    }
    printf("}");
  }
  printf("],\"llvm_ir\":%s,\"build_info\":[", e->llvm_ir ? "true" : "false");
  first = true;
  const char *cur = e->build_info, *p;
  size_t len;
  while (next_line(&cur, &p, &len)) {
    const char *colon = memchr(p, ':', len);
    if (!colon) continue;
    const char *v = colon + 1;
    while (v < p + len && *v == ' ') v++;
    printf("%s{", first ? "" : ","), jkey("key");
    jstrn(p, (size_t)(colon - p));
    printf(","), jkey("value"), jstrn(v, len - (size_t)(v - p));
    printf("}");
    first = false;
  }
  printf("]}\n");
}

/*===--- --ir -----------------------------------------------------------===*/

/* The line of |ir| (|n| bytes) starting at |at| ends at the returned
 * offset (its '\n' or |n|). */
static size_t line_end(const char *ir, size_t n, size_t at) {
  const char *nl = memchr(ir + at, '\n', n - at);
  return nl ? (size_t)(nl - ir) : n;
}

/* Prints the global definition "@NAME = ..." (one line) if there is one. */
static void print_global(const char *ir, size_t n, const char *name,
                         size_t len) {
  for (size_t at = 0; at < n; at = line_end(ir, n, at) + 1) {
    size_t end = line_end(ir, n, at);
    if (end - at > len + 3 && ir[at] == '@' &&
        !memcmp(ir + at + 1, name, len) &&
        !memcmp(ir + at + 1 + len, " = ", 3)) {
      printf("%.*s\n", (int)(end - at), ir + at);
      return;
    }
  }
}

static bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '$';
}

static ingot_status print_ir(const ev_engine *e, uint32_t k) {
  const ev_step *st = &e->steps[k];
  if (!e->llvm_ir)
    return ingot_make_status(INGOT_NOT_FOUND,
                             "%s: the engine has no LLVM IR (build it with "
                             "ingot build --keep-ir)",
                             e->path);
  const char *ir = e->llvm_ir;
  size_t n = e->llvm_ir_size;
  char want[300];
  int wl = snprintf(want, sizeof want, "@%s(", st->symbol);
  if (wl < 0 || (size_t)wl >= sizeof want) wl = 0; /* no such definition */
  for (size_t at = 0; wl && at < n; at = line_end(ir, n, at) + 1) {
    size_t end = line_end(ir, n, at);
    if (end - at < 7 || memcmp(ir + at, "define ", 7)) continue;
    const char *hit = NULL;
    for (size_t i = at; i + (size_t)wl <= end && !hit; i++)
      if (!memcmp(ir + i, want, (size_t)wl)) hit = ir + i;
    if (!hit) continue;
    size_t stop = at;
    while (stop < n && !(line_end(ir, n, stop) - stop == 1 && ir[stop] == '}'))
      stop = line_end(ir, n, stop) + 1;
    if (stop >= n)
      return ingot_make_status(INGOT_DATA_LOSS,
                               "%s: LLVM_IR: the definition of @%s has no end",
                               e->path, st->symbol);
    printf("; step %u: %s (kernel %s); model nodes: ", k, st->op, st->kernel);
    bool first = true;
    const char *cur = st->provenance, *p;
    size_t len;
    while (next_line(&cur, &p, &len)) {
      printf("%s%.*s", first ? "" : ", ", (int)len, p);
      first = false;
    }
    printf("%s\n", first ? "-" : "");
    /* The constants the function reads, then the function. */
    size_t fn_end = stop + 1;
    const char *seen[64];
    size_t seen_len[64], n_seen = 0;
    for (size_t i = at; i < fn_end; i++) {
      if (ir[i] != '@' || i + 1 >= fn_end || !ident_char(ir[i + 1])) continue;
      size_t il = 1;
      while (i + 1 + il < fn_end && ident_char(ir[i + 1 + il])) il++;
      const char *name = ir + i + 1;
      i += il;
      if ((il == strlen(st->symbol) && !memcmp(name, st->symbol, il)) ||
          (il > 5 && !memcmp(name, "llvm.", 5)))
        continue;
      bool dup = false;
      for (size_t j = 0; j < n_seen && !dup; j++)
        dup = seen_len[j] == il && !memcmp(seen[j], name, il);
      if (dup || n_seen == 64) continue;
      seen[n_seen] = name;
      seen_len[n_seen++] = il;
      print_global(ir, n, name, il);
    }
    printf("%.*s\n", (int)(fn_end - at), ir + at);
    return NULL;
  }
  return ingot_make_status(INGOT_DATA_LOSS,
                           "%s: LLVM_IR has no definition of @%s (step %u)",
                           e->path, st->symbol, k);
}

/*===--- entry ----------------------------------------------------------===*/

static int run_disasm(const char *path, const inspect_opts *o) {
  cli_plugin_main fn;
  ingot_status s = cli_plugin_fn("ingot inspect --disasm",
                                 "ingot_plugin_disasm", &fn);
  if (s) return cli_fail(s);
  char *args[] = {(char *)path, (char *)o->disasm_step,
                  o->att ? "att" : "intel", NULL};
  return fn(3, args);
}

/* --memory: the TENSOR_MAP (engine format 1.2) as a memory plan.  Each
 * arena tensor: its place, the step that writes it, and the first later
 * step whose output overlaps its bytes (where the plan reuses them: the
 * tensor is dead by then).  Then the peak against the naive sum. */
static const ingot_section_entry *find_section(const ev_engine *e,
                                               uint32_t kind) {
  for (uint32_t i = 0; i < e->header.section_count; i++)
    if (e->sections[i].kind == kind) return &e->sections[i];
  return NULL;
}

static ingot_status print_memory(const ev_engine *e) {
  const ingot_section_entry *ms = find_section(e, INGOT_SECTION_TENSOR_MAP);
  const ingot_section_entry *ss = find_section(e, INGOT_SECTION_STRINGS);
  if (!ms)
    return ingot_make_status(INGOT_NOT_FOUND,
                             "%s: no TENSOR_MAP section (engine format 1.2 "
                             "and later have it): the per-tensor plan is "
                             "not recorded", e->path);
  ingot_tensor_map_header h;
  if (ms->size < sizeof h || !ss)
    return ingot_make_status(INGOT_DATA_LOSS, "%s: TENSOR_MAP is truncated",
                             e->path);
  memcpy(&h, e->file + ms->offset, sizeof h);
  if (h.entry_size < sizeof(ingot_tensor_map_entry) ||
      (uint64_t)h.count * h.entry_size > ms->size - sizeof h)
    return ingot_make_status(INGOT_DATA_LOSS, "%s: TENSOR_MAP holds %u "
                             "entries of %u bytes in %llu bytes", e->path,
                             h.count, h.entry_size,
                             (unsigned long long)ms->size);
  ingot_tensor_map_entry *t = calloc(h.count ? h.count : 1, sizeof *t);
  if (!t) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  const char *strs = (const char *)e->file + ss->offset;
  uint64_t total = 0;
  for (uint32_t i = 0; i < h.count; i++) {
    memcpy(&t[i], e->file + ms->offset + sizeof h + (size_t)i * h.entry_size,
           sizeof *t);
    if (t[i].name >= ss->size ||
        !memchr(strs + t[i].name, 0, ss->size - t[i].name)) {
      free(t);
      return ingot_make_status(INGOT_DATA_LOSS, "%s: TENSOR_MAP entry %u: "
                               "name outside STRINGS", e->path, i);
    }
    total += t[i].arena_bytes;
  }
  printf("memory plan of %s: %u arena tensors, arena %llu bytes\n", e->path,
         h.count, (unsigned long long)e->header.arena_size);
  printf("  %10s %10s  %-8s %-10s %s\n", "offset", "bytes", "written",
         "reused by", "tensor");
  for (uint32_t i = 0; i < h.count; i++) {
    char w[16] = "input", re[16] = "-";
    if (t[i].ready_step != INGOT_TENSOR_READY_INPUT)
      snprintf(w, sizeof w, "step %u", t[i].ready_step);
    uint32_t first = UINT32_MAX;
    for (uint32_t j = 0; j < h.count; j++) {
      if (t[j].ready_step == INGOT_TENSOR_READY_INPUT ||
          (t[i].ready_step != INGOT_TENSOR_READY_INPUT &&
           t[j].ready_step <= t[i].ready_step))
        continue;
      bool overlap = t[j].arena_offset < t[i].arena_offset + t[i].arena_bytes &&
                     t[i].arena_offset < t[j].arena_offset + t[j].arena_bytes;
      if (overlap && t[j].ready_step < first) first = t[j].ready_step;
    }
    if (first != UINT32_MAX) snprintf(re, sizeof re, "step %u", first);
    printf("  %10llu %10llu  %-8s %-10s %s\n",
           (unsigned long long)t[i].arena_offset,
           (unsigned long long)t[i].arena_bytes, w, re, strs + t[i].name);
  }
  long long act = info_number(e, "arena-activations-bytes");
  long long naive = info_number(e, "arena-naive-bytes");
  printf("mapped tensors %llu bytes in all", (unsigned long long)total);
  if (act >= 0 && naive > 0)
    printf("; activations peak %lld of %lld bytes naive (%.1f%%)", act, naive,
           100.0 * (double)act / (double)naive);
  printf("\n");
  free(t);
  return NULL;
}

int inspect_engine(const char *path, const inspect_opts *o) {
  if (o->check) {
    /* This runtime and CPU (the header), then the file's integrity
     * (checksum, tables); no code is mapped. */
    ingot_status s = ingot_engine_check_file(path);
    ev_engine e;
    if (!s) s = ev_open(path, &e);
    if (s) return cli_fail(s);
    ev_close(&e);
    printf("%s: this machine can run it\n", path);
    return 0;
  }
  if (o->disasm_step) return run_disasm(path, o);
  report *r = calloc(1, sizeof *r);
  if (!r)
    return cli_fail(ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                                      "out of memory"));
  ingot_status s = ev_open(path, &r->e);
  if (!s && o->memory) {
    s = print_memory(&r->e);
    ev_close(&r->e);
    free(r);
    return s ? cli_fail(s) : 0;
  }
  if (!s && o->ir_step) {
    uint32_t k;
    s = ev_find_step(&r->e, o->ir_step, &k);
    if (!s) s = print_ir(&r->e, k);
    ev_close(&r->e);
    free(r);
    return s ? cli_fail(s) : 0;
  }
  if (!s) {
    /* Header check, then a full load: "yes" means the runtime took it all.
     * A corrupt engine is an error; an incompatible one is described. */
    ingot_status why = ingot_engine_check_file(path);
    if (!why) {
      ingot_engine *eng = NULL;
      why = ingot_engine_load_file(path, &eng);
      ingot_engine_release(eng);
    }
    r->runs = why == NULL;
    if (why && ingot_status_code_of(why) == INGOT_DATA_LOSS)
      s = why;
    else if (why) {
      /* The report names the file already. */
      const char *msg = ingot_status_message(why);
      size_t pl = strlen(path);
      if (!strncmp(msg, path, pl) && !strncmp(msg + pl, ": ", 2)) msg += pl + 2;
      snprintf(r->why, sizeof r->why, "%s", msg);
      ingot_status_free(why);
    }
  }
  if (!s) {
    const ev_engine *e = &r->e;
    if (!ev_build_info(e, "precision", r->requested, sizeof r->requested))
      snprintf(r->requested, sizeof r->requested, "fp32");
    ev_build_info(e, "precision-why", r->req_why, sizeof r->req_why);
    ev_build_info(e, "precision-rule", r->req_rule, sizeof r->req_rule);
    r->activations = info_number(e, "arena-activations-bytes");
    r->scratch = info_number(e, "arena-scratch-bytes");
    r->naive = info_number(e, "arena-naive-bytes");
    r->n_fusions = collect_fusions(e, &r->fusions);
    if (r->n_fusions < 0)
      s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!s) {
    if (o->json)
      print_json(r);
    else
      print_text(r);
  }
  free(r->fusions);
  ev_close(&r->e);
  free(r);
  return s ? cli_fail(s) : 0;
}
