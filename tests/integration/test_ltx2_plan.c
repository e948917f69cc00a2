/*
 * test_ltx2_plan — `warmd --plan` on the production LTX-2.3 layout: sparse
 * full-size files from warm-mkmodel (the combined 2.3 checkpoint, its
 * upsampler, a rank-384 LoRA, a Gemma-3-12B folder), every component on
 * cuda:0 with budget = 96GiB, on a machine that need not have a GPU.
 *
 *   (a) two transformers resident (stage 2 with the LoRA fused), Gemma
 *       `auto`: Gemma streams and the peak stays within 96 GiB;
 *   (b) one resident base with the LoRA as the run-time adapter of stage 2:
 *       Gemma stays resident and the peak stays within 96 GiB;
 *   (c) the same with 48 GiB: exit 1 naming stage 1, the component, the
 *       device and the budget.
 *
 * The printed rows are checked against the plugins' own estimate(), made
 * here through the SDK loader on plan-only instances, and each peak
 * against the one the placement rule gives from those estimates. warmd's
 * maximum resident set bounds what create() may read: far below one
 * tensor of the 80 GB of files.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include "warm/loader.h"
#include "warm/plugin.h"
#include "warm/warm.h"
#include "wh_testutil.h"

#define WARMD WARM_BUILD_DIR "/bin/warmd"
#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
#define PLUGINS WARM_BUILD_DIR "/plugins"
#define GIB (1024ull * 1024 * 1024)

static char g_dir[512];
static uint32_t g_T;      /* the text encoder's prompt length */
static int g_no_cuda_lib; /* a build without the CUDA backend library */

/* ---- the plugins' estimates, independently of warmd --------------------- */

typedef struct inst {
  warm_plugin *pl;
  const warm_plugin_desc *d;
  warm_instance *in;
  warm_services svc;
  warm_component_config cfg;
  warm_kv keys[4];
} inst;

static void svc_log(void *ctx, int level, const char *fmt, ...) {
  (void)ctx;
  (void)level;
  (void)fmt;
}
static int svc_alloc(void *ctx, warm_mem_class c, size_t b, void **o,
                     warm_error *e) {
  (void)ctx, (void)c, (void)b, (void)o;
  return warm_error_set(e, WARM_EUNSUPPORTED, "plan-only: no allocation");
}
static void svc_free(void *ctx, void *p) {
  (void)ctx, (void)p;
}
static int svc_pinned(void *ctx, size_t b, void **o, warm_error *e) {
  (void)ctx, (void)b, (void)o;
  return warm_error_set(e, WARM_EUNSUPPORTED, "plan-only: no allocation");
}
static void svc_progress(void *ctx, float f) {
  (void)ctx, (void)f;
}
static int svc_cancelled(void *ctx) {
  return (void)ctx, 0;
}
static const char *svc_get(void *ctx, const char *key) {
  const inst *x = ctx;
  for (uint32_t i = 0; i < x->cfg.n_keys; i++)
    if (!strcmp(x->keys[i].key, key)) return x->keys[i].value;
  return NULL;
}

/* A plan-only instance of plugin `name` on cuda:0, bf16, weights `w`, with
 * up to two plugin keys (k1 = v1, k2 = v2; NULL for none). */
