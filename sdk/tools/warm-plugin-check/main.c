/*
 * warm-plugin-check PLUGIN.so [options] — the plugin conformance checker.
 *
 * Loads the plugin exactly as warmd does (warm_plugin_open), then exercises
 * every capability it declares through a services table backed by a real
 * warm_ledger (host.c). One "PASS|FAIL|SKIP name: detail" line per check;
 * exit 0 when nothing failed, 1 on any FAIL, 2 when the file cannot be
 * loaded as a plugin or the command line is wrong.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chk.h"
#include "wk.h"

static int n_places(const warm_plugin_desc *d, warm_placement out[2]) {
  int n = 0;
  if (d->placements & WARM_PLACE_RESIDENT) out[n++] = WARM_PLACE_RESIDENT;
  if (d->placements & WARM_PLACE_STREAM) out[n++] = WARM_PLACE_STREAM;
  return n;
}

static int n_dtypes(const warm_plugin_desc *d, warm_dtype out[3]) {
  int n = 0;
  if (d->dtypes & WARM_DTYPECAP_F32) out[n++] = WARM_F32;
  if (d->dtypes & WARM_DTYPECAP_BF16) out[n++] = WARM_BF16;
  if (d->dtypes & WARM_DTYPECAP_FP8) out[n++] = WARM_FP8_E4M3;
  return n;
}

static const char *fmt_size(uint64_t b, char *buf) {
  return warm_format_size(b, buf, 32);
}

/* ---- checks -------------------------------------------------------------- */

static void check_unknown_key(const warm_plugin_desc *d, const chk_opts *o,
                              warm_dtype dt) {
  static const warm_kv bogus = {"warm_plugin_check_bogus", "1"};
  chk_inst ci;
  warm_error e = {0};
  int rc = chk_create(&ci, d, o, "unknown_key", dt, &bogus, 1, &e);
  if (rc == WARM_OK)
    chk_report("FAIL", "unknown_key",
               "create accepted the unknown key 'warm_plugin_check_bogus'");
  else if (!strstr(e.msg, "warm_plugin_check_bogus"))
    chk_report(
        "FAIL", "unknown_key",
        "create refused the unknown key but the message does not name it: "
        "%s",
        e.msg);
  else
    chk_report("PASS", "unknown_key", "refused: %s", e.msg);
  chk_finish(&ci);
}

static void check_validate(const warm_plugin_desc *d, const chk_opts *o,
                           warm_dtype dt) {
  int (*validate)(const warm_services *, const warm_component_config *,
                  warm_error *) = WARM_DESC_OPT(d, validate);
  if (!validate) {
    chk_report("SKIP", "validate", "optional entry point not provided");
    return;
  }
  static const warm_kv bogus = {"warm_plugin_check_bogus", "1"};
  chk_inst good, bad;
  warm_error e = {0};
  /* create() fills the config; validate takes the same one. */
  if (chk_create(&good, d, o, "validate", dt, NULL, 0, &e)) {
    chk_report("FAIL", "validate", "create failed: %s", e.msg);
    chk_finish(&good);
    return;
  }
  chk_call_begin("validate", (int)dt, 0);
  int rc = chk_call_end(validate(&good.host.svc, &good.cfg, &e));
  if (rc)
    chk_report("FAIL", "validate",
               "refused the configuration create accepts: %s", e.msg);
  chk_finish(&good);
  if (rc) return;
  chk_create(&bad, d, o, "validate", dt, &bogus, 1, &e);
  chk_call_begin("validate", (int)dt, 0);
  rc = validate(&bad.host.svc, &bad.cfg, &e);
  chk_call_end(0); /* the refusal wanted here is not a failure to report */
  if (rc == WARM_OK)
    chk_report("FAIL", "validate",
               "accepted the unknown key "
               "'warm_plugin_check_bogus'");
  else
    chk_report("PASS", "validate",
               "accepts the configuration, refuses an unknown key");
  chk_finish(&bad);
}

/* create/destroy (and create/place/run/destroy) repeatedly: the ledger and
 * the pinned count must return to zero each time. */
