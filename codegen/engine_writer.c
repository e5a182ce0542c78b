/* engine_writer.c — packs a planned, compiled model into an engine file
 * (runtime/engine_format.h); libingot_rt's engine.c is the reader.
 *
 * Layout: the 256-byte header, the section table right after it, then the
 * sections in a fixed order, each at the next 64-byte boundary with zero
 * padding between them:
 *   STRINGS, TENSORS, PLAN, PROVENANCE, WEIGHTS, CPU_CODE, BUILD_INFO,
 *   TENSOR_MAP (format 1.2), and LLVM_IR when the description carries IR
 *   text (--keep-ir).
 * STRINGS starts with the empty string (offset 0) and holds every name
 * once (interned through a small open-addressing table), in the order
 * they are first used.  The checksum (CRC32C) and the content hash
 * (FNV-1a 64) cover everything after the header.
 *
 * Deterministic: the bytes depend only on the description.  Everything is
 * written into one zeroed buffer field by field, so struct padding and
 * reserved fields are always zero.  The writer checks what a bug in the
 * planner could get wrong (names, ranks, arena bounds, task counts) so a
 * bad engine fails at build time rather than at load time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "crc32c.h"
#include "engine_format.h"

#define N_SECTIONS 9 /* fixed ones; LLVM_IR is optional */
#define N_EXTRA 4    /* cg_engine_desc.extra */
#define ALIGN INGOT_SECTION_ALIGN
#define MAX_IO 4096 /* the reader's limit on inputs + outputs */

typedef struct strtab {
  char *data;
  size_t len, cap;
  uint32_t *slots; /* offset + 1 per used slot, 0 = empty */
  size_t n_slots, n_used;
} strtab;

static uint64_t fnv1a(const void *p, size_t n, uint64_t h) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                           "engine writer: out of memory");
}

static ingot_status grow_slots(strtab *t) {
  size_t n = t->n_slots ? t->n_slots * 2 : 256;
  uint32_t *s = calloc(n, sizeof *s);
  if (!s) return oom();
  for (size_t i = 0; i < t->n_slots; i++) {
    uint32_t v = t->slots[i];
    if (!v) continue;
    size_t j = fnv1a(t->data + v - 1, strlen(t->data + v - 1), 0xcbf29ce484222325ull) & (n - 1);
    while (s[j]) j = (j + 1) & (n - 1);
    s[j] = v;
  }
  free(t->slots);
  t->slots = s;
  t->n_slots = n;
  return NULL;
}

/* Offset of |s| in the table, adding it the first time. */
static ingot_status intern(strtab *t, const char *s, uint32_t *out) {
  if (!s || !*s) {
    *out = 0;
    return NULL;
  }
  if ((t->n_used + 1) * 2 > t->n_slots) INGOT_RETURN_IF_ERROR(grow_slots(t));
  size_t n = strlen(s);
  size_t j = fnv1a(s, n, 0xcbf29ce484222325ull) & (t->n_slots - 1);
  for (; t->slots[j]; j = (j + 1) & (t->n_slots - 1))
    if (strcmp(t->data + t->slots[j] - 1, s) == 0) {
      *out = t->slots[j] - 1;
      return NULL;
    }
  if (t->len + n + 1 > UINT32_MAX - 1)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "engine writer: string table exceeds 4 GiB");
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap * 2 > t->len + n + 1 ? t->cap * 2 : t->len + n + 1024;
    char *d = realloc(t->data, cap);
    if (!d) return oom();
    t->data = d;
    t->cap = cap;
  }
  *out = (uint32_t)t->len;
  memcpy(t->data + t->len, s, n + 1);
  t->len += n + 1;
  t->slots[j] = *out + 1;
  t->n_used++;
  return NULL;
}

