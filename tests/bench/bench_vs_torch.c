/*
 * bench_vs_torch — warmd's cpu plugins against PyTorch on the same
 * checkpoints and shapes, in one run (label bench; tests/bench/run.sh).
 *
 * The checkpoints are made here with warm-mkmodel:
 *   gemma3 small   --preset small (6 layers, hidden 256, 4 heads x 64)
 *   gemma3 wide    the same with hidden_size 1152, intermediate_size 6912
 *   ltxv small     DiT, 4 layers, width 128, 32 latent channels
 *   ltxv-vae small latent 32, patch 4, two spatio-temporal upsamplers
 * Each row loads one component in warmd (resident, cpu) and, when
 * TORCH_PY names a Python with torch (and transformers / diffusers), the
 * same checkpoint in tests/bench/torch_side.py, a child process driven one
 * forward pass at a time: the runs alternate warmd, torch, warmd, torch...
 * so load from other processes hits both alike. Both sides use THREADS
 * threads (WARM_BENCH_THREADS, default 2). Printed per row: min and median
 * seconds of each side and warmd / torch for both (below 1: warmd faster).
 * Without TORCH_PY only warmd's times are printed. Plain bf16 rows run
 * warmd's default (bf16_activations = auto: activations rounded to bf16
 * before each GEMM, as torch computes a bf16 model); rows marked "f32 act"
 * set bf16_activations = false (f32 activations against the bf16 weights,
 * two bf16 products per weight), a precision torch has no mode for, shown
 * for its cost.
 *
 * The demo_job row is the whole demo job (`make demo`: conf/demo.ini, an
 * LTX-2 two-stage text-to-video job with sound, f32) against the same
 * pipeline in ltx-pipelines 1.0.0 (tests/parity/ltx2_pipeline.py's Models
 * and run_job, f32) on the same files, prompt, default negative prompt,
 * sizes, steps, guidance and decode tiles. warmd runs as a daemon started
 * once with the models loaded (bench_demo_job.c); its time is the client's:
 * from POST /v1/generations to the job done, so it includes writing the
 * job's mp4, wav and png files, which the reference does not do. The
 * torch time is one run_job call. Both print their per-part medians
 * (warmd's from result.json's timings) under the row. With torch, the row
 * then checks that both compute the same job: the reference runs it once
 * more recording its noise, `warmd --once --noise` replays that noise, and
 * the stage latents, frames and waveform must agree within DEMO_TOL
 * (max|warmd - ref| / max|ref|, all printed), else the row fails.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_demo_job.h"
#include "test_ltxv_host.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
#define MAXREPS 15
#define DEMO_TOL 1e-4 /* the pipeline parity test's tolerance */

typedef enum { K_G3, K_DIT, K_VAE, K_DEMO } kind;

typedef struct row {
  const char *name; /* RESULT key */
  const char *label;
  kind k;
  const char *ckpt; /* sub-folder of the bench dir */
  const char *dtype;
  int t;       /* gemma3 tokens */
  int f, h, w; /* latent frames, height, width */
  int reps;
  int f32act; /* bf16_activations = false */
} row;

