/*
 * `facegate models` and `facegate model info|run|bench|bench-all`: look inside
 * ONNX files, run them on .npy tensors (to compare with other tools), and time
 * them the way bench/ compares us with ONNX Runtime and OpenCV.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "facegate/descriptor.h"
#include "facegate/face.h"
#include "facegate/nn.h"

static const char *arg_val(int argc, char **argv, int *i) { return cli_arg_val("facegate model", argc, argv, i); }

static int parse_int(const char *s, const char *what, int lo, int hi) {
  return (int)cli_parse_long("facegate model", s, what, lo, hi);
}

/* ------------------------------------------------------------------ models */

int cmd_models(int argc, char **argv) {
  const char *dir = NULL;
  int json = 0;
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate models [--models-dir DIR] [--json]\n\n"
           "Lists the default models facegate uses, where they are, whether each file's\n"
           "SHA-256 matches the pinned digest, and the precision the face engine runs each in by\n"
           "default on this CPU (docs/engine.md); then the recognition model descriptors in\n"
           "facegate's home (data/models in a source tree, SHAREDIR/descriptors installed; any\n"
           "of them is chosen with --model NAME or $FACEGATE_MODEL; docs/models.md):\n"
           "input, embedding, metric, whether its files verify and its calibration is there.\n"
           "Exit 0 if all default models verify, 3 if any is missing or differs.\n");
    return EXIT_OK;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--models-dir")) dir = arg_val(argc, argv, &i);
    else if (!strcmp(argv[i], "--json")) json = 1;
    else { fprintf(stderr, "facegate models: unknown option '%s'\n", argv[i]); return EXIT_USAGE; }
  }
  dir = cli_models_dir(dir);
  int bad = 0;
  if (json) printf("{\"models_dir\": "), cli_json_str(stdout, dir), printf(", \"models\": [");
  else printf("models directory: %s\n", dir);
  const fg_default_model *dm;
  fg_face_options fo;
  fg_face_options_init(&fo);
  for (size_t i = 0; (dm = fg_default_model_at(i)); i++) {
    int prec = i < FG_FACE_MODELS ? fo.precision[i] : FG_PRECISION_FP32; /* the default models are in engine order */
    if (!fg_precision_native(prec)) prec = FG_PRECISION_FP32;
    char path[4096], hex[65] = "";
    snprintf(path, sizeof path, "%s/%s", dir, dm->file);
    fg_error e = {0};
    int rc = fg_file_sha256(path, hex, &e);
    const char *status = rc ? "missing" : strcmp(hex, dm->sha256) ? "MISMATCH" : "ok";
    if (strcmp(status, "ok")) bad = 1;
    if (json) {
      printf("%s{\"role\": \"%s\", \"path\": ", i ? ", " : "", dm->role);
      cli_json_str(stdout, path);
      printf(", \"sha256\": \"%s\", \"expected\": \"%s\", \"status\": \"%s\", \"precision\": \"%s\"}", hex, dm->sha256,
             status, fg_precision_name(prec));
    } else {
      printf("  %-9s %-45s %-8s %s\n", dm->role, path, status, fg_precision_name(prec));
      if (rc) printf("            %s\n", e.msg);
      else if (strcmp(hex, dm->sha256)) printf("            sha256 %s\n            expected %s\n", hex, dm->sha256);
    }
  }
  fg_model_descriptor *ds = NULL;
  int nd = 0;
  fg_error de = {0};
  const char *ddir = cli_descriptors_dir();
  if (fg_model_descriptor_list(ddir, &ds, &nd, &de)) nd = 0;
  if (json) printf("], \"descriptors\": [");
  else printf("recognition models (%s/*.json):\n", ddir);
  for (int i = 0; i < nd; i++) {
    const fg_model_descriptor *d = &ds[i];
    fg_error ve = {0};
    int vrc = fg_model_descriptor_verify(d, dir, &ve);
    const char *status = !vrc ? "ok" : vrc == FG_ENOTFOUND ? "missing" : "MISMATCH";
    int cal = *d->calibration && access(d->calibration, R_OK) == 0;
    int fcal = *d->fpir_calibration && access(d->fpir_calibration, R_OK) == 0;
    const char *cal_s = cal && fcal ? "calibrated" : cal ? "FMR only" : "NOT CALIBRATED (make calibrate)";
    if (d->n_fuse && json) {
      printf("%s{\"name\": ", i ? ", " : "");
      cli_json_str(stdout, d->name);
      printf(", \"source\": ");
      cli_json_str(stdout, d->source);
      printf(", \"fuse\": [{\"model\": ");
      cli_json_str(stdout, d->fuse_model[0]);
      printf(", \"weight\": %.6f}, {\"model\": ", d->fuse_weight[0]);
      cli_json_str(stdout, d->fuse_model[1]);
      printf(", \"weight\": %.6f}], \"status\": \"%s\", \"calibration\": %s, \"fpir_calibration\": %s, \"default\": false}",
             d->fuse_weight[1], status, cal ? "true" : "false", fcal ? "true" : "false");
    } else if (d->n_fuse) {
      char what[160];
      snprintf(what, sizeof what, "fused: %s x %.3f + %s x %.3f", d->fuse_model[0], d->fuse_weight[0], d->fuse_model[1],
               d->fuse_weight[1]);
      printf("  %-12s %-67s %-8s %s\n", d->name, what, status, cal_s);
      if (vrc) printf("            %s\n", ve.msg);
    } else if (json) {
      printf("%s{\"name\": ", i ? ", " : "");
      cli_json_str(stdout, d->name);
      printf(", \"source\": ");
      cli_json_str(stdout, d->source);
      printf(", \"model\": ");
      cli_json_str(stdout, d->model);
      printf(", \"input\": [%d, %d], \"channels\": \"%s\", \"embedding\": %d, \"metric\": \"%s\", \"status\": \"%s\", "
             "\"calibration\": %s, \"fpir_calibration\": %s, \"default\": %s}",
             d->width, d->height, d->channels == FG_CHANNELS_RGB ? "rgb" : "bgr", d->embedding, d->metric, status,
             cal ? "true" : "false", fcal ? "true" : "false", strcmp(d->name, FG_DESC_DEFAULT) ? "false" : "true");
    } else {
      printf("  %-12s %-45s %dx%d %s, %d-d %-9s %-8s %s%s\n", d->name, d->model, d->width, d->height,
             d->channels == FG_CHANNELS_RGB ? "rgb" : "bgr", d->embedding, d->metric, status, cal_s,
             strcmp(d->name, FG_DESC_DEFAULT) ? "" : " (default)");
      if (vrc) printf("            %s\n", ve.msg);
    }
  }
  free(ds);
  if (json) printf("], \"ok\": %s}\n", bad ? "false" : "true");
  else if (bad) fprintf(stderr, "facegate models: some models are missing or do not verify; run scripts/setup\n");
  return bad ? EXIT_VERIFY : EXIT_OK;
}

