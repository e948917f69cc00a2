/*
 * test_ltx2_text.c — text_encoder_ltx2 on the cpu:
 *   - parity: f32 contexts against ltx-core's EmbeddingsProcessor over HF
 *     Gemma-3 (goldens from tests/parity/ltx2_text.py, same checkpoints as
 *     the ltx2_text_checkpoints fixture builds), 2.0 (V1) and 2.3 (V2, gated
 *     connectors), short / truncated / unicode / padded-with-spaces / empty
 *     prompts, within 1e-5 relative; and 2.0 with the interleaved RoPE and
 *     the float32 frequency grid;
 *   - placements: resident and stream W = 1, 2, 3 from pinned and mmap give
 *     the same bytes;
 *   - the ledger while streaming: the peak is the two windows + Gemma's
 *     one-layer workspace + the accumulators + the extractor's scratch,
 *     exactly what the estimate says, and never the stack of hidden states;
 *   - bf16 and fp8 run and stay near f32; the fingerprint covers both
 *     weight sources and not the placement; bad keys and files are refused
 *     with a reason.
 */
#include <jansson.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define G3T_HOST_ONLY
#include "test_gemma3_util.h"
#include "lt2_plugin.h"
#include "warm/safetensors.h"

static char ckdir[512], gemma[600];

static const char *ltx_file(const char *name, char *buf, size_t n) {
  snprintf(buf, n, "%s/ltx2_%s.safetensors", ckdir, name);
  return buf;
}

typedef struct lt_out {
  float *v, *a;
  int64_t T, Cv, Ca;
  int32_t mask_sum;
  uint64_t streamed;
} lt_out;

static void lt_out_free(lt_out *o) {
  free(o->v);
  free(o->a);
  memset(o, 0, sizeof *o);
}

static int run_once(const warm_plugin_desc *d, warm_instance *g,
                    const char *prompt, lt_out *o, warm_error *err) {
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.prompt = prompt;
  memset(o, 0, sizeof *o);
  int rc = d->run(g, &a, err);
  if (rc) return rc;
  G3T_CHECK(a.n_outputs == 3 && !strcmp(a.outputs[0].name, "video_context") &&
                !strcmp(a.outputs[1].name, "audio_context") &&
                !strcmp(a.outputs[2].name, "mask"),
            "outputs video_context, audio_context, mask");
  o->T = a.outputs[0].shape[0];
  o->Cv = a.outputs[0].shape[1];
  o->Ca = a.outputs[1].shape[1];
  o->v = malloc(warm_tensor_bytes(&a.outputs[0]));
  o->a = malloc(warm_tensor_bytes(&a.outputs[1]));
  memcpy(o->v, a.outputs[0].data, warm_tensor_bytes(&a.outputs[0]));
  memcpy(o->a, a.outputs[1].data, warm_tensor_bytes(&a.outputs[1]));
  for (int64_t t = 0; t < a.outputs[2].shape[0]; t++)
    o->mask_sum += ((int32_t *)a.outputs[2].data)[t];
  o->streamed = a.streamed_bytes;
  for (uint32_t i = 0; i < a.n_outputs; i++)
    warm_tensor_free(&a.outputs[i]);
  return 0;
}

static double rel_err(const float *a, const float *b, int64_t n) {
  double num = 0, den = 1e-30;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (d > num || d != d) num = d;
    if (fabs(b[i]) > den) den = fabs(b[i]);
  }
  return num / den;
}

typedef struct inst {
  g3t_host h;
  const warm_plugin_desc *d;
  warm_instance *g;
  warm_kv keys[2];
  char mt[32], lp[600];
} inst;

static int inst_open(inst *s, const char *variant, int64_t T, warm_dtype dt,
                     uint64_t budget) {
  memset(s, 0, sizeof *s);
  warm_device cpu = {WARM_DEVICE_CPU, 0};
  snprintf(s->mt, sizeof s->mt, "%lld", (long long)T);
  s->keys[0] =
      (warm_kv){"ltx_checkpoint", ltx_file(variant, s->lp, sizeof s->lp)};
  s->keys[1] = (warm_kv){"max_tokens", s->mt};
  warm_component_config cc = g3t_config(gemma, cpu, dt, s->keys, 2);
  g3t_host_init(&s->h, cpu, budget);
  s->d = lt2_descriptor();
  warm_error err = {0};
  int rc = s->d->create(&s->h.svc, &cc, &s->g, &err);
  G3T_CHECK(rc == 0, "%s: create: %s", variant, err.msg);
  return rc;
}

