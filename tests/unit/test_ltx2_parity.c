/*
 * Parity of transformer_ltx2.so with ltx-core 1.0.0: each golden file in
 * tests/data/ltx2 (written by tests/parity/ltx2.py with ltx-core itself)
 * holds run inputs under the ABI 1.2 names, the perturbations of its passes
 * and the reference velocities, and names its checkpoint: metadata "ckpt",
 * made by ctest's ltx2_checkpoints fixture with warm-mkmodel under
 * <build>/ltx2-ckpt (the video-only golden carries its checkpoint itself).
 * The plugin runs f32 on the cpu:
 *   - the whole batch in one call, against the reference (<= 1e-5 rel.);
 *   - each pass alone, against its slice of the reference and of the batch;
 *   - streamed (window 1) == resident, bitwise;
 *   - ledger peak <= estimate for both placements;
 *   - bf16 and fp8 storage within a loose bound (they round the weights);
 *   - the LoRA case: `lora = FILE S` (fused) and `lora.NAME = FILE S` run
 *     with the adapter, both against the reference fused in f32, and the
 *     base without the adapter differing; and the adapter equal to the
 *     fused weights on text contexts longer than the token count.
 *
 *   test_ltx2_parity CASE...   (e.g. v20_split v23_split)
 */
#include "test_ltxv_host.h"

#define TOL 1e-5

#define LT2_CKPT WARM_BUILD_DIR "/ltx2-ckpt"

typedef struct gold {
  warm_st *g;
  char path[1024];
  char ckpt[1024]; /* the weights to run */
  warm_tensor in[10];
  uint32_t n_in;
  warm_tensor ref[2]; /* video, audio (ndim 0 when absent) */
  warm_perturbation pt[16];
  uint32_t blocks[16][8];
  uint32_t n_pt;
  int64_t B;
} gold;

static const char *const NAMES[10] = {
    "video_latent",    "video_timesteps", "video_sigma",     "video_positions",
    "video_context",   "audio_latent",    "audio_timesteps", "audio_sigma",
    "audio_positions", "audio_context"};

static int gold_open(const char *name, gold *d) {
  memset(d, 0, sizeof *d);
  snprintf(d->path, sizeof d->path, "%s/ltx2/%s.safetensors", WARM_TEST_DATA,
           name);
  warm_error err = {0};
  if (warm_st_open(d->path, &d->g, &err)) {
    fprintf(stderr, "FAIL: %s\n", err.msg);
    return -1;
  }
  for (int i = 0; i < 10; i++)
    if (warm_st_find(d->g, NAMES[i]) &&
        !warm_st_get(d->g, NAMES[i], &d->in[d->n_in], &err)) {
      d->in[d->n_in].name = NAMES[i];
      d->n_in++;
    }
  const char *ck = warm_st_metadata(d->g, "ckpt");
  if (ck)
    snprintf(d->ckpt, sizeof d->ckpt, "%s/%s.safetensors", LT2_CKPT, ck);
  else
    snprintf(d->ckpt, sizeof d->ckpt, "%s", d->path);
  if (warm_st_get(d->g, "ref.video_velocity", &d->ref[0], &err)) return -1;
  if (warm_st_find(d->g, "ref.audio_velocity"))
    warm_st_get(d->g, "ref.audio_velocity", &d->ref[1], &err);
  d->B = d->in[0].shape[0];
  /* "pass:kind:blocks;..." with blocks "*" for every block. */
  const char *s = warm_st_metadata(d->g, "perturbations");
  while (s && *s && d->n_pt < 16) {
    warm_perturbation *p = &d->pt[d->n_pt];
    unsigned pass = 0;
    int kind = 0, used = 0;
    if (sscanf(s, "%u:%d:%n", &pass, &kind, &used) < 2) break;
    s += used;
    p->pass = pass;
    p->kind = (warm_perturb_kind)kind;
    if (*s == '*') {
      s++;
    } else {
      p->blocks = d->blocks[d->n_pt];
      while (*s >= '0' && *s <= '9' && p->n_blocks < 8) {
        d->blocks[d->n_pt][p->n_blocks++] =
            (uint32_t)strtoul(s, (char **)&s, 10);
        if (*s == ',') s++;
      }
    }
    d->n_pt++;
    if (*s == ';') s++;
  }
  return 0;
}

/* Inputs of pass b alone: views into the golden tensors. */
static void slice(const gold *d, int64_t b, warm_tensor *out) {
  for (uint32_t i = 0; i < d->n_in; i++) {
    out[i] = d->in[i];
    int64_t per = warm_tensor_numel(&d->in[i]) / d->in[i].shape[0];
    out[i].shape[0] = 1;
    out[i].data = (float *)d->in[i].data + b * per;
  }
}

