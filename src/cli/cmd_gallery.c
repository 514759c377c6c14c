/*
 * `facegate gallery create|add|remove|info|search`: galleries of templates on
 * disk (facegate/gallery.h, docs/matching.md), from the command line.
 *
 * Inputs (add, search) are recognised by their first bytes: a template file
 * ("FGT1", facegate/template.h), a .npy of embeddings (one template per row),
 * or an image (JPEG, PNG, JPEG 2000, PGM/PPM, DG2), which goes through the face
 * pipeline (facegate/face.h; the engine is created on the first image only).
 * Every input must come from the gallery's recognition model: template files
 * and images are checked against it (a .npy carries no model id: the caller
 * vouches for it).
 *
 * `add` is all-or-nothing by default: if any input fails, the gallery file is
 * left as it was (--keep-going adds what worked). The file is rewritten
 * atomically (fg_gallery_save). A progress bar shows on a terminal when more
 * than a few inputs are added.
 *
 * `search --fpir F` turns a target false-positive identification rate into a
 * score threshold for the gallery's size, from the model's FPIR calibration
 * (data/calibration/fr_feature_fpir.json, see fg_fpir_threshold).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "facegate/calibration.h"
#include "facegate/face.h"
#include "facegate/gallery.h"
#include "facegate/nn.h"
#include "facegate/template.h"

#define MAX_INPUT_BYTES ((size_t)64 << 20)

static const char *arg_val(int argc, char **argv, int *i) { return cli_arg_val("facegate gallery", argc, argv, i); }

static long parse_long(const char *s, const char *what, long lo, long hi) {
  return cli_parse_long("facegate gallery", s, what, lo, hi);
}

static double parse_double(const char *s, const char *what, double lo, double hi) {
  char *e;
  double v = strtod(s, &e);
  if (*e || !(v >= lo && v <= hi)) {
    fprintf(stderr, "facegate gallery: %s must be a number in %g..%g (got '%s')\n", what, lo, hi, s);
    cli_exit(EXIT_USAGE);
  }
  return v;
}

static void hex16(const uint8_t *id, char out[33]) {
  for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static int fail(const char *what, const fg_error *e) {
  fprintf(stderr, "facegate gallery %s: %s\n", what, cli_errmsg(e));
  return EXIT_FAIL;
}

static const char *default_feature_sha256(void) {
  const fg_default_model *dm;
  for (size_t i = 0; (dm = fg_default_model_at(i)); i++)
    if (!strcmp(dm->role, "feature")) return dm->sha256;
  return NULL;
}

/* ------------------------------------------------------------ inputs */

/* Turns input files into embeddings for one gallery. */
typedef struct loader {
  const fg_gallery *g;
  uint32_t dim;
  uint8_t model[16];
  int model_known; /* gallery model id is not all zero */
  const char *models_dir;
  int threads;
  int allow_low_quality;
  fg_face_engine *fe; /* created on the first image */
  fg_face_result *res;
  int fta; /* the last image failed to acquire (no face, or quality too low) */
} loader;

static void loader_init(loader *L, const fg_gallery *g, const char *models_dir, int threads, int low_q) {
  memset(L, 0, sizeof *L);
  fg_gallery_info in;
  fg_gallery_get_info(g, &in);
  L->g = g;
  L->dim = in.dim;
  memcpy(L->model, in.model_id, 16);
  for (int i = 0; i < 16; i++) L->model_known |= L->model[i] != 0;
  L->models_dir = models_dir;
  L->threads = threads;
  L->allow_low_quality = low_q;
}

static void loader_release(loader *L) {
  fg_face_engine_destroy(L->fe);
  free(L->res);
}

/* Load one input: *out (malloc'd, n * dim floats), *n and *capture, the
 * FG_TEMPLATE_CAPTURE_* flags of the photo they came from (a template's byte
 * 7, an image's from its quality; 0 for a .npy). Returns 0 or an FG_E code
 * with e filled. */
