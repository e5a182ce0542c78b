/* engine.c — reading an engine file (runtime/engine_format.h).
 *
 * An engine file is untrusted input.  Loading validates, in order, and
 * stops at the first problem with a message naming the file and the field:
 *   1. the header, field by field (magic, version, sizes, flags, strings,
 *      target), and the CPU features it requires against this machine;
 *   2. the CRC32C of everything after the header;
 *   3. the section table: known kinds at most once, 64-byte alignment,
 *      bounds, no overlap with the header, the table or each other;
 *   4. each section's own counts, sizes and string references (STRINGS,
 *      TENSORS, PLAN, PROVENANCE, WEIGHTS, BUILD_INFO, TENSOR_MAP);
 *   5. the CPU code (elf_loader.c) and every step's function in it.
 * Every size check is written as an overflow-safe in_bounds().  The file is
 * copied into one 64-byte aligned buffer, so sections (64-aligned in the
 * file) are 64-aligned in memory and the weights can be used in place.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "rt.h"

#ifndef INGOT_RT_VERSION
#define INGOT_RT_VERSION "unknown"
#endif

#define MAX_SECTIONS 64
#define MAX_IO 4096              /* graph inputs + outputs */
#define MAX_STEPS (1u << 20)
#define MAX_TASKS ((int64_t)1 << 31)
#define MAX_ARENA (1ull << 40)
#define MAX_DESC 4096            /* largest desc_size/step_size accepted */
#define N_KINDS (INGOT_SECTION_GPU_PLAN + 1)

/* LLVM_IR (text for tools) is known, so a duplicate is refused, and
 * otherwise ignored: running an engine never reads it. */
static const char *const kind_names[N_KINDS] = {
    "?",          "STRINGS", "TENSORS",   "PLAN",      "PROVENANCE",
    "WEIGHTS",    "CPU_CODE", "GPU_PTX",  "GPU_CUBIN", "BUILD_INFO",
    "LLVM_IR",    "TENSOR_MAP", "GPU_PLAN"};

const char *ingot_version(void) { return INGOT_RT_VERSION; }

