/*
 * `facegate demo PHOTO`: the face pipeline on one real photo, printing what
 * each stage produced: the faces the detector found, the chosen face's
 * landmarks and alignment points, its capture quality, liveness and the
 * embedding of the recognition model the descriptor names (--model; the
 * default 512-d one unless told otherwise). Everything comes from the
 * production pipeline (src/face), so the demo shows what a gate does, for any
 * model in data/models, with nothing of its own to fall out of step.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "facegate/face.h"

int cmd_demo(int argc, char **argv) {
  const char *photo = NULL, *dir = NULL, *model = NULL;
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate demo PHOTO [--models-dir DIR] [--model NAME|FILE]\n\n"
           "Runs the face pipeline on one photo and prints what each stage produced: the\n"
           "faces found, the chosen face's landmarks, quality and liveness, and its embedding\n"
           "by the recognition model --model names (default $FACEGATE_MODEL or fr_feature;\n"
           "`facegate models` lists them).\n");
    return EXIT_OK;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--models-dir")) dir = cli_arg_val("facegate demo", argc, argv, &i);
    else if (!strcmp(argv[i], "--model")) model = cli_arg_val("facegate demo", argc, argv, &i);
    else if (argv[i][0] == '-') { fprintf(stderr, "facegate demo: unknown option '%s'\n", argv[i]); return EXIT_USAGE; }
    else photo = argv[i];
  }
  if (!photo) { fprintf(stderr, "usage: facegate demo PHOTO [--models-dir DIR] [--model NAME|FILE]\n"); return EXIT_USAGE; }
  fg_face_options o;
  fg_face_options_init(&o);
  o.models_dir = cli_models_dir(dir);
  o.model = cli_model(model);
  fg_error e = {0};
  fg_face_engine *fe = NULL;
  fg_face_result *r = malloc(sizeof *r); /* large (the embedding is inline): off the stack */
  int rc = EXIT_FAIL;
  if (!r) { fprintf(stderr, "facegate demo: out of memory\n"); return EXIT_FAIL; }
  if (fg_face_engine_create(&o, &fe, &e)) { fprintf(stderr, "facegate demo: %s\n", cli_errmsg(&e)); goto done; }
  if (fg_face_process_file(fe, photo, NULL, r, &e)) { fprintf(stderr, "facegate demo: %s\n", cli_errmsg(&e)); goto done; }
  const fg_face_options *eo = fg_face_engine_options(fe);
  printf("photo: %s (%dx%d)\n", photo, r->width, r->height);
  printf("detector:  %d face(s) (score > %.2f)\n", r->det.total, eo->det_score);
  for (int i = 0; i < r->det.count && i < 10; i++)
    printf("  face %d: score %.3f box (%.0f, %.0f)-(%.0f, %.0f)%s\n", i, r->det.faces[i].score, r->det.faces[i].x0,
           r->det.faces[i].y0, r->det.faces[i].x1, r->det.faces[i].y1, i == r->selected ? "  <- chosen" : "");
  if (r->status == FG_FACE_NO_FACE) { printf("no face: nothing more to show\n"); rc = EXIT_OK; goto done; }
  const float *p = r->points;
  printf("landmarks: 68 points; eyes (%.1f, %.1f) and (%.1f, %.1f), nose (%.1f, %.1f), mouth (%.1f, %.1f)-(%.1f, %.1f)\n",
         p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]);
  printf("           inter-eye distance %.1f px\n", hypotf(p[2] - p[0], p[3] - p[1]));
  printf("quality:   %.1f of 100%s\n", r->quality.score, r->status == FG_FACE_LOW_QUALITY ? " (below the gate's minimum)" : "");
  if (r->liveness_done)
    printf("liveness:  %.3f (raw %.3f, %.3f, %.3f) — a signal whose error rates are not yet measured\n", r->liveness,
           r->liveness_out[0], r->liveness_out[1], r->liveness_out[2]);
  printf("embedding: model %s, %dx%d aligned crop, %d-d, raw L2 norm %.3f; normalised first values:",
         fg_face_engine_model_name(fe), eo->align_width, eo->align_height, r->dim, r->quality.feature_norm);
  for (int i = 0; i < 6 && i < r->dim; i++) printf(" %+.4f", r->embedding[i]);
  printf(" ...\n");
  rc = EXIT_OK;
done:
  fg_face_engine_destroy(fe);
  free(r);
  return rc;
}