static int load_input(loader *L, const char *path, float **out, size_t *n, unsigned *capture, fg_error *e) {
  *out = NULL;
  *n = 0;
  *capture = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(e->msg, sizeof e->msg, "%s: %s", path, strerror(errno));
    return e->code = errno == ENOENT ? FG_ENOTFOUND : FG_EIO;
  }
  struct stat st;
  if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_INPUT_BYTES) {
    fclose(f);
    snprintf(e->msg, sizeof e->msg, "%s: not a regular file of at most %zu MiB", path, MAX_INPUT_BYTES >> 20);
    return e->code = FG_EIO;
  }
  size_t len = (size_t)st.st_size;
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf || fread(buf, 1, len, f) != len) {
    free(buf);
    fclose(f);
    snprintf(e->msg, sizeof e->msg, "%s: read error", path);
    return e->code = FG_EIO;
  }
  fclose(f);
  int rc = FG_OK;
  if (len >= 4 && !memcmp(buf, FG_TEMPLATE_MAGIC, 4)) {
    fg_template t;
    rc = fg_template_decode(buf, len, L->model_known ? L->model : NULL, &t, e);
    if (!rc && (uint32_t)t.dim != L->dim) {
      snprintf(e->msg, sizeof e->msg, "template has %d values, the gallery holds %u", t.dim, L->dim);
      rc = e->code = FG_EINVAL;
    }
    if (!rc && (*out = malloc((size_t)L->dim * sizeof **out))) {
      memcpy(*out, t.values, (size_t)L->dim * sizeof **out);
      *n = 1;
      *capture = t.capture;
    } else if (!rc) rc = e->code = FG_ENOMEM;
    fg_template_release(&t);
  } else if (len >= 6 && !memcmp(buf, "\x93NUMPY", 6)) {
    int rank;
    int64_t dims[FG_NN_MAX_RANK];
    float *d;
    rc = fg_npy_read_memory(buf, len, &d, &rank, dims, e);
    if (!rc) {
      int64_t cols = dims[rank - 1], rows = rank == 1 ? 1 : dims[0];
      if (rank > 2 || cols != (int64_t)L->dim) {
        snprintf(e->msg, sizeof e->msg, "a .npy of embeddings must be (%u,) or (n, %u)", L->dim, L->dim);
        free(d);
        rc = e->code = FG_EINVAL;
      } else {
        *out = d;
        *n = (size_t)rows;
      }
    }
  } else { /* an image: the face pipeline */
    if (!L->fe) {
      fg_face_options o;
      fg_face_options_init(&o);
      o.models_dir = L->models_dir;
      o.threads = L->threads;
      if ((rc = fg_face_engine_create(&o, &L->fe, e))) goto out;
      if (!(L->res = malloc(sizeof *L->res))) {
        rc = e->code = FG_ENOMEM;
        goto out;
      }
      uint8_t id[16];
      fg_gallery_model_id_from_hex(fg_face_engine_model_sha256(L->fe), id);
      if (L->model_known && memcmp(id, L->model, 16)) {
        char a[33], b[33];
        hex16(id, a), hex16(L->model, b);
        snprintf(e->msg, sizeof e->msg, "the recognition model (%s...) is not the gallery's (%s...)", a, b);
        rc = e->code = FG_EINVAL;
        goto out;
      }
      if ((uint32_t)fg_face_engine_dim(L->fe) != L->dim) {
        snprintf(e->msg, sizeof e->msg, "the recognition model makes %d values, the gallery holds %u",
                 fg_face_engine_dim(L->fe), L->dim);
        rc = e->code = FG_EINVAL;
        goto out;
      }
    }
    if ((rc = fg_face_process_buffer(L->fe, buf, len, NULL, L->res, e))) goto out;
    L->fta = L->res->status == FG_FACE_NO_FACE ||
             (L->res->status == FG_FACE_LOW_QUALITY && !L->allow_low_quality);
    if (L->res->status == FG_FACE_NO_FACE) {
      snprintf(e->msg, sizeof e->msg, "no face found");
      rc = e->code = FG_ENOTFOUND;
    } else if (L->res->status == FG_FACE_LOW_QUALITY && !L->allow_low_quality) {
      snprintf(e->msg, sizeof e->msg, "face quality %.0f is below the minimum (--allow-low-quality to use it)",
               L->res->quality.score);
      rc = e->code = FG_EINVAL;
    } else if (!(*out = malloc((size_t)L->dim * sizeof **out))) {
      rc = e->code = FG_ENOMEM;
    } else {
      memcpy(*out, L->res->embedding, (size_t)L->dim * sizeof **out);
      *n = 1;
      *capture = fg_face_quality_harsh_light(&L->res->quality) ? FG_TEMPLATE_CAPTURE_HARSH_LIGHT : 0;
    }
  }
out:
  free(buf);
  return rc;
}

/* ------------------------------------------------------------ create */

