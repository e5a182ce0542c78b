/* engine_view.c — reading an engine file for tools (engine_view.h).
 *
 * The checks follow libingot_rt's loader (runtime/engine.c) for everything
 * a tool reads, in the same order — header, checksum, section table,
 * STRINGS, TENSORS, PLAN, PROVENANCE — so a file either tool accepts is one
 * whose bytes are safe to print.  What only running needs (CPU features,
 * dtype support, arena bounds, the ELF object's relocations) is left to
 * the runtime; the disassembler checks the ELF parts it reads itself.
 * Structs are memcpy'd out of the file, so the copy needs no alignment.
 */
#include "engine_view.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

#define MAX_SECTIONS 64
#define MAX_IO 4096
#define MAX_STEPS (1u << 20)
#define MAX_DESC 4096
#define N_KINDS (INGOT_SECTION_GPU_PLAN + 1)

static const char *const kind_names[N_KINDS] = {
    "?",       "STRINGS",  "TENSORS", "PLAN",      "PROVENANCE", "WEIGHTS",
    "CPU_CODE", "GPU_PTX", "GPU_CUBIN", "BUILD_INFO", "LLVM_IR",
    "TENSOR_MAP", "GPU_PLAN"};

const char *ev_section_name(uint32_t kind) {
  return kind > 0 && kind < N_KINDS ? kind_names[kind] : "unknown";
}

