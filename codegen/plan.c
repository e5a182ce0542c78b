/* plan.c — the planner (see plan.h): passes, memory placement, weights,
 * and the lowering context every lower_<family>.c works through.
 *
 * Memory: each activation lives from the step that writes it to the last
 * step that reads it; graph inputs and outputs live through the whole plan
 * (a session keeps its inputs set across runs).  Tensors are placed largest first at the lowest 64-byte-aligned
 * offset that overlaps no placed tensor whose lifetime overlaps its own.
 * Per-step scratch memory (cg_scratch) sits above the activations; every
 * step reuses the same scratch region, since steps run one at a time.
 *
 * The plan also lists every arena tensor of the model with the step after
 * which it is complete (TENSOR_MAP, tensor_map.c) for debuggers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "generic/plan.h"
#include "lower.h"
#include "plan.h"

#define ALIGN 64

typedef ingot_status (*cg_lower_fn)(cg_lower_ctx *ctx, ir_node_id nid);

static const cg_lower_fn lower_table[IR_OP_COUNT] = {
#define CG_LOWER(op, fn) [op] = fn,
#include "lower.def"
#undef CG_LOWER
};

struct cg_lower_ctx {
  const ir_graph *g;
  cg_plan *plan;
  ir_node_id node;
  int64_t *offset;     /* per tensor: arena offset, -1 none */
  int64_t *woffset;    /* per constant tensor: weights offset, -1 none */
  size_t weights_cap;
  uint64_t scratch_base, scratch_used, scratch_peak;
  uint32_t cap_steps;
  cg_fusion fz; /* plan_fuse.c */
};

static uint64_t align_up(uint64_t x) { return (x + ALIGN - 1) & ~(uint64_t)(ALIGN - 1); }

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

const ir_graph *cg_graph(const cg_lower_ctx *ctx) { return ctx->g; }
const kepi *cg_epilogue(const cg_lower_ctx *ctx) {
  static const kepi none;
  return ctx->node && ctx->fz.epi ? &ctx->fz.epi[ctx->node] : &none;
}
ir_tensor_id cg_fused_bias(const cg_lower_ctx *ctx) {
  return ctx->node && ctx->fz.bias ? ctx->fz.bias[ctx->node] : 0;
}
bool cg_fused_mask(const cg_lower_ctx *ctx, ir_tensor_id *scores,
                   ir_tensor_id *mask) {
  if (!ctx->node || !ctx->fz.mask_m || !ctx->fz.mask_m[ctx->node])
    return false;
  *scores = ctx->fz.mask_x[ctx->node];
  *mask = ctx->fz.mask_m[ctx->node];
  return true;
}
const cg_target *cg_target_of(const cg_lower_ctx *ctx) {
  return &ctx->plan->target;
}

ingot_status cg_add_weights(cg_lower_ctx *ctx, const void *data,
                            size_t size, kbuf *out) {
  cg_plan *p = ctx->plan;
  uint64_t off = align_up(p->weights_size);
  if (off + size > ctx->weights_cap) {
    size_t cap = ctx->weights_cap ? ctx->weights_cap : 1 << 16;
    while (cap < off + size) cap *= 2;
    uint8_t *w = realloc(p->weights, cap);
    if (!w) return oom();
    memset(w + ctx->weights_cap, 0, cap - ctx->weights_cap);
    p->weights = w;
    ctx->weights_cap = cap;
  }
  if (size) memcpy(p->weights + off, data, size);
  p->weights_size = off + size;
  out->off = (int64_t)off;
  out->space = KB_WEIGHTS;
  out->pad_ = 0;
  return NULL;
}

ingot_status cg_scratch(cg_lower_ctx *ctx, size_t size, kbuf *out) {
  uint64_t off = ctx->scratch_base + align_up(ctx->scratch_used);
  ctx->scratch_used = align_up(ctx->scratch_used) + size;
  if (ctx->scratch_used > ctx->scratch_peak)
    ctx->scratch_peak = ctx->scratch_used;
  out->off = (int64_t)off;
  out->space = KB_ARENA;
  out->pad_ = 0;
  return NULL;
}

