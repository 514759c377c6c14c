/* Private definition of fg_model / fg_session shared by model.c and the executors. */
#ifndef FG_NN_MODEL_H
#define FG_NN_MODEL_H

#include "nn/graph.h"

struct fg_model {
  fg__graph g;
  fg_tensor_info *inputs, *outputs;
  fg_model_stats stats;
};

/* Activation ranges (quant.c): per tensor name, min and max over every run and
 * the sum over runs of each run's largest |x|. */
struct fg_quant_ranges {
  char model_sha256[65];
  size_t n;
  char **names;
  float *min, *max;
  double *sum_absmax;
  uint64_t runs;
};
/* Index of a tensor's entry, or -1. */
int fg__quant_find(const fg_quant_ranges *r, const char *name);
/* Fold one run's [lo, hi] of entry k into the ranges (k < 0: nothing). */
void fg__quant_update(fg_quant_ranges *r, int k, float lo, float hi);

/* A backend behind a session: run (on the caller's thread alone, wide = 0, or
 * with the session's threads, wide = 1), record ranges (optional: NULL), and
 * free. Each backend builds what both widths need when it is created. */
typedef struct fg__backend {
  const char *name;
  int (*run)(void *impl, int wide, const float *const *in, float *const *out, fg_error *err);
  int (*record)(void *impl, fg_quant_ranges *r, fg_error *err);
  void (*destroy)(void *impl);
} fg__backend;

/* Whether a session with threads should use them, decided run by run from
 * the times it measures (adapt.c): a pool of threads that spin while a
 * CPU-bound neighbour holds the cores takes many times longer than one
 * thread, so a session notices and runs on the caller's thread alone until a
 * probe finds its threads help again. */
typedef struct fg__adapt {
  int threads;              /* the session's threads; 1 = nothing to decide */
  int wide;                 /* the current choice */
  double t1, tn;            /* recent run times on one thread and on all, ms (0 = none yet) */
  unsigned long runs;       /* runs so far */
  unsigned long next_probe; /* the run at which the other width is tried */
  unsigned backoff;         /* runs between probes of the threads while they lose */
  unsigned long wide_runs;  /* runs that used the threads */
} fg__adapt;
void fg__adapt_init(fg__adapt *a, int threads);
/* 1: run this one with the threads; 0: on the caller's thread. */
int fg__adapt_choose(fg__adapt *a);
/* Report how long the run took that fg__adapt_choose chose `wide` for. */
void fg__adapt_record(fg__adapt *a, int wide, double ms);

struct fg_session {
  const fg__backend *be;
  void *impl;
  fg__adapt adapt;
  /* input_nhwc on a backend that wants NCHW: each 4-D input is transposed
   * into nchw[i] before the run (NULL: the backend reads the input as given) */
  const fg_model *m;
  float **nchw;
};
/* Wrap a backend's state into a session (*out owns impl on success only). */
int fg__session_wrap(const fg__backend *be, void *impl, int threads, fg_session **out, fg_error *err);

/* Executors: each builds a session for a model. */
int fg__session_create_ref(const fg_model *m, fg_session **out, fg_error *err);
int fg__session_create_xnn(const fg_model *m, int threads, fg_session **out, fg_error *err);
int fg__session_create_dnnl(const fg_model *m, const fg_session_options *o, fg_session **out, fg_error *err);


#endif