static const row ROWS[] = {
    {"g3_small_f32_128", "Gemma-3 small f32, 128 tokens", K_G3, "g3", "f32",
     128, 0, 0, 0, 9, 0},
    {"g3_small_f32_512", "Gemma-3 small f32, 512 tokens", K_G3, "g3", "f32",
     512, 0, 0, 0, 7, 0},
    {"g3_small_bf16_128", "Gemma-3 small bf16, 128 tokens", K_G3, "g3", "bf16",
     128, 0, 0, 0, 9, 0},
    {"g3_small_bf16f32act_128", "Gemma-3 small bf16 f32 act, 128", K_G3, "g3",
     "bf16", 128, 0, 0, 0, 9, 1},
    {"g3_small_bf16_512", "Gemma-3 small bf16, 512 tokens", K_G3, "g3", "bf16",
     512, 0, 0, 0, 7, 0},
    {"g3_small_bf16f32act_512", "Gemma-3 small bf16 f32 act, 512", K_G3, "g3",
     "bf16", 512, 0, 0, 0, 7, 1},
    {"g3_wide_bf16_128", "Gemma-3 hidden 1152 bf16, 128 tokens", K_G3, "g3wide",
     "bf16", 128, 0, 0, 0, 7, 0},
    {"g3_wide_bf16f32act_128", "Gemma-3 1152 bf16 f32 act, 128", K_G3, "g3wide",
     "bf16", 128, 0, 0, 0, 7, 1},
    {"g3_wide_bf16_512", "Gemma-3 hidden 1152 bf16, 512 tokens", K_G3, "g3wide",
     "bf16", 512, 0, 0, 0, 5, 0},
    {"g3_wide_bf16f32act_512", "Gemma-3 1152 bf16 f32 act, 512", K_G3, "g3wide",
     "bf16", 512, 0, 0, 0, 5, 1},
    {"dit_288_f32", "LTX DiT small f32, 288 tokens", K_DIT, "dit", "f32", 0, 3,
     8, 12, 9, 0},
    {"dit_288_bf16", "LTX DiT small bf16, 288 tokens", K_DIT, "dit", "bf16", 0,
     3, 8, 12, 9, 0},
    {"dit_288_bf16f32act", "LTX DiT small bf16 f32 act, 288", K_DIT, "dit",
     "bf16", 0, 3, 8, 12, 9, 1},
    {"dit_1920_f32", "LTX DiT small f32, 1920 tokens", K_DIT, "dit", "f32", 0,
     5, 16, 24, 5, 0},
    {"dit_1920_bf16", "LTX DiT small bf16, 1920 tokens", K_DIT, "dit", "bf16",
     0, 5, 16, 24, 5, 0},
    {"dit_1920_bf16f32act", "LTX DiT small bf16 f32 act, 1920", K_DIT, "dit",
     "bf16", 0, 5, 16, 24, 5, 1},
    {"vae_9x128x192", "VAE decode 9 x 128 x 192", K_VAE, "vae", "f32", 0, 3, 8,
     12, 5, 0},
    {"vae_17x256x384", "VAE decode 17 x 256 x 384", K_VAE, "vae", "f32", 0, 5,
     16, 24, 3, 0},
    {"demo_job", "whole demo job (LTX-2 2-stage + audio)", K_DEMO, "demo",
     "f32", 0, 0, 0, 0, 5, 0},
};

/* ---- the torch child ----------------------------------------------------- */

typedef struct torch_side {
  pid_t pid;
  FILE *in, *out; /* its stdin, its stdout */
} torch_side;

static int torch_start(torch_side *t, const char *py, int threads) {
  int to[2], from[2];
  memset(t, 0, sizeof *t);
  if (pipe(to) || pipe(from)) return -1;
  char th[16];
  snprintf(th, sizeof th, "%d", threads);
  t->pid = fork();
  if (t->pid < 0) return -1;
  if (t->pid == 0) {
    dup2(to[0], 0);
    dup2(from[1], 1);
    close(to[1]), close(from[0]);
    execl(py, py, WARM_SOURCE_DIR "/tests/bench/torch_side.py", th,
          (char *)NULL);
    fprintf(stderr, "bench_vs_torch: cannot run %s: %s\n", py, strerror(errno));
    _exit(127);
  }
  close(to[0]), close(from[1]);
  t->in = fdopen(to[1], "w");
  t->out = fdopen(from[0], "r");
  return t->in && t->out ? 0 : -1;
}

/* Sends one command; the reply line goes to buf. 0, or -1 on an error
 * reply or a dead child (printed). */
static int torch_cmd(torch_side *t, const char *cmd, char *buf, size_t n) {
  if (!t->in) return -1;
  fprintf(t->in, "%s\n", cmd);
  fflush(t->in);
  if (!fgets(buf, (int)n, t->out)) {
    fprintf(stderr, "torch side: no reply to '%s' (exited)\n", cmd);
    fclose(t->in);
    t->in = NULL;
    return -1;
  }
  buf[strcspn(buf, "\n")] = 0;
  if (!strncmp(buf, "error:", 6)) {
    fprintf(stderr, "torch side: %s\n", buf);
    return -1;
  }
  return 0;
}

static void torch_stop(torch_side *t) {
  if (t->in) {
    fprintf(t->in, "quit\n");
    fclose(t->in);
  }
  if (t->out) fclose(t->out);
  if (t->pid > 0) waitpid(t->pid, NULL, 0);
}

/* ---- warmd side ---------------------------------------------------------- */

typedef struct warm_side {
  lt_host h;
  warm_instance *inst;
  warm_tensor in[4];
  uint32_t n_in;
  char prompt[16384];
  char tokens[16];
} warm_side;