/* The golden's inputs with each text context tiled to S rows: more context
 * rows than tokens, which attn2's to_k / to_v see. */
static int long_context(const gold *d, int64_t S, warm_tensor *out,
                        float **bufs) {
  for (uint32_t i = 0; i < d->n_in; i++) {
    out[i] = d->in[i];
    bufs[i] = NULL;
    if (!strstr(d->in[i].name, "_context")) continue;
    int64_t B = d->in[i].shape[0], S0 = d->in[i].shape[1],
            E = d->in[i].shape[2];
    if (!(bufs[i] = malloc(sizeof(float) * (size_t)(B * S * E)))) return -1;
    for (int64_t b = 0; b < B; b++)
      for (int64_t t = 0; t < S; t++)
        memcpy(bufs[i] + (b * S + t) * E,
               (const float *)d->in[i].data + (b * S0 + t % S0) * E,
               sizeof(float) * (size_t)E);
    out[i].shape[1] = S;
    out[i].data = bufs[i];
  }
  return 0;
}

typedef struct res {
  warm_tensor out[2];
  int n;
} res;

static int run(lt_host *h, warm_instance *inst, const warm_tensor *in,
               uint32_t n_in, const warm_perturbation *pt, uint32_t n_pt,
               const char *adapter, res *r, const char *label) {
  warm_error err = {0};
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.inputs = in;
  a.n_inputs = n_in;
  a.perturbations = pt;
  a.n_perturbations = n_pt;
  a.adapter = adapter;
  int rc = h->desc->run(inst, &a, &err);
  LT_CHECK(rc == 0, "%s: run: %s", label, err.msg);
  memset(r, 0, sizeof *r);
  if (rc) return rc;
  r->n = (int)a.n_outputs;
  for (uint32_t i = 0; i < a.n_outputs; i++)
    r->out[i] = a.outputs[i];
  return 0;
}

static void res_free(res *r) {
  for (int i = 0; i < r->n; i++)
    warm_tensor_free(&r->out[i]);
  r->n = 0;
}

/* rel err of r's outputs vs refs (pass b0 .. b0+nb of the references). */
static double cmp_ref(const res *r, const gold *d, int64_t b0, int64_t nb) {
  double worst = 0;
  int k = 0;
  for (int m = 0; m < 2; m++) {
    if (!d->ref[m].ndim) continue;
    if (k >= r->n) return INFINITY;
    const warm_tensor *o = &r->out[k++];
    size_t per = (size_t)(warm_tensor_numel(&d->ref[m]) / d->ref[m].shape[0]);
    if ((size_t)warm_tensor_numel(o) != per * (size_t)nb) return INFINITY;
    double e = lt_rel_err(o->data, (const float *)d->ref[m].data + b0 * per,
                          per * (size_t)nb, NULL);
    if (e > worst) worst = e;
  }
  return worst;
}

static int same_bytes(const res *a, const res *b) {
  if (a->n != b->n) return 0;
  for (int i = 0; i < a->n; i++)
    if (warm_tensor_numel(&a->out[i]) != warm_tensor_numel(&b->out[i]) ||
        memcmp(a->out[i].data, b->out[i].data,
               (size_t)warm_tensor_numel(&a->out[i]) * sizeof(float)))
      return 0;
  return 1;
}

static warm_instance *make(lt_host *h, const gold *d, warm_dtype dt,
                           const warm_place_req *req, warm_estimate *est) {
  warm_error err = {0};
  warm_component_config cfg = lt_config(h, d->ckpt, dt);
  warm_instance *inst = NULL;
  if (h->desc->create(&h->svc, &cfg, &inst, &err)) {
    LT_CHECK(0, "create: %s", err.msg);
    return NULL;
  }
  warm_job_shape js = {8, 9, 64, 96, (uint32_t)d->B};
  LT_CHECK(h->desc->estimate(inst, req, &js, est, &err) == 0, "estimate: %s",
           err.msg);
  warm_ledger_mark_reset(h->ledger);
  if (h->desc->place(inst, req, &err)) {
    LT_CHECK(0, "place: %s", err.msg);
    h->desc->destroy(inst);
    return NULL;
  }
  return inst;
}

static void check_peak(lt_host *h, const warm_estimate *e, const char *label) {
  uint64_t bound = e->persistent + e->window + e->workspace;
  LT_CHECK(lt_peak(h) <= bound,
           "%s: ledger peak %llu exceeds the estimate %llu", label,
           (unsigned long long)lt_peak(h), (unsigned long long)bound);
}

