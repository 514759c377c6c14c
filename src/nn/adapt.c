/*
 * When a session's threads help, and when they do not.
 *
 * A multi-threaded inference splits each layer across the threads and waits
 * for all of them at the end of the layer. On an idle machine that is nearly
 * N times faster; on a busy one (a server always is) a thread that the
 * scheduler has parked behind a CPU-bound neighbour holds every layer up for
 * a scheduling period, and the run takes tens of times longer than on one
 * thread (measured: 394 ms against 14 ms for the 1080p pipeline, docs/pipeline.md).
 * No spinning policy fixes that; not waiting on a thread that cannot run does.
 *
 * So a session with threads keeps both ways of running (the backends compile
 * each model for one thread and for the pool) and this policy picks, run by
 * run, from what it measures:
 *
 *   - it starts with the threads; the first run (cold caches) is not timed,
 *     the second runs on one thread to learn what one thread takes (t1);
 *   - with the threads, a run slower than 1.2 x t1 means the threads lose:
 *     the next runs use one thread;
 *   - on one thread, the threads are tried again after `backoff` runs (4 at
 *     first, doubling after each failed try up to 256, so that a machine that
 *     stays busy pays for a failed try at most once every 256 runs); a try
 *     faster than 0.9 x t1 brings them back;
 *   - with the threads, one run in 32 is on one thread, to keep t1 current.
 *
 * It is a few comparisons per run, no clock reads of its own (the caller times
 * the run) and no shared state: each session decides for itself.
 */
#include "nn/model.h"

enum { REFRESH = 32, BACKOFF_MIN = 4, BACKOFF_MAX = 256 };
#define LOSE 1.2  /* threads slower than this x one thread: stop using them */
#define WIN 0.9   /* a try of the threads at least this much faster: use them again */

void fg__adapt_init(fg__adapt *a, int threads) {
  *a = (fg__adapt){.threads = threads, .wide = threads > 1, .backoff = BACKOFF_MIN, .next_probe = 1};
}

int fg__adapt_choose(fg__adapt *a) {
  if (a->threads <= 1) return 0;
  if (a->runs == a->next_probe) return !a->wide;
  return a->wide;
}

static void ewma(double *t, double ms) { *t = *t > 0 ? 0.5 * *t + 0.5 * ms : ms; }

void fg__adapt_record(fg__adapt *a, int wide, double ms) {
  unsigned long run = a->runs++;
  if (a->threads <= 1) return;
  if (wide) a->wide_runs++;
  if (run == 0) return; /* cold caches */
  if (!wide) {
    ewma(&a->t1, ms);
    if (a->wide) a->next_probe = a->runs + REFRESH; /* a refresh of t1: back to the threads */
    return;
  }
  ewma(&a->tn, ms);
  if (a->t1 <= 0) return;
  if (a->wide) {
    if (ms > LOSE * a->t1) {
      a->wide = 0;
      a->next_probe = a->runs + a->backoff;
    }
    return;
  }
  /* a try of the threads while on one */
  if (ms < WIN * a->t1) {
    a->wide = 1;
    a->backoff = BACKOFF_MIN;
    a->next_probe = a->runs + REFRESH;
  } else {
    a->backoff = a->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : a->backoff * 2;
    a->next_probe = a->runs + a->backoff;
  }
}