static int gallery_create(int argc, char **argv) {
  const char *path = NULL, *model = NULL, *sha = NULL;
  fg_encoding enc = FG_ENCODING_INT8;
  long dim = 512;
  int force = 0, json = 0;
  unsigned gflags = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--refine")) gflags |= FG_GALLERY_REFINE;
    else if (!strcmp(a, "--encoding")) {
      const char *v = arg_val(argc, argv, &i);
      if (fg_encoding_parse(v, &enc)) {
        fprintf(stderr, "facegate gallery create: --encoding must be int8, fp16 or fp32 (got '%s')\n", v);
        return EXIT_USAGE;
      }
    } else if (!strcmp(a, "--dim")) dim = parse_long(arg_val(argc, argv, &i), "--dim", 1, FG_GALLERY_MAX_DIM);
    else if (!strcmp(a, "--model")) model = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--model-sha256")) sha = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--force")) force = 1;
    else if (!strcmp(a, "--json")) json = 1;
    else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "facegate gallery create: unknown option '%s'\n", a);
      return EXIT_USAGE;
    } else if (!path) path = a;
    else {
      fprintf(stderr, "facegate gallery create: unexpected argument '%s'\n", a);
      return EXIT_USAGE;
    }
  }
  if (!path) {
    fprintf(stderr, "usage: facegate gallery create FILE [--encoding int8|fp16|fp32] (see --help)\n");
    return EXIT_USAGE;
  }
  struct stat st;
  if (!force && stat(path, &st) == 0) {
    fprintf(stderr, "facegate gallery create: %s exists (--force to replace it)\n", path);
    return EXIT_FAIL;
  }
  char hex[65];
  fg_error e = {0};
  if (model) {
    if (fg_file_sha256(model, hex, &e)) return fail("create", &e);
    sha = hex;
  } else if (!sha) sha = default_feature_sha256();
  uint8_t id[16];
  if (!sha || fg_gallery_model_id_from_hex(sha, id)) {
    fprintf(stderr, "facegate gallery create: --model-sha256 must be hex (at least 32 digits)\n");
    return EXIT_USAGE;
  }
  fg_gallery *g;
  if (fg_gallery_create_ex((uint32_t)dim, enc, id, gflags, &g, &e) || fg_gallery_save(g, path, &e)) {
    fg_gallery_destroy(g);
    return fail("create", &e);
  }
  fg_gallery_destroy(g);
  char idh[33];
  hex16(id, idh);
  if (json) {
    printf("{\"file\": ");
    cli_json_str(stdout, path);
    printf(", \"encoding\": \"%s\", \"refine\": %s, \"dim\": %ld, \"model_id\": \"%s\"}\n", fg_encoding_name(enc),
           gflags ? "true" : "false", dim, idh);
  } else
    printf("created %s: %s%s, dimension %ld, model %s...\n", path, fg_encoding_name(enc),
           gflags ? " with fp16 refine rows" : "", dim, idh);
  return EXIT_OK;
}

/* ------------------------------------------------------------ add */

typedef struct item {
  const char *subject, *path;
} item;

static int read_manifest(const char *path, item **items, size_t *n, char **text) {
  uint8_t *buf;
  size_t len;
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "facegate gallery add: %s: %s\n", path, strerror(errno));
    return -1;
  }
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (sz < 0 || !(buf = malloc((size_t)sz + 1)) || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
    fclose(f);
    fprintf(stderr, "facegate gallery add: cannot read %s\n", path);
    return -1;
  }
  fclose(f);
  len = (size_t)sz;
  buf[len] = 0;
  *text = (char *)buf;
  size_t cap = 0;
  int line = 0;
  for (char *s = (char *)buf, *nl; s && *s; s = nl) {
    nl = strchr(s, '\n');
    if (nl) *nl++ = 0;
    line++;
    size_t l = strlen(s);
    if (l && s[l - 1] == '\r') s[--l] = 0;
    if (!l || s[0] == '#') continue;
    char *tab = strchr(s, '\t');
    if (!tab || tab == s || !tab[1]) {
      fprintf(stderr, "facegate gallery add: %s:%d: expected SUBJECT<TAB>PATH\n", path, line);
      return -1;
    }
    *tab = 0;
    if (*n == cap) {
      cap = cap ? 2 * cap : 64;
      item *ni = realloc(*items, cap * sizeof *ni);
      if (!ni) return -1;
      *items = ni;
    }
    (*items)[(*n)++] = (item){s, tab + 1};
  }
  return 0;
}

/* --centroid: each subject's embeddings from this call, enrolled as one
 * template (their centroid) after every input has been read. */
typedef struct pending {
  const char *subject;
  float *emb; /* n x dim */
  size_t n;
  unsigned capture; /* the flags every input shares: a centroid is harsh-lit only when all are */
} pending;

static int keep_for_centroid(pending **ps, size_t *np, const char *subject, const float *emb, size_t n,
                             size_t dim, unsigned capture) {
  size_t i = 0;
  while (i < *np && strcmp((*ps)[i].subject, subject)) i++;
  if (i == *np) {
    pending *q = realloc(*ps, (*np + 1) * sizeof *q);
    if (!q) return FG_ENOMEM;
    *ps = q;
    q[(*np)++] = (pending){subject, NULL, 0, FG_TEMPLATE_CAPTURE_KNOWN};
  }
  pending *p = &(*ps)[i];
  p->capture &= capture;
  float *e = realloc(p->emb, (p->n + n) * dim * sizeof *e);
  if (!e) return FG_ENOMEM;
  memcpy(e + p->n * dim, emb, n * dim * sizeof *e);
  p->emb = e, p->n += n;
  return FG_OK;
}