ingot_status cg_view_of(cg_lower_ctx *ctx, ir_tensor_id id, cg_view *out) {
  const ir_graph *g = ctx->g;
  const ir_tensor *t = &g->tensors[id];
  memset(out, 0, sizeof *out);
  out->dtype = t->dtype;
  out->rank = t->shape.rank;
  out->layout = t->layout;
  for (int d = 0; d < t->shape.rank; d++) out->dims[d] = t->shape.dims[d];
  if (t->layout == INGOT_LAYOUT_NHWC && t->shape.rank == 4) {
    out->dims[1] = t->shape.dims[2];
    out->dims[2] = t->shape.dims[3];
    out->dims[3] = t->shape.dims[1];
  }
  if (t->role == IR_ROLE_CONSTANT) {
    if (ctx->woffset[id] < 0) {
      ir_value v;
      ir_tensor_as_value(t, &v);
      kbuf b;
      INGOT_RETURN_IF_ERROR(cg_add_weights(ctx, t->data, ir_value_nbytes(&v), &b));
      ctx->woffset[id] = b.off;
    }
    out->buf.off = ctx->woffset[id];
    out->buf.space = KB_WEIGHTS;
    return NULL;
  }
  if (ctx->offset[id] < 0)
    return ingot_make_status(INGOT_INTERNAL, "tensor '%s' has no arena place",
                             t->name);
  out->buf.off = ctx->offset[id];
  out->buf.space = KB_ARENA;
  out->pitch = ctx->fz.pitch ? ctx->fz.pitch[id] : 0;
  return NULL;
}

bool cg_sliced(const cg_lower_ctx *ctx, ir_tensor_id t) {
  return ctx->fz.sliced && t && ctx->fz.sliced[t];
}

void cg_ktensor(const cg_view *v, ktensor *out) {
  memset(out, 0, sizeof *out);
  out->buf = v->buf;
  out->dtype = (int32_t)v->dtype;
  out->rank = v->rank;
  for (int d = 0; d < v->rank; d++) out->dims[d] = v->dims[d];
}

/* The model nodes node |n| computes, '\n'-separated: its own name, then
 * the NAME of each "PASS OP NAME" line of n->fused (ir.h); empty names are
 * skipped. */
static const char *provenance_of(ir_arena *a, const ir_node *n) {
  if (!n->fused) return ir_arena_strdup(a, n->name);
  char *p = ir_arena_alloc(a, strlen(n->name) + strlen(n->fused) + 2);
  if (!p) return NULL;
  size_t len = strlen(n->name);
  memcpy(p, n->name, len);
  for (const char *line = n->fused; *line;) {
    size_t ll = strcspn(line, "\n");
    const char *name = line;
    for (int field = 0; field < 2; field++) { /* skip PASS and OP */
      const char *sp = memchr(name, ' ', ll - (size_t)(name - line));
      name = sp ? sp + 1 : line + ll;
    }
    size_t nl = ll - (size_t)(name - line);
    if (nl) {
      if (len) p[len++] = '\n';
      memcpy(p + len, name, nl);
      len += nl;
    }
    line += ll + (line[ll] == '\n');
  }
  p[len] = '\0';
  return p;
}

static bool node_reads(const ir_node *n, ir_tensor_id t) {
  for (int i = 0; i < n->n_in; i++)
    if (n->in[i] == t) return true;
  return false;
}

/* Provenance of a layout cast, a node Ingot inserts: the model nodes that
 * read the converted tensor (the conversion exists for them), else the one
 * that wrote it, so that every profile row maps back to the model. */
static const char *cast_provenance(ir_arena *a, const ir_graph *g,
                                   const ir_node *cast) {
  size_t size = 0, len = 0;
  for (ir_node_id k = 1; k < g->n_nodes; k++)
    if (node_reads(&g->nodes[k], cast->out[0]))
      size += strlen(g->nodes[k].name) + 1;
  char *buf = size ? ir_arena_alloc(a, size) : NULL;
  for (ir_node_id k = 1; buf && k < g->n_nodes; k++) {
    const ir_node *n = &g->nodes[k];
    size_t nl = strlen(n->name);
    if (!nl || !node_reads(n, cast->out[0])) continue;
    if (len) buf[len++] = '\n';
    memcpy(buf + len, n->name, nl);
    len += nl;
  }
  if (size && !buf) return NULL;
  if (len) {
    buf[len] = '\0';
    return buf;
  }
  for (ir_node_id k = 1; k < g->n_nodes; k++)
    for (int i = 0; i < g->nodes[k].n_out; i++)
      if (g->nodes[k].out[i] == cast->in[0] && g->nodes[k].name[0])
        return ir_arena_strdup(a, g->nodes[k].name);
  return ir_arena_strdup(a, cast->name);
}