static void check_create_destroy(const warm_plugin_desc *d, const chk_opts *o,
                                 warm_dtype dt, int runnable) {
  char name[64], b1[32], b2[32];
  snprintf(name, sizeof name, "create_destroy[%s]", warm_dtype_name(dt));
  warm_placement ps[2];
  n_places(d, ps);
  for (int i = 0; i < 5; i++) {
    chk_inst ci;
    warm_error e = {0};
    int full = i >= 3; /* the last rounds place (and run) too */
    if (chk_create(&ci, d, o, "create_destroy", dt, NULL, 0, &e)) {
      chk_report("FAIL", name, "create #%d failed: %s", i + 1, e.msg);
      chk_finish(&ci);
      return;
    }
    if (full && chk_place(&ci, ps[0], &e) == WARM_OK && runnable) {
      chk_out out;
      if (chk_run(&ci, &out, NULL, &e) == WARM_OK) chk_out_free(&out);
    }
    if (!full && chk_host_device_bytes(&ci.host)) {
      chk_report("FAIL", name,
                 "create booked %s of device memory (must allocate "
                 "nothing on the device before place)",
                 fmt_size(chk_host_device_bytes(&ci.host), b1));
      chk_finish(&ci);
      return;
    }
    chk_call_begin("destroy", (int)dt, (int)ci.placed);
    d->destroy(ci.inst);
    chk_call_end(0);
    ci.inst = NULL;
    uint64_t dev = chk_host_device_bytes(&ci.host);
    uint64_t pin = ci.host.pinned_now;
    if (dev || pin || ci.host.n_allocs) {
      chk_report("FAIL", name,
                 "after destroy #%d the plugin still holds %s of device memory "
                 "and %s pinned in %u allocation(s)",
                 i + 1, fmt_size(dev, b1), fmt_size(pin, b2), ci.host.n_allocs);
      chk_finish(&ci);
      return;
    }
    chk_finish(&ci);
  }
  chk_report("PASS", name, "5 rounds (2 with place%s), ledger back to zero",
             runnable ? "+run" : "");
}

typedef struct class_sum {
  uint64_t persistent, window, workspace;
} class_sum;

static void sum_entry(void *user, const warm_ledger_entry *e) {
  class_sum *s = user;
  s->persistent += e->persistent;
  s->window += e->window;
  s->workspace += e->workspace;
}

/* The ledger's actual peak over place + run against the estimate. */
static void check_estimate(const warm_plugin_desc *d, const chk_opts *o,
                           warm_placement p, warm_dtype dt, int runnable) {
  char name[64], b1[32], b2[32], b3[32], b4[32];
  snprintf(name, sizeof name, "estimate[%s/%s]", warm_placement_name(p),
           warm_dtype_name(dt));
  chk_inst ci;
  warm_error e = {0};
  warm_estimate est;
  if (chk_create(&ci, d, o, "estimate", dt, NULL, 0, &e) ||
      chk_estimate(&ci, p, &est, &e)) {
    chk_report("FAIL", name, "%s", e.msg);
    chk_finish(&ci);
    return;
  }
  uint64_t total = est.persistent + est.window + est.workspace;
  warm_ledger_mark_reset(ci.host.ledger);
  if (chk_place(&ci, p, &e)) {
    chk_report("FAIL", name, "place failed: %s", e.msg);
    chk_finish(&ci);
    return;
  }
  class_sum placed = {0};
  warm_ledger_foreach(ci.host.ledger, sum_entry, &placed);
  int ran = 0;
  if (runnable) {
    chk_out out;
    if (chk_run(&ci, &out, NULL, &e)) {
      chk_report("FAIL", name, "run failed: %s", e.msg);
      chk_finish(&ci);
      return;
    }
    chk_out_free(&out);
    ran = 1;
  }
  uint64_t peak = warm_ledger_component_peak(ci.host.ledger, "estimate");
  if (placed.persistent > est.persistent || placed.window > est.window) {
    chk_report("FAIL", name,
               "place booked persistent %s / window %s, estimate says %s / %s",
               fmt_size(placed.persistent, b1), fmt_size(placed.window, b2),
               fmt_size(est.persistent, b3), fmt_size(est.window, b4));
  } else if (peak > total) {
    chk_report(
        "FAIL", name,
        "ledger peak %s is above the estimate %s (persistent %s + window "
        "+ workspace)",
        fmt_size(peak, b1), fmt_size(total, b2), fmt_size(est.persistent, b3));
  } else if (ci.host.pinned_peak > est.host_pinned) {
    chk_report("FAIL", name, "pinned host peak %s is above the estimate %s",
               fmt_size(ci.host.pinned_peak, b1),
               fmt_size(est.host_pinned, b2));
  } else {
    chk_report("PASS", name, "ledger peak %s of estimate %s (%.0f%%)%s",
               fmt_size(peak, b1), fmt_size(total, b2),
               total ? 100.0 * (double)peak / (double)total : 100.0,
               ran ? "" : "; place only, run skipped");
  }
  chk_finish(&ci);
}

