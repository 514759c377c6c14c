/*
 * The second recognition model — dlib's ResNet as face-api ships it, a
 * TensorFlow.js weights manifest turned into an engine graph (src/nn/tfjs_load.c)
 * — against face-api itself: tests/fixtures/dlib holds 22 aligned 150x150
 * crops and the descriptors face-api.js computed for them in Node
 * (scripts/make-dlib-fixtures, scripts/faceapi-reference.js). Every crop runs
 * through the reference backend (plain C, double accumulation), XNNPACK and
 * oneDNN fp32, and each raw 128-d output must match face-api's:
 *
 *   max |ours - face-api| <= TOL_ABS (descriptor values lie within about ±0.4)
 *   cosine(ours, face-api) >= COS_MIN
 *
 * A wrong layout, padding, fold of the scale layer or of the input mean, or a
 * wrong dequantisation moves values by 1e-2 or more; float summation order
 * moves them by under 1e-6 (measured: 1.9e-7 reference, 4.9e-7 XNNPACK, 4.0e-7 oneDNN).
 *
 * Then the descriptors (facegate/descriptor.h): the engine built from
 * data/models/dlib-resnet.json produces 128-d embeddings from a 150x150 crop
 * that equal face-api's direction; the default descriptor says exactly what
 * the built-in defaults are; templates of the two models refuse to be
 * compared; malformed descriptors and manifests are refused with a message.
 *
 * Skips, saying why, when the models are not set up (scripts/setup).
 */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <sys/stat.h>

#include <jansson.h>

#include "facegate/descriptor.h"
#include "facegate/face.h"
#include "facegate/image.h"
#include "facegate/nn.h"
#include "facegate/template.h"

#define FIXDIR "tests/fixtures/dlib"
#define MANIFEST "face_recognition_model-weights_manifest.json"
#define TOL_ABS 1e-5
#define COS_MIN 0.99999
#define N_MAX 64

typedef struct fixtures {
  int n;
  char crop[N_MAX][128];
  float ref[N_MAX][128];
} fixtures;

static int have_model(void) {
  char p[512];
  tu_path(p, sizeof p, tu_models_dir(), MANIFEST);
  return tu_exists(p);
}

static void load_fixtures(fixtures *fx) {
  json_error_t je;
  json_t *root = json_load_file(FIXDIR "/faceapi.json", 0, &je);
  assert_non_null(root);
  json_t *faces = json_object_get(root, "faces");
  assert_true(json_is_array(faces));
  fx->n = (int)json_array_size(faces);
  assert_true(fx->n >= 20 && fx->n <= N_MAX);
  for (int i = 0; i < fx->n; i++) {
    json_t *f = json_array_get(faces, (size_t)i), *d = json_object_get(f, "descriptor");
    snprintf(fx->crop[i], sizeof fx->crop[i], "%s", json_string_value(json_object_get(f, "crop")));
    assert_int_equal(json_array_size(d), 128);
    for (int k = 0; k < 128; k++) fx->ref[i][k] = (float)json_number_value(json_array_get(d, (size_t)k));
  }
  json_decref(root);
}

/* The crop as the model's input: NCHW RGB planes, 0..255. */
static void crop_input(const char *name, float *in) {
  char p[512];
  tu_path(p, sizeof p, FIXDIR, name);
  fg_image im = {0};
  fg_error e = {0};
  if (fg_image_decode_file(p, NULL, &im, &e)) fail_msg("%s", e.msg);
  assert_int_equal(im.width, 150);
  assert_int_equal(im.height, 150);
  assert_int_equal(im.channels, 3);
  for (int i = 0; i < 150 * 150; i++)
    for (int c = 0; c < 3; c++) in[c * 150 * 150 + i] = im.data[3 * i + c];
  fg_image_release(&im);
}

static double cosine(const float *a, const float *b, int n) {
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
  return ab / sqrt(aa * bb);
}