static int make(inst *x, const char *name, const char *w, const char *k1,
                const char *v1, const char *k2, const char *v2) {
  memset(x, 0, sizeof *x);
  char path[700];
  warm_error e = {0};
  snprintf(path, sizeof path, "%s/%s.so", PLUGINS, name);
  if (warm_plugin_open(path, &x->pl, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return -1;
  }
  x->d = warm_plugin_descriptor(x->pl);
  x->svc = (warm_services){sizeof(warm_services),
                           WARM_ABI_MINOR,
                           x,
                           svc_log,
                           svc_alloc,
                           svc_free,
                           svc_pinned,
                           svc_free,
                           svc_progress,
                           svc_cancelled,
                           svc_get,
                           WARM_SVC_PLAN_ONLY};
  uint32_t n = 0;
  if (k1) x->keys[n++] = (warm_kv){k1, v1};
  if (k2) x->keys[n++] = (warm_kv){k2, v2};
  x->cfg = (warm_component_config){sizeof x->cfg,
                                   name,
                                   w,
                                   {WARM_DEVICE_CUDA, 0},
                                   WARM_PLACE_RESIDENT,
                                   2,
                                   WARM_SOURCE_PINNED,
                                   WARM_BF16,
                                   0,
                                   x->keys,
                                   n,
                                   NULL};
  if (x->d->create(&x->svc, &x->cfg, &x->in, &e)) {
    fprintf(stderr, "%s: %s\n", name, e.msg);
    g_no_cuda_lib |= strstr(e.msg, "no CUDA backend") != NULL;
    return -1;
  }
  return 0;
}

static void drop(inst *x) {
  if (x->in) x->d->destroy(x->in);
  warm_plugin_close(x->pl);
}

static warm_estimate est(const inst *x, warm_placement p, uint32_t F,
                         uint32_t H, uint32_t W, uint32_t B) {
  warm_place_req req = {p, 2, WARM_SOURCE_PINNED};
  warm_job_shape js = {g_T, F, H, W, B};
  warm_estimate e = {0};
  warm_error err = {0};
  if (x->d->estimate(x->in, &req, &js, &e, &err))
    fprintf(stderr, "estimate: %s\n", err.msg);
  return e;
}

static uint64_t need(warm_estimate e) {
  return e.persistent + e.window + e.workspace;
}

/* ---- running warmd ----------------------------------------------------------
 */

static char g_out[65536];

/* warmd -c INI --plan ...; its output in g_out, its peak RSS in *rss_kb. */
static int plan(const char *ini, long *rss_kb) {
  char log[700];
  snprintf(log, sizeof log, "%s/plan.out", g_dir);
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(log, "w", stdout) || dup2(fileno(stdout), 2) < 0) _exit(126);
    execl(WARMD, WARMD, "-c", ini, "--plan", "--frames", "121", "--height",
          "1024", "--width", "1536", (char *)NULL);
    _exit(127);
  }
  int st = 0;
  struct rusage ru;
  if (pid < 0 || wait4(pid, &st, 0, &ru) != pid) return -1;
  *rss_kb = ru.ru_maxrss;
  FILE *f = fopen(log, "r");
  size_t n = f ? fread(g_out, 1, sizeof g_out - 1, f) : 0;
  g_out[n] = 0;
  if (f) fclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The output line that starts (after two spaces) with `step` and names
 * `comp`; NULL when none. */
static const char *row(const char *step, const char *comp) {
  for (const char *p = g_out; (p = strstr(p, step)); p++) {
    if (p < g_out + 2 || p[-1] != ' ' || p[-2] != ' ' ||
        (p > g_out + 2 && p[-3] != '\n'))
      continue;
    const char *eol = strchr(p, '\n');
    const char *c = strstr(p, comp);
    if (c && (!eol || c < eol)) return p;
  }
  return NULL;
}

/* 1 when the row holds the placement word and the estimate's three sizes,
 * formatted as warmd formats them. */
static int row_has(const char *r, const char *place, warm_estimate e) {
  if (!r) return 0;
  char line[512], a[32], b[32], c[32];
  const char *eol = strchr(r, '\n');
  size_t n = eol ? (size_t)(eol - r) : strlen(r);
  snprintf(line, sizeof line, "%.*s", (int)n, r);
  warm_format_size(e.persistent, a, sizeof a);
  warm_format_size(e.window, b, sizeof b);
  warm_format_size(e.workspace, c, sizeof c);
  char *pa = strstr(line, place), *pp = pa ? strstr(pa, a) : NULL,
       *pw = pp ? strstr(pp + strlen(a), b) : NULL,
       *pk = pw ? strstr(pw + strlen(b), c) : NULL;
  if (!pk)
    fprintf(stderr, "row '%s' lacks %s %s %s %s\n", line, place, a, b, c);
  return pk != NULL;
}

static uint64_t printed_peak(void) {
  const char *p = strstr(g_out, "  peak ");
  const char *q = p ? strchr(p, '(') : NULL;
  return q ? strtoull(q + 1, NULL, 10) : 0;
}