/* bf16_activations on bf16 weights: auto (the default) rounds activations
 * to bf16 before each GEMM, as true does, bitwise; false keeps them f32, a
 * different computation as close to the reference, with its own
 * fingerprint; a bad value is refused by name. Adds the key to h last. */
static void bf16_activations(lt_host *h, const gold *d, const char *name) {
  warm_place_req resident = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_estimate est;
  warm_error err = {0};
  char fp[3][65];
  res out[3];
  memset(out, 0, sizeof out);
  int ok = 1;
  for (int i = 0; i < 3 && ok; i++) { /* no key (the default), true, false */
    if (i == 1) lt_key(h, "bf16_activations", "true");
    if (i == 2) h->keys[h->n_keys - 1].value = "false";
    warm_instance *inst = make(h, d, WARM_BF16, &resident, &est);
    ok = inst && h->desc->fingerprint(inst, fp[i], &err) == 0 &&
         run(h, inst, d->in, d->n_in, d->pt, d->n_pt, NULL, &out[i], name) == 0;
    if (inst) h->desc->destroy(inst);
  }
  LT_CHECK(ok, "%s: bf16_activations runs: %s", name, err.msg);
  if (ok) {
    double e = cmp_ref(&out[2], d, 0, d->B);
    printf("%-18s bf16, f32 activations rel err %.3g (bound 5e-2)\n", name, e);
    LT_CHECK(e <= 5e-2, "%s: bf16 with f32 activations error %.3g", name, e);
    LT_CHECK(same_bytes(&out[0], &out[1]) && !strcmp(fp[0], fp[1]),
             "%s: bf16_activations auto differs from true", name);
    LT_CHECK(!same_bytes(&out[0], &out[2]) && strcmp(fp[0], fp[2]),
             "%s: bf16_activations false computes the same as auto", name);
  }
  for (int i = 0; i < 3; i++)
    res_free(&out[i]);
  if (!ok) return;
  h->keys[h->n_keys - 1].value = "yes";
  warm_component_config cfg = lt_config(h, d->ckpt, WARM_BF16);
  warm_instance *bad = NULL;
  LT_CHECK(h->desc->create(&h->svc, &cfg, &bad, &err) == WARM_EINVAL &&
               strstr(err.msg, "bf16_activations") && strstr(err.msg, "yes"),
           "%s: bf16_activations = yes: %s", name, err.msg);
  if (bad) h->desc->destroy(bad);
}

