/*
 * Graph bookkeeping: adding and finding tensors, attribute accessors, the
 * topological sort that also detects cycles, and use counts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"

void fg__graph_free(fg__graph *g) {
  if (!g) return;
  for (int i = 0; i < g->n_t; i++) {
    free(g->t[i].name);
    free(g->t[i].data);
  }
  for (int i = 0; i < g->n_nodes; i++) {
    fg__node *n = &g->nodes[i];
    free(n->name);
    free(n->op_type);
    free(n->in);
    free(n->out);
    for (int a = 0; a < n->n_attrs; a++) {
      free(n->attrs[a].name);
      free(n->attrs[a].s);
      free(n->attrs[a].ints);
      free(n->attrs[a].floats);
    }
    free(n->attrs);
  }
  free(g->t);
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  memset(g, 0, sizeof *g);
}

int fg__graph_find_tensor(const fg__graph *g, const char *name) {
  for (int i = 0; i < g->n_t; i++)
    if (strcmp(g->t[i].name, name) == 0) return i;
  return -1;
}

int fg__graph_add_tensor(fg__graph *g, const char *name, fg_error *err) {
  if (g->n_t == g->cap_t) {
    int cap = g->cap_t ? g->cap_t * 2 : 64;
    fg__tensor *t = realloc(g->t, (size_t)cap * sizeof *t);
    if (!t) return fg__seterr(err, FG_ENOMEM, "out of memory adding tensor '%s'", name);
    g->t = t;
    g->cap_t = cap;
  }
  fg__tensor *t = &g->t[g->n_t];
  memset(t, 0, sizeof *t);
  t->name = strdup(name);
  if (!t->name) return fg__seterr(err, FG_ENOMEM, "out of memory adding tensor '%s'", name);
  t->rank = -1;
  t->dtype = FG__DT_FLOAT;
  t->producer = -1;
  return g->n_t++;
}

size_t fg__tensor_count(const fg__tensor *t) {
  size_t c = 1;
  for (int i = 0; i < t->rank; i++) c *= (size_t)t->dims[i];
  return c;
}

size_t fg__dtype_size(int dtype) {
  switch (dtype) {
  case FG__DT_INT64: return 8;
  case FG__DT_UINT8: case FG__DT_INT8: return 1;
  case FG__DT_BF16: return 2;
  default: return 4; /* FLOAT, INT32 */
  }
}

#define OP_NAME(e, s) [FG__OP_##e] = s,
static const char *const op_names[FG__OP_COUNT] = {[FG__OP_UNKNOWN] = "?", FG__OP_LIST(OP_NAME)};
#undef OP_NAME

int fg__op_lookup(const char *op_type) {
  for (int i = 1; i < FG__OP_COUNT; i++)
    if (!strcmp(op_type, op_names[i])) return i;
  return FG__OP_UNKNOWN;
}

const char *fg__op_name(int op) { return op > 0 && op < FG__OP_COUNT ? op_names[op] : "?"; }

const char *fg__node_label(const fg__node *n) {
  return n->name && *n->name ? n->name : "(unnamed)";
}

static fg__attr *find_attr(fg__node *n, const char *name) {
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

/* Mark an attribute as read. used: 1 = read with the right type, 2 = looked up with
 * another type (fg__graph_check_attrs then refuses it). Written only while loading:
 * once a model is loaded every attribute is 1 and is never written again, since
 * models are shared across threads. */
static void mark(fg__attr *a, int ok) {
  if (ok && a->used != 1) a->used = 1;
  else if (!ok && !a->used) a->used = 2;
}

fg__attr *fg__node_attr(fg__node *n, const char *name) {
  fg__attr *a = find_attr(n, name);
  if (a) mark(a, 1);
  return a;
}

int64_t fg__attr_int(fg__node *n, const char *name, int64_t dflt) {
  fg__attr *a = find_attr(n, name);
  if (!a) return dflt;
  mark(a, a->type == FG__ATTR_INT);
  return a->type == FG__ATTR_INT ? a->i : dflt;
}

float fg__attr_float(fg__node *n, const char *name, float dflt) {
  fg__attr *a = find_attr(n, name);
  if (!a) return dflt;
  mark(a, a->type == FG__ATTR_FLOAT);
  return a->type == FG__ATTR_FLOAT ? a->f : dflt;
}

size_t fg__attr_ints(fg__node *n, const char *name, const int64_t **v) {
  fg__attr *a = find_attr(n, name);
  *v = NULL;
  if (!a) return 0;
  mark(a, a->type == FG__ATTR_INTS);
  if (a->type != FG__ATTR_INTS) return 0;
  *v = a->ints;
  return a->n;
}

/* Binary min-heap of node indices, so ready nodes are taken in file order. */
static void heap_push(int *h, int *n, int v) {
  int i = (*n)++;
  while (i > 0 && h[(i - 1) / 2] > v) { h[i] = h[(i - 1) / 2]; i = (i - 1) / 2; }
  h[i] = v;
}

static int heap_pop(int *h, int *n) {
  int top = h[0], v = h[--(*n)], i = 0;
  for (;;) {
    int c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && h[c + 1] < h[c]) c++;
    if (h[c] >= v) break;
    h[i] = h[c];
    i = c;
  }
  if (*n) h[i] = v;
  return top;
}