static void write_ini(const char *path, const char *budget, const char *dits,
                      const char *stages) {
  wt_write(path,
           "[host]\nplugin_dir = %s\nadmin_socket = %s/a.sock\n"
           "[device cuda:0]\nbudget = %s\n"
           "[component text_encoder]\nplugin = text_encoder_ltx2\n"
           "weights = gemma\nltx_checkpoint = %s/ltx23.safetensors\n"
           "device = cuda:0\nplacement = auto\ndtype = bf16\n"
           "%s"
           "[component upsampler]\nplugin = upsampler_ltx2\n"
           "weights = up23.safetensors\ndevice = cuda:0\ndtype = bf16\n"
           "[component vae]\nplugin = vae_ltx2\nweights = ltx23.safetensors\n"
           "device = cuda:0\ndtype = bf16\nencoder = false\n"
           "[component audio]\nplugin = audio_ltx2\n"
           "weights = ltx23.safetensors\ndevice = cuda:0\ndtype = bf16\n"
           "[pipeline]\ntype = ltx2\nencoder = text_encoder\nstages = %s\n"
           "upsampler = upsampler\ndecoder = vae\naudio_decoder = audio\n",
           PLUGINS, g_dir, budget, g_dir, dits, stages);
}

static inst g_enc, g_dit, g_dit_ad, g_up, g_vae, g_au;

static void test_two_resident_transformers_stream_gemma(void) {
  char ini[700], dits[1400];
  snprintf(ini, sizeof ini, "%s/a.ini", g_dir);
  snprintf(dits, sizeof dits,
           "[component transformer.stage1]\nplugin = transformer_ltx2\n"
           "weights = ltx23.safetensors\ndevice = cuda:0\n"
           "placement = resident\ndtype = bf16\n"
           "[component transformer.stage2]\nplugin = transformer_ltx2\n"
           "weights = ltx23.safetensors\nlora = %s/lora.safetensors 1.0\n"
           "device = cuda:0\nplacement = resident\ndtype = bf16\n",
           g_dir);
  write_ini(ini, "96GiB", dits, "transformer.stage1, transformer.stage2");
  long rss = 0;
  int rc = plan(ini, &rss);
  CHECK(rc == 0 && strstr(g_out, "fits: every step"), "rc %d:\n%s", rc, g_out);
  /* The fused LoRA leaves the stored weights' size as the base's. */
  warm_estimate s1 = est(&g_dit, WARM_PLACE_RESIDENT, 121, 512, 768, 4),
                s2 = est(&g_dit, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1),
                es = est(&g_enc, WARM_PLACE_STREAM, 0, 0, 0, 1),
                er = est(&g_enc, WARM_PLACE_RESIDENT, 0, 0, 0, 1),
                up = est(&g_up, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1),
                va = est(&g_vae, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1),
                au = est(&g_au, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1);
  CHECK(row_has(row("encode", "text_encoder"), "stream (auto)", es),
        "encode:\n%s", g_out);
  CHECK(row_has(row("stage 1", "transformer.stage1"), "resident", s1) &&
            row_has(row("stage 2", "transformer.stage2"), "resident", s2) &&
            row_has(row("upsample", "upsampler"), "resident", up) &&
            row_has(row("decode video", "vae"), "resident", va) &&
            row_has(row("decode audio", "audio"), "resident", au),
        "rows:\n%s", g_out);
  /* Gemma cannot sit beside two resident transformers, so the load streams
   * it; the peak is stage 1 beside everything else held. */
  uint64_t held = 2 * s1.persistent + up.persistent + va.persistent +
                  au.persistent + es.persistent + es.window;
  CHECK(held + er.persistent - es.persistent - es.window > 96 * GIB,
        "Gemma resident would not fit beside the rest");
  uint64_t peak = held - s1.persistent + need(s1);
  CHECK(printed_peak() == peak && peak <= 96 * GIB,
        "peak %llu, want %llu (<= 96 GiB):\n%s",
        (unsigned long long)printed_peak(), (unsigned long long)peak, g_out);
  /* Header bytes only: nothing like a weight tensor was read. */
  CHECK(rss < 1024 * 1024, "warmd --plan peaked at %ld KiB of RSS", rss);
  fprintf(stderr, "  (a) peak %.2f GiB, warmd RSS %ld KiB\n",
          (double)peak / GIB, rss);
}

/* A component the [pipeline] does not name is placed by the load all the
 * same: its bytes are held through every step. */