/* A reference run: fresh instance, placement p, dtype dt. */
static int reference(const warm_plugin_desc *d, const chk_opts *o,
                     warm_placement p, warm_stream_source src, warm_dtype dt,
                     chk_out *out, warm_error *e) {
  chk_inst ci;
  int rc = chk_create(&ci, d, o, "reference", dt, NULL, 0, e);
  ci.source = src;
  if (!rc) rc = chk_place(&ci, p, e);
  if (!rc) rc = chk_run(&ci, out, NULL, e);
  chk_finish(&ci);
  return rc;
}

static int same(const chk_out *a, const chk_out *b) {
  return a->n == b->n && memcmp(a->bytes, b->bytes, a->n) == 0;
}

static void check_outputs_and_determinism(const warm_plugin_desc *d,
                                          const chk_opts *o, warm_placement p,
                                          warm_dtype dt) {
  chk_inst ci;
  warm_error e = {0};
  chk_out a = {0}, b = {0};
  if (chk_create(&ci, d, o, "deterministic", dt, NULL, 0, &e) ||
      chk_place(&ci, p, &e) || chk_run(&ci, &a, NULL, &e) ||
      chk_run(&ci, &b, NULL, &e)) {
    chk_report("FAIL", "outputs", "%s", e.msg);
    chk_finish(&ci);
    chk_out_free(&a);
    return;
  }
  chk_finish(&ci);
  const char *bad = NULL;
  char why[160];
  if (a.nonfinite) {
    snprintf(why, sizeof why, "%d NaN/Inf values", a.nonfinite);
    bad = why;
  } else if (d->kind == WARM_KIND_UPSAMPLER) {
    /* latents [C, F, H, W] in -> latents [C, F, 2H, 2W] out. */
    char want[96];
    const int64_t *s = o->input_shape[0];
    snprintf(want, sizeof want, "latents f32 [%lld,%lld,%lld,%lld]",
             (long long)s[0], (long long)s[1], (long long)(2 * s[2]),
             (long long)(2 * s[3]));
    if (o->n_inputs < 1 || o->input_ndim[0] != 4 ||
        strncmp(a.desc, want, strlen(want)) != 0) {
      snprintf(why, sizeof why, "expected \"%s\" first", want);
      bad = why;
    }
  } else if (d->kind == WARM_KIND_AUDIO_DECODER) {
    if (strncmp(a.desc, "waveform f32 [", 14) != 0)
      bad = "first output is not \"waveform\" f32 [channels, samples]";
    else if (!strstr(a.desc, "; sample_rate i32 [1]"))
      bad = "no \"sample_rate\" i32 [1] output";
  } else if (d->kind == WARM_KIND_TEXT_ENCODER) {
    char want[64];
    uint32_t T = o->shape.max_tokens;
    snprintf(want, sizeof want, "mask i32 [%u]", T);
    /* Two output sets: "embeddings" [T, C] (+ "mask"), or LTX-2's
     * conditioning "video_context" [T, Cv], "audio_context" [T, Ca]
     * (+ "mask"). */
    if (strncmp(a.desc, "embeddings f32 [", 16) != 0 &&
        (strncmp(a.desc, "video_context f32 [", 19) != 0 ||
         !strstr(a.desc, "; audio_context f32 [")))
      bad = "first output is neither \"embeddings\" f32 nor "
            "\"video_context\" f32 with \"audio_context\" f32";
    else if (!strstr(a.desc, want)) {
      snprintf(why, sizeof why, "expected \"%s\" for max_tokens %u", want, T);
      bad = why;
    }
  }
  if (bad)
    chk_report("FAIL", "outputs", "%s (got %s)", bad, a.desc);
  else
    chk_report("PASS", "outputs", "%s", a.desc);
  if (same(&a, &b))
    chk_report("PASS", "deterministic", "two runs, same %zu bytes", a.n);
  else
    chk_report("FAIL", "deterministic", "two runs with the same input differ");
  chk_out_free(&a);
  chk_out_free(&b);
}

