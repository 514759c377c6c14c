/*
 * A pool of fg_border handles. An fg_border is not thread-safe, so each
 * request borrows one for the time its handler runs and gives it back; the
 * pool holds one per worker thread plus one for the purge timer, so a worker
 * never waits for long. All handles share the database (SQLite WAL: readers
 * beside one writer; PostgreSQL: a connection each) and the key file. The
 * pool also sums each handle's store counters as it comes back (while its
 * borrower no longer touches it), for /metrics.
 */
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

int fg__pool_init(fg__pool *p, int size, const fg_border_options *o, fg_error *err) {
  p->size = 0;
  p->nfree = 0;
  p->free_list = calloc((size_t)size, sizeof *p->free_list);
  p->all = calloc((size_t)size, sizeof *p->all);
  p->seen = calloc((size_t)size, sizeof *p->seen);
  memset(&p->total, 0, sizeof p->total);
  p->total.synchronous_standby = -1;
  if (!p->free_list || !p->all || !p->seen) {
    free(p->free_list);
    free(p->all);
    free(p->seen);
    p->free_list = NULL, p->all = NULL, p->seen = NULL;
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  for (int i = 0; i < size; i++) {
    int rc = fg_border_open(o, &p->all[i], err);
    if (rc != FG_OK) {
      fg__pool_release_all(p);
      return rc;
    }
    p->free_list[p->nfree++] = p->all[i];
    p->size++;
  }
  return FG_OK;
}

fg_border *fg__pool_acquire(fg__pool *p) {
  pthread_mutex_lock(&p->mu);
  while (p->nfree == 0) pthread_cond_wait(&p->cv, &p->mu);
  fg_border *b = p->free_list[--p->nfree];
  pthread_mutex_unlock(&p->mu);
  return b;
}

/* Add what b's store did since it was last given back to the totals. */
static void count(fg__pool *p, fg_border *b) {
  int i = 0;
  while (i < p->size && p->all[i] != b) i++;
  if (i == p->size) return;
  fg_store_stats now;
  fg_border_store_stats(b, &now);
  p->total.round_trips += now.round_trips - p->seen[i].round_trips;
  p->total.statements += now.statements - p->seen[i].statements;
  p->total.reconnects += now.reconnects - p->seen[i].reconnects;
  p->total.unreplicated_commits += now.unreplicated_commits - p->seen[i].unreplicated_commits;
  p->total.synchronous_standby = now.synchronous_standby; /* the latest connection's view */
  p->seen[i] = now;
}

void fg__pool_store_stats(fg__pool *p, fg_store_stats *out) {
  pthread_mutex_lock(&p->mu);
  *out = p->total;
  pthread_mutex_unlock(&p->mu);
}

void fg__pool_release(fg__pool *p, fg_border *b) {
  if (!b) return;
  pthread_mutex_lock(&p->mu);
  count(p, b);
  p->free_list[p->nfree++] = b;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void fg__pool_release_all(fg__pool *p) {
  if (!p->all) return;
  for (int i = 0; i < p->size; i++) fg_border_close(p->all[i]);
  free(p->all);
  free(p->free_list);
  free(p->seen);
  p->all = p->free_list = NULL;
  p->seen = NULL;
  p->size = p->nfree = 0;
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
}
