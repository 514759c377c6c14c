/*
 * Where the facegate command finds the files it ships with — the default
 * models, the calibration of the default recognition model, the officer
 * console — whatever the working directory. In order:
 *
 *   1. an option naming the thing (--models-dir, --calibration, --web), then
 *      the variable for that one thing (FACEGATE_MODELS);
 *   2. $FACEGATE_HOME: a facegate home, either an installed share directory
 *      (models/, calibration/, descriptors/, web/) or a source tree
 *      (var/models/, data/calibration/, data/models/, web/);
 *   3. next to the executable: PREFIX/share/facegate for PREFIX/bin/facegate
 *      (what `make install` lays out), or the source tree a build directory
 *      sits in (build/facegate).
 *
 * The working directory is never searched: an installed facegate run from
 * /tmp finds its models as well as one run from the source tree. A model
 * named by --model or $FACEGATE_MODEL (a bare name, not a path) is the
 * home's descriptors/NAME.json; the descriptor's own paths are relative to
 * it (facegate/descriptor.h). When no home
 * is found, the paths name the install location next to the executable, so
 * that the error ("…/share/facegate/models/fr_detect.onnx: No such file")
 * says where the files were expected.
 *
 * The answers live in static buffers: the command is single-threaded where it
 * reads them, and each is computed once.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "facegate/descriptor.h"

typedef struct home {
  char models[PATH_MAX], calibration[PATH_MAX], descriptors[PATH_MAX], web[PATH_MAX];
  char root[PATH_MAX];
  int found;
} home;

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

#define ROOT_MAX (PATH_MAX - 64) /* room for "/data/calibration/fr_feature_fpir.json" */

/* The home's places under root. */
static void lay_out(home *h, const char *given, const char *models, const char *calibration,
                    const char *descriptors) {
  char real[PATH_MAX];
  const char *root = realpath(given, real) ? real : given; /* "/usr/local/bin/../share": said plainly */
  int n = ROOT_MAX;
  snprintf(h->root, sizeof h->root, "%.*s", n, root);
  snprintf(h->models, sizeof h->models, "%.*s/%s", n, root, models);
  snprintf(h->calibration, sizeof h->calibration, "%.*s/%s", n, root, calibration);
  snprintf(h->descriptors, sizeof h->descriptors, "%.*s/%s", n, root, descriptors);
  snprintf(h->web, sizeof h->web, "%.*s/web", n, root);
}

/* root as a facegate home: an installed share directory or a source tree. */
static int try_root(home *h, const char *root) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%.*s/calibration", ROOT_MAX, root);
  if (is_dir(p)) return lay_out(h, root, "models", "calibration", "descriptors"), 1; /* PREFIX/share/facegate */
  snprintf(p, sizeof p, "%.*s/data/calibration", ROOT_MAX, root);
  if (is_dir(p)) return lay_out(h, root, "var/models", "data/calibration", "data/models"), 1; /* a source tree */
  return 0;
}

/* The directory of the running executable (/proc/self/exe), or "" . */
static void exe_dir(char *out, size_t cap) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  out[0] = '\0';
  if (n <= 0) return;
  buf[n] = '\0';
  char *slash = strrchr(buf, '/');
  if (!slash) return;
  *slash = '\0';
  snprintf(out, cap, "%s", buf[0] ? buf : "/");
}

static const home *the_home(void) {
  static home h;
  static int done;
  if (done) return &h;
  done = 1;
  const char *env = getenv("FACEGATE_HOME");
  char dir[PATH_MAX], root[PATH_MAX];
  if (env && *env && try_root(&h, env)) return h.found = 1, &h;
  exe_dir(dir, sizeof dir);
  if (dir[0]) {
    snprintf(root, sizeof root, "%.*s/../share/facegate", ROOT_MAX, dir);
    if (try_root(&h, root)) return h.found = 1, &h;
    snprintf(root, sizeof root, "%.*s/..", ROOT_MAX, dir);
    if (try_root(&h, root)) return h.found = 1, &h;
    /* nothing found: name the install location in the errors to come */
    snprintf(root, sizeof root, "%.*s/../share/facegate", ROOT_MAX, dir);
  } else {
    snprintf(root, sizeof root, "/usr/local/share/facegate");
  }
  lay_out(&h, root, "models", "calibration", "descriptors");
  return &h;
}

const char *cli_models_dir(const char *flag) {
  if (flag && *flag) return flag;
  const char *e = getenv("FACEGATE_MODELS");
  return e && *e ? e : the_home()->models;
}

static const char *calibration_file(char *buf, size_t cap, const char *name) {
  if (!buf[0]) snprintf(buf, cap, "%.*s/%s", ROOT_MAX, the_home()->calibration, name);
  return buf;
}

const char *cli_calibration_fmr(void) {
  static char p[PATH_MAX];
  return calibration_file(p, sizeof p, "fr_feature.json");
}

const char *cli_calibration_fpir(void) {
  static char p[PATH_MAX];
  return calibration_file(p, sizeof p, "fr_feature_fpir.json");
}

const char *cli_web_dir(void) { return the_home()->web; }

const char *cli_descriptors_dir(void) { return the_home()->descriptors; }

const char *cli_model(const char *flag) {
  const char *m = flag && *flag ? flag : getenv("FACEGATE_MODEL");
  if (!m || !*m) return NULL;
  size_t n = strlen(m);
  if (strchr(m, '/') || (n > 5 && !strcmp(m + n - 5, ".json"))) return m; /* a path: the person's */
  if (m[0] == '.' || strspn(m, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != n) return m; /* refused there */
  /* A name: the home's descriptor. A few names at most per run, each kept. */
  static struct {
    char name[64], path[PATH_MAX];
  } seen[4];
  for (int i = 0; i < 4; i++) {
    if (!strcmp(seen[i].name, m)) return seen[i].path;
    if (!seen[i].name[0] && n < sizeof seen[i].name) {
      snprintf(seen[i].name, sizeof seen[i].name, "%s", m);
      snprintf(seen[i].path, sizeof seen[i].path, "%.*s/%s.json", ROOT_MAX, the_home()->descriptors, m);
      return seen[i].path;
    }
  }
  return m; /* more names than kept (or a long one): the library's own lookup says what is wrong */
}

const char *cli_home_root(int *found) {
  const home *h = the_home();
  if (found) *found = h->found;
  return h->root;
}

int cli_model_calibration(const char *model, char *path, size_t cap, int *is_default, struct fg_error *err) {
  snprintf(path, cap, "%s", cli_calibration_fmr());
  if (is_default) *is_default = !model || !strcmp(model, FG_DESC_DEFAULT);
  if (!model) return 0;
  fg_model_descriptor d;
  if (fg_model_descriptor_load(model, &d, err)) return -1;
  snprintf(path, cap, "%s", d.calibration);
  if (is_default) *is_default = !strcmp(d.name, FG_DESC_DEFAULT);
  return 0;
}