static void check_placements_agree(const warm_plugin_desc *d, const chk_opts *o,
                                   warm_dtype dt) {
  char name[64];
  snprintf(name, sizeof name, "placements_agree[%s]", warm_dtype_name(dt));
  warm_placement ps[2];
  if (n_places(d, ps) < 2) {
    chk_report("SKIP", name, "only one concrete placement declared");
    return;
  }
  chk_out r = {0}, s = {0};
  warm_error e = {0};
  if (reference(d, o, ps[0], WARM_SOURCE_PINNED, dt, &r, &e) ||
      reference(d, o, ps[1], WARM_SOURCE_PINNED, dt, &s, &e)) {
    chk_report("FAIL", name, "%s", e.msg);
  } else if (!same(&r, &s)) {
    chk_report("FAIL", name, "resident and stream outputs differ");
  } else {
    /* Streaming from the file's pages (mmap) must agree too, where the
     * plugin supports that source. */
    chk_out m = {0};
    warm_error me = {0};
    int mrc = reference(d, o, ps[1], WARM_SOURCE_MMAP, dt, &m, &me);
    if (mrc == WARM_EUNSUPPORTED)
      chk_report("PASS", name,
                 "resident and stream give the same %zu bytes (mmap source "
                 "unsupported: %s)",
                 r.n, me.msg);
    else if (mrc)
      chk_report("FAIL", name, "stream from mmap: %s", me.msg);
    else if (!same(&r, &m))
      chk_report("FAIL", name, "stream from mmap differs from resident");
    else
      chk_report(
          "PASS", name,
          "resident, stream (pinned) and stream (mmap) give the same %zu "
          "bytes",
          r.n);
    chk_out_free(&m);
  }
  chk_out_free(&r);
  chk_out_free(&s);
}

/* Switches placement on a live instance, back and forth, checking bytes and
 * that a refused switch leaves the old placement serving. */
