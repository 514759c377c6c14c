/*
 * A progress bar for long CLI work (LFW evaluation, calibration, benchmarks):
 * one line on stderr, redrawn in place at most ten times a second, with the
 * count, percentage, rate and ETA:
 *
 *   embedding [##########------------]  4521/7701  58%  312 img/s  ETA 0:10
 *
 * Silent when stderr is not a terminal (logs and pipes stay clean), so callers
 * use it unconditionally. Workers on any thread may call cli_progress_add; the
 * counter is atomic and only one thread draws at a time (a try-lock: a busy
 * drawer is never waited for).
 *
 *     cli_progress p;
 *     cli_progress_init(&p, "embedding", "img", n);
 *     ... cli_progress_add(&p, 1) from workers ...
 *     cli_progress_finish(&p);   // final state, newline; then destroy
 */
#ifndef FG_CLI_PROGRESS_H
#define FG_CLI_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct cli_progress {
  const char *label; /* not copied: must outlive the bar */
  const char *unit;  /* "img", "pairs"... (not copied) */
  uint64_t total;
  atomic_uint_fast64_t done;
  double t0, last;   /* start and last draw, seconds (monotonic) */
  int tty;           /* 0: every call is a no-op */
  int drawn;         /* a line is on screen */
  pthread_mutex_t lock;
} cli_progress;

/* Start a bar of `total` steps (0: unknown total, the bar shows count and rate
 * only). Draws nothing yet. Set FACEGATE_PROGRESS=0 to silence it on a TTY. */
void cli_progress_init(cli_progress *p, const char *label, const char *unit, uint64_t total);
/* Count n more steps done; thread-safe; redraws if 100 ms have passed. */
void cli_progress_add(cli_progress *p, uint64_t n);
/* Draw the final state and end the line (if anything was drawn), and release
 * the bar. Call once, after all workers are done. */
void cli_progress_finish(cli_progress *p);

#endif
