/* attr.c — typed access to a node's raw attributes, for parse functions.
 * Every getter reports a wrong attribute kind as an error naming the node
 * and the attribute, so a malformed model never reaches a kernel.
 */
#include <string.h>

#include "ir.h"

const ir_attr *ir_attr_find(const ir_node *n, const char *name) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

static const char *kind_name(ir_attr_kind k) {
  static const char *const names[] = {
      "undefined", "float",   "int",     "string",  "tensor",
      "graph",     "floats",  "ints",    "strings", "tensors",
      "graphs",    "sparse tensor", "sparse tensors", "type proto",
      "type protos"};
  return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

static ingot_status wrong_kind(const ir_node *n, const ir_attr *a,
                               const char *want) {
  return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                       "attribute '%s' must be %s, not %s", a->name, want,
                       kind_name(a->kind));
}

ingot_status ir_attr_int(const ir_node *n, const char *name, int64_t dflt,
                         int64_t *out) {
  const ir_attr *a = ir_attr_find(n, name);
  if (!a) {
    *out = dflt;
    return NULL;
  }
  if (a->kind != IR_ATTR_INT) return wrong_kind(n, a, "an int");
  *out = a->i;
  return NULL;
}

ingot_status ir_attr_float(const ir_node *n, const char *name, float dflt,
                           float *out) {
  const ir_attr *a = ir_attr_find(n, name);
  if (!a) {
    *out = dflt;
    return NULL;
  }
  if (a->kind == IR_ATTR_INT) { /* some exporters write 0 for 0.0 */
    *out = (float)a->i;
    return NULL;
  }
  if (a->kind != IR_ATTR_FLOAT) return wrong_kind(n, a, "a float");
  *out = a->f;
  return NULL;
}

ingot_status ir_attr_string(const ir_node *n, const char *name,
                            const char *dflt, const char **out) {
  const ir_attr *a = ir_attr_find(n, name);
  if (!a) {
    *out = dflt;
    return NULL;
  }
  if (a->kind != IR_ATTR_STRING) return wrong_kind(n, a, "a string");
  *out = a->s;
  return NULL;
}

ingot_status ir_attr_ints(const ir_node *n, const char *name, int64_t *out,
                          int cap, int *count) {
  const ir_attr *a = ir_attr_find(n, name);
  *count = -1;
  if (!a) return NULL;
  if (a->kind != IR_ATTR_INTS) return wrong_kind(n, a, "a list of ints");
  if (a->n > cap)
    return ir_node_error(n, INGOT_OUT_OF_RANGE,
                         "attribute '%s' has %d values; at most %d allowed",
                         a->name, a->n, cap);
  if (a->n) memcpy(out, a->ints, (size_t)a->n * sizeof *out);
  *count = a->n;
  return NULL;
}

ingot_status ir_attr_floats(const ir_node *n, const char *name, float *out,
                            int cap, int *count) {
  const ir_attr *a = ir_attr_find(n, name);
  *count = -1;
  if (!a) return NULL;
  if (a->kind != IR_ATTR_FLOATS) return wrong_kind(n, a, "a list of floats");
  if (a->n > cap)
    return ir_node_error(n, INGOT_OUT_OF_RANGE,
                         "attribute '%s' has %d values; at most %d allowed",
                         a->name, a->n, cap);
  if (a->n) memcpy(out, a->floats, (size_t)a->n * sizeof *out);
  *count = a->n;
  return NULL;
}

ingot_status ir_attr_check_known(const ir_node *n, const char *const *names) {
  for (uint32_t i = 0; i < n->n_attrs; i++) {
    const char *const *k = names;
    while (*k && strcmp(*k, n->attrs[i].name) != 0) k++;
    if (!*k)
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "attribute '%s' is not supported",
                           n->attrs[i].name);
  }
  return NULL;
}