static void check_live_placement(const warm_plugin_desc *d, const chk_opts *o,
                                 warm_dtype dt, int runnable) {
  warm_placement ps[2];
  if (!(d->flags & WARM_FLAG_LIVE_PLACEMENT)) {
    chk_report("SKIP", "live_placement",
               "WARM_FLAG_LIVE_PLACEMENT not declared");
    return;
  }
  if (n_places(d, ps) < 2) {
    chk_report("SKIP", "live_placement",
               "only one concrete placement declared");
    return;
  }
  chk_inst ci;
  warm_error e = {0};
  chk_out ref = {0}, got = {0};
  char b1[32], b2[32];
  int rc = chk_create(&ci, d, o, "live", dt, NULL, 0, &e);
  if (!rc) rc = chk_place(&ci, ps[0], &e);
  if (!rc && runnable) rc = chk_run(&ci, &ref, NULL, &e);
  for (int i = 1; !rc && i <= 3; i++) {
    warm_placement to = ps[i % 2];
    warm_estimate est;
    if ((rc = chk_estimate(&ci, to, &est, &e)) || (rc = chk_place(&ci, to, &e)))
      break;
    uint64_t held = chk_host_device_bytes(&ci.host);
    if (held > est.persistent + est.window) {
      rc = warm_error_set(&e, WARM_EINTERNAL,
                          "after switching to %s the instance holds %s, its "
                          "estimate says %s",
                          warm_placement_name(to), fmt_size(held, b1),
                          fmt_size(est.persistent + est.window, b2));
      break;
    }
    if (runnable) {
      if ((rc = chk_run(&ci, &got, NULL, &e))) break;
      int eq = same(&ref, &got);
      chk_out_free(&got);
      if (!eq) {
        rc = warm_error_set(&e, WARM_EINTERNAL,
                            "output after switching to %s differs",
                            warm_placement_name(to));
        break;
      }
    }
  }
  /* A switch the ledger refuses must leave the instance serving: either the
   * switch fails and the current placement still serves, or the plugin
   * freed its current placement to make room and retried (a demotion may),
   * and then serves in the new one within its estimate. */
  if (!rc) {
    ci.host.fail_at = ci.host.dev_alloc_calls; /* the next allocation */
    warm_error fe = {0};
    int frc = chk_place(&ci, ps[0], &fe); /* now in ps[1] after 3 flips */
    ci.host.fail_at = -1;
    warm_estimate est;
    if (frc == WARM_OK && ci.host.injected &&
        chk_estimate(&ci, ps[0], &est, &e) == WARM_OK &&
        chk_host_device_bytes(&ci.host) > est.persistent + est.window)
      rc = warm_error_set(&e, WARM_EINTERNAL,
                          "place retried after a refused allocation but holds "
                          "more than its estimate");
    if (!rc && runnable) {
      if ((rc = chk_run(&ci, &got, NULL, &e)) == WARM_OK) {
        if (!same(&ref, &got))
          rc = warm_error_set(&e, WARM_EINTERNAL,
                              "after a refused switch the output differs");
        chk_out_free(&got);
      } else {
        warm_error_set(&e, rc, "after a refused switch run fails: %s", e.msg);
      }
    }
  }
  if (rc)
    chk_report("FAIL", "live_placement", "%s", e.msg);
  else
    chk_report("PASS", "live_placement",
               "%s -> %s -> %s -> %s%s; a refused switch keeps serving",
               warm_placement_name(ps[0]), warm_placement_name(ps[1]),
               warm_placement_name(ps[0]), warm_placement_name(ps[1]),
               runnable ? ", same bytes each time" : "");
  chk_out_free(&ref);
  chk_finish(&ci);
}

static void check_cancel(const warm_plugin_desc *d, const chk_opts *o,
                         warm_placement p, warm_dtype dt) {
  chk_inst ci;
  warm_error e = {0};
  char b1[32];
  if (chk_create(&ci, d, o, "cancel", dt, NULL, 0, &e) ||
      chk_place(&ci, p, &e)) {
    chk_report("FAIL", "cancel", "%s", e.msg);
    chk_finish(&ci);
    return;
  }
  uint64_t placed = chk_host_device_bytes(&ci.host);
  ci.host.cancel = 1;
  int rc = chk_run(&ci, NULL, NULL, &e);
  ci.host.cancel = 0;
  uint64_t after = chk_host_device_bytes(&ci.host);
  chk_out out = {0};
  if (rc != WARM_ECANCELED)
    chk_report("FAIL", "cancel",
               "run with svc->cancelled() == 1 returned %d (%s), want "
               "WARM_ECANCELED",
               rc, warm_strerror(rc));
  else if (after != placed)
    chk_report("FAIL", "cancel", "a cancelled run left %s booked",
               fmt_size(after - placed, b1));
  else if (chk_run(&ci, &out, NULL, &e))
    chk_report("FAIL", "cancel", "the run after a cancelled one failed: %s",
               e.msg);
  else
    chk_report("PASS", "cancel",
               "WARM_ECANCELED, nothing left booked, next run "
               "fine");
  chk_out_free(&out);
  chk_finish(&ci);
}

/* Refuses each dev_alloc of place + run in turn: every one must come back
 * as an error, leave nothing booked behind, and the instance must work once
 * allocations succeed again. */