static void test_engine_graph_matches_faceapi(void **state) {
  (void)state;
  if (!have_model()) TU_SKIP("%s/%s missing: run scripts/setup", tu_models_dir(), MANIFEST);
  fixtures *fx = malloc(sizeof *fx);
  assert_non_null(fx);
  load_fixtures(fx);
  char path[512];
  tu_path(path, sizeof path, tu_models_dir(), MANIFEST);
  fg_model *m;
  fg_error e = {0};
  if (fg_model_load_file(path, NULL, &m, &e)) fail_msg("%s", e.msg);
  assert_int_equal(fg_model_input(m, 0)->dims[2], 150);
  assert_int_equal(fg_model_output(m, 0)->count, 128);
  static const struct { int backend; const char *name; } be[] = {
      {FG_BACKEND_REFERENCE, "reference"}, {FG_BACKEND_XNNPACK, "xnnpack"}, {FG_BACKEND_ONEDNN, "onednn"}};
  float *in = malloc(3 * 150 * 150 * sizeof *in), out[128];
  assert_non_null(in);
  for (size_t b = 0; b < sizeof be / sizeof *be; b++) {
    fg_session *s;
    fg_session_options so = {.threads = 1, .backend = be[b].backend, .precision = FG_PRECISION_FP32};
    if (fg_session_create(m, &so, &s, &e)) fail_msg("%s: %s", be[b].name, e.msg);
    double worst = 0, worst_cos = 1;
    for (int i = 0; i < fx->n; i++) {
      crop_input(fx->crop[i], in);
      const float *ins[1] = {in};
      float *outs[1] = {out};
      if (fg_session_run(s, ins, outs, &e)) fail_msg("%s: %s", be[b].name, e.msg);
      double d = 0;
      for (int k = 0; k < 128; k++) d = fmax(d, fabs((double)out[k] - fx->ref[i][k]));
      double c = cosine(out, fx->ref[i], 128);
      if (d > worst) worst = d;
      if (c < worst_cos) worst_cos = c;
      if (d > TOL_ABS || c < COS_MIN)
        fail_msg("%s, %s: max |ours - face-api| %.3g (bound %g), cosine %.9f", be[b].name, fx->crop[i], d, TOL_ABS, c);
    }
    printf("  %-9s %d faces: max |ours - face-api| %.2e, min cosine %.9f\n", be[b].name, fx->n, worst, worst_cos);
    fg_session_destroy(s);
  }
  free(in);
  fg_model_destroy(m);
  free(fx);
}

static fg_face_engine *dlib_engine(void) {
  fg_face_options o;
  fg_face_options_init(&o);
  o.models_dir = tu_models_dir();
  o.model = "dlib-resnet";
  o.liveness = 0;
  o.precision[FG_FACE_MODEL_FEATURE] = FG_PRECISION_FP32;
  fg_face_engine *fe;
  fg_error e = {0};
  if (fg_face_engine_create(&o, &fe, &e)) fail_msg("%s", e.msg);
  return fe;
}

/* Through the descriptor: 150x150 crops, 128-d unit vectors in face-api's direction. */
static void test_descriptor_engine(void **state) {
  (void)state;
  if (!have_model()) TU_SKIP("%s/%s missing: run scripts/setup", tu_models_dir(), MANIFEST);
  fixtures *fx = malloc(sizeof *fx);
  assert_non_null(fx);
  load_fixtures(fx);
  fg_face_engine *fe = dlib_engine();
  assert_int_equal(fg_face_engine_dim(fe), 128);
  assert_string_equal(fg_face_engine_model_name(fe), "dlib-resnet");
  assert_string_equal(fg_face_engine_calibration(fe), "data/calibration/dlib-resnet.json");
  const fg_face_options *eo = fg_face_engine_options(fe);
  assert_int_equal(eo->align_width, 150);
  assert_int_equal(eo->feat_channels, FG_CHANNELS_RGB);
  float emb[128];
  fg_error e = {0};
  for (int i = 0; i < fx->n; i += 5) {
    char p[512];
    tu_path(p, sizeof p, FIXDIR, fx->crop[i]);
    fg_image im = {0};
    if (fg_image_decode_file(p, NULL, &im, &e)) fail_msg("%s", e.msg);
    if (fg_face_embed(fe, &im, emb, &e)) fail_msg("%s", e.msg);
    fg_image_release(&im);
    double n = 0;
    for (int k = 0; k < 128; k++) n += (double)emb[k] * emb[k];
    assert_true(fabs(n - 1) < 1e-5);
    assert_true(cosine(emb, fx->ref[i], 128) >= COS_MIN);
  }
  /* A whole photo through the pipeline: a 128-d template tied to this model. */
  char p[512];
  tu_path(p, sizeof p, tu_samples_dir(), "sample2.jpg");
  fg_face_result *r = malloc(sizeof *r);
  assert_non_null(r);
  if (fg_face_process_file(fe, p, NULL, r, &e)) fail_msg("%s", e.msg);
  assert_int_equal(r->dim, 128);

  /* Templates of the two models refuse to be compared. */
  fg_face_options o;
  fg_face_options_init(&o);
  o.models_dir = tu_models_dir();
  o.liveness = 0;
  fg_face_engine *fd;
  if (fg_face_engine_create(&o, &fd, &e)) fail_msg("%s", e.msg);
  assert_string_equal(fg_face_engine_model_name(fd), "fr_feature");
  assert_string_not_equal(fg_face_engine_model_sha256(fd), fg_face_engine_model_sha256(fe));
  fg_face_result *r2 = malloc(sizeof *r2);
  assert_non_null(r2);
  if (fg_face_process_file(fd, p, NULL, r2, &e)) fail_msg("%s", e.msg);
  assert_int_equal(r2->dim, 512);
  uint8_t id1[8], id2[8];
  fg_face_engine_model_id(fe, id1);
  fg_face_engine_model_id(fd, id2);
  fg_template t1, t2;
  assert_int_equal(fg_template_init(&t1, r->embedding, r->dim, id1, &e), FG_OK);
  assert_int_equal(fg_template_init(&t2, r2->embedding, r2->dim, id2, &e), FG_OK);
  float score;
  assert_int_equal(fg_template_compare(&t1, &t2, &score, &e), FG_EMODEL);
  fg_template_release(&t1);
  fg_template_release(&t2);
  free(r2);
  free(r);
  fg_face_engine_destroy(fd);
  fg_face_engine_destroy(fe);
  free(fx);
}