/* ------------------------------------------------------------------- model */

static int load(const char *path, fg_model **m) {
  fg_error e = {0};
  if (fg_model_load_file(path, NULL, m, &e)) {
    fprintf(stderr, "facegate model: %s (%s)\n", cli_errmsg(&e), fg_err_name(e.code));
    return EXIT_FAIL;
  }
  return EXIT_OK;
}

static void print_shape(FILE *f, const fg_tensor_info *t, int json) {
  fputs(json ? "[" : "", f);
  for (int i = 0; i < t->rank; i++) fprintf(f, "%s%lld", i ? (json ? ", " : "x") : "", (long long)t->dims[i]);
  fputs(json ? "]" : "", f);
}

/* JSON array of the model's inputs (or outputs): [{"name": ..., "shape": [...]}, ...]. */
static void print_tensor_list(const fg_model *m, int inputs) {
  size_t n = inputs ? fg_model_input_count(m) : fg_model_output_count(m);
  printf("[");
  for (size_t i = 0; i < n; i++) {
    const fg_tensor_info *t = inputs ? fg_model_input(m, i) : fg_model_output(m, i);
    printf("%s{\"name\": ", i ? ", " : "");
    cli_json_str(stdout, t->name);
    printf(", \"shape\": ");
    print_shape(stdout, t, 1);
    printf("}");
  }
  printf("]");
}