static int in_bounds(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

static ingot_status bad(const char *fmt, ...) INGOT_PRINTF(1, 2);
static ingot_status bad(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ingot_status s = ingot_make_status_v(INGOT_DATA_LOSS, fmt, ap);
  va_end(ap);
  return s;
}

/*===--- header -----------------------------------------------------------===*/

static int field_is_string(const char *f, size_t n) {
  return memchr(f, 0, n) != NULL;
}

/* Everything the header alone says; |actual| is the file's real size. */
static ingot_status check_header(const ingot_file_header *h, uint64_t actual) {
  if (memcmp(h->magic, INGOT_MAGIC, 8) != 0)
    return bad("not an Ingot engine (bad magic)");
  if (h->format_major != INGOT_FORMAT_MAJOR)
    return ingot_make_status(
        INGOT_INCOMPATIBLE,
        "engine format %u.%u; this runtime (%s) reads format %d.x only",
        h->format_major, h->format_minor, INGOT_RT_VERSION, INGOT_FORMAT_MAJOR);
  if (h->header_size != INGOT_HEADER_SIZE)
    return bad("header size %u, expected %d", h->header_size,
               INGOT_HEADER_SIZE);
  if (h->file_size != actual)
    return bad("header says the file is %llu bytes but it is %llu (%s)",
               (unsigned long long)h->file_size, (unsigned long long)actual,
               actual < h->file_size ? "truncated" : "trailing data");
  if (!field_is_string(h->producer, sizeof h->producer) ||
      !field_is_string(h->target_triple, sizeof h->target_triple) ||
      !field_is_string(h->target_cpu, sizeof h->target_cpu))
    return bad("producer, target triple or target CPU is not NUL-terminated");
  if (h->flags != 0)
    return ingot_make_status(INGOT_INCOMPATIBLE,
                             "unknown header flags 0x%x (engine from a newer "
                             "ingot?)",
                             h->flags);
  if (h->section_count == 0 || h->section_count > MAX_SECTIONS)
    return bad("section count %u outside [1, %d]", h->section_count,
               MAX_SECTIONS);
  if (h->section_table_offset < INGOT_HEADER_SIZE ||
      h->section_table_offset % 8 != 0 ||
      !in_bounds(h->section_table_offset,
                 (uint64_t)h->section_count * sizeof(ingot_section_entry),
                 h->file_size))
    return bad("section table (%u entries at offset %llu) is misplaced in a "
               "%llu-byte file",
               h->section_count, (unsigned long long)h->section_table_offset,
               (unsigned long long)h->file_size);
  if (h->arena_size > MAX_ARENA)
    return bad("arena size %llu is absurd", (unsigned long long)h->arena_size);
  if (h->weights_size > h->file_size || h->code_size > h->file_size)
    return bad("weights (%llu bytes) or code (%llu bytes) larger than the "
               "file",
               (unsigned long long)h->weights_size,
               (unsigned long long)h->code_size);
  if (strncmp(h->target_triple, "x86_64", 6) != 0)
    return ingot_make_status(INGOT_INCOMPATIBLE,
                             "engine targets '%s'; this runtime runs x86_64 "
                             "code",
                             h->target_triple);
  /* gpu_arch != 0 (format 1.3): the engine also holds GPU code
   * (--target cuda), next to CPU code for the same plan, which runs here. */
  ingot_status s = rt_cpu_check(h->cpu_features, rt_cpu_detect());
  if (!s && (h->cpu_features & RT_CPU_AMX)) s = rt_cpu_enable_amx();
  return s;
}

ingot_status ingot_engine_check_file(const char *path) {
  if (!path)
    return ingot_make_status(INGOT_INVALID_ARGUMENT, "engine path is NULL");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ingot_make_status(errno == ENOENT ? INGOT_NOT_FOUND
                                             : INGOT_INVALID_ARGUMENT,
                             "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  ingot_file_header h;
  ingot_status s = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    s = ingot_make_status(INGOT_INVALID_ARGUMENT, "not a regular file");
  else if (st.st_size < INGOT_HEADER_SIZE)
    s = bad("file is %lld bytes, shorter than the %d-byte header",
            (long long)st.st_size, INGOT_HEADER_SIZE);
  else if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
    s = ingot_make_status(INGOT_DATA_LOSS, "cannot read the header: %s",
                          strerror(errno));
  else
    s = check_header(&h, (uint64_t)st.st_size);
  close(fd);
  return ingot_status_annotate(s, "%s: ", path);
}

/*===--- sections ---------------------------------------------------------===*/

typedef struct sections {
  const ingot_section_entry *kind[N_KINDS]; /* NULL when absent */
  ingot_section_entry table[MAX_SECTIONS];
} sections;

static ingot_status read_section_table(const ingot_engine *e, sections *S) {
  const ingot_file_header *h = &e->header;
  uint32_t n = h->section_count;
  uint64_t table_end = h->section_table_offset + n * sizeof(ingot_section_entry);
  memcpy(S->table, e->file + h->section_table_offset,
         n * sizeof(ingot_section_entry));
  memset(S->kind, 0, sizeof S->kind);
  for (uint32_t i = 0; i < n; i++) {
    const ingot_section_entry *s = &S->table[i];
    const char *name = s->kind < N_KINDS ? kind_names[s->kind] : "unknown";
    if (s->offset % INGOT_SECTION_ALIGN != 0)
      return bad("section %u (%s): offset %llu is not %d-byte aligned", i,
                 name, (unsigned long long)s->offset, INGOT_SECTION_ALIGN);
    if (s->offset < table_end || !in_bounds(s->offset, s->size, h->file_size))
      return bad("section %u (%s): bytes [%llu, +%llu) are outside the data "
                 "area [%llu, %llu)",
                 i, name, (unsigned long long)s->offset,
                 (unsigned long long)s->size, (unsigned long long)table_end,
                 (unsigned long long)h->file_size);
    for (uint32_t j = 0; j < i; j++) {
      const ingot_section_entry *o = &S->table[j];
      if (s->size && o->size && s->offset < o->offset + o->size &&
          o->offset < s->offset + s->size)
        return bad("sections %u (%s) and %u overlap", i, name, j);
    }
    if (s->kind == 0 || s->kind >= N_KINDS) continue; /* newer, optional */
    if (S->kind[s->kind])
      return bad("section %s appears twice", name);
    S->kind[s->kind] = s;
  }
  static const int required[] = {INGOT_SECTION_STRINGS, INGOT_SECTION_TENSORS,
                                 INGOT_SECTION_PLAN};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
    if (!S->kind[required[i]])
      return bad("section %s is missing", kind_names[required[i]]);
  return NULL;
}

/* A STRINGS reference: NULL (and *out set) when valid. */
static ingot_status string_at(const ingot_engine *e, uint32_t off,
                              const char *what, const char **out) {
  if (off >= e->strings_size)
    return bad("%s: string offset %u outside STRINGS (%llu bytes)", what, off,
               (unsigned long long)e->strings_size);
  *out = e->strings + off;
  return NULL;
}

static ingot_status read_strings(ingot_engine *e, const sections *S) {
  const ingot_section_entry *s = S->kind[INGOT_SECTION_STRINGS];
  const char *p = (const char *)e->file + s->offset;
  if (s->size == 0 || p[0] != '\0' || p[s->size - 1] != '\0')
    return bad("STRINGS must start and end with a NUL byte");
  e->strings = p;
  e->strings_size = s->size;
  return NULL;
}

/*===--- tensors ----------------------------------------------------------===*/

/* A tensor's rank and dims (TENSORS and TENSOR_MAP entries): rank within
 * INGOT_MAX_RANK, dims >= 0 and their product (*count) within MAX_ARENA. */
static ingot_status check_shape(const char *what, const char *name,
                                uint32_t rank, const int64_t *dims,
                                uint64_t *count) {
  if (rank > INGOT_MAX_RANK)
    return bad("%s '%s': rank %u exceeds %d", what, name, rank,
               INGOT_MAX_RANK);
  *count = 1;
  for (uint32_t k = 0; k < rank; k++) {
    if (dims[k] < 0 || (dims[k] && *count > MAX_ARENA / (uint64_t)dims[k]))
      return bad("%s '%s': dimension %u is %lld", what, name, k,
                 (long long)dims[k]);
    *count *= (uint64_t)dims[k];
  }
  return NULL;
}

static ingot_status check_tensor(const ingot_engine *e,
                                 const ingot_tensor_desc *d, uint32_t i,
                                 rt_tensor *t) {
  int input = i < e->n_inputs;
  char what[48];
  snprintf(what, sizeof what, "%s %u", input ? "input" : "output",
           input ? i : i - e->n_inputs);
  INGOT_RETURN_IF_ERROR(string_at(e, d->name, what, &t->name));
  if (!t->name[0]) return bad("%s has an empty name", what);
  if (d->role != (input ? INGOT_TENSOR_INPUT : INGOT_TENSOR_OUTPUT))
    return bad("%s '%s': role %u where %s are expected", what, t->name,
               d->role, input ? "inputs" : "outputs");
  size_t esize = rt_dtype_size(d->stored_dtype);
  if (!rt_dtype_size(d->dtype) || !esize)
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "%s '%s': dtype %u stored as %u is not supported",
                             what, t->name, d->dtype, d->stored_dtype);
  uint64_t count;
  INGOT_RETURN_IF_ERROR(
      check_shape(what, t->name, d->rank, d->dims, &count));
  if (d->arena_bytes != count * esize)
    return bad("%s '%s': %llu bytes in the arena, but %llu elements of %s "
               "need %llu",
               what, t->name, (unsigned long long)d->arena_bytes,
               (unsigned long long)count, rt_dtype_name(d->stored_dtype),
               (unsigned long long)(count * esize));
  if (!in_bounds(d->arena_offset, d->arena_bytes, e->header.arena_size))
    return bad("%s '%s': arena bytes [%llu, +%llu) outside the arena (%llu)",
               what, t->name, (unsigned long long)d->arena_offset,
               (unsigned long long)d->arena_bytes,
               (unsigned long long)e->header.arena_size);
  if (d->layout != INGOT_LAYOUT_AS_MODEL &&
      !(d->layout == INGOT_LAYOUT_NHWC && d->rank == 4))
    return bad("%s '%s': layout %u for a rank-%u tensor", what, t->name,
               d->layout, d->rank);
  if (d->stored_dtype != d->dtype) {
    int quant = d->dtype == INGOT_FLOAT32 &&
                (d->stored_dtype == INGOT_UINT8 || d->stored_dtype == INGOT_INT8);
    if (!quant)
      return ingot_make_status(INGOT_UNIMPLEMENTED,
                               "%s '%s': %s stored as %s is not supported",
                               what, t->name, rt_dtype_name(d->dtype),
                               rt_dtype_name(d->stored_dtype));
    int32_t lo = d->stored_dtype == INGOT_INT8 ? -128 : 0, hi = lo + 255;
    if (!(d->scale > 0) || !isfinite(d->scale) || d->zero_point < lo ||
        d->zero_point > hi)
      return bad("%s '%s': quantisation scale %g / zero point %d invalid for "
                 "%s",
                 what, t->name, (double)d->scale, d->zero_point,
                 rt_dtype_name(d->stored_dtype));
  }
  t->dtype = d->dtype;
  t->stored_dtype = d->stored_dtype;
  t->layout = d->layout;
  t->rank = d->rank;
  memset(t->dims, 0, sizeof t->dims);
  memcpy(t->dims, d->dims, d->rank * sizeof d->dims[0]);
  t->count = count;
  t->arena_offset = d->arena_offset;
  t->arena_bytes = d->arena_bytes;
  t->scale = d->scale;
  t->zero_point = d->zero_point;
  return NULL;
}

static ingot_status read_tensors(ingot_engine *e, const sections *S) {
  const ingot_section_entry *s = S->kind[INGOT_SECTION_TENSORS];
  const uint8_t *p = e->file + s->offset;
  ingot_tensors_header th;
  if (s->size < sizeof th)
    return bad("TENSORS is %llu bytes, shorter than its header",
               (unsigned long long)s->size);
  memcpy(&th, p, sizeof th);
  if (th.n_inputs > MAX_IO || th.n_outputs > MAX_IO ||
      th.count != th.n_inputs + th.n_outputs || th.count > MAX_IO)
    return bad("TENSORS: count %u, %u inputs, %u outputs (at most %d)",
               th.count, th.n_inputs, th.n_outputs, MAX_IO);
  if (th.desc_size < sizeof(ingot_tensor_desc) || th.desc_size > MAX_DESC)
    return bad("TENSORS: descriptor size %u, expected at least %zu",
               th.desc_size, sizeof(ingot_tensor_desc));
  if (!in_bounds(sizeof th, (uint64_t)th.count * th.desc_size, s->size))
    return bad("TENSORS: %u descriptors of %u bytes do not fit in %llu bytes",
               th.count, th.desc_size, (unsigned long long)s->size);
  e->n_inputs = th.n_inputs;
  e->n_outputs = th.n_outputs;
  e->tensors = calloc(th.count ? th.count : 1, sizeof *e->tensors);
  if (!e->tensors)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (uint32_t i = 0; i < th.count; i++) {
    ingot_tensor_desc d;
    memcpy(&d, p + sizeof th + (uint64_t)i * th.desc_size, sizeof d);
    INGOT_RETURN_IF_ERROR(check_tensor(e, &d, i, &e->tensors[i]));
    uint32_t first = i < th.n_inputs ? 0 : th.n_inputs;
    for (uint32_t j = first; j < i; j++)
      if (strcmp(e->tensors[j].name, e->tensors[i].name) == 0)
        return bad("two %s are named '%s'",
                   i < th.n_inputs ? "inputs" : "outputs", e->tensors[i].name);
  }
  return NULL;
}

/*===--- plan -------------------------------------------------------------===*/

static ingot_status read_plan(ingot_engine *e, const sections *S) {
  const ingot_section_entry *s = S->kind[INGOT_SECTION_PLAN];
  const uint8_t *p = e->file + s->offset;
  ingot_plan_header ph;
  if (s->size < sizeof ph)
    return bad("PLAN is %llu bytes, shorter than its header",
               (unsigned long long)s->size);
  memcpy(&ph, p, sizeof ph);
  if (ph.step_count > MAX_STEPS)
    return bad("PLAN: %u steps (at most %u)", ph.step_count, MAX_STEPS);
  if (ph.step_size < sizeof(ingot_step_desc) || ph.step_size > MAX_DESC)
    return bad("PLAN: step size %u, expected at least %zu", ph.step_size,
               sizeof(ingot_step_desc));
  if (!in_bounds(sizeof ph, (uint64_t)ph.step_count * ph.step_size, s->size))
    return bad("PLAN: %u steps of %u bytes do not fit in %llu bytes",
               ph.step_count, ph.step_size, (unsigned long long)s->size);
  const ingot_section_entry *prov = S->kind[INGOT_SECTION_PROVENANCE];
  if (prov && prov->size != (uint64_t)ph.step_count * 4)
    return bad("PROVENANCE is %llu bytes; %u steps need %llu",
               (unsigned long long)prov->size, ph.step_count,
               (unsigned long long)ph.step_count * 4);
  e->n_steps = ph.step_count;
  e->steps = calloc(ph.step_count ? ph.step_count : 1, sizeof *e->steps);
  if (!e->steps)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (uint32_t i = 0; i < ph.step_count; i++) {
    ingot_step_desc d;
    memcpy(&d, p + sizeof ph + (uint64_t)i * ph.step_size, sizeof d);
    rt_step *st = &e->steps[i];
    char what[32];
    snprintf(what, sizeof what, "step %u", i);
    INGOT_RETURN_IF_ERROR(string_at(e, d.symbol, what, &st->symbol));
    INGOT_RETURN_IF_ERROR(string_at(e, d.kernel, what, &st->kernel));
    INGOT_RETURN_IF_ERROR(string_at(e, d.op, what, &st->op));
    st->provenance = e->strings;
    if (prov) {
      uint32_t off;
      memcpy(&off, e->file + prov->offset + 4ull * i, 4);
      INGOT_RETURN_IF_ERROR(string_at(e, off, what, &st->provenance));
    }
    if (!st->symbol[0]) return bad("%s (%s) has no symbol", what, st->op);
    if (d.tasks < 1 || d.tasks > MAX_TASKS)
      return bad("%s (%s): task count %lld outside [1, %lld]", what, st->op,
                 (long long)d.tasks, (long long)MAX_TASKS);
    st->tasks = d.tasks;
    st->ops = d.ops;
    st->bytes = d.bytes;
    st->precision = d.precision;
  }
  return NULL;
}

/*===--- tensor map (format 1.2, optional) --------------------------------===*/

#define MAX_MAP (1u << 20)

static ingot_status check_map_entry(const ingot_engine *e,
                                    const ingot_tensor_map_entry *d,
                                    uint32_t i, rt_map_tensor *m) {
  char what[48];
  snprintf(what, sizeof what, "TENSOR_MAP entry %u", i);
  rt_tensor *t = &m->t;
  INGOT_RETURN_IF_ERROR(string_at(e, d->name, what, &t->name));
  if (!t->name[0]) return bad("%s has an empty name", what);
  size_t esize = rt_dtype_size(d->dtype);
  if (!esize)
    return bad("%s '%s': unknown dtype %u", what, t->name, d->dtype);
  uint64_t count;
  INGOT_RETURN_IF_ERROR(
      check_shape(what, t->name, d->rank, d->dims, &count));
  if (d->arena_bytes != count * esize ||
      !in_bounds(d->arena_offset, d->arena_bytes, e->header.arena_size))
    return bad("%s '%s': arena bytes [%llu, +%llu) for %llu elements of %s "
               "(arena %llu bytes)",
               what, t->name, (unsigned long long)d->arena_offset,
               (unsigned long long)d->arena_bytes, (unsigned long long)count,
               rt_dtype_name(d->dtype),
               (unsigned long long)e->header.arena_size);
  if (d->layout != INGOT_LAYOUT_AS_MODEL &&
      !(d->layout == INGOT_LAYOUT_NHWC && d->rank == 4))
    return bad("%s '%s': layout %u for a rank-%u tensor", what, t->name,
               d->layout, d->rank);
  if (d->ready_step != INGOT_TENSOR_READY_INPUT && d->ready_step >= e->n_steps)
    return bad("%s '%s': ready after step %u of a %u-step plan", what,
               t->name, d->ready_step, e->n_steps);
  if (d->flags & ~(uint32_t)INGOT_TMAP_QUANTIZED)
    return bad("%s '%s': unknown flags 0x%x", what, t->name, d->flags);
  m->quantized = (d->flags & INGOT_TMAP_QUANTIZED) != 0;
  if (m->quantized) {
    int32_t lo = d->dtype == INGOT_INT8 ? -128 : 0, hi = lo + 255;
    if ((d->dtype != INGOT_UINT8 && d->dtype != INGOT_INT8) ||
        !(d->scale > 0) || !isfinite(d->scale) || d->zero_point < lo ||
        d->zero_point > hi)
      return bad("%s '%s': quantisation scale %g / zero point %d invalid "
                 "for %s",
                 what, t->name, (double)d->scale, d->zero_point,
                 rt_dtype_name(d->dtype));
  }
  /* A quantised tensor reads as float32 by dequantising (convert.c's
   * stored_dtype != dtype case), as its own dtype by copying. */
  t->dtype = m->quantized ? INGOT_FLOAT32 : d->dtype;
  t->stored_dtype = d->dtype;
  t->layout = d->layout;
  t->rank = d->rank;
  memset(t->dims, 0, sizeof t->dims);
  memcpy(t->dims, d->dims, d->rank * sizeof d->dims[0]);
  t->count = count;
  t->arena_offset = d->arena_offset;
  t->arena_bytes = d->arena_bytes;
  t->scale = m->quantized ? d->scale : 1.0f;
  t->zero_point = m->quantized ? d->zero_point : 0;
  m->ready_step = d->ready_step;
  return NULL;
}

static ingot_status read_map(ingot_engine *e, const sections *S) {
  const ingot_section_entry *s = S->kind[INGOT_SECTION_TENSOR_MAP];
  if (!s) return NULL; /* format 1.0/1.1: no intermediate tensors */
  const uint8_t *p = e->file + s->offset;
  ingot_tensor_map_header mh;
  if (s->size < sizeof mh)
    return bad("TENSOR_MAP is %llu bytes, shorter than its header",
               (unsigned long long)s->size);
  memcpy(&mh, p, sizeof mh);
  if (mh.count > MAX_MAP)
    return bad("TENSOR_MAP: %u entries (at most %u)", mh.count, MAX_MAP);
  if (mh.entry_size < sizeof(ingot_tensor_map_entry) || mh.entry_size > MAX_DESC)
    return bad("TENSOR_MAP: entry size %u, expected at least %zu",
               mh.entry_size, sizeof(ingot_tensor_map_entry));
  if (!in_bounds(sizeof mh, (uint64_t)mh.count * mh.entry_size, s->size))
    return bad("TENSOR_MAP: %u entries of %u bytes do not fit in %llu bytes",
               mh.count, mh.entry_size, (unsigned long long)s->size);
  e->map = calloc(mh.count ? mh.count : 1, sizeof *e->map);
  if (!e->map)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  e->n_map = mh.count;
  for (uint32_t i = 0; i < mh.count; i++) {
    ingot_tensor_map_entry d;
    memcpy(&d, p + sizeof mh + (uint64_t)i * mh.entry_size, sizeof d);
    INGOT_RETURN_IF_ERROR(check_map_entry(e, &d, i, &e->map[i]));
  }
  return NULL;
}

/*===--- weights, build info, code ----------------------------------------===*/

static ingot_status read_rest(ingot_engine *e, const sections *S) {
  const ingot_section_entry *w = S->kind[INGOT_SECTION_WEIGHTS];
  uint64_t wsize = w ? w->size : 0;
  if (wsize != e->header.weights_size)
    return bad("WEIGHTS is %llu bytes, the header says %llu",
               (unsigned long long)wsize,
               (unsigned long long)e->header.weights_size);
  e->weights = w ? e->file + w->offset : e->file;
  const ingot_section_entry *c = S->kind[INGOT_SECTION_CPU_CODE];
  uint64_t csize = c ? c->size : 0;
  if (csize != e->header.code_size)
    return bad("CPU_CODE is %llu bytes, the header says %llu",
               (unsigned long long)csize,
               (unsigned long long)e->header.code_size);
  if (!csize && e->n_steps)
    return bad("PLAN has %u steps but there is no CPU_CODE", e->n_steps);
  /* GPU sections (format 1.3): checked here, used by cuda.c. */
  const char *ge = rt_gpu_view_init(
      e->file, S->kind[INGOT_SECTION_GPU_PTX],
      S->kind[INGOT_SECTION_GPU_CUBIN], S->kind[INGOT_SECTION_GPU_PLAN],
      e->n_steps, e->header.format_minor, &e->gpu);
  if (ge) return bad("%s", ge);
  if (e->header.gpu_arch && !e->gpu.plan.step_count)
    return bad("the header says the engine holds GPU code for sm_%u, but it "
               "has no GPU sections",
               e->header.gpu_arch);
  if (!e->header.gpu_arch && e->gpu.plan.step_count)
    return bad("GPU sections in an engine whose header names no GPU "
               "architecture");
  const ingot_section_entry *b = S->kind[INGOT_SECTION_BUILD_INFO];
  uint64_t bsize = b ? b->size : 0;
  e->build_info = malloc(bsize + 1);
  if (!e->build_info)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  if (bsize) memcpy(e->build_info, e->file + b->offset, bsize);
  e->build_info[bsize] = '\0';
  return NULL;
}

static ingot_status load_code(ingot_engine *e, const sections *S,
                              const char *what) {
  const ingot_section_entry *c = S->kind[INGOT_SECTION_CPU_CODE];
  if (!c || !c->size) return NULL; /* a plan without steps */
  char name[512];
  snprintf(name, sizeof name, "%s: CPU_CODE", what);
  ingot_status s = rt_elf_load(e->file + c->offset, c->size, name, &e->code);
  if (s) return s;
  for (uint32_t i = 0; i < e->n_steps; i++) {
    rt_step *st = &e->steps[i];
    st->fn = (rt_step_fn)rt_elf_find(&e->code, st->symbol);
    if (!st->fn)
      return ingot_make_status(INGOT_DATA_LOSS,
                               "%s: step %u (%s): function '%s' is not in "
                               "CPU_CODE",
                               what, i, st->op, st->symbol);
  }
  return NULL;
}

/*===--- load / release ---------------------------------------------------===*/

static void engine_free(ingot_engine *e) {
  if (!e) return;
  rt_elf_unload(&e->code);
  free(e->tensors);
  free(e->map);
  free(e->steps);
  free(e->build_info);
  free(e->file);
  free(e);
}

/* Takes ownership of |file| (64-aligned, |size| bytes). */
static ingot_status engine_from_buffer(uint8_t *file, size_t size,
                                       const char *what, ingot_engine **out) {
  ingot_engine *e = calloc(1, sizeof *e);
  if (!e) {
    free(file);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "%s: out of memory",
                             what);
  }
  atomic_init(&e->refs, 1);
  e->file = file;
  e->file_size = size;
  ingot_status s = NULL;
  sections S;
  if (size < INGOT_HEADER_SIZE)
    s = bad("file is %zu bytes, shorter than the %d-byte header", size,
            INGOT_HEADER_SIZE);
  if (!s) {
    memcpy(&e->header, file, sizeof e->header);
    s = check_header(&e->header, size);
  }
  if (!s) {
    uint32_t crc = rt_crc32c(file + INGOT_HEADER_SIZE, size - INGOT_HEADER_SIZE);
    if (crc != e->header.checksum)
      s = bad("checksum mismatch (stored %08x, computed %08x): the file is "
              "corrupt",
              e->header.checksum, crc);
  }
  if (!s) s = read_section_table(e, &S);
  if (!s) s = read_strings(e, &S);
  if (!s) s = read_tensors(e, &S);
  if (!s) s = read_plan(e, &S);
  if (!s) s = read_map(e, &S);
  if (!s) s = read_rest(e, &S);
  if (!s) {
    s = load_code(e, &S, what);
    if (s) {
      engine_free(e);
      return s; /* already names |what| */
    }
  }
  if (s) {
    engine_free(e);
    return ingot_status_annotate(s, "%s: ", what);
  }
  *out = e;
  return NULL;
}

