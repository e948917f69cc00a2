/*
 * The LTX-2 job flags of `warmd --once` through the binary: each bad value
 * exits 1 naming the flag and the rule; --image must be a readable PNG or
 * JPEG and is checked before any configuration loads; --image-strength
 * needs --image; --noise must be readable; the flags without --once exit
 * 2. The configuration file is never valid here: every refusal must come
 * before it is read.
 */
#include "wh_testutil.h"

static char dir[256], ini[300];

typedef struct flag_case {
  const char *args; /* after --once --prompt x */
  int status;
  const char *says; /* in the output */
} flag_case;

static void test_once_flags_refuse_bad_values_by_name(void) {
  char junk[300];
  snprintf(junk, sizeof junk, "%s/junk.png", dir);
  wt_write(junk, "GIF89a not really a PNG");
  char cases_img[3][400];
  snprintf(cases_img[0], sizeof cases_img[0], "--image %s/none.png", dir);
  snprintf(cases_img[1], sizeof cases_img[1], "--image %s", junk);
  snprintf(cases_img[2], sizeof cases_img[2], "--noise %s/none.st", dir);
  const flag_case cases[] = {
      {"--video-cfg 0.5", 1, "--video-cfg '0.5': must be 1..30"},
      {"--audio-cfg 31", 1, "--audio-cfg '31': must be 1..30"},
      {"--video-stg 11", 1, "--video-stg '11': must be 0..10"},
      {"--audio-rescale 2", 1, "--audio-rescale '2': must be 0..1"},
      {"--video-modality -1", 1, "--video-modality '-1': must be 0..30"},
      {"--audio-skip-step 2.5", 1, "whole number"},
      {"--video-rescale abc", 1, "--video-rescale 'abc': expected a number"},
      {"--video-cfg 0x10", 1, "expected a number"},
      {"--video-stg-blocks 1,2000", 1, "block 2000 is not a block index"},
      {"--audio-stg-blocks 1,", 1, "a trailing comma"},
      {"--video-stg-blocks a", 1, "separated by commas"},
      {"--image-strength 0", 1, "--image-strength '0': must be more than 0"},
      {"--image-strength 1.5", 1, "at most 1"},
      {"--image-strength 0.5", 1, "--image-strength needs --image"},
      {cases_img[0], 1, "none.png: cannot open"},
      {cases_img[1], 1, "not a PNG or JPEG"},
      {cases_img[2], 1, "--noise"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char cmd[1200], out[4096];
    snprintf(cmd, sizeof cmd, "%s/bin/warmd -c %s --once --prompt x %s",
             WARM_BUILD_DIR, ini, cases[i].args);
    int st = wt_run(cmd, out, sizeof out);
    CHECK(st == cases[i].status && strstr(out, cases[i].says),
          "%s: exit %d, want %d with '%s': %s", cases[i].args, st,
          cases[i].status, cases[i].says, out);
  }
  char cmd[1200], out[4096];
  snprintf(cmd, sizeof cmd, "%s/bin/warmd -c %s --video-cfg 3", WARM_BUILD_DIR,
           ini);
  CHECK(wt_run(cmd, out, sizeof out) == 2 && strstr(out, "need --once"),
        "a job flag without --once: %s", out);
  /* A good image passes the flag checks and reaches the configuration,
   * which is refused: so the image was read and accepted. */
  snprintf(cmd, sizeof cmd,
           "%s/bin/warmd -c %s --once --prompt x --image %s/ltx2/image_in.jpg "
           "--image-strength 0.8 --video-stg-blocks 28,29 --audio-cfg 7 "
           "--negative-prompt 'blurry'",
           WARM_BUILD_DIR, ini, WARM_TEST_DATA);
  CHECK(wt_run(cmd, out, sizeof out) == 1 && !strstr(out, "--image") &&
            strstr(out, "warmd.ini"),
        "a good image gets as far as the configuration: %s", out);
}

int main(void) {
  wt_tempdir(dir, sizeof dir, "once-flags");
  snprintf(ini, sizeof ini, "%s/warmd.ini", dir);
  wt_write(ini, "[component broken\n");
  RUN(test_once_flags_refuse_bad_values_by_name);
  if (!wt_failures) wt_rmtree(dir);
  return wt_failures ? 1 : 0;
}