/* data/models/fr_feature.json describes exactly the built-in default. */
static void test_default_descriptor(void **state) {
  (void)state;
  fg_model_descriptor d;
  fg_error e = {0};
  if (fg_model_descriptor_load(FG_DESC_DEFAULT, &d, &e)) fail_msg("%s", e.msg);
  fg_face_options def, o;
  fg_face_options_init(&def);
  o = def;
  char path[4096];
  assert_int_equal(fg_model_descriptor_apply(&d, "var/models", &o, path, sizeof path, &e), FG_OK);
  assert_string_equal(path, "var/models/fr_feature.onnx");
  assert_int_equal(o.feat_channels, def.feat_channels);
  assert_true(o.feat_mean == def.feat_mean && o.feat_scale == def.feat_scale);
  for (int i = 0; i < 10; i++) assert_true(fabsf(o.align_template[i] - def.align_template[i]) < 1e-4f);
  assert_int_equal(o.align_width, 112);
  assert_int_equal(d.embedding, 512);
  assert_string_equal(d.calibration, "data/calibration/fr_feature.json");
  /* its pinned digest is setup's (scripts/models.sha256) */
  size_t len;
  char *sums = (char *)tu_read("scripts/models.sha256", &len);
  sums = realloc(sums, len + 1);
  sums[len] = 0;
  assert_non_null(strstr(sums, d.file_sha256[0]));
  free(sums);
  /* the listing finds both */
  fg_model_descriptor *all;
  int n;
  assert_int_equal(fg_model_descriptor_list(NULL, &all, &n, &e), FG_OK);
  int seen = 0;
  for (int i = 0; i < n; i++) seen += !strcmp(all[i].name, "fr_feature") + !strcmp(all[i].name, "dlib-resnet");
  assert_int_equal(seen, 2);
  free(all);
}

static void expect_bad_descriptor(const char *json, const char *needle) {
  fg_model_descriptor d;
  fg_error e = {0};
  int rc = fg_model_descriptor_parse(json, strlen(json), "t.json", &d, &e);
  if (rc != FG_EFORMAT || !strstr(e.msg, needle)) fail_msg("want FG_EFORMAT mentioning '%s', got %d: %s", needle, rc, e.msg);
}

#define GOOD_FILES "\"files\": [{\"path\": \"m.onnx\", \"sha256\": \"" \
  "0000000000000000000000000000000000000000000000000000000000000000\"}], \"model\": \"m.onnx\""
#define GOOD_REST "\"input\": {\"width\": 112, \"height\": 112, \"channels\": \"rgb\", \"mean\": 127.5, \"scale\": 0.0078125}," \
  "\"alignment\": {\"template5\": [38, 51, 73, 51, 56, 71, 41, 92, 70, 92]}, \"embedding\": {\"length\": 512, \"metric\": \"cosine\"}"