static void parity(const char *name) {
  gold d;
  if (gold_open(name, &d)) {
    lt_failures++;
    warm_st_close(d.g);
    return;
  }
  lt_host h;
  if (lt_host_init(&h, "transformer_ltx2", 1ull << 32)) {
    lt_failures++;
    warm_st_close(d.g);
    return;
  }
  if (warm_st_metadata(d.g, "position_dtype"))
    lt_key(&h, "position_dtype", warm_st_metadata(d.g, "position_dtype"));
  warm_place_req resident = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_place_req stream = {WARM_PLACE_STREAM, 1, WARM_SOURCE_PINNED};
  warm_estimate est;
  char label[160];
  warm_instance *inst = make(&h, &d, WARM_F32, &resident, &est);
  if (!inst) goto out;
  res all, one, st;
  if (run(&h, inst, d.in, d.n_in, d.pt, d.n_pt, NULL, &all, name) == 0) {
    double e = cmp_ref(&all, &d, 0, d.B);
    printf("%-18s batch of %lld   rel err %.3g (tol %.0e)\n", name,
           (long long)d.B, e, TOL);
    LT_CHECK(e <= TOL, "%s: batch relative error %.3g", name, e);
    check_peak(&h, &est, name);
    /* Each pass alone: its perturbations renumbered to pass 0. */
    for (int64_t b = 0; b < d.B; b++) {
      warm_tensor in1[10];
      warm_perturbation p1[16];
      uint32_t n1 = 0;
      slice(&d, b, in1);
      for (uint32_t i = 0; i < d.n_pt; i++)
        if (d.pt[i].pass == (uint32_t)b) {
          p1[n1] = d.pt[i];
          p1[n1++].pass = 0;
        }
      snprintf(label, sizeof label, "%s pass %lld", name, (long long)b);
      if (run(&h, inst, in1, d.n_in, p1, n1, NULL, &one, label)) continue;
      double e1 = cmp_ref(&one, &d, b, 1);
      printf("%-18s pass %lld alone rel err %.3g\n", name, (long long)b, e1);
      LT_CHECK(e1 <= TOL, "%s: relative error %.3g", label, e1);
      /* Against the same pass in the batch. */
      double eb = 0;
      for (int k = 0; k < one.n; k++) {
        size_t per = (size_t)warm_tensor_numel(&one.out[k]);
        double x =
            lt_rel_err(one.out[k].data,
                       (float *)all.out[k].data + (size_t)b * per, per, NULL);
        if (x > eb) eb = x;
      }
      LT_CHECK(eb <= TOL, "%s: alone vs in the batch %.3g", label, eb);
      res_free(&one);
    }
  }
  /* More distinct timestep values than max_timestep_values (16, when the
   * case has more tokens than that): refused by name, nothing left booked
   * (lt_host_fini checks), and the instance still serves. */
  if (warm_tensor_numel(&d.in[1]) > 16) {
    warm_tensor in2[10];
    memcpy(in2, d.in, sizeof in2);
    float *ts = malloc((size_t)warm_tensor_numel(&d.in[1]) * sizeof *ts);
    for (int64_t i = 0; i < warm_tensor_numel(&d.in[1]); i++)
      ts[i] = 0.01f * (float)i;
    in2[1].data = ts;
    warm_error err = {0};
    warm_run_args a;
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    a.inputs = in2;
    a.n_inputs = d.n_in;
    LT_CHECK(h.desc->run(inst, &a, &err) == WARM_EINVAL &&
                 strstr(err.msg, "video_timesteps") &&
                 strstr(err.msg, "max_timestep_values"),
             "%s: too many timestep values: %s", name, err.msg);
    free(ts);
    LT_CHECK(run(&h, inst, d.in, d.n_in, d.pt, d.n_pt, NULL, &one, name) == 0 &&
                 same_bytes(&one, &all),
             "%s: the instance serves on after a refused run", name);
    res_free(&one);
  }
  h.desc->destroy(inst);
  /* Streamed through a window of one block: the same bytes. */
  inst = make(&h, &d, WARM_F32, &stream, &est);
  if (inst) {
    if (run(&h, inst, d.in, d.n_in, d.pt, d.n_pt, NULL, &st, name) == 0) {
      LT_CHECK(same_bytes(&st, &all), "%s: streamed differs from resident",
               name);
      check_peak(&h, &est, "stream");
      res_free(&st);
    }
    h.desc->destroy(inst);
  }
  /* Rounded storage: bf16 and fp8 stay close to the f32 reference. */
  warm_dtype dts[2] = {WARM_BF16, WARM_FP8_E4M3};
  double tols[2] = {0.05, 0.25};
  for (int i = 0; i < 2; i++) {
    inst = make(&h, &d, dts[i], &resident, &est);
    if (!inst) continue;
    if (run(&h, inst, d.in, d.n_in, d.pt, d.n_pt, NULL, &st, name) == 0) {
      double e = cmp_ref(&st, &d, 0, d.B);
      printf("%-18s %s storage rel err %.3g (bound %.2g)\n", name,
             warm_dtype_name(dts[i]), e, tols[i]);
      LT_CHECK(e <= tols[i], "%s: %s error %.3g", name, warm_dtype_name(dts[i]),
               e);
      check_peak(&h, &est, warm_dtype_name(dts[i]));
      res_free(&st);
    }
    h.desc->destroy(inst);
  }
  bf16_activations(&h, &d, name);
  res_free(&all);
out:
  lt_host_fini(&h);
  warm_st_close(d.g);
}