/* Kahn's algorithm in O((nodes + edges) log nodes): a node becomes ready when all
 * its inputs are produced; among ready nodes the earliest in the file goes first,
 * so a file that is already sorted keeps its order. */
int fg__graph_toposort(fg__graph *g, fg_error *err) {
  int rc = FG_OK;
  int n = g->n_nodes;
  size_t edges = 0;
  for (int i = 0; i < n; i++) edges += (size_t)g->nodes[i].n_in;
  int *missing = calloc((size_t)n + 1, sizeof *missing);     /* per node: inputs not yet produced */
  int *first = malloc(((size_t)g->n_t + 1) * sizeof *first); /* per tensor: head of its consumer list */
  int *next = malloc((edges + 1) * sizeof *next), *who = malloc((edges + 1) * sizeof *who);
  int *heap = malloc(((size_t)n + 1) * sizeof *heap), *order = malloc(((size_t)n + 1) * sizeof *order);
  fg__node *sorted = malloc(((size_t)n + 1) * sizeof *sorted);
  if (!missing || !first || !next || !who || !heap || !order || !sorted) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory sorting graph");
    goto out;
  }
  for (int i = 0; i < g->n_t; i++) first[i] = -1;
  size_t e = 0;
  for (int i = 0; i < n; i++) {
    const fg__node *nd = &g->nodes[i];
    for (int k = 0; k < nd->n_in; k++) {
      int t = nd->in[k];
      if (t < 0 || g->t[t].producer < 0) continue;
      missing[i]++;
      who[e] = i;
      next[e] = first[t];
      first[t] = (int)e++;
    }
  }
  int hn = 0, placed = 0;
  for (int i = 0; i < n; i++)
    if (!missing[i]) heap_push(heap, &hn, i);
  while (hn) {
    int i = heap_pop(heap, &hn);
    order[placed++] = i;
    const fg__node *nd = &g->nodes[i];
    for (int k = 0; k < nd->n_out; k++)
      for (int j = first[nd->out[k]]; j >= 0; j = next[j])
        if (--missing[who[j]] == 0) heap_push(heap, &hn, who[j]);
  }
  if (placed < n) {
    for (int i = 0; i < n; i++)
      if (missing[i]) {
        rc = fg__seterr(err, FG_EFORMAT, "node '%s' (%s): graph has a cycle or an input no node produces",
                        fg__node_label(&g->nodes[i]), g->nodes[i].op_type);
        break;
      }
    goto out;
  }
  for (int i = 0; i < n; i++) sorted[i] = g->nodes[order[i]];
  if (n) memcpy(g->nodes, sorted, (size_t)n * sizeof *sorted);
  for (int i = 0; i < g->n_t; i++)
    if (g->t[i].producer >= 0) g->t[i].producer = -1;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i].n_out; k++) g->t[g->nodes[i].out[k]].producer = i;
out:
  free(missing);
  free(first);
  free(next);
  free(who);
  free(heap);
  free(order);
  free(sorted);
  return rc;
}

void fg__graph_count_uses(fg__graph *g) {
  for (int i = 0; i < g->n_t; i++) g->t[i].n_consumers = g->t[i].is_output ? 1 : 0;
  for (int i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].dead) continue;
    for (int k = 0; k < g->nodes[i].n_in; k++)
      if (g->nodes[i].in[k] >= 0) g->t[g->nodes[i].in[k]].n_consumers++;
  }
}

int fg__graph_check_attrs(const fg__graph *g, fg_error *err) {
  for (int i = 0; i < g->n_nodes; i++) {
    const fg__node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int a = 0; a < n->n_attrs; a++) {
      if (n->attrs[a].used == 2)
        return fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): attribute '%s' has the wrong type",
                          fg__node_label(n), n->op_type, n->attrs[a].name);
      if (n->attrs[a].used != 1)
        return fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): unsupported attribute '%s'",
                          fg__node_label(n), n->op_type, n->attrs[a].name);
    }
  }
  return FG_OK;
}
