/* arena.c — the bump allocator an ir_graph owns.
 *
 * Blocks are chained; an allocation that does not fit opens a new block of
 * at least 64 KiB (or the request's size).  Nothing is freed individually:
 * ir_arena_release drops every block.  All sizes are checked for overflow
 * because importers pass sizes read from untrusted files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

struct ir_arena_block {
  ir_arena_block *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
};

enum { ARENA_MIN_BLOCK = 64 * 1024, ARENA_ALIGN = 16 };

void ir_arena_init(ir_arena *a) {
  a->head = NULL;
  a->total = 0;
}

void ir_arena_release(ir_arena *a) {
  ir_arena_block *b = a->head;
  while (b) {
    ir_arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->total = 0;
}

void *ir_arena_alloc(ir_arena *a, size_t n) {
  if (n == 0) n = 1;
  if (n > SIZE_MAX / 2) return NULL;
  n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  ir_arena_block *b = a->head;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > ARENA_MIN_BLOCK ? n : ARENA_MIN_BLOCK;
    b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->used = 0;
    b->cap = cap;
    /* Keep a partly used head block in front when the new one is a big
     * one-off, so small allocations keep filling the old block. */
    if (a->head && cap == n && a->head->cap - a->head->used >= 256) {
      b->next = a->head->next;
      a->head->next = b;
      b->used = n;
      a->total += cap;
      memset(b->data, 0, n);
      return b->data;
    }
    b->next = a->head;
    a->head = b;
    a->total += cap;
  }
  void *p = b->data + b->used;
  b->used += n;
  memset(p, 0, n);
  return p;
}

void *ir_arena_calloc(ir_arena *a, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  return ir_arena_alloc(a, count * size);
}

char *ir_arena_strdup(ir_arena *a, const char *s) {
  if (!s) s = "";
  size_t n = strlen(s);
  char *p = ir_arena_alloc(a, n + 1);
  if (p) memcpy(p, s, n + 1);
  return p;
}

void *ir_arena_memdup(ir_arena *a, const void *p, size_t n) {
  void *q = ir_arena_alloc(a, n);
  if (q && n) memcpy(q, p, n);
  return q;
}