static void check_alloc_failure(const warm_plugin_desc *d, const chk_opts *o,
                                warm_placement p, warm_dtype dt, int runnable) {
  char name[64], b1[32];
  snprintf(name, sizeof name, "alloc_failure[%s]", warm_placement_name(p));
  chk_out ref = {0};
  warm_error e = {0};
  chk_inst ci;
  /* a clean pass counts the allocations */
  int rc = chk_create(&ci, d, o, "alloc_failure", dt, NULL, 0, &e);
  if (!rc) rc = chk_place(&ci, p, &e);
  if (!rc && runnable) rc = chk_run(&ci, &ref, NULL, &e);
  uint32_t calls = ci.host.dev_alloc_calls;
  chk_finish(&ci);
  if (rc) {
    chk_report("FAIL", name, "%s", e.msg);
    return;
  }
  if (calls == 0) {
    chk_report("SKIP", name, "place%s made no dev_alloc calls",
               runnable ? "+run" : "");
    return;
  }
  uint32_t tried = calls > 64 ? 64 : calls;
  for (uint32_t k = 0; k < tried && !rc; k++) {
    if ((rc = chk_create(&ci, d, o, "alloc_failure", dt, NULL, 0, &e))) break;
    ci.host.fail_at = k;
    uint64_t before = 0;
    int prc = chk_place(&ci, p, &e);
    int stage_rc = prc;
    if (prc == WARM_OK) {
      before = chk_host_device_bytes(&ci.host);
      stage_rc = runnable ? chk_run(&ci, NULL, NULL, &e) : WARM_OK;
    }
    ci.host.fail_at = -1;
    if (!ci.host.injected) {
      /* fewer allocations this time: fine, nothing to check */
    } else if (stage_rc >= 0) {
      rc = warm_error_set(&e, WARM_EINTERNAL,
                          "allocation #%u was refused but %s returned %d", k,
                          prc ? "place" : "run", stage_rc);
    } else if (chk_host_device_bytes(&ci.host) != before) {
      rc = warm_error_set(
          &e, WARM_EINTERNAL,
          "after refusing allocation #%u, %s is still "
          "booked by the failed %s",
          k, fmt_size(chk_host_device_bytes(&ci.host) - before, b1),
          prc ? "place" : "run");
    } else {
      chk_out got = {0};
      int r2 = prc ? chk_place(&ci, p, &e) : WARM_OK;
      if (!r2 && runnable) r2 = chk_run(&ci, &got, NULL, &e);
      if (r2)
        rc = warm_error_set(&e, r2,
                            "after refusing allocation #%u the instance does "
                            "not recover: %s",
                            k, e.msg);
      else if (runnable && !same(&ref, &got))
        rc = warm_error_set(&e, WARM_EINTERNAL,
                            "after refusing allocation #%u the output "
                            "differs",
                            k);
      chk_out_free(&got);
    }
    chk_finish(&ci);
  }
  if (rc)
    chk_report("FAIL", name, "%s", e.msg);
  else
    chk_report("PASS", name,
               "each of %u allocation(s) refused in turn: error "
               "returned, nothing leaked, instance recovers",
               tried);
  chk_out_free(&ref);
}

static int hex_ok(const char *s) {
  size_t n = strnlen(s, 65);
  if (n == 0 || n > 64) return 0;
  for (size_t i = 0; i < n; i++)
    if (!strchr("0123456789abcdefABCDEF", s[i])) return 0;
  return 1;
}