static int model_info(int argc, char **argv) {
  const char *file = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) json = 1;
    else if (argv[i][0] == '-') { fprintf(stderr, "facegate model info: unknown option '%s'\n", argv[i]); return EXIT_USAGE; }
    else file = argv[i];
  }
  if (!file) { fprintf(stderr, "usage: facegate model info FILE.onnx [--json]\n"); return EXIT_USAGE; }
  fg_model *m;
  if (load(file, &m)) return EXIT_FAIL;
  fg_model_stats st;
  fg_model_get_stats(m, &st);
  if (json) {
    printf("{\"file\": ");
    cli_json_str(stdout, file);
    printf(", \"sha256\": \"%s\", \"opset\": %lld, \"nodes\": %zu, \"nodes_folded\": %zu, \"params\": %zu, \"macs\": %llu, \"ops\": [",
           st.sha256, (long long)st.opset, st.nodes, st.nodes_folded, st.params, (unsigned long long)st.macs);
    char ops[sizeof st.ops];
    memcpy(ops, st.ops, sizeof ops);
    int first = 1;
    for (char *tok = strtok(ops, ","); tok; tok = strtok(NULL, ","), first = 0) printf("%s\"%s\"", first ? "" : ", ", tok);
    printf("], \"inputs\": ");
    print_tensor_list(m, 1);
    printf(", \"outputs\": ");
    print_tensor_list(m, 0);
    printf("}\n");
  } else {
    printf("file:       %s\nsha256:     %s\nopset:      %lld\n", file, st.sha256, (long long)st.opset);
    for (size_t i = 0; i < fg_model_input_count(m); i++) {
      printf("input %zu:    %s ", i, fg_model_input(m, i)->name);
      print_shape(stdout, fg_model_input(m, i), 0);
      printf(" float32\n");
    }
    for (size_t i = 0; i < fg_model_output_count(m); i++) {
      printf("output %zu:   %s ", i, fg_model_output(m, i)->name);
      print_shape(stdout, fg_model_output(m, i), 0);
      printf(" float32\n");
    }
    printf("ops:        %s\nnodes:      %zu (%zu folded or fused at load)\nparameters: %zu (%.2f M)\nMACs:       %llu (%.1f M)\n",
           st.ops, st.nodes, st.nodes_folded, st.params, st.params / 1e6, (unsigned long long)st.macs, st.macs / 1e6);
  }
  fg_model_destroy(m);
  return EXIT_OK;
}

typedef struct run_opts {
  const char *file, *inputs[8], *outputs[8];
  int n_in, n_out, threads, runs, warmup, json, backend, precision, ranges_mean, describe, input_nhwc;
  const char *ranges;
} run_opts;

static int parse_run(int argc, char **argv, run_opts *o, const char *cmd) {
  memset(o, 0, sizeof *o);
  o->threads = 1;
  o->runs = 200;
  o->warmup = 20;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--input") || !strcmp(argv[i], "-i")) {
      if (o->n_in == 8) return EXIT_USAGE;
      o->inputs[o->n_in++] = arg_val(argc, argv, &i);
    } else if (!strcmp(argv[i], "--output") || !strcmp(argv[i], "-o")) {
      if (o->n_out == 8) return EXIT_USAGE;
      o->outputs[o->n_out++] = arg_val(argc, argv, &i);
    } else if (!strcmp(argv[i], "--threads")) o->threads = parse_int(arg_val(argc, argv, &i), "--threads", 1, 256);
    else if (!strcmp(argv[i], "--runs")) o->runs = parse_int(arg_val(argc, argv, &i), "--runs", 1, 1000000);
    else if (!strcmp(argv[i], "--warmup")) o->warmup = parse_int(arg_val(argc, argv, &i), "--warmup", 0, 100000);
    else if (!strcmp(argv[i], "--json")) o->json = 1;
    else if (!strcmp(argv[i], "--backend")) {
      const char *b = arg_val(argc, argv, &i);
      if (!strcmp(b, "xnnpack")) o->backend = FG_BACKEND_XNNPACK;
      else if (!strcmp(b, "reference")) o->backend = FG_BACKEND_REFERENCE;
      else if (!strcmp(b, "onednn")) o->backend = FG_BACKEND_ONEDNN;
      else { fprintf(stderr, "facegate model %s: --backend must be xnnpack, onednn or reference\n", cmd); return EXIT_USAGE; }
    } else if (!strcmp(argv[i], "--precision")) {
      const char *p = arg_val(argc, argv, &i);
      if (!strcmp(p, "fp32")) o->precision = FG_PRECISION_FP32;
      else if (!strcmp(p, "bf16")) o->precision = FG_PRECISION_BF16;
      else if (!strcmp(p, "int8")) o->precision = FG_PRECISION_INT8;
      else { fprintf(stderr, "facegate model %s: --precision must be fp32, bf16 or int8\n", cmd); return EXIT_USAGE; }
      if (o->precision != FG_PRECISION_FP32) o->backend = FG_BACKEND_ONEDNN;
    } else if (!strcmp(argv[i], "--ranges")) o->ranges = arg_val(argc, argv, &i);
    else if (!strcmp(argv[i], "--ranges-mean")) o->ranges_mean = 1;
    else if (!strcmp(argv[i], "--describe")) o->describe = 1;
    else if (!strcmp(argv[i], "--input-nhwc")) o->input_nhwc = 1;
    else if (argv[i][0] == '-') { fprintf(stderr, "facegate model %s: unknown option '%s'\n", cmd, argv[i]); return EXIT_USAGE; }
    else if (!o->file) o->file = argv[i];
    else { fprintf(stderr, "facegate model %s: unexpected argument '%s'\n", cmd, argv[i]); return EXIT_USAGE; }
  }
  if (!o->file) { fprintf(stderr, "facegate model %s: no model file given (see --help)\n", cmd); return EXIT_USAGE; }
  return EXIT_OK;
}

