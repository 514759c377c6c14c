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
    free(n->op);
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

size_t fg__dtype_size(int dtype) { return dtype == FG__DT_INT64 ? 8 : 4; }

const char *fg__node_label(const fg__node *n) {
  return n->name && *n->name ? n->name : "(unnamed)";
}

fg__attr *fg__node_attr(fg__node *n, const char *name) {
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) {
      if (!n->attrs[i].used) n->attrs[i].used = 1; /* no write once set: models are shared across threads */
      return &n->attrs[i];
    }
  return NULL;
}

int64_t fg__attr_int(fg__node *n, const char *name, int64_t dflt) {
  fg__attr *a = fg__node_attr(n, name);
  return a && a->type == FG__ATTR_INT ? a->i : dflt;
}

float fg__attr_float(fg__node *n, const char *name, float dflt) {
  fg__attr *a = fg__node_attr(n, name);
  return a && a->type == FG__ATTR_FLOAT ? a->f : dflt;
}

size_t fg__attr_ints(fg__node *n, const char *name, const int64_t **v) {
  fg__attr *a = fg__node_attr(n, name);
  if (!a || a->type != FG__ATTR_INTS) { *v = NULL; return 0; }
  *v = a->ints;
  return a->n;
}

/* Kahn's algorithm, taking ready nodes in file order so the result is stable. */
int fg__graph_toposort(fg__graph *g, fg_error *err) {
  int rc = FG_OK;
  int n = g->n_nodes;
  char *avail = calloc((size_t)g->n_t + 1, 1);
  char *done = calloc((size_t)n + 1, 1);
  fg__node *sorted = malloc(((size_t)n + 1) * sizeof *sorted);
  if (!avail || !done || !sorted) { rc = fg__seterr(err, FG_ENOMEM, "out of memory sorting graph"); goto out; }
  for (int i = 0; i < g->n_t; i++)
    if (g->t[i].producer < 0) avail[i] = 1;
  int placed = 0, progress = 1;
  while (placed < n && progress) {
    progress = 0;
    for (int i = 0; i < n; i++) {
      if (done[i]) continue;
      fg__node *nd = &g->nodes[i];
      int ready = 1;
      for (int k = 0; k < nd->n_in && ready; k++)
        if (nd->in[k] >= 0 && !avail[nd->in[k]]) ready = 0;
      if (!ready) continue;
      for (int k = 0; k < nd->n_out; k++) avail[nd->out[k]] = 1;
      done[i] = 1;
      sorted[placed++] = *nd;
      progress = 1;
    }
  }
  if (placed < n) {
    for (int i = 0; i < n; i++)
      if (!done[i]) {
        rc = fg__seterr(err, FG_EFORMAT, "node '%s' (%s): graph has a cycle or an input no node produces",
                        fg__node_label(&g->nodes[i]), g->nodes[i].op);
        break;
      }
    goto out;
  }
  memcpy(g->nodes, sorted, (size_t)n * sizeof *sorted);
  for (int i = 0; i < g->n_t; i++)
    if (g->t[i].producer >= 0) g->t[i].producer = -1;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i].n_out; k++) g->t[g->nodes[i].out[k]].producer = i;
out:
  free(avail);
  free(done);
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
    for (int a = 0; a < n->n_attrs; a++)
      if (!n->attrs[a].used)
        return fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): unsupported attribute '%s'",
                          fg__node_label(n), n->op, n->attrs[a].name);
  }
  return FG_OK;
}