static void check_fingerprint(const warm_plugin_desc *d, const chk_opts *o,
                              warm_dtype dts[3], int ndt) {
  int (*fp)(warm_instance *, char[65], warm_error *) =
      WARM_DESC_OPT(d, fingerprint);
  if (!fp) {
    chk_report("SKIP", "fingerprint", "optional entry point not provided");
    return;
  }
  char f[3][65], g[65];
  warm_error e = {0};
  warm_placement ps[2];
  int np = n_places(d, ps);
  for (int i = 0; i < ndt; i++) {
    chk_inst a, b;
    memset(f[i], 0, 65);
    memset(g, 0, sizeof g);
    int rc = chk_create(&a, d, o, "fp_a", dts[i], NULL, 0, &e);
    if (!rc) rc = fp(a.inst, f[i], &e);
    if (!rc && !hex_ok(f[i]))
      rc = warm_error_set(&e, WARM_EINTERNAL,
                          "'%.64s' is not 1-64 hex characters", f[i]);
    if (!rc) rc = chk_place(&a, ps[np - 1], &e); /* placement must not matter */
    if (!rc)
      rc = chk_create(&b, d, o, "fp_b", dts[i], NULL, 0, &e);
    else
      memset(&b, 0, sizeof b);
    if (!rc && !(rc = chk_place(&b, ps[0], &e)) && !(rc = fp(b.inst, g, &e)) &&
        strcmp(f[i], g))
      rc = warm_error_set(&e, WARM_EINTERNAL,
                          "two instances of one configuration in different "
                          "placements disagree: %s vs %s",
                          f[i], g);
    chk_finish(&a);
    if (b.d) chk_finish(&b);
    if (rc) {
      chk_report("FAIL", "fingerprint", "%s", e.msg);
      return;
    }
    for (int j = 0; j < i; j++)
      if (!strcmp(f[i], f[j])) {
        chk_report("FAIL", "fingerprint", "dtypes %s and %s give the same %s",
                   warm_dtype_name(dts[j]), warm_dtype_name(dts[i]), f[i]);
        return;
      }
  }
  chk_report("PASS", "fingerprint",
             "%s (stable across instances and "
             "placements%s)",
             f[0], ndt > 1 ? ", distinct per dtype" : "");
}

/* ABI 1.1 info(): answers for a created instance, and for a text encoder
 * agrees with what run() produces. */
static void check_info(const warm_plugin_desc *d, const chk_opts *o,
                       warm_dtype dt, int runnable) {
  int (*info)(warm_instance *, warm_model_info *, warm_error *) =
      WARM_DESC_OPT(d, info);
  if (!info) {
    chk_report("SKIP", "info", "optional entry point (ABI 1.1) not provided");
    return;
  }
  chk_inst ci;
  warm_error e = {0};
  warm_model_info mi;
  memset(&mi, 0, sizeof mi);
  mi.struct_size = sizeof mi;
  int rc = chk_create(&ci, d, o, "info", dt, NULL, 0, &e);
  if (!rc) rc = info(ci.inst, &mi, &e);
  if (rc) {
    chk_report("FAIL", "info", "%s", e.msg);
    chk_finish(&ci);
    return;
  }
  if (d->kind == WARM_KIND_TEXT_ENCODER && runnable) {
    warm_run_args a;
    chk_out out = {0};
    warm_placement p = d->placements & WARM_PLACE_RESIDENT ? WARM_PLACE_RESIDENT
                                                           : WARM_PLACE_STREAM;
    if (!(rc = chk_place(&ci, p, &e)) && !(rc = chk_run(&ci, &out, &a, &e))) {
      const warm_tensor *t = &a.outputs[0];
      if (mi.embed_dim == 0 || t->ndim < 2 ||
          t->shape[t->ndim - 1] != (int64_t)mi.embed_dim)
        rc = warm_error_set(&e, WARM_EINTERNAL,
                            "info says embed_dim %u, run gives %s",
                            mi.embed_dim, out.desc);
    }
    chk_out_free(&out);
  }
  if (rc)
    chk_report("FAIL", "info", "%s", e.msg);
  else
    chk_report("PASS", "info",
               "embed_dim %u, latent_channels %u, compression t%u/s%u, "
               "max_tokens %u",
               mi.embed_dim, mi.latent_channels, mi.temporal_compression,
               mi.spatial_compression, mi.max_tokens);
  chk_finish(&ci);
}

