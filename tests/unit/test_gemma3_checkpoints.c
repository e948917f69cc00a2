/*
 * test_gemma3_checkpoints.c — the ctest fixture that builds the parity
 * checkpoints with warm-mkmodel (the same command lines
 * tests/parity/gemma3.py ran to make the goldens) under
 * <build>/gemma3-ckpt/<config>. For the legacy layout it renames
 * model.language_model.* to language_model.model.* like the script does.
 * Running it twice must give the same bytes (deterministic maker).
 */
#include <jansson.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_gemma3_util.h"
#include "warm/safetensors.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"

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

static int rename_legacy(const char *dir) {
  char path[1200];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  warm_st *st;
  warm_error err = {0};
  if (warm_st_open(path, &st, &err) != 0) {
    fprintf(stderr, "%s\n", err.msg);
    return -1;
  }
  size_t n = warm_st_count(st);
  warm_tensor *ts = calloc(n, sizeof *ts);
  char **names = calloc(n, sizeof *names);
  const char *from = "model.language_model.", *to = "language_model.model.";
  for (size_t i = 0; i < n; i++) {
    const warm_st_entry *e = warm_st_at(st, i);
    warm_st_get(st, e->name, &ts[i], &err);
    names[i] = malloc(strlen(e->name) + 32);
    if (strncmp(e->name, from, strlen(from)) == 0)
      sprintf(names[i], "%s%s", to, e->name + strlen(from));
    else
      strcpy(names[i], e->name);
    ts[i].name = names[i];
  }
  char tmp[1300];
  snprintf(tmp, sizeof tmp, "%s.legacy", path);
  int rc = warm_st_write_file(tmp, ts, n, NULL, 0, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  free(ts);
  warm_st_close(st);
  return rc ? rc : rename(tmp, path);
}

static int same_file(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  while (same) {
    int ca = fgetc(fa), cb = fgetc(fb);
    if (ca != cb) same = 0;
    if (ca == EOF || cb == EOF) break;
  }
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  return same;
}

int main(void) {
  if (access(MKMODEL, X_OK) != 0) {
    fprintf(stderr, "FAIL: %s not built\n", MKMODEL);
    return 1;
  }
  json_error_t je;
  json_t *man = json_load_file(WARM_TEST_DATA "/gemma3/parity.json", 0, &je);
  if (!man) {
    fprintf(stderr, "parity.json: %s\n", je.text);
    return 1;
  }
  mkdir(WARM_BUILD_DIR "/gemma3-ckpt", 0755);
  json_t *cfgs = json_object_get(man, "configs");
  for (size_t i = 0; i < json_array_size(cfgs); i++) {
    json_t *c = json_array_get(cfgs, i);
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *layout = json_string_value(json_object_get(c, "layout"));
    char dir[1024];
    g3t_ckpt(name, dir, sizeof dir);
    int rc = run_mkmodel(json_object_get(c, "mkmodel_args"), dir);
    G3T_CHECK(rc == 0, "%s: warm-mkmodel exited %d", name, rc);
    if (rc == 0 && strcmp(layout, "legacy") == 0)
      G3T_CHECK(rename_legacy(dir) == 0, "%s: legacy rename", name);
    printf("%s: %s\n", name, dir);
  }
  /* Same seed, same bytes: rebuild the first config elsewhere and compare. */
  json_t *c0 = json_array_get(cfgs, 0);
  char again[1024], a[1200], b[1200];
  snprintf(again, sizeof again, "%s/gemma3-ckpt/.again", WARM_BUILD_DIR);
  G3T_CHECK(run_mkmodel(json_object_get(c0, "mkmodel_args"), again) == 0,
            "second run");
  g3t_ckpt(json_string_value(json_object_get(c0, "name")), a, sizeof a);
  strcat(a, "/model.safetensors");
  snprintf(b, sizeof b, "%s/model.safetensors", again);
  G3T_CHECK(same_file(a, b), "warm-mkmodel is deterministic (%s vs %s)", a, b);
  json_decref(man);
  if (g3t_failures) {
    fprintf(stderr, "%d failures\n", g3t_failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
