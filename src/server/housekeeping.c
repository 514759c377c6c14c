/*
 * The server's housekeeping thread: once a second it writes the denials
 * counted in an interval that has ended to the audit chain (auth.c),
 * publishes the chain's head every --anchor-interval seconds when it has
 * grown (fg_border_audit_publish: a file, the system log), and
 * gives the store a chance to finish what a purge could not: the copies of
 * purged rows that an open reader kept in SQLite's write-ahead log
 * (fg_border_retention_pending, retried every second until it completes).
 * It borrows a border handle from the pool only when there is something to
 * do, so an idle server does not touch the database.
 */
#include <errno.h>
#include <time.h>

#include "server/server_internal.h"

static void *housekeeping(void *arg) {
  fg_server *s = arg;
  pthread_mutex_lock(&s->hk_mu);
  while (!s->hk_stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    int rc = 0;
    while (!s->hk_stop && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&s->hk_cv, &s->hk_mu, &until);
    if (s->hk_stop) break;
    pthread_mutex_unlock(&s->hk_mu);
    fg__housekeeping_tick(s);
    pthread_mutex_lock(&s->hk_mu);
  }
  pthread_mutex_unlock(&s->hk_mu);
  return NULL;
}

/* What a purge could not flush from the write-ahead log: once more. */
static void retention_flush(fg_server *s) {
  int64_t since = atomic_load(&s->flush_pending_since);
  if (since <= 0) return;
  fg_actor sys = {"facegate", "system", "retention"};
  fg_border *b = fg__pool_acquire(&s->pool);
  int state = FG_FLUSH_INCOMPLETE;
  fg_error e;
  if (fg_border_retention_flush(b, &sys, since, &state, &e) != FG_OK)
    fg__log(FG_LOG_ERROR, "retention flush: %s", e.msg);
  fg__pool_release(&s->pool, b);
  if (state != FG_FLUSH_INCOMPLETE) {
    atomic_compare_exchange_strong(&s->flush_pending_since, &since, 0);
    fg__log(FG_LOG_INFO, "retention flush: the write-ahead log holds no copy of purged rows any more");
  }
}

/* The audit chain's head, published where the database's writer cannot
 * rewrite it, when it has grown and the interval has passed. */
static void publish_anchor(fg_server *s) {
  if (!s->anchor_file && !s->opt.anchor_syslog) return;
  double now = fg__ms();
  int interval = s->opt.anchor_interval > 0 ? s->opt.anchor_interval : 60;
  if (s->anchored_ms > 0 && now - s->anchored_ms < interval * 1e3) return;
  fg_border *b = fg__pool_acquire(&s->pool);
  int64_t seq = 0;
  char hex[65];
  fg_error e;
  int rc = fg_border_audit_head(b, &seq, hex, &e);
  fg_doc *out = NULL;
  if (rc == FG_OK && seq > s->anchored_seq) {
    rc = fg_border_audit_publish(b, s->anchor_file, s->opt.anchor_syslog, &out, &e);
    if (rc == FG_OK) s->anchored_seq = seq;
  }
  fg__pool_release(&s->pool, b);
  fg_doc_free(out);
  if (rc != FG_OK) fg__log(FG_LOG_ERROR, "audit anchor not published: %s", e.msg);
  s->anchored_ms = now;
}

void fg__housekeeping_tick(fg_server *s) {
  retention_flush(s);
  publish_anchor(s);
  int due = 0;
  pthread_mutex_lock(&s->throttle.mu);
  if ((int64_t)time(NULL) - s->throttle.interval_start >= s->throttle.interval) {
    for (int i = 0; i < FG__THROTTLE_SLOTS && !due; i++) due = s->throttle.slot[i].pending > 0;
    due |= s->throttle.overflow.pending > 0;
    if (!due) { /* nothing to write: a new interval */
      s->throttle.interval_start = (int64_t)time(NULL);
      s->throttle.sources_in_interval = 0;
    }
  }
  pthread_mutex_unlock(&s->throttle.mu);
  if (!due) return;
  fg_border *b = fg__pool_acquire(&s->pool);
  fg__denials_flush(s, b, 0);
  fg__pool_release(&s->pool, b);
}

int fg__housekeeping_start(fg_server *s) {
  pthread_mutex_init(&s->hk_mu, NULL);
  pthread_cond_init(&s->hk_cv, NULL);
  s->hk_stop = 0;
  if (pthread_create(&s->hk_thread, NULL, housekeeping, s) != 0) return FG_ENOMEM;
  s->hk_running = 1;
  return FG_OK;
}

void fg__housekeeping_stop(fg_server *s) {
  if (!s->hk_running) return;
  pthread_mutex_lock(&s->hk_mu);
  s->hk_stop = 1;
  pthread_cond_broadcast(&s->hk_cv);
  pthread_mutex_unlock(&s->hk_mu);
  pthread_join(s->hk_thread, NULL);
  s->hk_running = 0;
  pthread_mutex_destroy(&s->hk_mu);
  pthread_cond_destroy(&s->hk_cv);
}