static void test_descriptor_refuses(void **state) {
  (void)state;
  fg_model_descriptor d;
  fg_error e = {0};
  const char *ok = "{\"name\": \"arcface-r100\", " GOOD_FILES ", " GOOD_REST "}";
  assert_int_equal(fg_model_descriptor_parse(ok, strlen(ok), "t.json", &d, &e), FG_OK);
  assert_int_equal(d.width, 112);
  assert_true(d.mean == 127.5f);
  assert_string_equal(d.calibration, "");
  expect_bad_descriptor("{\"name\": \"x\", \"inptu\": 1, " GOOD_FILES ", " GOOD_REST "}", "unknown member \"inptu\"");
  expect_bad_descriptor("{\"name\": \"X Y\", " GOOD_FILES ", " GOOD_REST "}", "name");
  expect_bad_descriptor("{\"name\": \"x\", \"files\": [{\"path\": \"../m.onnx\", \"sha256\": \"00\"}], \"model\": \"m\", " GOOD_REST "}",
                        "files[].path");
  expect_bad_descriptor("{\"name\": \"x\", \"files\": [{\"path\": \"m.onnx\", \"sha256\": \"00\"}], \"model\": \"m.onnx\", " GOOD_REST "}",
                        "sha256");
  expect_bad_descriptor("{\"name\": \"x\", " GOOD_FILES ", \"input\": {\"width\": 112, \"height\": 112, \"channels\": \"yuv\", "
                        "\"mean\": 0, \"scale\": 1}}", "channels");
  expect_bad_descriptor("{\"name\": \"x\", \"files\": [{\"path\": \"m.onnx\", \"sha256\": "
                        "\"0000000000000000000000000000000000000000000000000000000000000000\"}], \"model\": \"n.onnx\", " GOOD_REST "}",
                        "one of \"files\"");
  expect_bad_descriptor("{\"name\": \"x\", " GOOD_FILES ", \"input\": {\"width\": 112, \"height\": 112, \"channels\": \"rgb\", "
                        "\"mean\": 0, \"scale\": 1}, \"alignment\": {\"template5\": [38, 51, 73, 51, 56, 71, 41, 92, 170, 92]}, "
                        "\"embedding\": {\"length\": 512, \"metric\": \"cosine\"}}", "inside the input");
  expect_bad_descriptor("{\"name\": \"x\", " GOOD_FILES ", \"input\": {\"width\": 112, \"height\": 112, \"channels\": \"rgb\", "
                        "\"mean\": 0, \"scale\": 1}, \"alignment\": {\"template5\": [38, 51, 73, 51, 56, 71, 41, 92, 70, 92]}, "
                        "\"embedding\": {\"length\": 512, \"metric\": \"manhattan\"}}", "metric");
  expect_bad_descriptor("[1, 2]", "not a JSON object");
  expect_bad_descriptor("{\"name\": ", "line 1");
  /* not found, by name and by path */
  assert_int_equal(fg_model_descriptor_load("no-such-model", &d, &e), FG_ENOTFOUND);
  assert_int_equal(fg_model_descriptor_load("/nonexistent/x.json", &d, &e), FG_ENOTFOUND);
  assert_int_equal(fg_model_descriptor_load("Bad Name", &d, &e), FG_EINVAL);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  fclose(f);
}

/* Paths inside a descriptor are relative to the descriptor's own directory,
 * wherever the program runs: calibration files (with "../" taken off the
 * directory, absolute paths kept) and a fused model's members; the listing
 * takes a directory. Checked from another working directory. */