/* Load inputs from .npy (checked against the model's shapes) or fill with a fixed pattern. */
static int prepare(fg_model *m, const run_opts *o, float **in, float **out) {
  size_t ni = fg_model_input_count(m), no = fg_model_output_count(m);
  if (o->n_in && (size_t)o->n_in != ni) {
    fprintf(stderr, "facegate model: model has %zu inputs, %d given\n", ni, o->n_in);
    return EXIT_USAGE;
  }
  for (size_t i = 0; i < ni; i++) {
    const fg_tensor_info *t = fg_model_input(m, i);
    if (o->n_in) {
      fg_error e = {0};
      int rank;
      int64_t dims[FG_NN_MAX_RANK];
      if (fg_npy_read(o->inputs[i], &in[i], &rank, dims, &e)) {
        fprintf(stderr, "facegate model: %s: %s\n", o->inputs[i], cli_errmsg(&e));
        return EXIT_FAIL;
      }
      size_t c = 1;
      for (int k = 0; k < rank; k++) c *= (size_t)dims[k];
      if (c != t->count) {
        fprintf(stderr, "facegate model: %s has %zu elements, input '%s' needs %zu\n", o->inputs[i], c, t->name, t->count);
        return EXIT_FAIL;
      }
    } else {
      in[i] = malloc(t->count * sizeof(float));
      if (!in[i]) return EXIT_FAIL;
      for (size_t k = 0; k < t->count; k++) in[i][k] = (float)((k * 2654435761u) % 255) / 128.f - 1.f;
    }
  }
  for (size_t i = 0; i < no; i++)
    if (!(out[i] = malloc(fg_model_output(m, i)->count * sizeof(float)))) return EXIT_FAIL;
  if (o->input_nhwc) /* hand the session each 4-D input channels-last, as the face engine does */
    for (size_t i = 0; i < ni; i++) {
      const fg_tensor_info *t = fg_model_input(m, i);
      if (t->rank != 4) continue;
      float *x = malloc(t->count * sizeof(float));
      if (!x) return EXIT_FAIL;
      size_t C = (size_t)t->dims[1], hw = (size_t)t->dims[2] * (size_t)t->dims[3], per = C * hw;
      for (size_t n = 0; n < (size_t)t->dims[0]; n++)
        for (size_t c = 0; c < C; c++)
          for (size_t p = 0; p < hw; p++) x[n * per + p * C + c] = in[i][n * per + c * hw + p];
      free(in[i]);
      in[i] = x;
    }
  return EXIT_OK;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int model_run_or_bench(int argc, char **argv, int bench) {
  const char *cmd = bench ? "bench" : "run";
  run_opts o;
  int rc = parse_run(argc, argv, &o, cmd);
  if (rc) return rc;
  if (!bench && !o.n_in) { fprintf(stderr, "facegate model run: give each input with --input FILE.npy\n"); return EXIT_USAGE; }
  fg_model *m;
  if (load(o.file, &m)) return EXIT_FAIL;
  float *in[64] = {0}, *out[64] = {0};
  fg_session *s = NULL;
  fg_error e = {0};
  size_t ni = fg_model_input_count(m), no = fg_model_output_count(m);
  if (ni > 64 || no > 64) { fprintf(stderr, "facegate model: too many inputs/outputs\n"); rc = EXIT_FAIL; goto done; }
  if (!bench && o.n_out && (size_t)o.n_out != no) {
    fprintf(stderr, "facegate model run: model has %zu outputs, %d --output given\n", no, o.n_out);
    rc = EXIT_USAGE;
    goto done;
  }
  if ((rc = prepare(m, &o, in, out))) goto done;
  fg_quant_ranges *qr = NULL;
  if (o.ranges && fg_quant_ranges_load(o.ranges, m, &qr, &e)) { fprintf(stderr, "facegate model: %s\n", cli_errmsg(&e)); rc = EXIT_FAIL; goto done; }
  fg_session_options so = {.threads = o.threads, .backend = o.backend, .precision = o.precision, .ranges = qr,
                           .ranges_mean = o.ranges_mean, .input_nhwc = o.input_nhwc};
  int src = fg_session_create(m, &so, &s, &e);
  fg_quant_ranges_destroy(qr);
  if (src) { fprintf(stderr, "facegate model: %s\n", cli_errmsg(&e)); rc = EXIT_FAIL; goto done; }
  if (o.describe) {
    char desc[65536];
    if (fg_session_describe(s, desc, sizeof desc) >= 0) fputs(desc, stderr);
  }
  if (!bench) {
    if (fg_session_run(s, (const float *const *)in, out, &e)) { fprintf(stderr, "facegate model: %s\n", cli_errmsg(&e)); rc = EXIT_FAIL; goto done; }
    for (size_t i = 0; i < no; i++) {
      const fg_tensor_info *t = fg_model_output(m, i);
      if (o.n_out) {
        if (fg_npy_write(o.outputs[i], out[i], t->rank, t->dims, &e)) { fprintf(stderr, "facegate model: %s\n", cli_errmsg(&e)); rc = EXIT_FAIL; goto done; }
      } else {
        printf("%s:", t->name);
        for (size_t k = 0; k < t->count && k < 16; k++) printf(" %.6g", out[i][k]);
        printf("%s\n", t->count > 16 ? " ..." : "");
      }
    }
    goto done;
  }
  double *ms = malloc(sizeof(double) * (size_t)o.runs);
  if (!ms) { rc = EXIT_FAIL; goto done; }
  for (int r = 0; r < o.warmup + o.runs; r++) {
    double t0 = now_ms();
    if (fg_session_run(s, (const float *const *)in, out, &e)) { fprintf(stderr, "facegate model: %s\n", cli_errmsg(&e)); free(ms); rc = EXIT_FAIL; goto done; }
    if (r >= o.warmup) ms[r - o.warmup] = now_ms() - t0;
  }
  qsort(ms, (size_t)o.runs, sizeof *ms, cmp_double);
  double med = ms[o.runs / 2], p10 = ms[o.runs / 10], p90 = ms[o.runs * 9 / 10];
  if (o.json) printf("{\"median_ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, \"runs\": %d, \"threads\": %d}\n", med, p10, p90, o.runs, o.threads);
  else printf("%s: median %.3f ms (p10 %.3f, p90 %.3f) over %d runs, %d thread(s)\n", o.file, med, p10, p90, o.runs, o.threads);
  free(ms);
done:
  for (size_t i = 0; i < 64; i++) { free(in[i]); free(out[i]); }
  fg_session_destroy(s);
  fg_model_destroy(m);
  return rc;
}

/* Hold all four default models ready to run (one session each), report peak RSS. */
static int model_bench_all(int argc, char **argv) {
  const char *dir = NULL;
  int threads = 1, json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--models-dir")) dir = arg_val(argc, argv, &i);
    else if (!strcmp(argv[i], "--threads")) threads = parse_int(arg_val(argc, argv, &i), "--threads", 1, 256);
    else if (!strcmp(argv[i], "--json")) json = 1;
    else { fprintf(stderr, "facegate model bench-all: unknown option '%s'\n", argv[i]); return EXIT_USAGE; }
  }
  dir = cli_models_dir(dir);
  fg_model *m[8] = {0};
  fg_session *s[8] = {0};
  int rc = EXIT_OK;
  const fg_default_model *dm;
  size_t n = 0;
  for (; (dm = fg_default_model_at(n)) && n < 8; n++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, dm->file);
    fg_error e = {0};
    run_opts o = {0};
    float *in[64] = {0}, *out[64] = {0};
    fg_session_options so = {.threads = threads};
    if (load(path, &m[n]) || prepare(m[n], &o, in, out) || fg_session_create(m[n], &so, &s[n], &e) ||
        fg_session_run(s[n], (const float *const *)in, out, &e)) {
      fprintf(stderr, "facegate model: %s: %s\n", path, cli_errmsg(&e));
      rc = EXIT_FAIL;
    }
    for (int i = 0; i < 64; i++) { free(in[i]); free(out[i]); }
    if (rc) break;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  if (!rc) {
    if (json) printf("{\"models\": %zu, \"peak_rss_mb\": %.1f}\n", n, ru.ru_maxrss / 1024.0);
    else printf("%zu models loaded with one session each: peak RSS %.1f MB\n", n, ru.ru_maxrss / 1024.0);
  }
  for (size_t i = 0; i < 8; i++) { fg_session_destroy(s[i]); fg_model_destroy(m[i]); }
  return rc;
}