static int warm_load(warm_side *s, const row *r, const char *ck) {
  const char *plugin = r->k == K_G3    ? "text_encoder_gemma3"
                       : r->k == K_DIT ? "transformer_ltxv"
                                       : "vae_ltxv";
  if (lt_host_init(&s->h, plugin, 16ull << 30)) return -1;
  uint64_t seed = 11;
  if (r->f32act) lt_key(&s->h, "bf16_activations", "false");
  if (r->k == K_G3) {
    snprintf(s->tokens, sizeof s->tokens, "%d", r->t);
    lt_key(&s->h, "max_tokens", s->tokens);
    s->prompt[0] = 0;
    while (strlen(s->prompt) < sizeof s->prompt - 64)
      strcat(s->prompt, "A red fox trots along a frozen river at dawn. ");
  } else if (r->k == K_DIT) {
    int64_t ls[5] = {1, 32, r->f, r->h, r->w}, ts[1] = {1},
            es[3] = {1, 32, 256}, ms[2] = {1, 32};
    warm_tensor_alloc(&s->in[0], "latents", WARM_F32, 5, ls);
    warm_tensor_alloc(&s->in[1], "timestep", WARM_F32, 1, ts);
    warm_tensor_alloc(&s->in[2], "embeddings", WARM_F32, 3, es);
    warm_tensor_alloc(&s->in[3], "mask", WARM_I32, 2, ms);
    for (int64_t i = 0; i < warm_tensor_numel(&s->in[0]); i++)
      ((float *)s->in[0].data)[i] = lt_randn(&seed);
    for (int64_t i = 0; i < warm_tensor_numel(&s->in[2]); i++)
      ((float *)s->in[2].data)[i] = lt_randn(&seed);
    ((float *)s->in[1].data)[0] = 700.0f;
    for (int i = 0; i < 32; i++)
      ((int32_t *)s->in[3].data)[i] = i < 24;
    s->n_in = 4;
  } else {
    lt_key(&s->h, "tiling", "false");
    int64_t ls[4] = {32, r->f, r->h, r->w};
    warm_tensor_alloc(&s->in[0], "latents", WARM_F32, 4, ls);
    for (int64_t i = 0; i < warm_tensor_numel(&s->in[0]); i++)
      ((float *)s->in[0].data)[i] = lt_randn(&seed);
    s->n_in = 1;
  }
  warm_dtype dt = !strcmp(r->dtype, "bf16") ? WARM_BF16 : WARM_F32;
  warm_component_config cfg = lt_config(&s->h, ck, dt);
  warm_error err = {0};
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  if (s->h.desc->create(&s->h.svc, &cfg, &s->inst, &err) ||
      s->h.desc->place(s->inst, &res, &err)) {
    fprintf(stderr, "%s: warmd setup: %s\n", r->name, err.msg);
    return -1;
  }
  return 0;
}

/* Seconds of one run, or -1. */
static double warm_run(warm_side *s) {
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.n_inputs = s->n_in;
  a.inputs = s->in;
  if (s->h.desc == NULL) return -1;
  if (!s->n_in) a.prompt = s->prompt;
  warm_error err = {0};
  double t0 = lt_now();
  if (s->h.desc->run(s->inst, &a, &err)) {
    fprintf(stderr, "run: %s\n", err.msg);
    return -1;
  }
  double t = lt_now() - t0;
  for (uint32_t i = 0; i < a.n_outputs; i++)
    warm_tensor_free(&a.outputs[i]);
  return t;
}

static void warm_unload(warm_side *s) {
  if (s->inst) s->h.desc->destroy(s->inst);
  for (uint32_t i = 0; i < s->n_in; i++)
    warm_tensor_free(&s->in[i]);
  lt_host_fini(&s->h);
}

