/*
 * conv_int8_vs_fp32 — how much faster Debian's XNNPACK runs a convolution in
 * int8 (per-channel weights, QC8) than in fp32 on this CPU, for layer shapes
 * like the recognition model's: median of 101 runs, one thread. It bounds
 * what quantising the models could buy (docs/pipeline.md, "How close the
 * models already are to the machine's limit").
 *
 *   cc -O2 -Wall -Wextra -o build/conv_int8_vs_fp32 bench/peak/conv_int8_vs_fp32.c \
 *      -lXNNPACK -lpthreadpool -lcpuinfo -lm -pthread && build/conv_int8_vs_fp32
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <xnnpack.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct layer {
  const char *name;
  uint32_t h, w, cin, cout, k, groups;
} layer;

enum { RUNS = 101 };

int main(void) {
  if (xnn_initialize(NULL) != xnn_status_success) return fprintf(stderr, "xnn_initialize failed\n"), 1;
  static const layer L[] = {{"1x1 56x56 64->128", 56, 56, 64, 128, 1, 1},  {"3x3 56x56 64->64", 56, 56, 64, 64, 3, 1},
                            {"dw3x3 56x56 x128", 56, 56, 128, 128, 3, 128}, {"1x1 28x28 128->256", 28, 28, 128, 256, 1, 1},
                            {"dw3x3 28x28 x256", 28, 28, 256, 256, 3, 256}, {"1x1 14x14 256->512", 14, 14, 256, 512, 1, 1}};
  srand(1);
  for (size_t li = 0; li < sizeof L / sizeof L[0]; li++) {
    const layer *l = &L[li];
    uint32_t gi = l->cin / l->groups, go = l->cout / l->groups, pad = l->k / 2;
    size_t in_n = (size_t)l->h * l->w * l->cin, out_n = (size_t)l->h * l->w * l->cout,
           w_n = (size_t)l->cout * l->k * l->k * gi;
    float *fi = malloc(in_n * 4), *fo = malloc(out_n * 4), *fw = malloc(w_n * 4), *fb = calloc(l->cout, 4),
          *ks = malloc(l->cout * 4);
    int8_t *qi = malloc(in_n), *qo = malloc(out_n), *qw = malloc(w_n);
    int32_t *qb = calloc(l->cout, 4);
    if (!fi || !fo || !fw || !fb || !ks || !qi || !qo || !qw || !qb) return fprintf(stderr, "out of memory\n"), 1;
    for (size_t i = 0; i < in_n; i++) fi[i] = (float)(rand() % 200 - 100) / 100, qi[i] = (int8_t)(rand() % 200 - 100);
    for (size_t i = 0; i < w_n; i++) fw[i] = (float)(rand() % 200 - 100) / 1000, qw[i] = (int8_t)(rand() % 200 - 100);
    for (uint32_t i = 0; i < l->cout; i++) ks[i] = 0.01f;
    xnn_operator_t of = NULL, oq = NULL;
    if (xnn_create_convolution2d_nhwc_f32(pad, pad, pad, pad, l->k, l->k, 1, 1, 1, 1, l->groups, gi, go, l->cin,
                                          l->cout, fw, fb, -1e9f, 1e9f, 0, &of) != xnn_status_success ||
        xnn_create_convolution2d_nhwc_qc8(pad, pad, pad, pad, l->k, l->k, 1, 1, 1, 1, l->groups, gi, go, l->cin,
                                          l->cout, 0, 0.05f, ks, qw, qb, 0, 0.5f, -127, 127, 0,
                                          &oq) != xnn_status_success ||
        xnn_setup_convolution2d_nhwc_f32(of, 1, l->h, l->w, fi, fo, NULL) != xnn_status_success ||
        xnn_setup_convolution2d_nhwc_qc8(oq, 1, l->h, l->w, qi, qo, NULL) != xnn_status_success)
      return fprintf(stderr, "%s: XNNPACK refused the layer\n", l->name), 1;
    double tf[RUNS], tq[RUNS];
    for (int r = 0; r < RUNS; r++) {
      double a = now();
      xnn_run_operator(of, NULL);
      tf[r] = now() - a;
      a = now();
      xnn_run_operator(oq, NULL);
      tq[r] = now() - a;
    }
    qsort(tf, RUNS, sizeof *tf, cmp), qsort(tq, RUNS, sizeof *tq, cmp);
    double macs = (double)l->h * l->w * l->cout * l->k * l->k * gi, f = tf[RUNS / 2], q = tq[RUNS / 2];
    printf("%-20s fp32 %7.1f us (%5.1f G MAC/s)   int8 %7.1f us (%5.1f G MAC/s)   int8 speed-up %.2fx\n", l->name,
           f * 1e6, macs / f / 1e9, q * 1e6, macs / q / 1e9, f / q);
    xnn_delete_operator(of), xnn_delete_operator(oq);
    free(fi), free(fo), free(fw), free(fb), free(ks), free(qi), free(qo), free(qw), free(qb);
  }
  return 0;
}