ingot_status cg_emit(cg_lower_ctx *ctx, const cg_step *st) {
  cg_plan *p = ctx->plan;
  if (p->n_steps == ctx->cap_steps) {
    uint32_t cap = ctx->cap_steps ? ctx->cap_steps * 2 : 64;
    cg_plan_step *st2 = realloc(p->steps, cap * sizeof *st2);
    if (st2) p->steps = st2;
    void **d2 = realloc(p->descs, cap * sizeof *d2);
    if (d2) p->descs = d2;
    size_t *z2 = realloc(p->desc_sizes, cap * sizeof *z2);
    if (z2) p->desc_sizes = z2;
    if (!st2 || !d2 || !z2) return oom();
    ctx->cap_steps = cap;
  }
  const ir_node *n = &ctx->g->nodes[ctx->node];
  struct {
    cg_plan_step step;
    void *desc;
    size_t desc_size;
  } e_, *e = &e_;
  memset(e, 0, sizeof *e);
  char sym[64];
  snprintf(sym, sizeof sym, "ingot_step_%u", p->n_steps);
  e->step.symbol = ir_arena_strdup(&p->strings, sym);
  e->step.kernel = ir_arena_strdup(&p->strings, st->kernel);
  e->step.op = ir_arena_strdup(
      &p->strings, st->summary ? st->summary : ir_op_get(n->op)->name);
  e->step.provenance =
      !ctx->node ? ir_arena_strdup(&p->strings, "")
      : n->op == IR_OP_LAYOUT_CAST ? cast_provenance(&p->strings, ctx->g, n)
                                   : provenance_of(&p->strings, n);
  e->step.precision = (uint32_t)st->precision;
  /* Data movement computes nothing: its "precision" is the data's dtype. */
  if (!e->step.precision && ctx->node && n->n_out && n->out[0])
    e->step.precision = (uint32_t)ctx->g->tensors[n->out[0]].dtype;
  e->step.tasks = st->tasks < 1 ? 1 : st->tasks;
  e->step.ops = st->ops;
  e->step.bytes = st->bytes;
  e->desc = ir_arena_memdup(&p->strings, st->desc, st->desc_size);
  e->desc_size = st->desc_size;
  if (!e->step.symbol || !e->step.kernel || !e->step.op ||
      !e->step.provenance || !e->desc)
    return oom();
  p->steps[p->n_steps] = e->step;
  p->descs[p->n_steps] = e->desc;
  p->desc_sizes[p->n_steps] = e->desc_size;
  p->n_steps++;
  return NULL;
}

/*===--- the planner's own lowerings ----------------------------------===*/

ingot_status cg_lower_layout_cast(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_node *n = &ctx->g->nodes[nid];
  cg_view x, y;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &x));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &y));
  const ir_tensor *t = &ctx->g->tensors[n->in[0]];
  if (t->shape.rank != 4 || x.layout == y.layout)
    return ir_node_error(n, INGOT_INTERNAL, "bad layout cast");
  k_relayout_desc d = {.src = x.buf,
                       .dst = y.buf,
                       .pitch = (int32_t)y.pitch, /* a fold-concat slice */
                       .n = t->shape.dims[0],
                       .c = t->shape.dims[1],
                       .h = t->shape.dims[2],
                       .w = t->shape.dims[3],
                       .esize = ir_dtype_traits[t->dtype].size,
                       .to_nhwc = y.layout == INGOT_LAYOUT_NHWC};
  char summary[96];
  snprintf(summary, sizeof summary, "Relayout %s %lldx%lldx%lldx%lld",
           d.to_nhwc ? "NCHW->NHWC" : "NHWC->NCHW", (long long)d.n,
           (long long)d.c, (long long)d.h, (long long)d.w);
  cg_step st = {.kernel = "k_plan_relayout", .desc = &d, .desc_size = sizeof d,
                .tasks = d.n * d.h, .bytes = 2 * (uint64_t)(d.n * d.c * d.h * d.w * d.esize),
                .precision = t->dtype, .summary = summary};
  return cg_emit(ctx, &st);
}

/* A graph output that no step writes (a folded constant, or a graph input
 * listed as an output under another slot) gets a copy step. */