static void inst_close(inst *s) {
  if (s->g) s->d->destroy(s->g);
  G3T_CHECK(g3t_booked(&s->h) == 0, "destroy frees every booked byte");
  g3t_host_fini(&s->h);
}

/* ---- parity ---------------------------------------------------------------
 */

static void check_parity(const char *variant) {
  char gold[1024];
  snprintf(gold, sizeof gold, "%s/ltx2/text_%s.safetensors", WARM_TEST_DATA,
           variant);
  warm_st *st = NULL;
  warm_error err = {0};
  if (warm_st_open(gold, &st, &err)) {
    G3T_CHECK(0, "%s", err.msg);
    return;
  }
  int64_t T = atoll(warm_st_metadata(st, "max_tokens"));
  json_error_t je;
  json_t *prompts = json_loads(warm_st_metadata(st, "prompts"), 0, &je);
  inst s;
  if (inst_open(&s, variant, T, WARM_F32, 0) == 0) {
    warm_place_req req = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
    G3T_CHECK(s.d->place(s.g, &req, &err) == 0, "place: %s", err.msg);
    double worst = 0;
    for (size_t i = 0; i < json_array_size(prompts); i++) {
      const char *p = json_string_value(json_array_get(prompts, i));
      lt_out o;
      int rc = run_once(s.d, s.g, p, &o, &err);
      G3T_CHECK(rc == 0, "%s p%zu: run: %s", variant, i, err.msg);
      if (rc) continue;
      char tn[64];
      warm_tensor gv, ga;
      snprintf(tn, sizeof tn, "p%zu.video", i);
      int ok = warm_st_get(st, tn, &gv, &err) == 0;
      snprintf(tn, sizeof tn, "p%zu.audio", i);
      ok = ok && warm_st_get(st, tn, &ga, &err) == 0;
      G3T_CHECK(ok, "%s", err.msg);
      if (ok) {
        G3T_CHECK(gv.shape[0] == o.T && gv.shape[1] == o.Cv &&
                      ga.shape[1] == o.Ca,
                  "%s p%zu shapes", variant, i);
        double ev = rel_err(o.v, gv.data, o.T * o.Cv);
        double ea = rel_err(o.a, ga.data, o.T * o.Ca);
        G3T_CHECK(ev <= 1e-5 && ea <= 1e-5,
                  "%s p%zu: video %.3g audio %.3g relative", variant, i, ev,
                  ea);
        worst = fmax(worst, fmax(ev, ea));
      }
      G3T_CHECK(o.mask_sum == T, "%s p%zu: output mask all ones (%d)", variant,
                i, o.mask_sum);
      lt_out_free(&o);
    }
    printf("parity %s: %zu prompts, T %lld, worst relative error %.3g\n",
           variant, json_array_size(prompts), (long long)T, worst);
  }
  inst_close(&s);
  json_decref(prompts);
  warm_st_close(st);
}

/* ---- placements ------------------------------------------------------------
 */

static const char *const prompt_fox = "A red fox runs across the snow at dawn.";

static void check_placements(const char *variant, int64_t T) {
  inst s;
  if (inst_open(&s, variant, T, WARM_F32, 0)) {
    inst_close(&s);
    return;
  }
  warm_error err = {0};
  warm_place_req reqs[7] = {{WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED},
                            {WARM_PLACE_STREAM, 1, WARM_SOURCE_PINNED},
                            {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED},
                            {WARM_PLACE_STREAM, 3, WARM_SOURCE_PINNED},
                            {WARM_PLACE_STREAM, 1, WARM_SOURCE_MMAP},
                            {WARM_PLACE_STREAM, 2, WARM_SOURCE_MMAP},
                            {WARM_PLACE_STREAM, 3, WARM_SOURCE_MMAP}};
  lt_out ref = {0};
  for (int i = 0; i < 7; i++) {
    int rc = s.d->place(s.g, &reqs[i], &err);
    G3T_CHECK(rc == 0, "place %d: %s", i, err.msg);
    lt_out o;
    if (rc || (rc = run_once(s.d, s.g, prompt_fox, &o, &err))) {
      G3T_CHECK(rc == 0, "run %d: %s", i, err.msg);
      continue;
    }
    G3T_CHECK((reqs[i].placement == WARM_PLACE_STREAM) == (o.streamed > 0),
              "streamed bytes reported for stream only (%llu)",
              (unsigned long long)o.streamed);
    if (i == 0) {
      ref = o;
      continue;
    }
    G3T_CHECK(!memcmp(o.v, ref.v, (size_t)(o.T * o.Cv) * 4) &&
                  !memcmp(o.a, ref.a, (size_t)(o.T * o.Ca) * 4),
              "%s: %s W=%u %s gives the resident bytes", variant,
              warm_placement_name(reqs[i].placement), reqs[i].stream_window,
              reqs[i].stream_source == WARM_SOURCE_MMAP ? "mmap" : "pinned");
    lt_out_free(&o);
  }
  lt_out_free(&ref);
  inst_close(&s);
}