static int gallery_add(int argc, char **argv) {
  const char *path = NULL, *subject = NULL, *manifest = NULL, *models_dir = NULL;
  int json = 0, keep_going = 0, low_q = 0, threads = 1, centroid = 0;
  pending *ps = NULL;
  size_t nps = 0;
  item *items = NULL;
  size_t n_items = 0, cap = 0;
  char *mtext = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--manifest")) manifest = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--models-dir")) models_dir = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--threads")) threads = (int)parse_long(arg_val(argc, argv, &i), "--threads", 1, 64);
    else if (!strcmp(a, "--keep-going")) keep_going = 1;
    else if (!strcmp(a, "--centroid")) centroid = 1;
    else if (!strcmp(a, "--allow-low-quality")) low_q = 1;
    else if (!strcmp(a, "--json")) json = 1;
    else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "facegate gallery add: unknown option '%s'\n", a);
      return EXIT_USAGE;
    } else if (!path) path = a;
    else if (!subject && !manifest) subject = a;
    else {
      if (!subject) {
        fprintf(stderr, "facegate gallery add: with --manifest, give no SUBJECT or inputs\n");
        return EXIT_USAGE;
      }
      if (n_items == cap) {
        cap = cap ? 2 * cap : 16;
        items = realloc(items, cap * sizeof *items);
        if (!items) return EXIT_FAIL;
      }
      items[n_items++] = (item){subject, a};
    }
  }
  if (manifest && read_manifest(manifest, &items, &n_items, &mtext)) return EXIT_FAIL;
  if (!path || n_items == 0) {
    fprintf(stderr, "usage: facegate gallery add FILE SUBJECT INPUT... | FILE --manifest LIST (see --help)\n");
    free(items), free(mtext);
    return EXIT_USAGE;
  }
  fg_error e = {0};
  fg_gallery *g;
  if (fg_gallery_open(path, NULL, 0, &g, &e)) {
    free(items), free(mtext);
    return fail("add", &e);
  }
  loader L;
  loader_init(&L, g, cli_models_dir(models_dir), threads, low_q);
  cli_progress prog;
  cli_progress_init(&prog, "adding", "inputs", n_items > 8 ? n_items : 0);
  size_t added = 0, failed = 0, fta = 0, harsh = 0;
  if (json) printf("{\"file\": "), cli_json_str(stdout, path), printf(", \"inputs\": [");
  for (size_t i = 0; i < n_items; i++) {
    float *emb;
    size_t n;
    unsigned capture;
    fg_error ie = {0};
    int rc = load_input(&L, items[i].path, &emb, &n, &capture, &ie);
    if (!rc && centroid) {
      if (keep_for_centroid(&ps, &nps, items[i].subject, emb, n, L.dim, capture))
        rc = ie.code = FG_ENOMEM, snprintf(ie.msg, sizeof ie.msg, "out of memory");
    } else
      for (size_t r = 0, t; !rc && r < n; r++) { /* each template keeps its photo's capture flags */
        rc = fg_gallery_add(g, items[i].subject, emb + r * L.dim, L.dim, &t, &ie);
        if (!rc) rc = fg_gallery_set_template_capture(g, t, capture, &ie);
      }
    if (!rc && !centroid && (capture & FG_TEMPLATE_CAPTURE_HARSH_LIGHT)) harsh += n;
    free(emb);
    if (rc) failed++, fta += L.fta;
    else if (!centroid) added += n;
    if (json) {
      printf("%s{\"subject\": ", i ? ", " : "");
      cli_json_str(stdout, items[i].subject);
      printf(", \"input\": ");
      cli_json_str(stdout, items[i].path);
      printf(", \"ok\": %s", rc ? "false" : "true");
      if (rc) printf(", \"error\": \"%s\", \"message\": ", fg_err_name(rc)), cli_json_str(stdout, ie.msg);
      else
        printf(", \"templates\": %zu, \"harsh_light\": %s", n,
               capture & FG_TEMPLATE_CAPTURE_HARSH_LIGHT ? "true" : "false");
      printf("}");
    } else if (rc) {
      if (n_items > 8) cli_progress_finish(&prog), cli_progress_init(&prog, "adding", "inputs", n_items);
      fprintf(stderr, "facegate gallery add: %s (%s): %s\n", items[i].path, items[i].subject, cli_errmsg(&ie));
    }
    if (n_items > 8) cli_progress_add(&prog, 1);
  }
  cli_progress_finish(&prog);
  for (size_t i = 0; i < nps; i++) { /* after the inputs: a failed input leaves its subject's other photos */
    fg_error ie = {0};
    size_t t;
    if (fg_gallery_add_centroid(g, ps[i].subject, ps[i].emb, ps[i].n, L.dim, 0, &t, &ie) ||
        fg_gallery_set_template_capture(g, t, ps[i].capture, &ie)) {
      fprintf(stderr, "facegate gallery add: %s: %s\n", ps[i].subject, cli_errmsg(&ie));
      failed++;
    } else {
      added++;
      if (ps[i].capture & FG_TEMPLATE_CAPTURE_HARSH_LIGHT) harsh++;
    }
    free(ps[i].emb);
  }
  free(ps);
  int code = EXIT_OK, saved = 0, save_failed = 0;
  if (failed && !keep_going) code = EXIT_FAIL;
  else if (added && fg_gallery_save(g, path, &e)) {
    fprintf(stderr, "facegate gallery add: %s\n", cli_errmsg(&e));
    code = EXIT_FAIL;
    save_failed = 1;
  } else saved = added > 0;
  if (failed && keep_going) code = EXIT_FAIL;
  /* inputs that failed only for want of a usable face: retry with another photo */
  if (code == EXIT_FAIL && !save_failed && failed && fta == failed) code = EXIT_RETRY;
  fg_gallery_info in;
  fg_gallery_get_info(g, &in);
  if (json)
    printf("], \"added\": %zu, \"harsh_light\": %zu, \"failed\": %zu, \"saved\": %s, \"templates\": %zu, "
           "\"subjects\": %zu}\n",
           added, harsh, failed, saved ? "true" : "false", in.n_templates, in.n_subjects);
  else if (failed && !keep_going)
    fprintf(stderr, "facegate gallery add: %zu of %zu inputs failed; %s left unchanged (--keep-going adds the rest)\n",
            failed, n_items, path);
  else
    printf("added %zu template%s (%zu harsh-lit; %zu input%s failed); %s holds %zu templates of %zu subjects\n",
           added, added == 1 ? "" : "s", harsh, failed, failed == 1 ? "" : "s", path, in.n_templates,
           in.n_subjects);
  loader_release(&L);
  fg_gallery_destroy(g);
  free(items), free(mtext);
  return code;
}