/* ---- rows ---------------------------------------------------------------- */

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int bench_row(const row *r, const char *dir, torch_side *ts) {
  char ck[512], cmd[1024], buf[512];
  snprintf(ck, sizeof ck, "%s/%s", dir, r->ckpt);
  warm_side *s = calloc(1, sizeof *s);
  if (!s || warm_load(s, r, ck)) {
    if (s) warm_unload(s);
    free(s);
    return -1;
  }
  int torch = ts != NULL;
  if (torch) {
    if (r->k == K_G3)
      snprintf(cmd, sizeof cmd, "gemma3 %s %s %d", ck, r->dtype, r->t);
    else if (r->k == K_DIT)
      snprintf(cmd, sizeof cmd, "dit %s %s %d %d %d 32", ck, r->dtype, r->f,
               r->h, r->w);
    else
      snprintf(cmd, sizeof cmd, "vae %s %d %d %d", ck, r->f, r->h, r->w);
    torch = torch_cmd(ts, cmd, buf, sizeof buf) == 0;
  }
  double tw[MAXREPS], tt[MAXREPS];
  int rc = 0;
  for (int i = -1; i < r->reps && !rc; i++) { /* i == -1: warm-up */
    double w = warm_run(s);
    if (w < 0) rc = -1;
    if (i >= 0) tw[i] = w;
    if (torch) {
      if (torch_cmd(ts, "run", buf, sizeof buf)) {
        torch = 0;
      } else if (i >= 0) {
        tt[i] = atof(buf);
      }
    }
  }
  warm_unload(s);
  free(s);
  if (rc) return -1;
  qsort(tw, r->reps, sizeof *tw, cmp);
  double wmin = tw[0], wmed = tw[r->reps / 2];
  if (!torch) {
    printf("%-38s %9.4f %9.4f %9s %9s %7s %7s\n", r->label, wmin, wmed, "-",
           "-", "-", "-");
    printf("RESULT vs_torch_%s_warmd_median %.4f s\n", r->name, wmed);
    return 0;
  }
  qsort(tt, r->reps, sizeof *tt, cmp);
  double tmin = tt[0], tmed = tt[r->reps / 2];
  printf("%-38s %9.4f %9.4f %9.4f %9.4f %7.2f %7.2f\n", r->label, wmin, wmed,
         tmin, tmed, wmin / tmin, wmed / tmed);
  printf("RESULT vs_torch_%s min %.3f median %.3f x\n", r->name, wmin / tmin,
         wmed / tmed);
  return 0;
}

/* The parts of a torch reply "SECONDS name=seconds ..." into parts (in
 * demo_part_names' order; "total" is SECONDS). */
static void torch_parts(char *reply, double parts[DEMO_PARTS]) {
  memset(parts, 0, DEMO_PARTS * sizeof *parts);
  parts[DEMO_PARTS - 1] = atof(reply);
  for (char *w = strtok(reply, " "); w; w = strtok(NULL, " ")) {
    char *eq = strchr(w, '=');
    if (!eq) continue;
    *eq = 0;
    for (int i = 0; i < DEMO_PARTS - 1; i++)
      if (!strcmp(w, demo_part_names[i])) parts[i] = atof(eq + 1);
  }
}

static double median_of(double *x, int n) {
  qsort(x, (size_t)n, sizeof *x, cmp);
  return x[n / 2];
}

/* The demo_job row: warmd's daemon and the torch pipeline, one whole job
 * each per repetition, then the per-part medians of both. */