static ingot_status check_desc(const cg_engine_desc *d) {
  if (!d->target)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "engine writer: no target");
  if ((uint64_t)d->n_inputs + d->n_outputs > MAX_IO ||
      (d->n_inputs + d->n_outputs && !d->tensors))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "engine writer: %u inputs and %u outputs (at "
                             "most %d in all)",
                             d->n_inputs, d->n_outputs, MAX_IO);
  if ((d->n_steps && (!d->steps || !d->code || !d->code_size)) ||
      (d->weights_size && !d->weights) || (d->code_size && !d->code))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "engine writer: %u steps, %zu bytes of code, "
                             "%zu bytes of weights, some missing",
                             d->n_steps, d->code_size, d->weights_size);
  if (strlen(d->target->triple) >= sizeof(((ingot_file_header *)0)->target_triple) ||
      strlen(d->target->cpu) >= sizeof(((ingot_file_header *)0)->target_cpu))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "engine writer: target '%s' / CPU '%s' too long",
                             d->target->triple, d->target->cpu);
  for (uint32_t i = 0; i < d->n_inputs + d->n_outputs; i++) {
    const cg_io_tensor *t = &d->tensors[i];
    uint32_t role = i < d->n_inputs ? INGOT_TENSOR_INPUT : INGOT_TENSOR_OUTPUT;
    if (!t->name || !*t->name || t->role != role || t->rank > INGOT_MAX_RANK ||
        t->arena_offset > d->arena_size ||
        t->arena_bytes > d->arena_size - t->arena_offset ||
        (t->layout == INGOT_LAYOUT_NHWC && t->rank != 4))
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "engine writer: %s %u ('%s') is malformed "
                               "(role %u, rank %u, layout %u, arena [%llu, "
                               "+%llu) of %llu)",
                               role == INGOT_TENSOR_INPUT ? "input" : "output",
                               i, t->name ? t->name : "", t->role, t->rank,
                               t->layout, (unsigned long long)t->arena_offset,
                               (unsigned long long)t->arena_bytes,
                               (unsigned long long)d->arena_size);
  }
  if (d->n_map && !d->map)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "engine writer: %u tensor map entries missing",
                             d->n_map);
  for (uint32_t i = 0; i < d->n_map; i++) {
    const cg_map_tensor *t = &d->map[i];
    if (!t->name || !*t->name || t->rank > INGOT_MAX_RANK ||
        t->arena_offset > d->arena_size ||
        t->arena_bytes > d->arena_size - t->arena_offset ||
        (t->layout == INGOT_LAYOUT_NHWC && t->rank != 4) ||
        (t->ready_step != INGOT_TENSOR_READY_INPUT &&
         t->ready_step >= d->n_steps))
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "engine writer: tensor map entry %u ('%s') is "
                               "malformed (rank %u, layout %u, step %u of "
                               "%u, arena [%llu, +%llu) of %llu)",
                               i, t->name ? t->name : "", t->rank, t->layout,
                               t->ready_step, d->n_steps,
                               (unsigned long long)t->arena_offset,
                               (unsigned long long)t->arena_bytes,
                               (unsigned long long)d->arena_size);
  }
  for (uint32_t i = 0; i < d->n_steps; i++)
    if (!d->steps[i].symbol || !*d->steps[i].symbol || d->steps[i].tasks < 1)
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "engine writer: step %u (%s) has no symbol or "
                               "%lld tasks",
                               i, d->steps[i].op ? d->steps[i].op : "?",
                               (long long)d->steps[i].tasks);
  return NULL;
}

static ingot_status build_strings(const cg_engine_desc *d, strtab *st,
                                  uint32_t *names, uint32_t *steps,
                                  uint32_t *map_names) {
  st->data = malloc(1024);
  if (!st->data) return oom();
  st->cap = 1024;
  st->data[0] = '\0';
  st->len = 1;
  for (uint32_t i = 0; i < d->n_inputs + d->n_outputs; i++)
    INGOT_RETURN_IF_ERROR(intern(st, d->tensors[i].name, &names[i]));
  for (uint32_t i = 0; i < d->n_steps; i++) {
    const cg_plan_step *s = &d->steps[i];
    INGOT_RETURN_IF_ERROR(intern(st, s->symbol, &steps[4 * i]));
    INGOT_RETURN_IF_ERROR(intern(st, s->kernel, &steps[4 * i + 1]));
    INGOT_RETURN_IF_ERROR(intern(st, s->op, &steps[4 * i + 2]));
    INGOT_RETURN_IF_ERROR(intern(st, s->provenance, &steps[4 * i + 3]));
  }
  for (uint32_t i = 0; i < d->n_map; i++)
    INGOT_RETURN_IF_ERROR(intern(st, d->map[i].name, &map_names[i]));
  return NULL;
}