/* Fused LoRA and the run-time adapter against the f32-fused reference. */
static void lora(const char *name) {
  gold d;
  if (gold_open(name, &d) || !warm_st_metadata(d.g, "lora")) {
    LT_CHECK(0, "%s: not a LoRA golden", name);
    warm_st_close(d.g);
    return;
  }
  char val[1200];
  snprintf(val, sizeof val, "%s/%s.safetensors %s", LT2_CKPT,
           warm_st_metadata(d.g, "lora"),
           warm_st_metadata(d.g, "lora_strength"));
  warm_place_req resident = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_place_req stream = {WARM_PLACE_STREAM, 1, WARM_SOURCE_PINNED};
  warm_estimate est;
  res fused = {0}, rt = {0}, base = {0}, fused_long = {0}, rt_long = {0};
  warm_tensor lin[10];
  float *lbuf[10] = {0};
  int have_long = long_context(&d, 8 * d.in[0].shape[1], lin, lbuf) == 0;
  LT_CHECK(have_long, "out of memory");
  for (int mode = 0; mode < 2; mode++) {
    lt_host h;
    if (lt_host_init(&h, "transformer_ltx2", 1ull << 32)) {
      lt_failures++;
      break;
    }
    lt_key(&h, mode ? "lora.distilled" : "lora", val);
    warm_instance *inst =
        make(&h, &d, WARM_F32, mode ? &stream : &resident, &est);
    if (inst) {
      res *r = mode ? &rt : &fused;
      if (!run(&h, inst, d.in, d.n_in, NULL, 0, mode ? "distilled" : NULL, r,
               name)) {
        double e = cmp_ref(r, &d, 0, d.B);
        printf("%-18s %s rel err %.3g (tol %.0e)\n", name,
               mode ? "run-time adapter (streamed)" : "fused", e, TOL);
        LT_CHECK(e <= TOL, "%s: %s error %.3g", name,
                 mode ? "adapter" : "fused", e);
        check_peak(&h, &est, mode ? "adapter" : "fused");
      }
      if (have_long)
        run(&h, inst, lin, d.n_in, NULL, 0, mode ? "distilled" : NULL,
            mode ? &rt_long : &fused_long, "long context");
      if (mode) {
        run(&h, inst, d.in, d.n_in, NULL, 0, NULL, &base, "base");
        double e = cmp_ref(&base, &d, 0, d.B);
        LT_CHECK(e > 1e-3,
                 "%s: the base without the adapter matches the "
                 "fused reference (%.3g): the adapter did nothing",
                 name, e);
        warm_error err = {0};
        warm_run_args a;
        memset(&a, 0, sizeof a);
        a.struct_size = sizeof a;
        a.inputs = d.in;
        a.n_inputs = d.n_in;
        a.adapter = "nope";
        LT_CHECK(h.desc->run(inst, &a, &err) == WARM_EINVAL &&
                     strstr(err.msg, "\"nope\""),
                 "an unknown adapter must be refused by name: %s", err.msg);
      }
      h.desc->destroy(inst);
    }
    lt_host_fini(&h);
  }
  /* The adapter stored in bf16 next to bf16 weights: close to the f32
   * reference, like any bf16 run. */
  {
    lt_host h;
    if (lt_host_init(&h, "transformer_ltx2", 1ull << 32) == 0) {
      lt_key(&h, "lora.distilled", val);
      warm_instance *inst = make(&h, &d, WARM_BF16, &resident, &est);
      res b16 = {0};
      if (inst && !run(&h, inst, d.in, d.n_in, NULL, 0, "distilled", &b16,
                       "bf16 adapter")) {
        double e = cmp_ref(&b16, &d, 0, d.B);
        printf("%-18s run-time adapter, bf16 rel err %.3g (bound 5e-2)\n", name,
               e);
        LT_CHECK(e <= 5e-2, "bf16 adapter error %.3g", e);
        check_peak(&h, &est, "bf16 adapter");
        res_free(&b16);
      }
      if (inst) h.desc->destroy(inst);
      lt_host_fini(&h);
    } else {
      lt_failures++;
    }
  }
  if (fused.n && rt.n) {
    double e = 0;
    for (int k = 0; k < fused.n; k++) {
      double x = lt_rel_err(rt.out[k].data, fused.out[k].data,
                            (size_t)warm_tensor_numel(&fused.out[k]), NULL);
      if (x > e) e = x;
    }
    printf("%-18s run-time vs fused rel err %.3g\n", name, e);
    LT_CHECK(e <= TOL, "run-time vs fused %.3g", e);
  }
  if (fused_long.n && rt_long.n) {
    double e = 0;
    for (int k = 0; k < fused_long.n; k++) {
      double x =
          lt_rel_err(rt_long.out[k].data, fused_long.out[k].data,
                     (size_t)warm_tensor_numel(&fused_long.out[k]), NULL);
      if (x > e) e = x;
    }
    printf("%-18s run-time vs fused, %lld context rows, rel err %.3g\n", name,
           (long long)lin[d.n_in - 1].shape[1], e);
    LT_CHECK(e <= TOL, "long context: run-time vs fused %.3g", e);
  }
  res_free(&fused);
  res_free(&rt);
  res_free(&base);
  res_free(&fused_long);
  res_free(&rt_long);
  for (int i = 0; i < 10; i++)
    free(lbuf[i]);
  warm_st_close(d.g);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strstr(argv[i], "lora"))
      lora(argv[i]);
    else
      parity(argv[i]);
  }
  if (lt_failures) fprintf(stderr, "%d failure(s)\n", lt_failures);
  return lt_failures ? 1 : 0;
}