static int in_bounds(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

static ingot_status bad(const ev_engine *e, const char *fmt, ...)
    INGOT_PRINTF(2, 3);
static ingot_status bad(const ev_engine *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ingot_status s = ingot_make_status_v(INGOT_DATA_LOSS, fmt, ap);
  va_end(ap);
  return ingot_status_annotate(s, "%s: ", e->path);
}

static const ingot_section_entry *section(const ev_engine *e, uint32_t kind) {
  for (uint32_t i = 0; i < e->header.section_count; i++)
    if (e->sections[i].kind == kind) return &e->sections[i];
  return NULL;
}

static ingot_status check_header(ev_engine *e) {
  const ingot_file_header *h = &e->header;
  if (e->size < INGOT_HEADER_SIZE)
    return bad(e, "not an Ingot engine: %zu bytes, shorter than the %d-byte "
               "header",
               e->size, INGOT_HEADER_SIZE);
  memcpy(&e->header, e->file, sizeof e->header);
  if (memcmp(h->magic, INGOT_MAGIC, 8) != 0)
    return bad(e, "not an Ingot engine (bad magic)");
  if (h->format_major != INGOT_FORMAT_MAJOR)
    return ingot_status_annotate(
        ingot_make_status(INGOT_INCOMPATIBLE,
                          "engine format %u.%u; this ingot reads format "
                          "%d.x",
                          h->format_major, h->format_minor,
                          INGOT_FORMAT_MAJOR),
        "%s: ", e->path);
  if (h->header_size != INGOT_HEADER_SIZE)
    return bad(e, "header size %u, expected %d", h->header_size,
               INGOT_HEADER_SIZE);
  if (h->file_size != e->size)
    return bad(e, "header says the file is %llu bytes but it is %zu (%s)",
               (unsigned long long)h->file_size, e->size,
               e->size < h->file_size ? "truncated" : "trailing data");
  if (!memchr(h->producer, 0, sizeof h->producer) ||
      !memchr(h->target_triple, 0, sizeof h->target_triple) ||
      !memchr(h->target_cpu, 0, sizeof h->target_cpu))
    return bad(e, "producer, target triple or target CPU is not "
               "NUL-terminated");
  if (h->section_count == 0 || h->section_count > MAX_SECTIONS)
    return bad(e, "section count %u outside [1, %d]", h->section_count,
               MAX_SECTIONS);
  if (h->section_table_offset < INGOT_HEADER_SIZE ||
      !in_bounds(h->section_table_offset,
                 (uint64_t)h->section_count * sizeof(ingot_section_entry),
                 e->size))
    return bad(e, "section table (%u entries at offset %llu) is outside the "
               "%zu-byte file",
               h->section_count, (unsigned long long)h->section_table_offset,
               e->size);
  uint32_t crc = rt_crc32c(e->file + INGOT_HEADER_SIZE,
                           e->size - INGOT_HEADER_SIZE);
  if (crc != h->checksum)
    return bad(e, "checksum mismatch (stored %08x, computed %08x): the file "
               "is corrupt",
               h->checksum, crc);
  return NULL;
}

static ingot_status read_sections(ev_engine *e) {
  uint32_t n = e->header.section_count;
  uint64_t table_end =
      e->header.section_table_offset + n * sizeof(ingot_section_entry);
  e->sections = calloc(n, sizeof *e->sections);
  if (!e->sections)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  memcpy(e->sections, e->file + e->header.section_table_offset,
         n * sizeof *e->sections);
  for (uint32_t i = 0; i < n; i++) {
    const ingot_section_entry *s = &e->sections[i];
    if (s->offset < table_end || !in_bounds(s->offset, s->size, e->size))
      return bad(e, "section %u (%s): bytes [%llu, +%llu) are outside the "
                 "data area [%llu, %zu)",
                 i, ev_section_name(s->kind), (unsigned long long)s->offset,
                 (unsigned long long)s->size, (unsigned long long)table_end,
                 e->size);
    if (s->kind == 0 || s->kind >= N_KINDS) continue;
    for (uint32_t j = 0; j < i; j++)
      if (e->sections[j].kind == s->kind)
        return bad(e, "section %s appears twice", ev_section_name(s->kind));
  }
  static const uint32_t required[] = {INGOT_SECTION_STRINGS,
                                      INGOT_SECTION_TENSORS,
                                      INGOT_SECTION_PLAN};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
    if (!section(e, required[i]))
      return bad(e, "section %s is missing", ev_section_name(required[i]));
  return NULL;
}

typedef struct strings {
  const char *p;
  uint64_t size;
} strings;

static ingot_status string_at(const ev_engine *e, const strings *st,
                              uint32_t off, const char *what,
                              const char **out) {
  if (off >= st->size)
    return bad(e, "%s: string offset %u outside STRINGS (%llu bytes)", what,
               off, (unsigned long long)st->size);
  *out = st->p + off;
  return NULL;
}

static ingot_status read_tensors(ev_engine *e, const strings *st) {
  const ingot_section_entry *s = section(e, INGOT_SECTION_TENSORS);
  const uint8_t *p = e->file + s->offset;
  ingot_tensors_header th;
  if (s->size < sizeof th)
    return bad(e, "TENSORS is %llu bytes, shorter than its header",
               (unsigned long long)s->size);
  memcpy(&th, p, sizeof th);
  if (th.n_inputs > MAX_IO || th.n_outputs > MAX_IO ||
      th.count != th.n_inputs + th.n_outputs || th.count > MAX_IO)
    return bad(e, "TENSORS: count %u, %u inputs, %u outputs (at most %d)",
               th.count, th.n_inputs, th.n_outputs, MAX_IO);
  if (th.desc_size < sizeof(ingot_tensor_desc) || th.desc_size > MAX_DESC ||
      !in_bounds(sizeof th, (uint64_t)th.count * th.desc_size, s->size))
    return bad(e, "TENSORS: %u descriptors of %u bytes do not fit in %llu "
               "bytes",
               th.count, th.desc_size, (unsigned long long)s->size);
  e->tensors = calloc(th.count ? th.count : 1, sizeof *e->tensors);
  if (!e->tensors)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  e->n_inputs = th.n_inputs;
  e->n_outputs = th.n_outputs;
  for (uint32_t i = 0; i < th.count; i++) {
    ingot_tensor_desc d;
    memcpy(&d, p + sizeof th + (uint64_t)i * th.desc_size, sizeof d);
    ev_tensor *t = &e->tensors[i];
    char what[48];
    snprintf(what, sizeof what, "tensor %u", i);
    INGOT_RETURN_IF_ERROR(string_at(e, st, d.name, what, &t->name));
    if (d.rank > INGOT_MAX_RANK)
      return bad(e, "%s '%s': rank %u exceeds %d", what, t->name, d.rank,
                 INGOT_MAX_RANK);
    t->role = d.role;
    t->dtype = d.dtype;
    t->stored_dtype = d.stored_dtype;
    t->rank = d.rank;
    t->layout = d.layout;
    memcpy(t->dims, d.dims, sizeof t->dims);
    t->arena_offset = d.arena_offset;
    t->arena_bytes = d.arena_bytes;
  }
  return NULL;
}

static ingot_status read_plan(ev_engine *e, const strings *st) {
  const ingot_section_entry *s = section(e, INGOT_SECTION_PLAN);
  const uint8_t *p = e->file + s->offset;
  ingot_plan_header ph;
  if (s->size < sizeof ph)
    return bad(e, "PLAN is %llu bytes, shorter than its header",
               (unsigned long long)s->size);
  memcpy(&ph, p, sizeof ph);
  if (ph.step_count > MAX_STEPS || ph.step_size < sizeof(ingot_step_desc) ||
      ph.step_size > MAX_DESC ||
      !in_bounds(sizeof ph, (uint64_t)ph.step_count * ph.step_size, s->size))
    return bad(e, "PLAN: %u steps of %u bytes do not fit in %llu bytes (at "
               "most %u steps)",
               ph.step_count, ph.step_size, (unsigned long long)s->size,
               MAX_STEPS);
  const ingot_section_entry *prov = section(e, INGOT_SECTION_PROVENANCE);
  if (prov && prov->size < 4ull * ph.step_count)
    return bad(e, "PROVENANCE is %llu bytes; %u steps need %llu",
               (unsigned long long)prov->size, ph.step_count,
               4ull * ph.step_count);
  e->steps = calloc(ph.step_count ? ph.step_count : 1, sizeof *e->steps);
  if (!e->steps)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  e->n_steps = ph.step_count;
  for (uint32_t i = 0; i < ph.step_count; i++) {
    ingot_step_desc d;
    memcpy(&d, p + sizeof ph + (uint64_t)i * ph.step_size, sizeof d);
    ev_step *t = &e->steps[i];
    char what[32];
    snprintf(what, sizeof what, "step %u", i);
    INGOT_RETURN_IF_ERROR(string_at(e, st, d.symbol, what, &t->symbol));
    INGOT_RETURN_IF_ERROR(string_at(e, st, d.kernel, what, &t->kernel));
    INGOT_RETURN_IF_ERROR(string_at(e, st, d.op, what, &t->op));
    t->provenance = st->p;
    if (prov) {
      uint32_t off;
      memcpy(&off, e->file + prov->offset + 4ull * i, 4);
      INGOT_RETURN_IF_ERROR(string_at(e, st, off, what, &t->provenance));
    }
    t->precision = d.precision;
    t->tasks = d.tasks;
    t->ops = d.ops;
    t->bytes = d.bytes;
  }
  return NULL;
}

static ingot_status read_rest(ev_engine *e) {
  const ingot_section_entry *c = section(e, INGOT_SECTION_CPU_CODE);
  if (c && c->size) {
    e->code = e->file + c->offset;
    e->code_size = c->size;
  }
  const ingot_section_entry *ir = section(e, INGOT_SECTION_LLVM_IR);
  if (ir) {
    e->llvm_ir = (const char *)e->file + ir->offset;
    e->llvm_ir_size = ir->size;
  }
  const char *ge = rt_gpu_view_init(
      e->file, section(e, INGOT_SECTION_GPU_PTX),
      section(e, INGOT_SECTION_GPU_CUBIN), section(e, INGOT_SECTION_GPU_PLAN),
      e->n_steps, e->header.format_minor, &e->gpu);
  if (ge) return bad(e, "%s", ge);
  const ingot_section_entry *b = section(e, INGOT_SECTION_BUILD_INFO);
  uint64_t n = b ? b->size : 0;
  e->build_info = malloc(n + 1);
  if (!e->build_info)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  if (n) memcpy(e->build_info, e->file + b->offset, n);
  e->build_info[n] = '\0';
  return NULL;
}

ingot_status ev_open_buffer(uint8_t *file, size_t size, const char *path,
                            ev_engine *out) {
  memset(out, 0, sizeof *out);
  out->path = path;
  out->file = file;
  out->size = size;
  ingot_status s = check_header(out);
  if (!s) s = read_sections(out);
  strings st = {0};
  if (!s) {
    const ingot_section_entry *ss = section(out, INGOT_SECTION_STRINGS);
    st.p = (const char *)out->file + ss->offset;
    st.size = ss->size;
    if (st.size == 0 || st.p[0] != '\0' || st.p[st.size - 1] != '\0')
      s = bad(out, "STRINGS must start and end with a NUL byte");
  }
  if (!s) s = read_tensors(out, &st);
  if (!s) s = read_plan(out, &st);
  if (!s) s = read_rest(out);
  if (s) ev_close(out);
  return s;
}

ingot_status ev_open(const char *path, ev_engine *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f)
    return ingot_make_status(errno == ENOENT ? INGOT_NOT_FOUND
                                             : INGOT_INVALID_ARGUMENT,
                             "%s: cannot open: %s", path, strerror(errno));
  uint8_t *file = NULL;
  size_t size = 0, cap = 0;
  ingot_status s = NULL;
  for (;;) {
    if (size == cap) {
      size_t ncap = cap ? cap * 2 : 1 << 16;
      uint8_t *grown = realloc(file, ncap);
      if (!grown) {
        s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                              "%s: no memory for %zu bytes", path, ncap);
        break;
      }
      file = grown;
      cap = ncap;
    }
    size_t got = fread(file + size, 1, cap - size, f);
    size += got;
    if (got == 0) {
      if (ferror(f))
        s = ingot_make_status(INGOT_DATA_LOSS, "%s: read error", path);
      break;
    }
  }
  fclose(f);
  if (s) {
    free(file);
    return s;
  }
  return ev_open_buffer(file, size, path, out);
}