static size_t align_up(size_t x) { return (x + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

/* Fills |f| (zeroed, |size| bytes) from |d| and the section table |sec|. */
static void fill(const cg_engine_desc *d, const strtab *st,
                 const uint32_t *names, const uint32_t *steps,
                 const uint32_t *map_names, const ingot_section_entry *sec,
                 uint32_t n_sec, uint8_t *f, size_t size) {
  memcpy(f + INGOT_HEADER_SIZE, sec, n_sec * sizeof *sec);
  memcpy(f + sec[0].offset, st->data, st->len);

  uint8_t *p = f + sec[1].offset;
  ingot_tensors_header th = {d->n_inputs + d->n_outputs, d->n_inputs,
                             d->n_outputs, sizeof(ingot_tensor_desc)};
  memcpy(p, &th, sizeof th);
  for (uint32_t i = 0; i < th.count; i++) {
    const cg_io_tensor *t = &d->tensors[i];
    ingot_tensor_desc td;
    memset(&td, 0, sizeof td);
    td.name = names[i];
    td.role = t->role;
    td.dtype = t->dtype;
    td.rank = t->rank;
    memcpy(td.dims, t->dims, t->rank * sizeof td.dims[0]);
    td.arena_offset = t->arena_offset;
    td.arena_bytes = t->arena_bytes;
    td.layout = t->layout;
    td.stored_dtype = t->stored_dtype ? t->stored_dtype : t->dtype;
    td.scale = t->scale;
    td.zero_point = t->zero_point;
    memcpy(p + sizeof th + i * sizeof td, &td, sizeof td);
  }

  p = f + sec[2].offset;
  ingot_plan_header ph;
  memset(&ph, 0, sizeof ph);
  ph.step_count = d->n_steps;
  ph.step_size = sizeof(ingot_step_desc);
  memcpy(p, &ph, sizeof ph);
  for (uint32_t i = 0; i < d->n_steps; i++) {
    const cg_plan_step *s = &d->steps[i];
    ingot_step_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.symbol = steps[4 * i];
    sd.kernel = steps[4 * i + 1];
    sd.op = steps[4 * i + 2];
    sd.precision = s->precision;
    sd.tasks = s->tasks;
    sd.ops = s->ops;
    sd.bytes = s->bytes;
    memcpy(p + sizeof ph + i * sizeof sd, &sd, sizeof sd);
    memcpy(f + sec[3].offset + 4 * i, &steps[4 * i + 3], 4);
  }
  if (d->weights_size) memcpy(f + sec[4].offset, d->weights, d->weights_size);
  if (d->code_size) memcpy(f + sec[5].offset, d->code, d->code_size);
  if (sec[6].size) memcpy(f + sec[6].offset, d->build_info, sec[6].size);
  p = f + sec[7].offset;
  ingot_tensor_map_header mh;
  memset(&mh, 0, sizeof mh);
  mh.count = d->n_map;
  mh.entry_size = sizeof(ingot_tensor_map_entry);
  memcpy(p, &mh, sizeof mh);
  for (uint32_t i = 0; i < d->n_map; i++) {
    const cg_map_tensor *t = &d->map[i];
    ingot_tensor_map_entry me;
    memset(&me, 0, sizeof me);
    me.name = map_names[i];
    me.dtype = t->dtype;
    me.rank = t->rank;
    me.layout = t->layout;
    memcpy(me.dims, t->dims, t->rank * sizeof me.dims[0]);
    me.arena_offset = t->arena_offset;
    me.arena_bytes = t->arena_bytes;
    me.ready_step = t->ready_step;
    me.flags = t->quantized ? INGOT_TMAP_QUANTIZED : 0;
    me.scale = t->quantized ? t->scale : 1.0f;
    me.zero_point = t->quantized ? t->zero_point : 0;
    memcpy(p + sizeof mh + i * sizeof me, &me, sizeof me);
  }
  if (n_sec > 8 && sec[8].kind == INGOT_SECTION_LLVM_IR && sec[8].size)
    memcpy(f + sec[8].offset, d->llvm_ir, sec[8].size);
  for (uint32_t i = 8; i < n_sec; i++)
    for (int x = 0; x < N_EXTRA && d->extra[x].kind; x++)
      if (sec[i].kind == d->extra[x].kind && d->extra[x].size)
        memcpy(f + sec[i].offset, d->extra[x].data, d->extra[x].size);

  ingot_file_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, INGOT_MAGIC, 8);
  h.format_major = INGOT_FORMAT_MAJOR;
  h.format_minor = INGOT_FORMAT_MINOR;
  h.header_size = INGOT_HEADER_SIZE;
  h.file_size = size;
  h.section_count = n_sec;
  h.section_table_offset = INGOT_HEADER_SIZE;
  h.cpu_features = d->target->cpu_features;
  h.gpu_arch = d->gpu_arch;
  h.arena_size = d->arena_size;
  h.weights_size = d->weights_size;
  h.code_size = d->code_size;
  snprintf(h.producer, sizeof h.producer, "ingot %s", ingot_version());
  memcpy(h.target_triple, d->target->triple, strlen(d->target->triple));
  memcpy(h.target_cpu, d->target->cpu, strlen(d->target->cpu));
  h.checksum = rt_crc32c(f + INGOT_HEADER_SIZE, size - INGOT_HEADER_SIZE);
  h.content_hash = fnv1a(f + INGOT_HEADER_SIZE, size - INGOT_HEADER_SIZE,
                         0xcbf29ce484222325ull);
  memcpy(f, &h, sizeof h);
}

ingot_status cg_engine_serialize(const cg_engine_desc *d, void **out,
                                 size_t *out_size) {
  *out = NULL;
  *out_size = 0;
  INGOT_RETURN_IF_ERROR(check_desc(d));
  uint32_t n_io = d->n_inputs + d->n_outputs;
  strtab st = {0};
  uint32_t *names = calloc(n_io + 1, sizeof *names);
  uint32_t *steps = calloc(4 * (size_t)d->n_steps + 1, sizeof *steps);
  uint32_t *map_names = calloc((size_t)d->n_map + 1, sizeof *map_names);
  uint8_t *f = NULL;
  ingot_status s = names && steps && map_names
                       ? build_strings(d, &st, names, steps, map_names)
                       : oom();
  if (!s) {
    size_t sizes[N_SECTIONS] = {
        st.len,
        sizeof(ingot_tensors_header) + n_io * sizeof(ingot_tensor_desc),
        sizeof(ingot_plan_header) + d->n_steps * sizeof(ingot_step_desc),
        4 * (size_t)d->n_steps,
        d->weights_size,
        d->code_size,
        d->build_info ? strlen(d->build_info) : 0,
        sizeof(ingot_tensor_map_header) +
            (size_t)d->n_map * sizeof(ingot_tensor_map_entry),
        d->llvm_ir ? strlen(d->llvm_ir) : 0};
    static const uint32_t kinds[N_SECTIONS] = {
        INGOT_SECTION_STRINGS,    INGOT_SECTION_TENSORS, INGOT_SECTION_PLAN,
        INGOT_SECTION_PROVENANCE, INGOT_SECTION_WEIGHTS, INGOT_SECTION_CPU_CODE,
        INGOT_SECTION_BUILD_INFO, INGOT_SECTION_TENSOR_MAP,
        INGOT_SECTION_LLVM_IR};
    uint32_t n_fixed = d->llvm_ir ? N_SECTIONS : N_SECTIONS - 1, n_sec;
    ingot_section_entry sec[N_SECTIONS + N_EXTRA];
    memset(sec, 0, sizeof sec);
    uint32_t kind_of[N_SECTIONS + N_EXTRA];
    size_t size_of[N_SECTIONS + N_EXTRA];
    for (n_sec = 0; n_sec < n_fixed; n_sec++)
      kind_of[n_sec] = kinds[n_sec], size_of[n_sec] = sizes[n_sec];
    for (int x = 0; x < N_EXTRA && d->extra[x].kind; x++, n_sec++)
      kind_of[n_sec] = d->extra[x].kind, size_of[n_sec] = d->extra[x].size;
    size_t pos = INGOT_HEADER_SIZE + n_sec * sizeof sec[0];
    for (uint32_t i = 0; i < n_sec; i++) {
      pos = align_up(pos);
      sec[i].kind = kind_of[i];
      sec[i].offset = pos;
      sec[i].size = size_of[i];
      pos += size_of[i];
    }
    f = calloc(pos, 1);
    if (!f) {
      s = oom();
    } else {
      fill(d, &st, names, steps, map_names, sec, n_sec, f, pos);
      *out = f;
      *out_size = pos;
    }
  }
  free(st.data);
  free(st.slots);
  free(names);
  free(steps);
  free(map_names);
  return s;
}

ingot_status cg_engine_write_file(const cg_engine_desc *d, const char *path) {
  void *data;
  size_t size;
  INGOT_RETURN_IF_ERROR(cg_engine_serialize(d, &data, &size));
  FILE *f = fopen(path, "wb");
  ingot_status s = NULL;
  if (!f)
    s = ingot_make_status(INGOT_INVALID_ARGUMENT, "%s: cannot create: %s",
                          path, strerror(errno));
  else if (fwrite(data, 1, size, f) != size)
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "%s: write failed", path);
  if (f && fclose(f) != 0 && !s)
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "%s: write failed", path);
  if (s && f) remove(path);
  free(data);
  return s;
}