static void test_component_outside_the_pipeline_is_held(void) {
  char ini[700], dits[1400];
  snprintf(ini, sizeof ini, "%s/x.ini", g_dir);
  snprintf(dits, sizeof dits,
           "[component transformer]\nplugin = transformer_ltx2\n"
           "weights = ltx23.safetensors\n"
           "lora.distilled = %s/lora.safetensors 1.0\n"
           "device = cuda:0\nplacement = resident\ndtype = bf16\n"
           "[component spare]\nplugin = upsampler_ltx2\n"
           "weights = up23.safetensors\ndevice = cuda:0\ndtype = bf16\n",
           g_dir);
  write_ini(ini, "96GiB", dits, "transformer, transformer+distilled");
  long rss = 0;
  int rc = plan(ini, &rss);
  warm_estimate s1 = est(&g_dit_ad, WARM_PLACE_RESIDENT, 121, 512, 768, 4),
                er = est(&g_enc, WARM_PLACE_RESIDENT, 0, 0, 0, 1),
                up = est(&g_up, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1),
                va = est(&g_vae, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1),
                au = est(&g_au, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1);
  uint64_t peak = er.persistent + 2 * up.persistent + va.persistent +
                  au.persistent + need(s1);
  CHECK(rc == 0 && strstr(g_out, "  spare ") && printed_peak() == peak,
        "rc %d, peak %llu, want %llu:\n%s", rc,
        (unsigned long long)printed_peak(), (unsigned long long)peak, g_out);
}

static void test_base_and_adapter_keep_gemma_resident(int budget_gib) {
  char ini[700], dits[1400], bud[16];
  snprintf(ini, sizeof ini, "%s/b.ini", g_dir);
  snprintf(bud, sizeof bud, "%dGiB", budget_gib);
  snprintf(dits, sizeof dits,
           "[component transformer]\nplugin = transformer_ltx2\n"
           "weights = ltx23.safetensors\n"
           "lora.distilled = %s/lora.safetensors 1.0\n"
           "device = cuda:0\nplacement = resident\ndtype = bf16\n",
           g_dir);
  write_ini(ini, bud, dits, "transformer, transformer+distilled");
  long rss = 0;
  int rc = plan(ini, &rss);
  warm_estimate s1 = est(&g_dit_ad, WARM_PLACE_RESIDENT, 121, 512, 768, 4),
                s2 = est(&g_dit_ad, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1),
                es = est(&g_enc, WARM_PLACE_STREAM, 0, 0, 0, 1),
                er = est(&g_enc, WARM_PLACE_RESIDENT, 0, 0, 0, 1),
                up = est(&g_up, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1),
                va = est(&g_vae, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1),
                au = est(&g_au, WARM_PLACE_RESIDENT, 121, 1024, 1536, 1);
  uint64_t rest = s1.persistent + up.persistent + va.persistent + au.persistent;
  if (budget_gib == 96) {
    CHECK(rc == 0 && strstr(g_out, "fits: every step"), "rc %d:\n%s", rc,
          g_out);
    CHECK(row_has(row("encode", "text_encoder"), "resident (auto)", er) &&
              row_has(row("stage 1", "transformer"), "resident", s1) &&
              row_has(row("stage 2 +distilled", "transformer"), "resident", s2),
          "rows:\n%s", g_out);
    /* Every step with everything resident: the largest is the peak. */
    uint64_t held = rest + er.persistent,
             peak = held - er.persistent + need(er);
    uint64_t steps[5] = {
        held - s1.persistent + need(s1), held - up.persistent + need(up),
        held - s2.persistent + need(s2), held - va.persistent + need(va),
        held - au.persistent + need(au)};
    for (int i = 0; i < 5; i++)
      if (steps[i] > peak) peak = steps[i];
    CHECK(printed_peak() == peak && peak <= 96 * GIB,
          "peak %llu, want %llu (<= 96 GiB):\n%s",
          (unsigned long long)printed_peak(), (unsigned long long)peak, g_out);
    fprintf(stderr, "  (b) peak %.2f GiB\n", (double)peak / GIB);
  } else {
    /* Gemma streams from the load; stage 1 does not fit beside the rest. */
    char want[400], b[32];
    snprintf(want, sizeof want,
             "does not fit: stage 1: transformer cannot run resident on "
             "cuda:0: it needs ");
    CHECK(rc == 1 && strstr(g_out, want) &&
              strstr(g_out, warm_format_size(need(s1), b, sizeof b)) &&
              strstr(g_out, "budget 48.00 GiB"),
          "rc %d:\n%s", rc, g_out);
    CHECK(rest - s1.persistent + es.persistent + es.window + need(s1) >
              48 * GIB,
          "the estimates say it fits");
  }
}