int main(int argc, char **argv) {
  chk_opts o;
  int rc = chk_parse_args(argc, argv, &o);
  if (rc) return rc;
  chk_where_init();
  if (access(o.plugin_path, R_OK) != 0) {
    fprintf(stderr, "warm-plugin-check: %s: %s\n", o.plugin_path,
            strerror(errno));
    return 2;
  }
  warm_plugin *pl = NULL;
  warm_error e = {0};
  if (warm_plugin_open(o.plugin_path, &pl, &e)) {
    chk_report("FAIL", "load", "%s", e.msg);
    fprintf(stderr, "warm-plugin-check: %s\n", e.msg);
    return 2;
  }
  const warm_plugin_desc *d = warm_plugin_descriptor(pl);
  warm_placement ps[2];
  warm_dtype dts[3];
  int np = n_places(d, ps), ndt = n_dtypes(d, dts);
  chk_report("PASS", "load",
             "%s %s, kind %s, ABI %u.%u (this SDK %d.%d), placements%s%s%s, "
             "dtypes%s%s%s%s",
             d->name, d->version, warm_kind_name(d->kind), d->abi_major,
             d->abi_minor, WARM_ABI_MAJOR, WARM_ABI_MINOR,
             d->placements & WARM_PLACE_RESIDENT ? " resident" : "",
             d->placements & WARM_PLACE_STREAM ? " stream" : "",
             d->placements & WARM_PLACE_AUTO ? " auto" : "",
             d->dtypes & WARM_DTYPECAP_F32 ? " f32" : "",
             d->dtypes & WARM_DTYPECAP_BF16 ? " bf16" : "",
             d->dtypes & WARM_DTYPECAP_FP8 ? " fp8" : "",
             d->flags & WARM_FLAG_LIVE_PLACEMENT ? ", live placement" : "");

  uint32_t want =
      o.device.type == WARM_DEVICE_CPU ? WARM_DEVCAP_CPU : WARM_DEVCAP_CUDA;
  char dev[32];
  warm_device_name(o.device, dev, sizeof dev);
  if (!(d->devices & want)) {
    fprintf(stderr,
            "warm-plugin-check: %s does not declare device %s; pick "
            "another with --device\n",
            d->name, dev);
    warm_plugin_close(pl);
    return 2;
  }
  if (o.device.type == WARM_DEVICE_CUDA &&
      o.device.index >= wk_cuda_device_count()) {
    chk_report("SKIP", "device", "%s is not present on this machine", dev);
    warm_plugin_close(pl);
    return 0;
  }
  const char *why = NULL;
  char from_info[192];
  if (chk_inputs_from_info(d, &o, from_info, sizeof from_info))
    chk_report("PASS", "inputs", "%s", from_info);
  int runnable = chk_can_run(d, &o, &why);
  if (!runnable) chk_report("SKIP", "run", "%s", why);

  ISOLATED(&o, "unknown_key", check_unknown_key(d, &o, dts[0]));
  ISOLATED(&o, "validate", check_validate(d, &o, dts[0]));
  for (int i = 0; i < ndt; i++)
    ISOLATED(&o, "create_destroy",
             check_create_destroy(d, &o, dts[i], runnable));
  for (int i = 0; i < ndt; i++)
    for (int j = 0; j < np; j++)
      ISOLATED(&o, "estimate", check_estimate(d, &o, ps[j], dts[i], runnable));
  ISOLATED(&o, "live_placement", check_live_placement(d, &o, dts[0], runnable));
  if (runnable) {
    ISOLATED(&o, "outputs",
             check_outputs_and_determinism(d, &o, ps[0], dts[0]));
    for (int i = 0; i < ndt; i++)
      ISOLATED(&o, "placements_agree", check_placements_agree(d, &o, dts[i]));
    ISOLATED(&o, "cancel", check_cancel(d, &o, ps[0], dts[0]));
  } else {
    chk_report("SKIP", "outputs", "%s", why);
    chk_report("SKIP", "deterministic", "%s", why);
    chk_report("SKIP", "placements_agree", "%s", why);
    chk_report("SKIP", "cancel", "%s", why);
  }
  for (int j = 0; j < np; j++)
    ISOLATED(&o, "alloc_failure",
             check_alloc_failure(d, &o, ps[j], dts[0], runnable));
  ISOLATED(&o, "fingerprint", check_fingerprint(d, &o, dts, ndt));
  ISOLATED(&o, "info", check_info(d, &o, dts[0], runnable));
  rc = chk_summary();
  warm_plugin_close(pl);
  return rc;
}