/* ---- the ledger while streaming ---------------------------------------------
 */

static void check_stream_ledger(const char *variant, int64_t T) {
  inst s;
  if (inst_open(&s, variant, T, WARM_F32, 0)) {
    inst_close(&s);
    return;
  }
  warm_error err = {0};
  warm_place_req req = {WARM_PLACE_STREAM, 1, WARM_SOURCE_PINNED};
  warm_job_shape shape = {0};
  warm_estimate est, res;
  warm_place_req rreq = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  G3T_CHECK(s.d->estimate(s.g, &req, &shape, &est, &err) == 0, "%s", err.msg);
  G3T_CHECK(s.d->estimate(s.g, &rreq, &shape, &res, &err) == 0, "%s", err.msg);
  G3T_CHECK(s.d->place(s.g, &req, &err) == 0, "%s", err.msg);
  uint64_t placed = g3t_booked(&s.h);
  warm_ledger_mark_reset(s.h.ledger);
  lt_out o;
  int rc = run_once(s.d, s.g, prompt_fox, &o, &err);
  G3T_CHECK(rc == 0, "run: %s", err.msg);
  uint64_t peak = g3t_peak(&s.h);
  /* What the run added on top of the placement is the workspace: Gemma's
   * one-layer activations, the accumulators and the extractor's scratch
   * (or the connectors' phase, whichever is larger) — the estimate's
   * workspace exactly. */
  uint64_t run_bytes = peak - placed;
  G3T_CHECK(run_bytes == est.workspace,
            "streamed run adds %llu bytes, estimate workspace %llu",
            (unsigned long long)run_bytes, (unsigned long long)est.workspace);
  G3T_CHECK(peak <= g3t_total(&est), "peak %llu <= estimate %llu",
            (unsigned long long)peak, (unsigned long long)g3t_total(&est));
  /* Term by term: Gemma's workspace for one layer at T tokens, the
   * accumulators [T, Cv (+ Ca)], the extractor's scratch (one normalised
   * hidden state, one projection share) — or the connectors' phase. None
   * of the terms scales with the number of hidden states. */
  warm_instance *g = s.g;
  uint64_t gws = g3_workspace_bytes(g->m.wk, &g->m.mc, g->m.wdt, T);
  uint64_t feats = lt2_feats_bytes(&g->c, T);
  uint64_t pass1 =
      gws + feats + lt2_xscratch_bytes(g->m.wk, &g->c, g->m.wdt, T);
  uint64_t pass2 = feats + lt2_conn_ws_bytes(g->m.wk, &g->c, g->m.wdt, T);
  G3T_CHECK(run_bytes == (pass1 > pass2 ? pass1 : pass2),
            "run bytes %llu = max(Gemma layer %llu + accumulators %llu + "
            "scratch, connectors)",
            (unsigned long long)run_bytes, (unsigned long long)gws,
            (unsigned long long)feats);
  G3T_CHECK(placed == est.window + est.persistent,
            "placed %llu = windows %llu + persistent %llu",
            (unsigned long long)placed, (unsigned long long)est.window,
            (unsigned long long)est.persistent);
  /* The stack of all hidden states, which the reference materialises. */
  warm_tensor probe;
  uint64_t S = 0, D = 0;
  warm_st *gst = NULL;
  if (warm_st_open(gemma, &gst, &err) == 0 &&
      warm_st_get(gst, "model.norm.weight", &probe, &err) == 0) {
    D = (uint64_t)probe.shape[0];
    while (1) {
      char n[64];
      snprintf(n, sizeof n, "model.layers.%llu.input_layernorm.weight",
               (unsigned long long)S);
      if (!warm_st_find(gst, n)) break;
      S++;
    }
    S += 1;
  }
  warm_st_close(gst);
  uint64_t stack = S * (uint64_t)T * D * sizeof(float);
  uint64_t one = (uint64_t)T * D * sizeof(float);
  printf("%s stream W=1, T %lld: windows %llu + persistent %llu (resident "
         "would hold %llu), run workspace %llu; the %llu-state stack would "
         "be %llu, one hidden state %llu\n",
         variant, (long long)T, (unsigned long long)est.window,
         (unsigned long long)est.persistent, (unsigned long long)res.persistent,
         (unsigned long long)run_bytes, (unsigned long long)S,
         (unsigned long long)stack, (unsigned long long)one);
  G3T_CHECK(est.persistent < res.persistent && est.window < res.persistent,
            "streaming keeps the text weights out of persistent memory");
  if (rc == 0) lt_out_free(&o);
  inst_close(&s);
}