static void test_descriptor_paths(void **state) {
  (void)state;
  char cwd[PATH_MAX], repo_models[PATH_MAX + 32], dir[] = "/tmp/fg_desc_XXXXXX", p[PATH_MAX + 64];
  assert_non_null(getcwd(cwd, sizeof cwd));
  snprintf(repo_models, sizeof repo_models, "%s/data/models", cwd);
  assert_non_null(mkdtemp(dir));
  int have = have_model();
  char models[PATH_MAX + 32];
  if (tu_models_dir()[0] == '/') snprintf(models, sizeof models, "%s", tu_models_dir());
  else snprintf(models, sizeof models, "%s/%s", cwd, tu_models_dir());
  snprintf(p, sizeof p, "%s/models", dir);
  assert_int_equal(mkdir(p, 0700), 0);
  snprintf(p, sizeof p, "%s/models/a.json", dir);
  write_text(p, "{\"name\": \"a\", " GOOD_FILES ", " GOOD_REST ", \"calibration\": \"../cal/a.json\", "
                "\"fpir_calibration\": \"/abs/a_fpir.json\"}");
  snprintf(p, sizeof p, "%s/models/b.json", dir);
  write_text(p, "{\"name\": \"b\", " GOOD_FILES ", " GOOD_REST ", \"calibration\": \"b.json\"}");
  assert_int_equal(chdir("/"), 0);
  fg_model_descriptor d;
  fg_error e = {0};
  snprintf(p, sizeof p, "%s/models/a.json", dir);
  int rc = fg_model_descriptor_load(p, &d, &e);
  if (rc) fail_msg("%s", e.msg);
  char want[PATH_MAX + 64];
  snprintf(want, sizeof want, "%s/cal/a.json", dir);
  assert_string_equal(d.calibration, want);
  assert_string_equal(d.fpir_calibration, "/abs/a_fpir.json");
  snprintf(p, sizeof p, "%s/models/b.json", dir);
  assert_int_equal(fg_model_descriptor_load(p, &d, &e), FG_OK);
  snprintf(want, sizeof want, "%s/models/b.json", dir);
  assert_string_equal(d.calibration, want);
  /* the listing of a directory, not the working directory's data/models */
  fg_model_descriptor *all;
  int n;
  snprintf(p, sizeof p, "%s/models", dir);
  assert_int_equal(fg_model_descriptor_list(p, &all, &n, &e), FG_OK);
  assert_int_equal(n, 2);
  assert_string_equal(all[0].name, "a");
  free(all);
  /* the shipped descriptors from elsewhere: calibration found, fused members beside it */
  snprintf(p, sizeof p, "%s/dlib-resnet.json", repo_models);
  assert_int_equal(fg_model_descriptor_load(p, &d, &e), FG_OK);
  snprintf(want, sizeof want, "%s/data/calibration/dlib-resnet.json", cwd);
  assert_string_equal(d.calibration, want);
  assert_int_equal(access(d.calibration, R_OK), 0);
  assert_int_equal(access(d.fpir_calibration, R_OK), 0);
  snprintf(p, sizeof p, "%s/fused.json", repo_models);
  assert_int_equal(fg_model_descriptor_load(p, &d, &e), FG_OK);
  if (have) {
    rc = fg_model_descriptor_verify(&d, models, &e);
    if (rc) fail_msg("fused, verified from /: %s", e.msg);
  }
  /* a member that is not beside the fused descriptor is not found */
  snprintf(p, sizeof p, "%s/models/f.json", dir);
  write_text(p, "{\"name\": \"f\", \"fuse\": [{\"model\": \"fr_feature\", \"weight\": 0.6}, "
                "{\"model\": \"a\", \"weight\": 0.8}]}");
  assert_int_equal(fg_model_descriptor_load(p, &d, &e), FG_OK);
  assert_int_equal(fg_model_descriptor_verify(&d, models, &e), FG_ENOTFOUND);
  assert_non_null(strstr(e.msg, "models/fr_feature.json"));
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(tu_rm_rf(dir), 0);
}

/* A descriptor whose files do not verify stops the engine, naming the file. */
static void test_descriptor_checksum(void **state) {
  (void)state;
  if (!have_model()) TU_SKIP("%s/%s missing: run scripts/setup", tu_models_dir(), MANIFEST);
  char dir[] = "/tmp/fg_dlib_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char p[600];
  snprintf(p, sizeof p, "%s/bad.json", dir);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fprintf(f, "{\"name\": \"bad\", \"files\": [{\"path\": \"fr_feature.onnx\", \"sha256\": "
             "\"1111111111111111111111111111111111111111111111111111111111111111\"}], \"model\": \"fr_feature.onnx\", " GOOD_REST "}");
  fclose(f);
  fg_face_options o;
  fg_face_options_init(&o);
  o.models_dir = tu_models_dir();
  o.model = p;
  fg_face_engine *fe;
  fg_error e = {0};
  assert_int_equal(fg_face_engine_create(&o, &fe, &e), FG_ECHECKSUM);
  assert_non_null(strstr(e.msg, "fr_feature.onnx"));
  /* the right digest but the wrong embedding length */
  char hex[65];
  snprintf(p, sizeof p, "%s/fr_feature.onnx", tu_models_dir());
  assert_int_equal(fg_file_sha256(p, hex, &e), FG_OK);
  snprintf(p, sizeof p, "%s/len.json", dir);
  f = fopen(p, "w");
  assert_non_null(f);
  fprintf(f, "{\"name\": \"len\", \"files\": [{\"path\": \"fr_feature.onnx\", \"sha256\": \"%s\"}], \"model\": \"fr_feature.onnx\", "
             "\"input\": {\"width\": 112, \"height\": 112, \"channels\": \"bgr\", \"mean\": 127, \"scale\": 0.0078125},"
             "\"alignment\": {\"template5\": [38, 51, 73, 51, 56, 71, 41, 92, 70, 92]}, \"embedding\": {\"length\": 256, \"metric\": \"cosine\"}}",
          hex);
  fclose(f);
  o.model = p;
  assert_int_equal(fg_face_engine_create(&o, &fe, &e), FG_ESHAPE);
  assert_non_null(strstr(e.msg, "256"));
  tu_rm_rf(dir);
}