static uint8_t *alloc_file(size_t size) {
  size_t n = (size + 63) & ~(size_t)63;
  return aligned_alloc(64, n ? n : 64);
}

ingot_status ingot_engine_load_memory(const void *data, size_t size,
                                      ingot_engine **out) {
  if (!out || (!data && size))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "ingot_engine_load_memory: NULL argument");
  *out = NULL;
  if (size > SIZE_MAX - 64)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "engine too large");
  uint8_t *file = alloc_file(size);
  if (!file)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "no memory for a %zu-byte engine", size);
  if (size) memcpy(file, data, size);
  return engine_from_buffer(file, size, "engine in memory", out);
}

ingot_status ingot_engine_load_file(const char *path, ingot_engine **out) {
  if (!path || !out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "ingot_engine_load_file: NULL argument");
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ingot_make_status(errno == ENOENT ? INGOT_NOT_FOUND
                                             : INGOT_INVALID_ARGUMENT,
                             "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s: not a regular file", path);
  }
  size_t size = (size_t)st.st_size;
  uint8_t *file = alloc_file(size);
  if (!file) {
    close(fd);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "%s: no memory for %zu bytes", path, size);
  }
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, file + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (got != size) {
    free(file);
    return ingot_make_status(INGOT_DATA_LOSS,
                             "%s: read %zu of %zu bytes", path, got, size);
  }
  return engine_from_buffer(file, size, path, out);
}