/* ---- dtypes
 * ------------------------------------------------------------------ */

static void check_dtypes(const char *variant, int64_t T) {
  lt_out ref = {0};
  const warm_dtype dts[3] = {WARM_F32, WARM_BF16, WARM_FP8_E4M3};
  const double tol[3] = {0, 0.05, 0.25};
  for (int i = 0; i < 3; i++) {
    inst s;
    if (inst_open(&s, variant, T, dts[i], 0) == 0) {
      warm_error err = {0};
      warm_place_req req = {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED};
      lt_out o;
      int rc = s.d->place(s.g, &req, &err);
      if (!rc) rc = run_once(s.d, s.g, prompt_fox, &o, &err);
      G3T_CHECK(rc == 0, "%s %s: %s", variant, warm_dtype_name(dts[i]),
                err.msg);
      if (!rc && i == 0) {
        ref = o;
      } else if (!rc) {
        double ev = rel_err(o.v, ref.v, o.T * o.Cv);
        double ea = rel_err(o.a, ref.a, o.T * o.Ca);
        printf("%s %s vs f32: video %.3g audio %.3g\n", variant,
               warm_dtype_name(dts[i]), ev, ea);
        G3T_CHECK(ev <= tol[i] && ea <= tol[i] && ev > 0,
                  "%s %s stays near f32 (%.3g, %.3g)", variant,
                  warm_dtype_name(dts[i]), ev, ea);
        lt_out_free(&o);
      }
    }
    inst_close(&s);
  }
  lt_out_free(&ref);
}

/* ---- prompts
 * ------------------------------------------------------------------ */

static void check_prompts(void) {
  inst s;
  if (inst_open(&s, "v23", 128, WARM_F32, 0)) {
    inst_close(&s);
    return;
  }
  warm_error err = {0};
  warm_place_req req = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  G3T_CHECK(s.d->place(s.g, &req, &err) == 0, "%s", err.msg);
  lt_out a, b, e, w;
  int ok = run_once(s.d, s.g, "a fox", &a, &err) == 0 &&
           run_once(s.d, s.g, " \t\u00a0a fox\u3000\n", &b, &err) == 0 &&
           run_once(s.d, s.g, "", &e, &err) == 0 &&
           run_once(s.d, s.g, " \n\t ", &w, &err) == 0;
  G3T_CHECK(ok, "runs: %s", err.msg);
  if (ok) {
    G3T_CHECK(!memcmp(a.v, b.v, (size_t)(a.T * a.Cv) * 4),
              "surrounding Unicode whitespace is stripped");
    G3T_CHECK(!memcmp(e.v, w.v, (size_t)(e.T * e.Cv) * 4),
              "a whitespace-only prompt is the empty prompt");
    lt_out_free(&a), lt_out_free(&b), lt_out_free(&e), lt_out_free(&w);
  }
  warm_run_args ra;
  memset(&ra, 0, sizeof ra);
  ra.struct_size = sizeof ra;
  ra.prompt = "\xff not text";
  G3T_CHECK(s.d->run(s.g, &ra, &err) == WARM_EINVAL && strstr(err.msg, "UTF-8"),
            "invalid UTF-8 refused: %s", err.msg);
  ra.prompt = "a fox";
  ra.max_tokens = 200;
  G3T_CHECK(s.d->run(s.g, &ra, &err) == WARM_EINVAL && strstr(err.msg, "128"),
            "a run's max_tokens off the register grid is refused: %s", err.msg);
  inst_close(&s);
}

/* ---- fingerprint
 * ---------------------------------------------------------------- */

static void fingerprint_of(const char *variant, char fp[65]) {
  inst s;
  fp[0] = 0;
  if (inst_open(&s, variant, 128, WARM_F32, 0) == 0) {
    warm_error err = {0};
    G3T_CHECK(s.d->fingerprint(s.g, fp, &err) == 0, "%s", err.msg);
  }
  inst_close(&s);
}

