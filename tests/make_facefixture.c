/*
 * make_facefixture SAMPLES DIR: writes the small flight of faces of
 * tests/facefixture.h (nine people, four photos each, LFW's layout:
 * DIR/lfw-deepfunneled/<Name>/...) for the scripted tests that need single-face
 * photos of several people when LFW is not there (tests/failover/run).
 */
#include <stdio.h>

#include "facefixture.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: make_facefixture SAMPLES_DIR OUT_DIR\n");
    return 2;
  }
  fg_error err = {0};
  if (ff_build(argv[1], argv[2], &err) != 0) {
    fprintf(stderr, "make_facefixture: %s\n", err.msg);
    return 1;
  }
  return 0;
}