/* ------------------------------------------------------------ remove */

static int gallery_remove(int argc, char **argv) {
  const char *path = NULL;
  int json = 0, nsub = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) json = 1;
    else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "facegate gallery remove: unknown option '%s'\n", argv[i]);
      return EXIT_USAGE;
    } else if (!path) path = argv[i];
    else nsub++;
  }
  if (!path || !nsub) {
    fprintf(stderr, "usage: facegate gallery remove FILE SUBJECT... (see --help)\n");
    return EXIT_USAGE;
  }
  fg_error e = {0};
  fg_gallery *g;
  if (fg_gallery_open(path, NULL, 0, &g, &e)) return fail("remove", &e);
  int missing = 0, first = 1;
  size_t total = 0;
  if (json) printf("{\"file\": "), cli_json_str(stdout, path), printf(", \"removed\": [");
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-' || argv[i] == path) continue;
    size_t k = 0;
    int rc = fg_gallery_remove(g, argv[i], &k, &e);
    if (rc == FG_ENOTFOUND) missing++;
    else if (rc) {
      fg_gallery_destroy(g);
      return fail("remove", &e);
    }
    total += k;
    if (json) {
      printf("%s{\"subject\": ", first ? "" : ", ");
      cli_json_str(stdout, argv[i]);
      printf(", \"found\": %s, \"templates\": %zu}", rc ? "false" : "true", k);
      first = 0;
    } else if (rc) fprintf(stderr, "facegate gallery remove: no subject '%s' in %s\n", argv[i], path);
    else printf("removed %s (%zu template%s)\n", argv[i], k, k == 1 ? "" : "s");
  }
  if (total && fg_gallery_save(g, path, &e)) {
    fg_gallery_destroy(g);
    return fail("remove", &e);
  }
  if (json) printf("], \"templates_removed\": %zu}\n", total);
  fg_gallery_destroy(g);
  return missing ? EXIT_FAIL : EXIT_OK;
}

/* ------------------------------------------------------------ info */

static int gallery_info(int argc, char **argv) {
  const char *path = NULL;
  int json = 0, subjects = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) json = 1;
    else if (!strcmp(argv[i], "--subjects")) subjects = 1;
    else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "facegate gallery info: unknown option '%s'\n", argv[i]);
      return EXIT_USAGE;
    } else if (!path) path = argv[i];
    else {
      fprintf(stderr, "facegate gallery info: unexpected argument '%s'\n", argv[i]);
      return EXIT_USAGE;
    }
  }
  if (!path) {
    fprintf(stderr, "usage: facegate gallery info FILE [--subjects] [--json]\n");
    return EXIT_USAGE;
  }
  fg_error e = {0};
  fg_gallery *g;
  if (fg_gallery_open(path, NULL, 0, &g, &e)) return fail("info", &e);
  fg_gallery_info in;
  fg_gallery_get_info(g, &in);
  struct stat st;
  stat(path, &st);
  char id[33];
  hex16(in.model_id, id);
  double per = in.n_templates ? (double)in.bytes_total / (double)in.n_templates : 0;
  if (json) {
    printf("{\"file\": ");
    cli_json_str(stdout, path);
    printf(", \"format_version\": %u, \"encoding\": \"%s\", \"dim\": %u, \"row_bytes\": %u, \"model_id\": \"%s\", "
           "\"templates\": %zu, \"subjects\": %zu, \"file_bytes\": %lld, \"memory_bytes\": %zu, "
           "\"bytes_per_template\": %zu, \"refine\": %s, \"refine_bytes_per_template\": %zu, \"bytes_ids\": %zu, "
           "\"checksums\": \"ok\"",
           in.format_version, fg_encoding_name(in.encoding), in.dim, in.row_bytes, id, in.n_templates,
           in.n_subjects, (long long)st.st_size, in.bytes_total, in.bytes_per_template, in.refine ? "true" : "false",
           in.refine_bytes_per_template, in.bytes_ids);
    if (subjects) {
      printf(", \"subject_list\": [");
      for (uint32_t s = 0, first = 1; s < in.subject_slots; s++) {
        size_t nt;
        const char *sid = fg_gallery_subject_id(g, s, &nt);
        if (!nt) continue;
        printf("%s{\"id\": ", first ? "" : ", ");
        cli_json_str(stdout, sid);
        printf(", \"templates\": %zu}", nt);
        first = 0;
      }
      printf("]");
    }
    printf("}\n");
  } else {
    printf("%s: facegate gallery, format version %u, checksums ok\n", path, in.format_version);
    printf("  encoding      %s, dimension %u (rows of %u bytes)\n", fg_encoding_name(in.encoding), in.dim,
           in.row_bytes);
    printf("  model         %s... (SHA-256 prefix)\n", id);
    printf("  templates     %zu of %zu subjects\n", in.n_templates, in.n_subjects);
    printf("  file          %lld bytes\n", (long long)st.st_size);
    printf("  memory        %zu bytes per template (vector and metadata) + %zu bytes of ids;"
           " %.1f bytes per template in all\n",
           in.bytes_per_template, in.bytes_ids, per);
    if (in.refine)
      printf("  refine        %zu bytes per template of fp16 rows (in the file; a search reads only its\n"
             "                candidates' rows, so they stay out of memory when the file is mapped)\n",
             in.refine_bytes_per_template);
    if (subjects)
      for (uint32_t s = 0; s < in.subject_slots; s++) {
        size_t nt;
        const char *sid = fg_gallery_subject_id(g, s, &nt);
        if (nt) printf("  %s\t%zu\n", sid, nt);
      }
  }
  fg_gallery_destroy(g);
  return EXIT_OK;
}