static void touch(const char *path) {
  struct timeval tv[2];
  gettimeofday(&tv[0], NULL);
  tv[0].tv_sec += 7;
  tv[1] = tv[0];
  G3T_CHECK(utimes(path, tv) == 0, "utimes %s", path);
}

static int copy_file(const char *from, const char *to) {
  FILE *i = fopen(from, "rb"), *o = fopen(to, "wb");
  char buf[1 << 16];
  size_t n;
  int rc = i && o ? 0 : -1;
  while (!rc && (n = fread(buf, 1, sizeof buf, i)) > 0)
    if (fwrite(buf, 1, n, o) != n) rc = -1;
  if (i) fclose(i);
  if (o && fclose(o)) rc = -1;
  return rc;
}

/* On private copies of the checkpoints (other tests read the fixture's files
 * at the same time, and their fingerprints must not move under them). */
static void check_fingerprint(void) {
  char a[65], b[65], c[65], d[65], path[700], from[700];
  char saved_ck[512], saved_gemma[600];
  memcpy(saved_ck, ckdir, sizeof ckdir);
  memcpy(saved_gemma, gemma, sizeof gemma);
  char tmp[] = "/tmp/warm-lt2-fp-XXXXXX";
  if (!mkdtemp(tmp)) {
    G3T_CHECK(0, "mkdtemp");
    return;
  }
  snprintf(ckdir, sizeof ckdir, "%s", tmp);
  snprintf(gemma, sizeof gemma, "%s/gemma", tmp);
  mkdir(gemma, 0755);
  static const char *const files[3] = {"config.json", "model.safetensors",
                                       "tokenizer.model"};
  for (int i = 0; i < 3; i++) {
    snprintf(from, sizeof from, "%s/%s", saved_gemma, files[i]);
    snprintf(path, sizeof path, "%s/%s", gemma, files[i]);
    G3T_CHECK(copy_file(from, path) == 0, "copy %s", from);
  }
  snprintf(from, sizeof from, "%s/ltx2_v20.safetensors", saved_ck);
  G3T_CHECK(copy_file(from, ltx_file("v20", path, sizeof path)) == 0, "copy %s",
            from);
  fingerprint_of("v20", a);
  fingerprint_of("v20", b);
  G3T_CHECK(a[0] && !strcmp(a, b), "stable fingerprint");
  /* Placement does not enter it: the same instance placed two ways. */
  inst s;
  if (inst_open(&s, "v20", 128, WARM_F32, 0) == 0) {
    warm_error err = {0};
    char f1[65], f2[65];
    warm_place_req r1 = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
    warm_place_req r2 = {WARM_PLACE_STREAM, 2, WARM_SOURCE_MMAP};
    s.d->place(s.g, &r1, &err);
    s.d->fingerprint(s.g, f1, &err);
    s.d->place(s.g, &r2, &err);
    s.d->fingerprint(s.g, f2, &err);
    G3T_CHECK(!strcmp(f1, f2) && !strcmp(f1, a), "placement-independent");
  }
  inst_close(&s);
  touch(ltx_file("v20", path, sizeof path));
  fingerprint_of("v20", c);
  G3T_CHECK(strcmp(a, c) != 0, "the LTX-2 file changes the fingerprint");
  snprintf(path, sizeof path, "%s/model.safetensors", gemma);
  touch(path);
  fingerprint_of("v20", d);
  G3T_CHECK(strcmp(c, d) != 0, "the Gemma folder changes the fingerprint");
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  G3T_CHECK(system(cmd) == 0, "remove %s", tmp);
  memcpy(ckdir, saved_ck, sizeof ckdir);
  memcpy(gemma, saved_gemma, sizeof gemma);
}

/* ---- bad input
 * ---------------------------------------------------------------- */

static void expect_refusal(const warm_kv *keys, uint32_t n, const char *weights,
                           const char *needle, const char *what) {
  warm_device cpu = {WARM_DEVICE_CPU, 0};
  warm_component_config cc = g3t_config(weights, cpu, WARM_F32, keys, n);
  g3t_host h;
  g3t_host_init(&h, cpu, 0);
  const warm_plugin_desc *d = lt2_descriptor();
  warm_instance *g = NULL;
  warm_error err = {0}, verr = {0};
  int rc = d->create(&h.svc, &cc, &g, &err);
  int vrc = d->validate(&h.svc, &cc, &verr);
  G3T_CHECK(rc < 0 && strstr(err.msg, needle), "%s: create rc %d \"%s\"", what,
            rc, err.msg);
  G3T_CHECK(vrc < 0 && strstr(verr.msg, needle), "%s: validate rc %d \"%s\"",
            what, vrc, verr.msg);
  printf("%s -> %s\n", what, err.msg);
  if (g) d->destroy(g);
  g3t_host_fini(&h);
}