static void test_base_and_adapter(void) {
  test_base_and_adapter_keep_gemma_resident(96);
}

static void test_small_budget_names_the_stage(void) {
  test_base_and_adapter_keep_gemma_resident(48);
}

int main(void) {
  if (access(WARMD, X_OK) || access(MKMODEL, X_OK)) {
    fprintf(stderr, "FAIL: needs %s and %s\n", WARMD, MKMODEL);
    return 1;
  }
  wt_tempdir(g_dir, sizeof g_dir, "ltx2plan");
  const char *models[] = {
      "--arch ltx2 --variant 2.3 --preset full --sparse --dtype bf16 --seed 1 "
      "--out %s/ltx23.safetensors",
      "--arch ltx2-upsampler --variant 2.3 --preset full --sparse --dtype "
      "bf16 --seed 2 --out %s/up23.safetensors",
      "--arch ltx2-lora --variant 2.3 --preset full --rank 384 --sparse "
      "--dtype bf16 --seed 3 --out %s/lora.safetensors",
      "--arch gemma3 --preset full --sparse --dtype bf16 --seed 4 --out "
      "%s/gemma",
  };
  for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
    char a[1200], cmd[1400], out[4096];
    snprintf(a, sizeof a, models[i], g_dir);
    snprintf(cmd, sizeof cmd, "%s %s --quiet", MKMODEL, a);
    if (wt_run(cmd, out, sizeof out)) {
      fprintf(stderr, "FAIL: %s: %s\n", cmd, out);
      return 1;
    }
  }
  char w[700], g[700], lp[720], lora[760], up[700];
  snprintf(w, sizeof w, "%s/ltx23.safetensors", g_dir);
  snprintf(g, sizeof g, "%s/gemma", g_dir);
  snprintf(up, sizeof up, "%s/up23.safetensors", g_dir);
  snprintf(lp, sizeof lp, "%s/lora.safetensors", g_dir);
  snprintf(lora, sizeof lora, "%s 1.0", lp);
  if (make(&g_enc, "text_encoder_ltx2", g, "ltx_checkpoint", w, NULL, NULL) ||
      make(&g_dit, "transformer_ltx2", w, NULL, NULL, NULL, NULL) ||
      make(&g_dit_ad, "transformer_ltx2", w, "lora.distilled", lora, NULL,
           NULL) ||
      make(&g_up, "upsampler_ltx2", up, NULL, NULL, NULL, NULL) ||
      make(&g_vae, "vae_ltx2", w, "encoder", "false", NULL, NULL) ||
      make(&g_au, "audio_ltx2", w, NULL, NULL, NULL, NULL)) {
    if (g_no_cuda_lib) { /* e.g. the TSan build, WARM_CUDA=OFF */
      fprintf(stderr, "SKIP: cuda:0 workspaces need the CUDA backend "
                      "library, which this build lacks\n");
      wt_rmtree(g_dir);
      return 77;
    }
    fprintf(stderr, "FAIL: plan-only instances\n");
    return 1;
  }
  warm_model_info mi = {.struct_size = sizeof mi};
  warm_error e = {0};
  if (WARM_DESC_OPT(g_enc.d, info)(g_enc.in, &mi, &e) || !mi.max_tokens) {
    fprintf(stderr, "FAIL: text encoder info: %s\n", e.msg);
    return 1;
  }
  g_T = mi.max_tokens;
  RUN(test_two_resident_transformers_stream_gemma);
  RUN(test_base_and_adapter);
  RUN(test_small_budget_names_the_stage);
  RUN(test_component_outside_the_pipeline_is_held);
  drop(&g_enc);
  drop(&g_dit);
  drop(&g_dit_ad);
  drop(&g_up);
  drop(&g_vae);
  drop(&g_au);
  if (!wt_failures) wt_rmtree(g_dir);
  return wt_failures ? 1 : 0;
}
