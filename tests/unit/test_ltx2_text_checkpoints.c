/*
 * test_ltx2_text_checkpoints.c — the ctest fixture of text_encoder_ltx2:
 * runs warm-mkmodel with the command lines of
 * tests/data/ltx2/text_parity.json (those tests/parity/ltx2_text.py ran to
 * make the goldens) into <build>/ltx2-text-ckpt: gemma/ and
 * ltx2_<config>.safetensors.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
#define OUT WARM_BUILD_DIR "/ltx2-text-ckpt"

static int run_mkmodel(json_t *args, const char *out) {
  size_t n = json_array_size(args);
  const char **argv = calloc(n + 4, sizeof *argv);
  argv[0] = MKMODEL;
  for (size_t i = 0; i < n; i++)
    argv[i + 1] = json_string_value(json_array_get(args, i));
  argv[n + 1] = "--out";
  argv[n + 2] = out;
  pid_t pid = fork();
  if (pid == 0) {
    execv(MKMODEL, (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  free(argv);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void) {
  json_error_t je;
  json_t *m = json_load_file(WARM_TEST_DATA "/ltx2/text_parity.json", 0, &je);
  if (!m) {
    fprintf(stderr, "text_parity.json: %s\n", je.text);
    return 1;
  }
  mkdir(OUT, 0755);
  int fails = 0;
  if (run_mkmodel(json_object_get(m, "gemma_mkmodel_args"), OUT "/gemma")) {
    fprintf(stderr, "FAIL: warm-mkmodel for the Gemma-3 folder\n");
    fails++;
  }
  json_t *cfgs = json_object_get(m, "configs");
  for (size_t i = 0; i < json_array_size(cfgs); i++) {
    json_t *c = json_array_get(cfgs, i);
    char out[512];
    snprintf(out, sizeof out, OUT "/ltx2_%s.safetensors",
             json_string_value(json_object_get(c, "name")));
    if (run_mkmodel(json_object_get(c, "mkmodel_args"), out)) {
      fprintf(stderr, "FAIL: warm-mkmodel for %s\n", out);
      fails++;
    }
  }
  json_decref(m);
  printf("%s\n", fails ? "checkpoints: failures" : "checkpoints written");
  return fails ? 1 : 0;
}
