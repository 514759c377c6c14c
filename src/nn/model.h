/* Private definition of fg_model / fg_session shared by model.c and the executors. */
#ifndef FG_NN_MODEL_H
#define FG_NN_MODEL_H

#include "nn/graph.h"

struct fg_model {
  fg__graph g;
  fg_tensor_info *inputs, *outputs;
  fg_model_stats stats;
};

/* Executors: each builds a session for a model. */
int fg__session_create_ref(const fg_model *m, fg_session **out, fg_error *err);
int fg__session_create_xnn(const fg_model *m, int threads, fg_session **out, fg_error *err);

#endif
