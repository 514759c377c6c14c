/*
 * The retention timer: every `purge_interval` seconds the server runs
 * fg_border_purge as {"facegate", "system", "retention"} on a handle borrowed
 * from the pool, so that what policy says must go goes even when nobody runs
 * `facegate purge`. The purge writes its own audit event ("purge.run" with
 * counts); a failure is logged and retried at the next tick. A purge whose
 * flush of the write-ahead log a reader held up is noted (fg__purge_noted)
 * and finished by the housekeeping thread. Shutdown wakes the timer and
 * waits for a purge in progress to finish.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "server/server_internal.h"

static void *purge_main(void *arg) {
  fg_server *s = arg;
  pthread_mutex_lock(&s->purge_mu);
  for (;;) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s->opt.purge_interval;
    int rc = 0;
    while (!s->purge_stop && rc != ETIMEDOUT)
      rc = pthread_cond_timedwait(&s->purge_cv, &s->purge_mu, &until);
    if (s->purge_stop) break;
    pthread_mutex_unlock(&s->purge_mu);

    fg_actor sys = {"facegate", "system", "retention"};
    fg_border *b = fg__pool_acquire(&s->pool);
    fg_doc *counts = NULL;
    fg_error e;
    if (fg_border_purge(b, &sys, &counts, &e) == FG_OK) {
      fg__log(FG_LOG_INFO, "purge: done");
      fg__purge_noted(s, b, fg__json(counts));
    } else {
      fg__log(FG_LOG_ERROR, "purge failed: %s", e.msg);
    }
    fg_doc_free(counts);
    fg__pool_release(&s->pool, b);

    pthread_mutex_lock(&s->purge_mu);
  }
  pthread_mutex_unlock(&s->purge_mu);
  return NULL;
}

void fg__purge_noted(fg_server *s, fg_border *b, const json_t *result) {
  const char *state = json_string_value(json_object_get(json_object_get(result, "flush"), "state"));
  if (!state || strcmp(state, "incomplete") != 0) return;
  atomic_fetch_add(&s->flush_incomplete, 1);
  int64_t none = 0;
  atomic_compare_exchange_strong(&s->flush_pending_since, &none, fg_border_now(b));
  fg__log(FG_LOG_WARN, "purge: a reader holds copies of purged rows in the write-ahead log; "
                       "retrying every second");
}

int fg__purge_timer_start(fg_server *s, fg_error *err) {
  pthread_mutex_init(&s->purge_mu, NULL);
  pthread_cond_init(&s->purge_cv, NULL);
  s->purge_stop = 0;
  if (s->opt.purge_interval <= 0) return FG_OK;
  if (pthread_create(&s->purge_thread, NULL, purge_main, s) != 0)
    return fg__seterr(err, FG_ENOMEM, "cannot start the purge timer");
  s->purge_running = 1;
  return FG_OK;
}

void fg__purge_timer_stop(fg_server *s) {
  pthread_mutex_lock(&s->purge_mu);
  s->purge_stop = 1;
  pthread_cond_broadcast(&s->purge_cv);
  pthread_mutex_unlock(&s->purge_mu);
  if (s->purge_running) pthread_join(s->purge_thread, NULL);
  s->purge_running = 0;
}
