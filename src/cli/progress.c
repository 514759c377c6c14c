/*
 * The CLI's progress bar (see progress.h): a line on stderr redrawn with "\r"
 * and erase-to-end-of-line, sized to the terminal width, rate averaged since
 * the start (the work here is uniform, so the mean rate gives the steadiest
 * ETA). Nothing is written unless stderr is a terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/progress.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_dur(char *buf, size_t n, double s) {
  if (s < 0 || s > 360000) { snprintf(buf, n, "--:--"); return; }
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

/* Draw the line; the caller holds the lock. */
static void draw(cli_progress *p, int final) {
  uint64_t done = atomic_load(&p->done);
  double el = now_s() - p->t0;
  double rate = el > 0 ? (double)done / el : 0;
  char tail[128], eta[32], rbuf[32];
  if (rate >= 100) snprintf(rbuf, sizeof rbuf, "%.0f", rate);
  else snprintf(rbuf, sizeof rbuf, "%.1f", rate);
  if (final) fmt_dur(eta, sizeof eta, el);
  else if (p->total && rate > 0) fmt_dur(eta, sizeof eta, (double)(p->total - (done < p->total ? done : p->total)) / rate);
  else snprintf(eta, sizeof eta, "--:--");
  if (p->total)
    snprintf(tail, sizeof tail, " %llu/%llu %3d%%  %s %s/s  %s %s", (unsigned long long)done,
             (unsigned long long)p->total, (int)(100.0 * (double)done / (double)p->total), rbuf,
             p->unit, final ? "in" : "ETA", eta);
  else
    snprintf(tail, sizeof tail, " %llu %s  %s %s/s  %s", (unsigned long long)done, p->unit, rbuf,
             p->unit, eta);
  int cols = 80;
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) cols = ws.ws_col;
  int bar = cols - 1 - (int)strlen(p->label) - 3 - (int)strlen(tail);
  if (bar > 40) bar = 40;
  char line[512];
  int k = snprintf(line, sizeof line, "\r%s", p->label);
  if (p->total && bar >= 10) {
    int fill = (int)((double)bar * (double)(done < p->total ? done : p->total) / (double)p->total);
    k += snprintf(line + k, sizeof line - (size_t)k, " [");
    for (int i = 0; i < bar && k < (int)sizeof line - 64; i++) line[k++] = i < fill ? '#' : '-';
    line[k++] = ']';
    line[k] = 0;
  }
  snprintf(line + k, sizeof line - (size_t)k, "%s\033[K%s", tail, final ? "\n" : "");
  fputs(line, stderr);
  fflush(stderr);
  p->drawn = 1;
}

void cli_progress_init(cli_progress *p, const char *label, const char *unit, uint64_t total) {
  memset(p, 0, sizeof *p);
  p->label = label ? label : "";
  p->unit = unit ? unit : "";
  p->total = total;
  atomic_init(&p->done, 0);
  const char *env = getenv("FACEGATE_PROGRESS");
  p->tty = isatty(STDERR_FILENO) && !(env && !strcmp(env, "0"));
  p->t0 = p->last = now_s();
  pthread_mutex_init(&p->lock, NULL);
}

void cli_progress_add(cli_progress *p, uint64_t n) {
  atomic_fetch_add(&p->done, n);
  if (!p->tty) return;
  if (pthread_mutex_trylock(&p->lock)) return;
  double t = now_s();
  if (t - p->last >= 0.1) {
    p->last = t;
    draw(p, 0);
  }
  pthread_mutex_unlock(&p->lock);
}

void cli_progress_finish(cli_progress *p) {
  if (p->tty) {
    pthread_mutex_lock(&p->lock);
    draw(p, 1);
    pthread_mutex_unlock(&p->lock);
  }
  pthread_mutex_destroy(&p->lock);
}