/* Copies src to dst without tensors whose name contains `drop`. */
static int copy_without(const char *src, const char *dst, const char *drop) {
  warm_st *st = NULL;
  warm_error err = {0};
  if (warm_st_open(src, &st, &err)) return -1;
  size_t n = warm_st_count(st), k = 0;
  warm_tensor *ts = calloc(n, sizeof *ts);
  for (size_t i = 0; i < n; i++) {
    const warm_st_entry *e = warm_st_at(st, i);
    if (strstr(e->name, drop)) continue;
    if (warm_st_get(st, e->name, &ts[k], &err) == 0) k++;
  }
  size_t nm = warm_st_metadata_count(st);
  warm_kv *meta = calloc(nm ? nm : 1, sizeof *meta);
  for (size_t i = 0; i < nm; i++)
    warm_st_metadata_at(st, i, &meta[i].key, &meta[i].value);
  int rc = warm_st_write_file(dst, ts, k, meta, (uint32_t)nm, &err);
  free(ts);
  free(meta);
  warm_st_close(st);
  return rc;
}

static void check_errors(void) {
  char lp[700], broken[700], other[700];
  ltx_file("v20", lp, sizeof lp);
  warm_kv k1[2] = {{"ltx_checkpoint", lp}, {"max_tokens", "100"}};
  expect_refusal(k1, 2, gemma, "multiple of 128", "max_tokens 100");
  warm_kv k2[1] = {{"max_tokens", "128"}};
  expect_refusal(k2, 1, gemma, "ltx_checkpoint", "no ltx_checkpoint");
  warm_kv k3[2] = {{"ltx_checkpoint", lp}, {"output", "all"}};
  expect_refusal(k3, 2, gemma, "unknown key", "unknown key");
  warm_kv k4[1] = {{"ltx_checkpoint", "/nonexistent/ltx2.safetensors"}};
  expect_refusal(k4, 1, gemma, "/nonexistent/ltx2.safetensors", "missing file");
  snprintf(broken, sizeof broken, "%s/broken.safetensors", ckdir);
  G3T_CHECK(copy_without(lp, broken, "transformer_1d_blocks.1.ff.net.2.bias") ==
                0,
            "write the broken file");
  warm_kv k5[1] = {{"ltx_checkpoint", broken}};
  expect_refusal(k5, 1, gemma, "transformer_1d_blocks.1.ff.net.2.bias",
                 "a connector tensor missing");
  /* A Gemma with another hidden size than the projection expects. */
  snprintf(other, sizeof other, "%s/gemma-other", ckdir);
  char cmd[2048], out[256];
  snprintf(cmd, sizeof cmd,
           "%s/bin/warm-mkmodel --arch gemma3 --preset tiny --seed 5 --quiet "
           "--set hidden_size=32 --out %s",
           WARM_BUILD_DIR, other);
  FILE *p = popen(cmd, "r");
  while (p && fgets(out, sizeof out, p)) {
  }
  G3T_CHECK(p && pclose(p) == 0, "mkmodel for the mismatched Gemma");
  warm_kv k6[1] = {{"ltx_checkpoint", lp}};
  expect_refusal(k6, 1, other, "aggregate_embed.weight",
                 "Gemma hidden 32 against a projection for 64");
}

int main(void) {
  const char *root = getenv("LT2_CKPT_DIR");
  snprintf(ckdir, sizeof ckdir, "%s",
           root ? root : WARM_BUILD_DIR "/ltx2-text-ckpt");
  snprintf(gemma, sizeof gemma, "%s/gemma", ckdir);
  check_parity("v20");
  check_parity("v23");
  check_parity("v20i");
  check_placements("v20", 256);
  check_placements("v23", 128);
  check_stream_ledger("v20", 256);
  check_stream_ledger("v23", 128);
  check_dtypes("v23", 128);
  check_prompts();
  check_errors();
  check_fingerprint();
  if (g3t_failures) {
    fprintf(stderr, "test_ltx2_text: %d check(s) failed\n", g3t_failures);
    return 1;
  }
  printf("test_ltx2_text: all checks passed\n");
  return 0;
}