/* ------------------------------------------------------------ search */

static int gallery_search(int argc, char **argv) {
  const char *path = NULL, *input = NULL, *models_dir = NULL, *calib = NULL, *fmr_calib = NULL;
  long k = 5, threads = 1;
  double fpir = -1, thr = NAN;
  int json = 0, templates = 0, low_q = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--k")) k = parse_long(arg_val(argc, argv, &i), "--k", 1, FG_SEARCH_MAX_K);
    else if (!strcmp(a, "--fpir")) fpir = parse_double(arg_val(argc, argv, &i), "--fpir", 1e-9, 1);
    else if (!strcmp(a, "--threshold")) thr = parse_double(arg_val(argc, argv, &i), "--threshold", -1, 1);
    else if (!strcmp(a, "--calibration")) calib = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--fmr-calibration")) fmr_calib = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--threads")) threads = parse_long(arg_val(argc, argv, &i), "--threads", 1, 256);
    else if (!strcmp(a, "--models-dir")) models_dir = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--templates")) templates = 1;
    else if (!strcmp(a, "--allow-low-quality")) low_q = 1;
    else if (!strcmp(a, "--json")) json = 1;
    else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "facegate gallery search: unknown option '%s'\n", a);
      return EXIT_USAGE;
    } else if (!path) path = a;
    else if (!input) input = a;
    else {
      fprintf(stderr, "facegate gallery search: unexpected argument '%s'\n", a);
      return EXIT_USAGE;
    }
  }
  if (!path || !input) {
    fprintf(stderr, "usage: facegate gallery search FILE INPUT [--k 5] [--fpir 0.003] (see --help)\n");
    return EXIT_USAGE;
  }
  if (fpir > 0 && !isnan(thr)) {
    fprintf(stderr, "facegate gallery search: give --fpir or --threshold, not both\n");
    return EXIT_USAGE;
  }
  fg_error e = {0};
  fg_gallery *g;
  if (fg_gallery_open(path, NULL, 0, &g, &e)) return fail("search", &e);
  fg_gallery_info in;
  fg_gallery_get_info(g, &in);
  int code = EXIT_OK;
  loader L;
  loader_init(&L, g, cli_models_dir(models_dir), 1, low_q);
  float *probes = NULL;
  size_t np = 0;
  fg_match *m = NULL;
  size_t *cnt = NULL;
  if (fpir > 0) {
    char def[4096];
    if (!calib) {
      snprintf(def, sizeof def, "%s", cli_calibration_fpir());
      calib = def;
    }
    fg_fpir_calibration cal;
    double t;
    char id[33];
    hex16(in.model_id, id);
    if (fg_fpir_calibration_load(calib, &cal, &e) || fg_fpir_threshold(&cal, id, in.n_templates, fpir, &t, &e)) {
      code = fail("search", &e);
      goto out;
    }
    thr = t;
  }
  unsigned probe_cap = 0;
  if (load_input(&L, input, &probes, &np, &probe_cap, &e)) {
    fprintf(stderr, "facegate gallery search: %s: %s\n", input, cli_errmsg(&e));
    code = L.fta ? EXIT_RETRY : EXIT_FAIL;
    if (L.fta && json) { /* a failure to acquire is an outcome, as in quality and compare */
      printf("{\"gallery\": ");
      cli_json_str(stdout, path);
      printf(", \"input\": ");
      cli_json_str(stdout, input);
      printf(", \"decision\": \"failure_to_acquire\", \"detail\": ");
      cli_json_str(stdout, e.msg);
      printf("}\n");
    }
    goto out;
  }
  /* Harsh light: a harsh-lit probe against a harsh-lit candidate (the
   * template, or with subjects every template of the subject) is held to the
   * threshold plus the calibrated harsh-light margin (docs/pipeline.md,
   * "Thresholds under harsh light"); the margin comes from the model's FMR
   * calibration. */
  int probe_harsh = (probe_cap & FG_TEMPLATE_CAPTURE_HARSH_LIGHT) != 0;
  double margin = NAN;
  if (probe_harsh) {
    fg_calibration cal;
    fg_error ce = {0};
    char id[33];
    hex16(in.model_id, id);
    const char *cp = fmr_calib ? fmr_calib : cli_calibration_fmr();
    if (fg_calibration_load(cp, &cal, &ce) == FG_OK && !strncmp(cal.model_sha256, id, 32))
      margin = fg_calibration_harsh_margin(&cal);
    else if (!isnan(thr))
      fprintf(stderr, "facegate gallery search: no FMR calibration of the gallery's model (%s): harsh-lit pairs "
                      "are held to the plain threshold\n", cp);
  }
  double add = isnan(margin) ? 0 : margin;
  /* With a threshold and a harsh-lit probe, some candidates may be held back:
   * ask for more, so that k remain when there are. */
  size_t kq = (size_t)k;
  if (probe_harsh && !isnan(thr) && add > 0) kq = FG_SEARCH_MAX_K;
  m = malloc(np * kq * sizeof *m);
  cnt = malloc(np * sizeof *cnt);
  fg_search_opts o = {.threads = (unsigned)threads, .flags = templates ? FG_SEARCH_TEMPLATES : 0};
  if (!isnan(thr)) o.flags |= FG_SEARCH_THRESHOLD, o.threshold = (float)thr;
  if (!m || !cnt || fg_gallery_search(g, probes, np, 0, kq, &o, m, cnt, &e)) {
    code = fail("search", &e);
    goto out;
  }
  if (json) {
    printf("{\"gallery\": ");
    cli_json_str(stdout, path);
    printf(", \"subjects\": %zu, \"k\": %ld, \"threshold\": ", in.n_subjects, k);
    if (isnan(thr)) printf("null");
    else printf("%.6f", thr);
    if (fpir > 0) printf(", \"fpir\": %g", fpir);
    printf(", \"probe_harsh_light\": %s, \"harsh_light_margin\": ", probe_harsh ? "true" : "false");
    if (isnan(margin)) printf("null");
    else printf("%.6f", margin);
    printf(", \"probes\": [");
  }
  for (size_t i = 0; i < np; i++) {
    if (json) printf("%s{\"candidates\": [", i ? ", " : "");
    else if (np > 1) printf("probe %zu:\n", i);
    size_t shown = 0, held = 0;
    for (int pass = 0; pass < 2; pass++) { /* candidates, then (JSON) those held back */
      if (json && pass == 1) printf("], \"held_back\": [");
      size_t listed = 0;
      for (size_t r = 0; r < cnt[i]; r++) {
        const fg_match *x = &m[i * kq + r];
        unsigned cc = templates ? fg_gallery_template_capture(g, x->template_index)
                                : fg_gallery_subject_capture(g, x->subject);
        int pair = probe_harsh && (cc & FG_TEMPLATE_CAPTURE_HARSH_LIGHT);
        double cthr = isnan(thr) ? NAN : thr + (pair ? add : 0);
        int passes = isnan(cthr) || x->score >= cthr;
        if (pass == 0 ? !passes || shown >= (size_t)k : passes) continue;
        if (pass == 0) shown++;
        else held++;
        const char *sid = fg_gallery_subject_id(g, x->subject, NULL);
        if (json) {
          printf("%s{\"rank\": %zu, \"subject\": ", listed ? ", " : "", pass ? r + 1 : shown);
          cli_json_str(stdout, sid);
          printf(", \"score\": %.6f, \"template\": %u, \"harsh_light\": %s", x->score, x->template_index,
                 pair ? "true" : "false");
          if (!isnan(cthr)) printf(", \"threshold\": %.6f, \"passes\": %s", cthr, passes ? "true" : "false");
          printf("}");
        } else {
          printf("  %2zu  %-32s %.4f%s\n", shown, sid, x->score, pair ? "  (both harsh-lit)" : "");
        }
        listed++;
      }
      if (!json) break;
    }
    if (!json) {
      for (size_t r = 0; r < cnt[i]; r++) { /* those held back, after the candidates */
        const fg_match *x = &m[i * kq + r];
        unsigned cc = templates ? fg_gallery_template_capture(g, x->template_index)
                                : fg_gallery_subject_capture(g, x->subject);
        int pair = probe_harsh && (cc & FG_TEMPLATE_CAPTURE_HARSH_LIGHT);
        if (isnan(thr) || !pair || x->score >= thr + add) continue;
        held++;
        printf("  --  %-32s %.4f  held back: both harsh-lit, below %.4f\n",
               fg_gallery_subject_id(g, x->subject, NULL), x->score, thr + add);
      }
      if (shown == 0 && held == 0) printf("  no candidate%s\n", isnan(thr) ? "" : " at or above the threshold");
    }
    if (json) printf("]}");
  }
  if (json) printf("]}\n");
  else if (!isnan(thr))
    printf("threshold %.4f%s%s\n", thr, fpir > 0 ? " (from the FPIR calibration for this gallery size)" : "",
           probe_harsh && add > 0 ? "; harsh-lit pairs need the harsh-light margin on top" : "");