void rt_engine_retain(ingot_engine *e) { atomic_fetch_add(&e->refs, 1); }

void ingot_engine_release(ingot_engine *engine) {
  if (engine && atomic_fetch_sub(&engine->refs, 1) == 1) engine_free(engine);
}

/*===--- queries ----------------------------------------------------------===*/

int ingot_engine_input_count(const ingot_engine *e) {
  return e ? (int)e->n_inputs : 0;
}

int ingot_engine_output_count(const ingot_engine *e) {
  return e ? (int)e->n_outputs : 0;
}

static ingot_status tensor_info(const ingot_engine *e, int index, int output,
                                ingot_tensor_info *out) {
  const char *kind = output ? "output" : "input";
  if (!e || !out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT, "%s info: NULL argument",
                             kind);
  uint32_t n = output ? e->n_outputs : e->n_inputs;
  if (index < 0 || (uint32_t)index >= n)
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "%s index %d out of range (the engine has %u)",
                             kind, index, n);
  const rt_tensor *t = &e->tensors[(output ? e->n_inputs : 0) + (uint32_t)index];
  memset(out, 0, sizeof *out);
  out->name = t->name;
  out->dtype = (ingot_dtype)t->dtype;
  out->rank = (int)t->rank;
  for (uint32_t k = 0; k < t->rank; k++) out->dims[k] = t->dims[k];
  out->nbytes = (size_t)t->count * rt_dtype_size(t->dtype);
  return NULL;
}

