/*
 * Recognition: the aligned crop as the model's input planes (channel order
 * and scaling from the options; BGR, (x - 127) / 128 for the default model,
 * as measured), one run, and L2 normalisation. With opts.flip the mirrored
 * crop is run too and the two raw outputs are summed before normalising
 * (test-time augmentation; its measured effect is in docs/pipeline.md). With
 * several crops (opts.tta_zoom) all raw outputs are summed the same way.
 */
#include <math.h>
#include <string.h>

#include "face/face_internal.h"

static int run(fg_face_engine *fe, const fg_image *im, float *out, fg_error *err) {
  fg__face_planes(im, 3, fe->o.feat_channels, fe->o.feat_mean, fe->o.feat_scale, fe->feat_in);
  const float *in[1] = {fe->feat_in};
  float *outs[1] = {out};
  return fg__face_run(fe, FG__FEAT, in, outs, err);
}

int fg__face_embed_n(fg_face_engine *fe, const fg_image *const *crops, int n, float *emb, fg_error *err) {
  int rc;
  if (n < 1) return fg__seterr(err, FG_EINVAL, "embed: no crop");
  for (int k = 0; k < n; k++) {
    const fg_image *aligned = crops[k];
    if (!aligned || !aligned->data || aligned->width != fe->feat_w || aligned->height != fe->feat_h)
      return fg__seterr(err, FG_EINVAL, "embed: the aligned crop must be %dx%d", fe->feat_w, fe->feat_h);
    if ((rc = run(fe, aligned, k ? fe->feat_out2 : fe->feat_out, err))) return rc;
    if (k)
      for (int i = 0; i < fe->dim; i++) fe->feat_out[i] += fe->feat_out2[i];
    if (fe->o.flip) {
      fg_image fl = {0};
      if ((rc = fg_image_flip_horizontal(aligned, &fl, err))) return rc;
      rc = run(fe, &fl, fe->feat_out2, err);
      fg_image_release(&fl);
      if (rc) return rc;
      for (int i = 0; i < fe->dim; i++) fe->feat_out[i] += fe->feat_out2[i];
    }
  }
  double norm = 0;
  for (int i = 0; i < fe->dim; i++) norm += (double)fe->feat_out[i] * fe->feat_out[i];
  norm = sqrt(norm);
  fe->feat_norm = (float)(norm / (n * (fe->o.flip ? 2 : 1)));
  if (!(norm > 1e-12) || !isfinite(norm)) return fg__seterr(err, FG_EBACKEND, "embed: the model produced a zero or non-finite vector");
  for (int i = 0; i < fe->dim; i++) emb[i] = (float)(fe->feat_out[i] / norm);
  return FG_OK;
}

int fg_face_embed(fg_face_engine *fe, const fg_image *aligned, float *emb, fg_error *err) {
  if (fe->second)
    return fg__seterr(err, FG_EUNSUPPORTED, "embed: model %s is fused: each of its models needs its own crop, "
                      "so it embeds from the image (fg_face_process)", fe->model_name);
  const fg_image *c[1] = {aligned};
  return fg__face_embed_n(fe, c, 1, emb, err);
}