static ingot_status emit_copy(cg_lower_ctx *ctx, kbuf src, kbuf dst,
                              int64_t bytes, ir_dtype dtype,
                              const char *what) {
  k_copy_desc d = {.src = src, .dst = dst, .bytes = bytes,
                   .tasks = bytes > (1 << 20) ? 8 : 1};
  cg_step st = {.kernel = "k_plan_copy", .desc = &d, .desc_size = sizeof d,
                .tasks = d.tasks, .bytes = 2 * (uint64_t)bytes,
                .precision = dtype, .summary = what};
  return cg_emit(ctx, &st);
}

/*===--- memory placement ---------------------------------------------===*/

typedef struct live {
  ir_tensor_id id;
  uint32_t first, last; /* step-order positions (node ids) */
  uint64_t size;
} live;

static int by_size_desc(const void *a, const void *b) {
  const live *x = a, *y = b;
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  return x->id < y->id ? -1 : x->id > y->id; /* deterministic */
}

static ingot_status place_activations(cg_lower_ctx *ctx) {
  const ir_graph *g = ctx->g;
  const ir_tensor_id *cn = ctx->fz.canon; /* fused: shared places */
  uint32_t nt = g->n_tensors, end = g->n_nodes + 1;
  live *lv = calloc(nt, sizeof *lv);
  bool *need = calloc(nt, sizeof *need);
  if (!lv || !need) {
    free(lv);
    free(need);
    return oom();
  }
  for (ir_tensor_id t = 1; t < nt; t++) {
    lv[t].id = t;
    lv[t].first = UINT32_MAX;
  }
  /* Inputs stay set across runs (a session may run many times after one
   * set_input), so their bytes are never reused. */
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    need[g->inputs[i]] = true;
    lv[g->inputs[i]].first = 0;
    lv[g->inputs[i]].last = end;
  }
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    for (int k = 0; k < n->n_out; k++) {
      ir_tensor_id t = n->out[k];
      if (!t) continue;
      t = cn[t];
      need[t] = true;
      if (lv[t].first == UINT32_MAX) lv[t].first = nid;
      if (lv[t].last < nid) lv[t].last = nid;
    }
    for (int k = 0; k < n->n_in + 2; k++) {
      /* A Softmax with a fused mask also reads the Add's inputs. */
      ir_tensor_id t = k < n->n_in ? n->in[k]
                       : k == n->n_in ? ctx->fz.mask_x[nid]
                                      : ctx->fz.mask_m[nid];
      t = t ? cn[t] : 0;
      if (t && g->tensors[t].role != IR_ROLE_CONSTANT && lv[t].last < nid)
        lv[t].last = nid;
    }
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    ir_tensor_id t = cn[g->outputs[i]];
    need[t] = true; /* constants listed as outputs get an arena copy */
    if (lv[t].first == UINT32_MAX) lv[t].first = 0;
    lv[t].last = end;
  }
  live *order = calloc(nt, sizeof *order);
  live *placed = calloc(nt, sizeof *placed);
  uint64_t *poff = calloc(nt, sizeof *poff);
  uint32_t n_order = 0, n_placed = 0;
  if (!order || !placed || !poff) {
    free(lv), free(need), free(order), free(placed), free(poff);
    return oom();
  }
  /* The naive sum: every tensor of the graph in its own place, whatever
   * the fusions share. */
  for (ir_tensor_id t = 1; t < nt; t++) {
    const ir_tensor *x = &g->tensors[t];
    if (!(need[t] || x->is_output || x->role == IR_ROLE_INPUT ||
          (x->producer && x->role == IR_ROLE_ACTIVATION)))
      continue;
    ir_value v = {x->dtype, x->shape, NULL, false};
    uint64_t sz = align_up(ir_value_nbytes(&v));
    ctx->plan->naive_size += sz ? sz : ALIGN;
  }
  for (ir_tensor_id t = 1; t < nt; t++) {
    if (!need[t] || cn[t] != t) continue;
    ir_value v = {g->tensors[t].dtype, g->tensors[t].shape, NULL, false};
    lv[t].size = align_up(ir_value_nbytes(&v));
    if (lv[t].size == 0) lv[t].size = ALIGN;
    order[n_order++] = lv[t];
  }
  qsort(order, n_order, sizeof *order, by_size_desc);
  uint64_t peak = 0;
  for (uint32_t i = 0; i < n_order; i++) {
    const live *t = &order[i];
    uint64_t off = 0;
    bool moved = true;
    while (moved) { /* lowest gap that fits among overlapping lifetimes */
      moved = false;
      for (uint32_t j = 0; j < n_placed; j++) {
        const live *p = &placed[j];
        bool time = !(p->last < t->first || t->last < p->first);
        bool space = off < poff[j] + p->size && poff[j] < off + t->size;
        if (time && space) {
          off = poff[j] + p->size;
          moved = true;
        }
      }
    }
    placed[n_placed] = *t;
    poff[n_placed++] = off;
    ctx->offset[t->id] = (int64_t)off;
    if (off + t->size > peak) peak = off + t->size;
  }
  for (ir_tensor_id t = 1; t < nt; t++)
    if (cn[t] != t && ctx->offset[cn[t]] >= 0)
      ctx->offset[t] = ctx->offset[cn[t]] + ctx->fz.canon_off[t];
  ctx->plan->activations_size = peak;
  free(lv), free(need), free(order), free(placed), free(poff);
  return NULL;
}

