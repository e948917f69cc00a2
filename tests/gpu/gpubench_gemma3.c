/*
 * gpubench_gemma3.c — the Gemma-3-12B layer shape streamed on a CUDA device
 * with a 256-token prompt (labels bench, gpu; run by tests/gpu/check.sh).
 *
 * The checkpoint is written by warm-mkmodel --preset full --dtype bf16 into
 * a temp dir. To fit the check's time limit it has G3B_LAYERS layers
 * (default 12 of the model's 48; every layer has the exact 12B shape,
 * 448 MB in bf16) and the tokenizer's 640-row vocabulary instead of 262,208
 * rows (the table stays on the host when streaming; only the prompt's rows
 * move). Streaming time is linear in the layer count, so the 48-layer
 * figures are scaled from the measured ones, and the ratio to the copy
 * floor does not depend on the count.
 *
 * Measured in one run: pinned H2D bandwidth (wk copies of one layer), then
 * for bf16 and fp8 storage: resident encode time, streamed (W=2, pinned)
 * encode time, the copy floor = streamed layer bytes / pinned bandwidth,
 * and the ledger's device bytes above the component's non-layer weights
 * during the streamed encode (window + workspace). Prints a table and
 * `RESULT key value unit` lines.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_gemma3_util.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int mkmodel(const char *out, int layers) {
  char nl[64];
  snprintf(nl, sizeof nl, "num_hidden_layers=%d", layers);
  const char *argv[] = {
      MKMODEL, "--arch",         "gemma3", "--preset", "full",  "--dtype",
      "bf16",  "--seed",         "1",      "--quiet",  "--set", nl,
      "--set", "vocab_size=640", "--out",  out,        NULL};
  pid_t pid = fork();
  if (pid == 0) {
    execv(MKMODEL, (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* GB/s of n-byte host->device copies from pinned (or pageable) memory. */
static double h2d_bandwidth(wk_ctx *c, size_t n, int pinned) {
  void *h = NULL, *d = NULL;
  if ((pinned ? wk_host_alloc_pinned(c, n, &h) : ((h = malloc(n)) ? 0 : -1)) ||
      wk_dev_alloc(c, n, &d))
    return 0;
  memset(h, 1, n);
  wk_copy_h2d(c, d, h, n);
  wk_sync(c);
  double t0 = now();
  for (int i = 0; i < 5; i++)
    wk_copy_h2d(c, d, h, n);
  wk_sync(c);
  double gbs = 5.0 * n / (now() - t0) / 1e9;
  wk_dev_free(c, d);
  if (pinned)
    wk_host_free_pinned(c, h);
  else
    free(h);
  return gbs;
}

static double median3(double a, double b, double c) {
  double x = a < b ? a : b, y = a < b ? b : a;
  return c < x ? x : c > y ? y : c;
}

typedef struct res {
  double t_res, t_str, floor_s, over_bytes, window, workspace, layer_bytes;
  double create_s;
  double t_str3, over3; /* W = 3 */
} res;

static double timed_run(const warm_plugin_desc *d, warm_instance *g,
                        const char *prompt, uint64_t *streamed) {
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.prompt = prompt;
  warm_error err = {0};
  double t0 = now();
  int rc = d->run(g, &a, &err);
  double t = now() - t0;
  if (rc) {
    fprintf(stderr, "run: %s\n", err.msg);
    g3t_failures++;
    return 0;
  }
  if (streamed) *streamed = a.streamed_bytes;
  warm_tensor_free(&a.outputs[0]);
  warm_tensor_free(&a.outputs[1]);
  return t;
}

static int bench_dtype(const char *ck, warm_dtype dt, const char *prompt,
                       double bw, res *r) {
  warm_device dev = {WARM_DEVICE_CUDA, 0};
  warm_kv keys[1] = {{"max_tokens", "256"}};
  warm_component_config cc = g3t_config(ck, dev, dt, keys, 1);
  g3t_host h;
  g3t_host_init(&h, dev, 0);
  const warm_plugin_desc *d = g3_descriptor();
  warm_instance *g = NULL;
  warm_error err = {0};
  double t0 = now();
  if (d->create(&h.svc, &cc, &g, &err) != 0) {
    fprintf(stderr, "create: %s\n", err.msg);
    g3t_host_fini(&h);
    return -1;
  }
  r->create_s = now() - t0;
  warm_place_req res_req = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_place_req str_req = {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED};
  warm_job_shape shape = {.max_tokens = 256};
  warm_estimate est;
  int rc = d->place(g, &res_req, &err);
  if (rc == 0) {
    timed_run(d, g, prompt, NULL);
    r->t_res =
        median3(timed_run(d, g, prompt, NULL), timed_run(d, g, prompt, NULL),
                timed_run(d, g, prompt, NULL));
    rc = d->place(g, &str_req, &err);
  }
  if (rc == 0) rc = d->estimate(g, &str_req, &shape, &est, &err);
  if (rc) {
    fprintf(stderr, "place: %s\n", err.msg);
    d->destroy(g);
    g3t_host_fini(&h);
    return -1;
  }
  uint64_t streamed = 0;
  timed_run(d, g, prompt, &streamed);
  uint64_t before = g3t_booked(&h); /* non-layer weights + window */
  warm_ledger_mark_reset(h.ledger);
  double a = timed_run(d, g, prompt, &streamed);
  uint64_t peak = g3t_peak(&h);
  double b = timed_run(d, g, prompt, NULL), c = timed_run(d, g, prompt, NULL);
  r->t_str = median3(a, b, c);
  r->layer_bytes = (double)streamed;
  r->floor_s = streamed / (bw * 1e9);
  r->window = (double)est.window;
  r->workspace = (double)est.workspace;
  r->over_bytes = (double)(peak - (before - est.window));

  /* The same with a third slot: one more layer copied ahead. */
  warm_place_req w3 = {WARM_PLACE_STREAM, 3, WARM_SOURCE_PINNED};
  if (d->place(g, &w3, &err) == 0 &&
      d->estimate(g, &w3, &shape, &est, &err) == 0) {
    timed_run(d, g, prompt, NULL);
    before = g3t_booked(&h);
    warm_ledger_mark_reset(h.ledger);
    a = timed_run(d, g, prompt, NULL);
    peak = g3t_peak(&h);
    b = timed_run(d, g, prompt, NULL), c = timed_run(d, g, prompt, NULL);
    r->t_str3 = median3(a, b, c);
    r->over3 = (double)(peak - (before - est.window));
  } else {
    fprintf(stderr, "W=3: %s\n", err.msg);
  }
  d->destroy(g);
  g3t_host_fini(&h);
  return 0;
}