static int bench_demo(const row *r, const char *dir, torch_side *ts,
                      int threads) {
  char cmd[1024], buf[1024];
  demo_job *d = NULL;
  if (demo_start(dir, threads, &d)) return -1;
  int torch = ts != NULL;
  if (torch) {
    demo_torch_cmd(d, cmd, sizeof cmd);
    torch = torch_cmd(ts, cmd, buf, sizeof buf) == 0;
  }
  double tw[MAXREPS], tt[MAXREPS], pw[DEMO_PARTS][MAXREPS],
      pt[DEMO_PARTS][MAXREPS], p[DEMO_PARTS];
  int rc = 0;
  for (int i = -1; i < r->reps && !rc; i++) { /* i == -1: warm-up */
    double w = demo_run(d, p);
    if (w < 0) rc = -1;
    if (i >= 0) {
      tw[i] = w;
      for (int k = 0; k < DEMO_PARTS; k++)
        pw[k][i] = p[k];
    }
    if (torch) {
      if (torch_cmd(ts, "run", buf, sizeof buf)) {
        torch = 0;
      } else if (i >= 0) {
        torch_parts(buf, p);
        tt[i] = p[DEMO_PARTS - 1];
        for (int k = 0; k < DEMO_PARTS; k++)
          pt[k][i] = p[k];
      }
    }
  }
  double err[DEMO_CHECKED];
  if (!rc && torch) {
    char ref[600];
    snprintf(ref, sizeof ref, "%s/demo/reference.safetensors", dir);
    snprintf(cmd, sizeof cmd, "save %s 42", ref);
    if (torch_cmd(ts, cmd, buf, sizeof buf) || demo_check(d, ref, err)) rc = -1;
  }
  demo_stop(d);
  if (rc) return -1;
  qsort(tw, r->reps, sizeof *tw, cmp);
  double wmin = tw[0], wmed = tw[r->reps / 2];
  if (torch) {
    qsort(tt, r->reps, sizeof *tt, cmp);
    double tmin = tt[0], tmed = tt[r->reps / 2];
    printf("%-38s %9.4f %9.4f %9.4f %9.4f %7.2f %7.2f\n", r->label, wmin, wmed,
           tmin, tmed, wmin / tmin, wmed / tmed);
    printf("RESULT vs_torch_%s min %.3f median %.3f x\n", r->name, wmin / tmin,
           wmed / tmed);
  } else {
    printf("%-38s %9.4f %9.4f %9s %9s %7s %7s\n", r->label, wmin, wmed, "-",
           "-", "-", "-");
    printf("RESULT vs_torch_%s_warmd_median %.4f s\n", r->name, wmed);
  }
  printf("  %-36s", "per part, median s:");
  for (int k = 0; k < DEMO_PARTS; k++)
    printf(" %8s", demo_part_names[k]);
  printf("\n  %-36s", "warmd (result.json timings)");
  for (int k = 0; k < DEMO_PARTS; k++)
    printf(" %8.4f", median_of(pw[k], r->reps));
  if (torch) {
    printf("\n  %-36s", "torch (run_job)");
    for (int k = 0; k < DEMO_PARTS; k++)
      if (k == DEMO_PARTS - 2)
        printf(" %8s", "-"); /* the reference writes no files */
      else
        printf(" %8.4f", median_of(pt[k], r->reps));
    printf("\n  %-36s", "same noise, max|warmd-ref|/max|ref|:");
    for (int k = 0; k < DEMO_CHECKED; k++) {
      printf(" %s %.2g", demo_checked_names[k], err[k]);
      if (!(err[k] >= 0 && err[k] <= DEMO_TOL)) rc = -1;
    }
  }
  printf("\n");
  if (rc) fprintf(stderr, "demo_job: warmd and the reference differ\n");
  return rc;
}

static int mkmodel(const char *dir, const char *sub, const char *args) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s' %s --out '%s/%s' --quiet", MKMODEL, args, dir,
           sub);
  if (system(cmd) != 0) {
    fprintf(stderr, "warm-mkmodel failed: %s\n", cmd);
    return -1;
  }
  return 0;
}

int main(void) {
  const char *py = getenv("TORCH_PY");
  const char *only = getenv("WARM_BENCH_ROWS"); /* substring filter */
  int threads =
      getenv("WARM_BENCH_THREADS") ? atoi(getenv("WARM_BENCH_THREADS")) : 2;
  if (threads < 1) threads = 2;
  wk_cpu_set_threads(threads);
  signal(SIGPIPE, SIG_IGN);
  char dir[256];
  snprintf(dir, sizeof dir, "%s/bench-vs-torch-XXXXXX", WARM_BUILD_DIR);
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  int rc = mkmodel(dir, "g3", "--arch gemma3 --preset small --seed 3");
  if (!rc)
    rc = mkmodel(dir, "g3wide",
                 "--arch gemma3 --preset small --seed 4 --set "
                 "hidden_size=1152 --set intermediate_size=6912");
  if (!rc) rc = mkmodel(dir, "dit", "--arch ltxv --preset small --seed 7");
  if (!rc) rc = mkmodel(dir, "vae", "--arch ltxv-vae --preset small --seed 8");
  torch_side ts;
  int have_torch = 0;
  if (!rc && py && *py) {
    have_torch = torch_start(&ts, py, threads) == 0;
    if (!have_torch) fprintf(stderr, "cannot start %s\n", py);
  }
  if (!rc) {
    printf("warmd vs PyTorch, cpu, %d threads each, runs interleaved; "
           "seconds (min, median)%s\n",
           threads, have_torch ? "" : " — TORCH_PY unset: warmd only");
    printf("%-38s %9s %9s %9s %9s %7s %7s\n", "work", "warm min", "warm med",
           "torch min", "torch med", "r min", "r med");
    for (size_t i = 0; i < sizeof ROWS / sizeof *ROWS; i++) {
      if (only && !strstr(ROWS[i].name, only)) continue;
      int bad =
          ROWS[i].k == K_DEMO
              ? bench_demo(&ROWS[i], dir, have_torch ? &ts : NULL, threads)
              : bench_row(&ROWS[i], dir, have_torch ? &ts : NULL);
      if (bad) rc = -1;
      fflush(stdout);
    }
  }
  if (have_torch) torch_stop(&ts);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return rc ? 1 : 0;
}