/*===--- I/O tensors and the whole plan ---------------------------------===*/

/* Appends the TENSOR_MAP entry of |id| (once per tensor name). */
static ingot_status map_add(cg_plan *p, const ir_graph *g, ir_tensor_id id,
                            int64_t offset, uint32_t ready_step) {
  if (offset < 0) return NULL;
  for (uint32_t i = 0; i < p->n_map; i++)
    if (strcmp(p->map[i].name, g->tensors[id].name) == 0) {
      p->map[i].ready_step = ready_step; /* written again: the last one */
      return NULL;
    }
  uint32_t n = p->n_map; /* capacity: 16, 32, 64, ... */
  if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
    cg_map_tensor *m =
        realloc(p->map, (p->n_map ? 2 * (size_t)p->n_map : 16) * sizeof *m);
    if (!m) return oom();
    p->map = m;
  }
  cg_map_entry(g, id, (uint64_t)offset, ready_step, &p->map[p->n_map]);
  p->map[p->n_map].name = ir_arena_strdup(&p->strings, g->tensors[id].name);
  if (!p->map[p->n_map].name) return oom();
  p->n_map++;
  return NULL;
}

static ingot_status describe_io(cg_lower_ctx *ctx) {
  const ir_graph *g = ctx->g;
  cg_plan *p = ctx->plan;
  uint32_t n = g->n_inputs + g->n_outputs;
  p->tensors = calloc(n ? n : 1, sizeof *p->tensors);
  if (!p->tensors) return oom();
  p->n_inputs = g->n_inputs;
  p->n_outputs = g->n_outputs;
  for (uint32_t i = 0; i < n; i++) {
    bool in = i < g->n_inputs;
    ir_tensor_id id = in ? g->inputs[i] : g->outputs[i - g->n_inputs];
    const ir_tensor *t = &g->tensors[id];
    cg_io_tensor *d = &p->tensors[i];
    d->name = ir_arena_strdup(&p->strings, t->name);
    if (!d->name) return oom();
    d->role = in ? INGOT_TENSOR_INPUT : INGOT_TENSOR_OUTPUT;
    d->dtype = d->stored_dtype = (uint32_t)t->dtype;
    d->rank = (uint32_t)t->shape.rank;
    for (int k = 0; k < t->shape.rank; k++) d->dims[k] = t->shape.dims[k];
    ir_value v = {t->dtype, t->shape, NULL, false};
    d->arena_offset = (uint64_t)ctx->offset[id];
    d->arena_bytes = ir_value_nbytes(&v);
    d->layout = t->role == IR_ROLE_CONSTANT ? INGOT_LAYOUT_AS_MODEL : t->layout;
    d->scale = 1.0f;
  }
  return NULL;
}