void ev_close(ev_engine *e) {
  if (!e) return;
  free(e->file);
  free(e->sections);
  free(e->tensors);
  free(e->steps);
  free(e->build_info);
  memset(e, 0, sizeof *e);
}

ingot_status ev_find_step(const ev_engine *e, const char *spec,
                          uint32_t *out) {
  if (!spec || !*spec)
    return ingot_make_status(INGOT_INVALID_ARGUMENT, "%s: empty step name",
                             e->path);
  char *end = NULL;
  errno = 0;
  unsigned long long k = strtoull(spec, &end, 10);
  if (*spec >= '0' && *spec <= '9' && end && !*end && !errno &&
      k < e->n_steps) {
    *out = (uint32_t)k;
    return NULL;
  }
  for (uint32_t i = 0; i < e->n_steps; i++)
    if (!strcmp(e->steps[i].symbol, spec)) {
      *out = i;
      return NULL;
    }
  /* A node lowered to several steps (layout casts for its inputs, then
   * its own): the one doing the most arithmetic, the last of equals. */
  size_t n = strlen(spec);
  long best = -1;
  for (uint32_t i = 0; i < e->n_steps; i++)
    for (const char *p = e->steps[i].provenance; *p;) {
      size_t l = strcspn(p, "\n");
      if (l == n && !memcmp(p, spec, n) &&
          (best < 0 || e->steps[i].ops >= e->steps[best].ops))
        best = (long)i;
      p += l + (p[l] == '\n');
    }
  if (best >= 0) {
    *out = (uint32_t)best;
    return NULL;
  }
  if (!e->n_steps)
    return ingot_make_status(INGOT_NOT_FOUND,
                             "%s: no step '%s': the plan has no steps",
                             e->path, spec);
  return ingot_make_status(INGOT_NOT_FOUND,
                           "%s: no step '%s': the plan has %u steps; name "
                           "one by index (0-%u), symbol (%s) or model node "
                           "(ingot inspect lists them)",
                           e->path, spec, e->n_steps, e->n_steps - 1,
                           e->steps[0].symbol);
}

const char *ev_build_info(const ev_engine *e, const char *key, char *buf,
                          size_t n) {
  size_t kl = strlen(key);
  for (const char *p = e->build_info; p && *p;) {
    size_t l = strcspn(p, "\n");
    if (l > kl + 1 && !memcmp(p, key, kl) && p[kl] == ':') {
      const char *v = p + kl + 1;
      while (*v == ' ') v++;
      snprintf(buf, n, "%.*s", (int)(l - (size_t)(v - p)), v);
      return buf;
    }
    p += l + (p[l] == '\n');
  }
  return NULL;
}