ingot_status ingot_engine_input_info(const ingot_engine *e, int index,
                                     ingot_tensor_info *out) {
  return tensor_info(e, index, 0, out);
}

ingot_status ingot_engine_output_info(const ingot_engine *e, int index,
                                      ingot_tensor_info *out) {
  return tensor_info(e, index, 1, out);
}

static int find(const ingot_engine *e, const char *name, int output) {
  if (!e || !name) return -1;
  uint32_t first = output ? e->n_inputs : 0;
  uint32_t n = output ? e->n_outputs : e->n_inputs;
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(e->tensors[first + i].name, name) == 0) return (int)i;
  return -1;
}

int ingot_engine_find_input(const ingot_engine *e, const char *name) {
  return find(e, name, 0);
}

int ingot_engine_find_output(const ingot_engine *e, const char *name) {
  return find(e, name, 1);
}

void ingot_engine_get_info(const ingot_engine *e, ingot_engine_info *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!e) return;
  const ingot_file_header *h = &e->header;
  out->format_major = h->format_major;
  out->format_minor = h->format_minor;
  out->producer = h->producer;
  out->target_triple = h->target_triple;
  out->target_cpu = h->target_cpu;
  out->cpu_features = h->cpu_features;
  out->content_hash = h->content_hash;
  out->file_size = e->file_size;
  out->arena_size = (size_t)h->arena_size;
  out->weights_size = (size_t)h->weights_size;
  out->code_size = (size_t)h->code_size;
  out->step_count = (int)e->n_steps;
  out->build_info = e->build_info;
}