ingot_status cg_plan_build(ir_graph *g, const cg_target *target,
                           const pass_options *po, cg_plan **out) {
  *out = NULL;
  pass_options defaults = {.nhwc = true};
  if (!po) po = &defaults;
  INGOT_RETURN_IF_ERROR(pass_run_pipeline(g, po));

  cg_plan *p = calloc(1, sizeof *p);
  if (!p) return oom();
  ir_arena_init(&p->strings);
  p->target = *target;
  cg_lower_ctx ctx = {.g = g, .plan = p};
  ctx.offset = malloc(g->n_tensors * sizeof *ctx.offset);
  ctx.woffset = malloc(g->n_tensors * sizeof *ctx.woffset);
  ingot_status s = NULL;
  if (!ctx.offset || !ctx.woffset) s = oom();
  for (ir_tensor_id t = 0; !s && t < g->n_tensors; t++)
    ctx.offset[t] = ctx.woffset[t] = -1;
  if (!s) s = cg_fuse_plan(g, po, &ctx.fz);
  if (!s) s = place_activations(&ctx);
  for (uint32_t i = 0; !s && i < g->n_inputs; i++)
    s = map_add(p, g, g->inputs[i], ctx.offset[g->inputs[i]],
                INGOT_TENSOR_READY_INPUT);
  ctx.scratch_base = align_up(p->activations_size);
  for (ir_node_id nid = 1; !s && nid < g->n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    cg_lower_fn fn = lower_table[n->op];
    ctx.node = nid;
    ctx.scratch_used = 0;
    if (!fn) {
      s = ir_node_error(n, INGOT_UNIMPLEMENTED,
                        "no engine kernel for this op (it runs only in the "
                        "reference interpreter)");
      break;
    }
    uint32_t before = p->n_steps;
    /* A node another step computes (plan_fuse.c) lowers to nothing; its
     * outputs are complete by the last step so far. */
    bool fused = ctx.fz.skip[nid];
    if (!fused) s = fn(&ctx, nid);
    for (int k = 0; !s && (p->n_steps > before || (fused && p->n_steps)) &&
                    k < n->n_out;
         k++)
      if (n->out[k] && ctx.offset[n->out[k]] >= 0 &&
          !ctx.fz.hidden[n->out[k]] &&
          !ctx.fz.pitch[n->out[k]]) /* strided: not a plain tensor */
        s = map_add(p, g, n->out[k], ctx.offset[n->out[k]], p->n_steps - 1);
  }
  /* Outputs that no step writes: constants (folded) are copied in. */
  for (uint32_t i = 0; !s && i < g->n_outputs; i++) {
    const ir_tensor *t = &g->tensors[g->outputs[i]];
    if (t->role != IR_ROLE_CONSTANT) continue;
    cg_view w;
    ctx.node = 0;
    s = cg_view_of(&ctx, g->outputs[i], &w);
    ir_value v;
    ir_tensor_as_value(t, &v);
    kbuf dst = {ctx.offset[g->outputs[i]], KB_ARENA, 0};
    char what[300];
    snprintf(what, sizeof what, "Copy constant output %s", t->name);
    if (!s)
      s = emit_copy(&ctx, w.buf, dst, (int64_t)ir_value_nbytes(&v), t->dtype,
                    what);
    if (!s)
      s = map_add(p, g, g->outputs[i], ctx.offset[g->outputs[i]],
                  p->n_steps - 1);
  }
  if (!s) s = describe_io(&ctx);
  p->arena_size = align_up(ctx.scratch_base + ctx.scratch_peak);
  if (p->arena_size == 0) p->arena_size = ALIGN;
  free(ctx.offset);
  free(ctx.woffset);
  cg_fusion_release(&ctx.fz);
  if (s) {
    cg_plan_destroy(p);
    return s;
  }
  *out = p;
  return NULL;
}

void cg_plan_destroy(cg_plan *p) {
  if (!p) return;
  free(p->weights);
  free(p->tensors);
  free(p->steps);
  free(p->descs);
  free(p->desc_sizes);
  free(p->map);
  ir_arena_release(&p->strings);
  free(p);
}

void cg_plan_engine_desc(const cg_plan *p, const void *code, size_t code_size,
                         const char *build_info, cg_engine_desc *out) {
  memset(out, 0, sizeof *out);
  out->target = &p->target;
  out->arena_size = p->arena_size;
  out->weights = p->weights;
  out->weights_size = p->weights_size;
  out->code = code;
  out->code_size = code_size;
  out->tensors = p->tensors;
  out->n_inputs = p->n_inputs;
  out->n_outputs = p->n_outputs;
  out->build_info = build_info;
  out->n_steps = p->n_steps;
  out->steps = p->steps;
  out->map = p->map;
  out->n_map = p->n_map;
}