int main(void) {
  if (wk_cuda_device_count() == 0) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  int layers = getenv("G3B_LAYERS") ? atoi(getenv("G3B_LAYERS")) : 12;
  if (layers < 2) layers = 2;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/warm-g3bench-%d",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
  double t0 = now();
  if (mkmodel(dir, layers) != 0) {
    fprintf(stderr, "warm-mkmodel failed\n");
    return 1;
  }
  double t_mk = now() - t0;
  printf("checkpoint: %d layers of the 12B shape written in %.1f s\n", layers,
         t_mk);

  wk_ctx *c;
  if (wk_ctx_create(WK_BACKEND_CUDA, 0, 1, &c) != 0) return 1;
  size_t layer_bf16 = 448u << 20;
  double bw = h2d_bandwidth(c, layer_bf16, 1);
  double bw_page = h2d_bandwidth(c, layer_bf16, 0);
  wk_ctx_destroy(c);

  char prompt[8192] = "";
  while (strlen(prompt) < sizeof prompt - 80)
    strcat(prompt, "A slow dolly shot moves through a quiet forest at dawn, "
                   "mist drifting. ");
  res r[2];
  memset(r, 0, sizeof r);
  warm_dtype dts[2] = {WARM_BF16, WARM_FP8_E4M3};
  for (int i = 0; i < 2; i++)
    if (bench_dtype(dir, dts[i], prompt, bw, &r[i]) != 0) g3t_failures++;
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);

  double scale = 48.0 / layers;
  printf("\nGemma-3-12B layer shape, 256 tokens, stream W=2 from pinned, %d "
         "layers measured (x%.0f for 48)\n",
         layers, scale);
  printf("H2D bandwidth: pinned %.1f GB/s, pageable %.1f GB/s\n", bw, bw_page);
  printf("%-5s %9s %9s %9s %9s %8s %9s %9s %9s\n", "dtype", "create_s",
         "resid_s", "stream_s", "floor_s", "ratio", "str48_s", "over_MB",
         "win_MB");
  for (int i = 0; i < 2; i++) {
    const char *n = warm_dtype_name(dts[i]);
    double ratio = r[i].floor_s > 0 ? r[i].t_str / r[i].floor_s : 0;
    printf("%-5s %9.2f %9.4f %9.4f %9.4f %8.3f %9.3f %9.1f %9.1f\n", n,
           r[i].create_s, r[i].t_res, r[i].t_str, r[i].floor_s, ratio,
           r[i].t_str * scale, r[i].over_bytes / 1048576.0,
           r[i].window / 1048576.0);
    printf("RESULT gemma3_%s_stream_over_floor %.3f x\n", n, ratio);
    printf("RESULT gemma3_%s_stream_48layers %.3f s\n", n, r[i].t_str * scale);
    printf("RESULT gemma3_%s_resident_48layers %.3f s\n", n,
           r[i].t_res * scale);
    printf("RESULT gemma3_%s_device_over_resident_set %.0f MB\n", n,
           r[i].over_bytes / 1048576.0);
    printf("%-5s W=3: stream %.4f s, ratio %.3f, over_MB %.1f\n", n,
           r[i].t_str3, r[i].floor_s > 0 ? r[i].t_str3 / r[i].floor_s : 0,
           r[i].over3 / 1048576.0);
    printf("RESULT gemma3_%s_stream_w3_over_floor %.3f x\n", n,
           r[i].floor_s > 0 ? r[i].t_str3 / r[i].floor_s : 0);
  }
  printf("RESULT gemma3_h2d_pinned %.1f GB/s\n", bw);
  return g3t_failures ? 1 : 0;
}