ingot_status ingot_engine_step_info(const ingot_engine *e, int index,
                                    ingot_step_info *out) {
  if (!e || !out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT, "step info: NULL argument");
  if (index < 0 || (uint32_t)index >= e->n_steps)
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "step index %d out of range (the plan has %u)",
                             index, e->n_steps);
  const rt_step *s = &e->steps[index];
  out->symbol = s->symbol;
  out->kernel = s->kernel;
  out->op = s->op;
  out->provenance = s->provenance;
  out->tasks = s->tasks;
  out->ops = s->ops;
  out->bytes = s->bytes;
  out->precision = (ingot_dtype)s->precision;
  return NULL;
}

const char *ingot_cpu_feature_names(unsigned long long features, char *buf,
                                    size_t n) {
  return rt_cpu_names(features, buf, n);
}

/*===--- intermediate tensors (TENSOR_MAP) --------------------------------===*/

int ingot_engine_tensor_count(const ingot_engine *e) {
  return e ? (int)e->n_map : 0;
}

ingot_status ingot_engine_tensor_map_info(const ingot_engine *e, int index,
                                          ingot_map_tensor_info *out) {
  if (!e || !out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "tensor info: NULL argument");
  if (index < 0 || (uint32_t)index >= e->n_map)
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "tensor index %d out of range (the engine maps "
                             "%u tensors)",
                             index, e->n_map);
  const rt_map_tensor *m = &e->map[index];
  memset(out, 0, sizeof *out);
  out->name = m->t.name;
  out->dtype = (ingot_dtype)m->t.stored_dtype;
  out->rank = (int)m->t.rank;
  for (uint32_t k = 0; k < m->t.rank; k++) out->dims[k] = m->t.dims[k];
  out->nbytes = (size_t)m->t.arena_bytes;
  out->nhwc = m->t.layout == INGOT_LAYOUT_NHWC;
  out->quantized = m->quantized;
  out->scale = m->t.scale;
  out->zero_point = m->t.zero_point;
  out->step = m->ready_step == INGOT_TENSOR_READY_INPUT ? -1
                                                         : (int)m->ready_step;
  return NULL;
}

int ingot_engine_find_tensor(const ingot_engine *e, const char *name) {
  if (!e || !name) return -1;
  for (uint32_t i = 0; i < e->n_map; i++)
    if (strcmp(e->map[i].t.name, name) == 0) return (int)i;
  return -1;
}
