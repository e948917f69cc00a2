/*
 * bench_gemma3.c — cpu encode time of the Gemma-3 plugin per placement, in
 * one run (label bench; tests/bench/run.sh runs it). The checkpoint is
 * warm-mkmodel --arch gemma3 --preset small (6 layers, hidden 256; f32)
 * written to a temp dir; the prompt fills max_tokens = 128 (G3B_TOKENS).
 * Prints the median of 5 encodes per placement and the streamed / resident
 * ratio, each against resident measured in the same run.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "test_gemma3_util.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median encode time in one placement; also the bytes streamed per run. */
static double bench(const char *ck, warm_dtype dt, warm_place_req req,
                    const char *prompt, const char *tokens,
                    uint64_t *streamed) {
  warm_device cpu = {WARM_DEVICE_CPU, 0};
  warm_kv keys[1] = {{"max_tokens", tokens}};
  warm_component_config cc = g3t_config(ck, cpu, dt, keys, 1);
  g3t_host h;
  g3t_host_init(&h, cpu, 0);
  const warm_plugin_desc *d = g3_descriptor();
  warm_instance *g = NULL;
  warm_error err = {0};
  double t[5] = {0};
  if (d->create(&h.svc, &cc, &g, &err) || d->place(g, &req, &err)) {
    fprintf(stderr, "setup: %s\n", err.msg);
    g3t_failures++;
  } else {
    for (int i = -1; i < 5; i++) {
      warm_run_args a;
      memset(&a, 0, sizeof a);
      a.struct_size = sizeof a;
      a.prompt = prompt;
      double t0 = now();
      if (d->run(g, &a, &err)) {
        fprintf(stderr, "run: %s\n", err.msg);
        g3t_failures++;
        break;
      }
      if (i >= 0) t[i] = now() - t0;
      *streamed = a.streamed_bytes;
      warm_tensor_free(&a.outputs[0]);
      warm_tensor_free(&a.outputs[1]);
    }
  }
  if (g) d->destroy(g);
  g3t_host_fini(&h);
  qsort(t, 5, sizeof *t, cmp_d);
  return t[2];
}

int main(void) {
  const char *tokens = getenv("G3B_TOKENS") ? getenv("G3B_TOKENS") : "128";
  char dir[512];
  snprintf(dir, sizeof dir, "%s/warm-g3cpubench-%d",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
  pid_t pid = fork();
  if (pid == 0) {
    execl(MKMODEL, MKMODEL, "--arch", "gemma3", "--preset", "small", "--seed",
          "3", "--quiet", "--out", dir, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "warm-mkmodel failed\n");
    return 1;
  }
  char prompt[8192] = "";
  while (strlen(prompt) < sizeof prompt - 64)
    strcat(prompt, "A red fox trots along a frozen river at dawn. ");

  struct {
    const char *name;
    warm_place_req req;
  } cases[] = {
      {"resident", {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED}},
      {"stream W=1 pinned", {WARM_PLACE_STREAM, 1, WARM_SOURCE_PINNED}},
      {"stream W=2 pinned", {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED}},
      {"stream W=2 mmap", {WARM_PLACE_STREAM, 2, WARM_SOURCE_MMAP}},
  };
  warm_dtype dts[2] = {WARM_F32, WARM_BF16};
  printf("gemma3 small preset (6 layers, hidden 256), %s tokens, cpu, "
         "median of 5\n",
         tokens);
  printf("%-6s %-20s %10s %10s %12s\n", "dtype", "placement", "ms",
         "vs resident", "streamed MB");
  for (int k = 0; k < 2; k++) {
    double base = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      uint64_t streamed = 0;
      double t = bench(dir, dts[k], cases[i].req, prompt, tokens, &streamed);
      if (i == 0) base = t;
      printf("%-6s %-20s %10.2f %10.3f %12.2f\n", warm_dtype_name(dts[k]),
             cases[i].name, t * 1e3, base > 0 ? t / base : 0,
             streamed / 1048576.0);
      if (i > 0)
        printf("RESULT gemma3_cpu_%s_%s_over_resident %.3f x\n",
               warm_dtype_name(dts[k]),
               i == 1   ? "w1_pinned"
               : i == 2 ? "w2_pinned"
                        : "w2_mmap",
               base > 0 ? t / base : 0);
    }
  }
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return g3t_failures ? 1 : 0;
}