out:
  free(probes), free(m), free(cnt);
  loader_release(&L);
  fg_gallery_destroy(g);
  return code;
}

/* ------------------------------------------------------------ dispatch */

static void usage(FILE *f) {
  fprintf(f,
          "usage: facegate gallery create FILE [--encoding int8|fp16|fp32] [--refine] [--dim 512]\n"
          "                               [--model ONNX | --model-sha256 HEX] [--force] [--json]\n"
          "       facegate gallery add FILE SUBJECT INPUT... [--centroid] [--keep-going] [--json]\n"
          "       facegate gallery add FILE --manifest LIST [--centroid] [--keep-going] [--json]\n"
          "       facegate gallery remove FILE SUBJECT... [--json]\n"
          "       facegate gallery info FILE [--subjects] [--json]\n"
          "       facegate gallery search FILE INPUT [--k 5] [--fpir 0.003 | --threshold T]\n"
          "                               [--fmr-calibration FILE] [--templates] [--threads N] [--json]\n"
          "\n"
          "A gallery file holds face templates keyed by subject id, several per subject,\n"
          "for exact 1:N search (docs/matching.md). It is mapped into memory, not read.\n"
          "\n"
          "INPUT is a template file (facegate embed), a .npy of embeddings (one template\n"
          "per row), or an image (JPEG, PNG, JPEG 2000, PGM/PPM, DG2) run through the\n"
          "face pipeline. Templates and images must come from the gallery's model.\n"
          "\n"
          "create     a new, empty gallery. --encoding: int8 (default: 1 byte per value\n"
          "           plus 8 per template), fp16, fp32. The model is the default\n"
          "           recognition model unless --model (its SHA-256 is taken) or\n"
          "           --model-sha256 says otherwise. --refine (int8): also keep each\n"
          "           template in fp16 and re-score every search's best candidates with\n"
          "           it (exact order at int8 speed; the file holds 2 more bytes per value).\n"
          "add        enrol INPUTs for SUBJECT, or the SUBJECT<TAB>PATH lines of LIST.\n"
          "           All or nothing unless --keep-going. --allow-low-quality enrols\n"
          "           faces below the quality minimum. A progress bar shows on a\n"
          "           terminal for more than 8 inputs. --centroid enrols each\n"
          "           subject's inputs (of this call) as ONE template, their normalised\n"
          "           mean: with several photos it misses fewer mates than separate\n"
          "           templates (docs/matching.md); without it each is a template.\n"
          "remove     remove subjects and all their templates.\n"
          "info       encoding, dimension, model, counts, sizes; checksums verified.\n"
          "search     the k best subjects (score: the best of a subject's templates).\n"
          "           --fpir F: only candidates above the threshold giving a false-\n"
          "           positive identification rate F for this gallery's size, from\n"
          "           %s (--calibration FILE to use\n"
          "           another); --threshold T: a fixed cosine threshold.\n"
          "           --templates ranks templates instead of subjects.\n"
          "           Harsh light: templates keep the capture flags of their photos\n"
          "           (add). A harsh-lit probe against a harsh-lit candidate (the\n"
          "           template; a subject when all its templates are) is held to the\n"
          "           threshold plus the harsh-light margin of the model's FMR\n"
          "           calibration (--fmr-calibration FILE; default %s);\n"
          "           the JSON marks such candidates \"harsh_light\" and lists those\n"
          "           held back below it under \"held_back\". Without a threshold it\n"
          "           only marks them and gives \"harsh_light_margin\".\n"
          "\n"
          "Common: --models-dir DIR (default $FACEGATE_MODELS or facegate's home), --threads N\n"
          "(threads per inference for images; search threads over gallery shards).\n"
          "Exit codes: 0 success, 1 failure, 2 usage error, 4 failure to acquire (an image\n"
          "with no usable face: add or search with another photo).\n",
          cli_calibration_fpir(), cli_calibration_fmr());
}

int cmd_gallery(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  if (cli_wants_help(argc - 1, argv + 1)) {
    usage(stdout);
    return EXIT_OK;
  }
  const char *sub = argv[1];
  if (!strcmp(sub, "create")) return gallery_create(argc - 1, argv + 1);
  if (!strcmp(sub, "add")) return gallery_add(argc - 1, argv + 1);
  if (!strcmp(sub, "remove")) return gallery_remove(argc - 1, argv + 1);
  if (!strcmp(sub, "info")) return gallery_info(argc - 1, argv + 1);
  if (!strcmp(sub, "search")) return gallery_search(argc - 1, argv + 1);
  fprintf(stderr, "facegate gallery: unknown subcommand '%s' (create, add, remove, info, search)\n", sub);
  return EXIT_USAGE;
}