static int model_convert(int argc, char **argv) {
  const char *file = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-o")) out = arg_val(argc, argv, &i);
    else if (argv[i][0] == '-') { fprintf(stderr, "facegate model convert: unknown option '%s'\n", argv[i]); return EXIT_USAGE; }
    else file = argv[i];
  }
  if (!file || !out) { fprintf(stderr, "usage: facegate model convert MANIFEST.json -o OUT.onnx\n"); return EXIT_USAGE; }
  fg_error e = {0};
  uint8_t *onnx;
  size_t n;
  if (fg_model_convert_file(file, NULL, &onnx, &n, &e)) {
    fprintf(stderr, "facegate: %s (%s)\n", e.msg, fg_err_name(e.code));
    return EXIT_FAIL;
  }
  FILE *f = fopen(out, "wb");
  int ok = f && fwrite(onnx, 1, n, f) == n;
  if (f && fclose(f)) ok = 0;
  free(onnx);
  if (!ok) { fprintf(stderr, "facegate model convert: cannot write %s\n", out); remove(out); return EXIT_FAIL; }
  return EXIT_OK;
}

int cmd_model(int argc, char **argv) {
  static const char *help =
      "usage: facegate model <info|run|bench|bench-all|convert> ...\n\n"
      "  FILE.onnx may also be a TensorFlow.js weights manifest facegate knows the network\n"
      "  of (face-api's face_recognition_model-weights_manifest.json: dlib's ResNet).\n"
      "  info FILE.onnx [--json]\n"
      "      inputs, outputs, ops used, parameter count, MACs and SHA-256 of a model.\n"
      "  convert MANIFEST.json -o OUT.onnx\n"
      "      write the ONNX model facegate builds from a TensorFlow.js weights manifest\n"
      "      (for ONNX Runtime or OpenCV: make bench-models compares against it).\n"
      "  run FILE.onnx --input IN.npy [--input ...] [--output OUT.npy ...] [--threads N]\n"
      "          [--backend xnnpack|onednn|reference] [--precision fp32|bf16|int8]\n"
      "          [--ranges RANGES.json [--ranges-mean]] [--describe] [--input-nhwc]\n"
      "      run once on .npy tensors (float32/float64/uint8/int64, converted to float32, NCHW)\n"
      "      and write each output as float32 .npy (or print the first values).\n"
      "  bench FILE.onnx [--input IN.npy] [--threads N] [--runs 200] [--warmup 20] [--json]\n"
      "          [--backend ...] [--precision ...] [--ranges ...] [--describe] [--input-nhwc]\n"
      "      median latency of one run (inputs from .npy or a fixed pattern).\n"
      "  --precision bf16|int8 runs on oneDNN; int8 quantises activations with the given ranges\n"
      "  (facegate devset --record-ranges), or the built-in ones of a default model.\n"
      "  --describe prints how each node runs (precision; oneDNN, C kernel or no-op).\n"
      "  --input-nhwc hands the session each 4-D input channels-last (transposed here, before\n"
      "  timing), as the face engine feeds the detector: oneDNN reads it without a reorder.\n"
      "  bench-all [--models-dir DIR] [--threads N] [--json]\n"
      "      load the four default models with one session each and report peak RSS.\n";
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(help, argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  if (cli_wants_help(argc - 1, argv + 1)) { fputs(help, stdout); return EXIT_OK; }
  if (!strcmp(argv[1], "info")) return model_info(argc - 1, argv + 1);
  if (!strcmp(argv[1], "run")) return model_run_or_bench(argc - 1, argv + 1, 0);
  if (!strcmp(argv[1], "bench")) return model_run_or_bench(argc - 1, argv + 1, 1);
  if (!strcmp(argv[1], "bench-all")) return model_bench_all(argc - 1, argv + 1);
  if (!strcmp(argv[1], "convert")) return model_convert(argc - 1, argv + 1);
  fprintf(stderr, "facegate model: unknown subcommand '%s'\n%s", argv[1], help);
  return EXIT_USAGE;
}