/* The fused model: the first model's embedding and the second's, each times its
 * weight, from one pass over the image; one unit vector; a model of its own. */
static void test_fused(void **state) {
  (void)state;
  if (!have_model()) TU_SKIP("%s/%s missing: run scripts/setup", tu_models_dir(), MANIFEST);
  fg_model_descriptor d;
  fg_error e = {0};
  if (fg_model_descriptor_load("fused", &d, &e)) fail_msg("%s", e.msg);
  assert_int_equal(d.n_fuse, 2);
  const char *names[3] = {"fused", d.fuse_model[0], d.fuse_model[1]};
  fg_face_engine *fe[3];
  fg_face_result *r[3];
  char p[512];
  tu_path(p, sizeof p, tu_samples_dir(), "sample3.jpg");
  for (int k = 0; k < 3; k++) {
    fg_face_options o;
    fg_face_options_init(&o);
    o.models_dir = tu_models_dir();
    o.model = names[k];
    o.liveness = 0;
    if (fg_face_engine_create(&o, &fe[k], &e)) fail_msg("%s: %s", names[k], e.msg);
    r[k] = malloc(sizeof *r[k]);
    assert_non_null(r[k]);
    if (fg_face_process_file(fe[k], p, NULL, r[k], &e)) fail_msg("%s", e.msg);
  }
  int d0 = r[1]->dim, d1 = r[2]->dim;
  assert_int_equal(r[0]->dim, d0 + d1);
  assert_int_equal(fg_face_engine_dim(fe[0]), d0 + d1);
  double n = 0;
  for (int i = 0; i < r[0]->dim; i++) n += (double)r[0]->embedding[i] * r[0]->embedding[i];
  assert_true(fabs(n - 1) < 1e-4);
  /* the first part is the first model's, exactly; the second the second model's
   * (its crop lit as the first model's face was: equal direction) */
  for (int i = 0; i < d0; i++) assert_true(fabsf(r[0]->embedding[i] - d.fuse_weight[0] * r[1]->embedding[i]) < 1e-6f);
  float second[FG_FACE_MAX_DIM];
  for (int i = 0; i < d1; i++) second[i] = r[0]->embedding[d0 + i] / d.fuse_weight[1];
  assert_true(cosine(second, r[2]->embedding, d1) > 0.999);
  /* its own model id; it embeds from images only */
  assert_string_not_equal(fg_face_engine_model_sha256(fe[0]), fg_face_engine_model_sha256(fe[1]));
  assert_string_equal(fg_face_engine_model_name(fe[0]), "fused");
  fg_image im = {0};
  assert_int_equal(fg_image_init(&im, 112, 112, 3, &e), FG_OK);
  memset(im.data, 128, (size_t)112 * 112 * 3);
  float emb[FG_FACE_MAX_DIM];
  assert_int_equal(fg_face_embed(fe[0], &im, emb, &e), FG_EUNSUPPORTED);
  fg_image_release(&im);
  for (int k = 0; k < 3; k++) fg_face_engine_destroy(fe[k]), free(r[k]);
  /* malformed fused descriptors */
  expect_bad_descriptor("{\"name\": \"f\", \"fuse\": [{\"model\": \"a\", \"weight\": 0.5}, {\"model\": \"b\", \"weight\": 0.5}]}",
                        "squares");
  expect_bad_descriptor("{\"name\": \"f\", \"fuse\": [{\"model\": \"f\", \"weight\": 0.6}, {\"model\": \"b\", \"weight\": 0.8}]}",
                        "another descriptor");
  expect_bad_descriptor("{\"name\": \"f\", \"model\": \"m\", \"fuse\": [{\"model\": \"a\", \"weight\": 0.6}, {\"model\": \"b\", \"weight\": 0.8}]}",
                        "unknown member \"model\"");
}

static void write_file(const char *path, const void *data, size_t len);

/* The operator's path (docs/models.md): an ONNX recognition model of another
 * input size and embedding length plugged in with nothing but a descriptor.
 * The ONNX file is the one facegate builds from the dlib weights, so the
 * embeddings it gives must be the dlib-resnet model's. */
static void test_onnx_plugin(void **state) {
  (void)state;
  if (!have_model()) TU_SKIP("%s/%s missing: run scripts/setup", tu_models_dir(), MANIFEST);
  char dir[] = "/tmp/fg_dlib_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char p[600], q[8192], cwd[4096];
  assert_non_null(getcwd(cwd, sizeof cwd));
  const char *others[3] = {"fr_detect.onnx", "fr_landmark.onnx", "fr_liveness.onnx"};
  for (int i = 0; i < 3; i++) { /* the other stages' models, as they are */
    snprintf(p, sizeof p, "%s/%s", dir, others[i]);
    if (tu_models_dir()[0] == '/') snprintf(q, sizeof q, "%s/%s", tu_models_dir(), others[i]);
    else snprintf(q, sizeof q, "%s/%s/%s", cwd, tu_models_dir(), others[i]);
    assert_int_equal(symlink(q, p), 0);
  }
  tu_path(q, sizeof q, tu_models_dir(), MANIFEST);
  uint8_t *onnx;
  size_t olen;
  fg_error e = {0};
  assert_int_equal(fg_model_convert_file(q, NULL, &onnx, &olen, &e), FG_OK);
  snprintf(p, sizeof p, "%s/resnet150.onnx", dir);
  write_file(p, onnx, olen);
  free(onnx);
  char hex[65];
  assert_int_equal(fg_file_sha256(p, hex, &e), FG_OK);
  fg_model_descriptor dl;
  assert_int_equal(fg_model_descriptor_load("dlib-resnet", &dl, &e), FG_OK);
  snprintf(p, sizeof p, "%s/resnet150.json", dir);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fprintf(f, "{\"name\": \"resnet150\", \"files\": [{\"path\": \"resnet150.onnx\", \"sha256\": \"%s\"}],"
             " \"model\": \"resnet150.onnx\", \"input\": {\"width\": 150, \"height\": 150, \"channels\": \"rgb\","
             " \"mean\": 0, \"scale\": 1}, \"alignment\": {\"template5\": [", hex);
  for (int i = 0; i < 10; i++) fprintf(f, "%s%.4f", i ? ", " : "", dl.template5[i]);
  fprintf(f, "]}, \"embedding\": {\"length\": 128, \"metric\": \"euclidean\"}}");
  fclose(f);
  fg_face_engine *fe[2];
  fg_face_result *r[2];
  tu_path(q, sizeof q, tu_samples_dir(), "sample4.jpg");
  for (int k = 0; k < 2; k++) {
    fg_face_options o;
    fg_face_options_init(&o);
    o.models_dir = k ? tu_models_dir() : dir;
    o.model = k ? "dlib-resnet" : p;
    o.liveness = 0;
    o.precision[FG_FACE_MODEL_FEATURE] = FG_PRECISION_FP32;
    if (fg_face_engine_create(&o, &fe[k], &e)) fail_msg("%s", e.msg);
    r[k] = malloc(sizeof *r[k]);
    assert_non_null(r[k]);
    if (fg_face_process_file(fe[k], q, NULL, r[k], &e)) fail_msg("%s", e.msg);
  }
  assert_string_equal(fg_face_engine_model_name(fe[0]), "resnet150");
  assert_int_equal(r[0]->dim, 128);
  assert_true(cosine(r[0]->embedding, r[1]->embedding, 128) > 0.99999);
  /* the same network, so the same model: templates compare */
  assert_string_equal(fg_face_engine_model_sha256(fe[0]), fg_face_engine_model_sha256(fe[1]));
  for (int k = 0; k < 2; k++) fg_face_engine_destroy(fe[k]), free(r[k]);
  tu_rm_rf(dir);
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

/* Broken manifests and shards: refused with a message, nothing leaked. */
static void test_manifest_refuses(void **state) {
  (void)state;
  if (!have_model()) TU_SKIP("%s/%s missing: run scripts/setup", tu_models_dir(), MANIFEST);
  char dir[] = "/tmp/fg_dlib_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char src[512], p[600], q[600];
  size_t mlen, blen;
  tu_path(src, sizeof src, tu_models_dir(), MANIFEST);
  uint8_t *man = tu_read(src, &mlen);
  tu_path(src, sizeof src, tu_models_dir(), "face_recognition_model.bin");
  uint8_t *bin = tu_read(src, &blen);
  snprintf(p, sizeof p, "%s/m.json", dir);
  snprintf(q, sizeof q, "%s/face_recognition_model.bin", dir);
  write_file(p, man, mlen);
  fg_model *m;
  fg_error e = {0};
  /* shard missing */
  assert_int_equal(fg_model_load_file(p, NULL, &m, &e), FG_ENOTFOUND);
  assert_null(m);
  /* shard truncated */
  write_file(q, bin, blen - 100);
  assert_int_equal(fg_model_load_file(p, NULL, &m, &e), FG_EFORMAT);
  assert_non_null(strstr(e.msg, "past the end"));
  /* shard too long */
  uint8_t *longer = calloc(blen + 8, 1);
  memcpy(longer, bin, blen);
  write_file(q, longer, blen + 8);
  assert_int_equal(fg_model_load_file(p, NULL, &m, &e), FG_EFORMAT);
  free(longer);
  write_file(q, bin, blen);
  assert_int_equal(fg_model_load_file(p, NULL, &m, &e), FG_OK);
  fg_model_destroy(m);
  /* other input sizes: one that fits the network, and ones too small for it */
  fg_model_options mo = {.input_rank = 4, .input_dims = {1, 3, 200, 200}};
  assert_int_equal(fg_model_load_file(p, &mo, &m, &e), FG_OK);
  assert_int_equal(fg_model_output(m, 0)->count, 128);
  fg_model_destroy(m);
  mo.input_dims[2] = mo.input_dims[3] = 40;
  assert_int_equal(fg_model_load_file(p, &mo, &m, &e), FG_ESHAPE);
  mo.input_dims[2] = mo.input_dims[3] = 16;
  assert_int_equal(fg_model_load_file(p, &mo, &m, &e), FG_ESHAPE);
  /* a manifest of another network */
  const char *other = "[{\"paths\": [\"face_recognition_model.bin\"], \"weights\": [{\"name\": \"dense/kernel\", \"shape\": [4], "
                      "\"dtype\": \"float32\"}]}]";
  write_file(p, other, strlen(other));
  write_file(q, bin, 16);
  assert_int_equal(fg_model_load_file(p, NULL, &m, &e), FG_EUNSUPPORTED);
  /* unsupported dtype / quantisation, escaping shard path, garbage */
  const char *i32 = "[{\"paths\": [\"face_recognition_model.bin\"], \"weights\": [{\"name\": \"a\", \"shape\": [4], \"dtype\": \"int32\"}]}]";
  write_file(p, i32, strlen(i32));
  assert_int_equal(fg_model_load_file(p, NULL, &m, &e), FG_EUNSUPPORTED);
  const char *q16 = "[{\"paths\": [\"face_recognition_model.bin\"], \"weights\": [{\"name\": \"a\", \"shape\": [4], \"dtype\": "
                    "\"float32\", \"quantization\": {\"dtype\": \"float16\", \"min\": 0, \"scale\": 1}}]}]";
  write_file(p, q16, strlen(q16));
  assert_int_equal(fg_model_load_file(p, NULL, &m, &e), FG_EUNSUPPORTED);
  const char *esc = "[{\"paths\": [\"../../etc/passwd\"], \"weights\": []}]";
  write_file(p, esc, strlen(esc));
  assert_int_equal(fg_model_load_file(p, NULL, &m, &e), FG_EFORMAT);
  write_file(p, "[{\"paths\": ", 11);
  assert_int_equal(fg_model_load_file(p, NULL, &m, &e), FG_EFORMAT);
  /* convert: the ONNX bytes load as an ONNX model with the same output */
  snprintf(p, sizeof p, "%s/m.json", dir);
  write_file(p, man, mlen);
  write_file(q, bin, blen);
  uint8_t *onnx;
  size_t olen;
  assert_int_equal(fg_model_convert_file(p, NULL, &onnx, &olen, &e), FG_OK);
  assert_int_equal(fg_model_load_memory(onnx, olen, NULL, &m, &e), FG_OK);
  assert_int_equal(fg_model_output(m, 0)->count, 128);
  fg_model_destroy(m);
  free(onnx);
  snprintf(p, sizeof p, "%s/fr_feature.onnx", tu_models_dir());
  assert_int_equal(fg_model_convert_file(p, NULL, &onnx, &olen, &e), FG_EFORMAT);
  free(man);
  free(bin);
  tu_rm_rf(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_engine_graph_matches_faceapi),
      cmocka_unit_test(test_descriptor_engine),
      cmocka_unit_test(test_default_descriptor),
      cmocka_unit_test(test_descriptor_refuses),
      cmocka_unit_test(test_descriptor_paths),
      cmocka_unit_test(test_descriptor_checksum),
      cmocka_unit_test(test_manifest_refuses),
      cmocka_unit_test(test_fused),
      cmocka_unit_test(test_onnx_plugin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
