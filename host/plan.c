/*
 * host/plan.c — `warmd --plan` (see plan.h): the load and the calls of one
 * job replayed on the plugins' estimates, per device.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ltx2_sched.h"
#include "pipeline.h"
#include "registry.h"
#include "reload.h"
#include "runtime.h"
#include "wiring.h"

#define PL_MAX_STEPS 8
#define PL_MAX_DEVS 16

typedef struct pcomp {
  wh_component *c;
  int dev;               /* index into pplan.devs */
  warm_placement active; /* RESIDENT or STREAM */
  uint64_t held;         /* bytes its placement books between calls */
  warm_placement load;   /* the placement the load gives it */
  warm_estimate load_est;
} pcomp;

typedef struct pdev {
  const char *name;
  uint64_t budget, peak;
  const char *peak_at; /* step label, or "load" */
} pdev;

typedef struct pstep {
  char label[48];
  pcomp *pc;
  warm_job_shape shape;
  /* Results. */
  int done;
  warm_placement used;
  warm_estimate est;
  uint64_t total; /* its device's bytes during the call */
  char note[160]; /* placement moves the call caused */
} pstep;

typedef struct pplan {
  wh_runtime *rt;
  wh_config *cfg;
  pcomp *comps; /* every component of the file: all hold their bytes */
  size_t n_comps;
  pdev devs[PL_MAX_DEVS];
  size_t n_devs;
  pstep steps[PL_MAX_STEPS];
  size_t n_steps;
  char why[WARM_ERROR_MAX + 256]; /* why it cannot fit; "" when it can */
} pplan;

static const char *sz(uint64_t b, char *buf, size_t n) {
  return warm_format_size(b, buf, n);
}

static int estimate(const pcomp *pc, warm_placement p,
                    const warm_job_shape *shape, warm_estimate *e,
                    warm_error *err) {
  const warm_plugin_desc *d = wh_plugin_desc(pc->c->plugin);
  warm_place_req req = {p, pc->c->stream_window, pc->c->stream_source};
  memset(e, 0, sizeof *e);
  int rc = d->estimate(pc->c->inst, &req, shape, e, err);
  if (rc && !strstr(err->msg, pc->c->name)) {
    char tmp[WARM_ERROR_MAX];
    snprintf(tmp, sizeof tmp, "%s", err->msg);
    warm_error_set(err, rc, "component %s: estimate: %s", pc->c->name, tmp);
  }
  return rc;
}

/* What placement p books between calls. */
static int held_of(const pcomp *pc, warm_placement p,
                   const warm_job_shape *shape, uint64_t *out,
                   warm_error *err) {
  warm_estimate e;
  int rc = estimate(pc, p, shape, &e, err);
  if (!rc) *out = e.persistent + e.window;
  return rc;
}

/* Bytes held on device `dev` by every component but `but`. */
static uint64_t others(const pplan *P, int dev, const pcomp *but) {
  uint64_t s = 0;
  for (size_t i = 0; i < P->n_comps; i++)
    if (P->comps[i].dev == dev && &P->comps[i] != but) s += P->comps[i].held;
  return s;
}

static void note_peak(pplan *P, int dev, uint64_t bytes, const char *at) {
  if (bytes > P->devs[dev].peak) {
    P->devs[dev].peak = bytes;
    P->devs[dev].peak_at = at;
  }
}

static pcomp *comp_of(pplan *P, const char *name) {
  for (size_t i = 0; i < P->n_comps; i++)
    if (!strcmp(P->comps[i].c->name, name)) return &P->comps[i];
  return NULL;
}

/* Adds the component of role `name` (once) with its load placement. */
static int add_comp(pplan *P, wh_plan *pl, const char *name, pcomp **out,
                    warm_error *err) {
  *out = name ? comp_of(P, name) : NULL;
  if (!name || *out) return 0;
  wh_component *c;
  warm_placement concrete;
  if (wh_plan_component(pl, name, &c, &concrete))
    return warm_error_set(err, WARM_EINVAL, "component %s was not created",
                          name);
  pcomp *pc = &P->comps[P->n_comps++];
  pc->c = c;
  pc->active = concrete;
  for (size_t i = 0; i < P->n_devs && !pc->dev; i++)
    if (!strcmp(P->devs[i].name, c->dev->name)) pc->dev = (int)i + 1;
  if (!pc->dev) {
    const wh_cfg_device *cd = wh_config_device(P->cfg, c->dev->name);
    if (P->n_devs == PL_MAX_DEVS || !cd)
      return warm_error_set(err, WARM_EINVAL, "device %s: not planned",
                            c->dev->name);
    P->devs[P->n_devs] = (pdev){cd->name, cd->budget, 0, "load"};
    pc->dev = (int)++P->n_devs;
  }
  pc->dev--;
  /* The load's shape: what reload.c estimated the placement with. */
  warm_job_shape load = {0, P->cfg->pipeline.frames, P->cfg->pipeline.height,
                         P->cfg->pipeline.width,
                         P->cfg->pipeline.guidance > 1.0 ? 2 : 1};
  *out = pc;
  pc->load = concrete;
  int rc = estimate(pc, concrete, &load, &pc->load_est, err);
  pc->held = pc->load_est.persistent + pc->load_est.window;
  return rc;
}

static void add_step(pplan *P, const char *label, const char *adapter,
                     pcomp *pc, warm_job_shape shape) {
  pstep *s = &P->steps[P->n_steps++];
  snprintf(s->label, sizeof s->label, "%s%s%s", label, adapter ? " +" : "",
           adapter ? adapter : "");
  s->pc = pc;
  s->shape = shape;
}

/* Moves `auto` components resident on c's device (other than c, of no
 * higher priority) to stream, as demote_autos does; returns how many. */
static int demote(pplan *P, pstep *s) {
  pcomp *c = s->pc;
  int moved = 0;
  for (size_t i = 0; i < P->n_comps; i++) {
    pcomp *o = &P->comps[i];
    if (o == c || o->dev != c->dev || o->c->placement != WARM_PLACE_AUTO ||
        o->active != WARM_PLACE_RESIDENT || o->c->priority > c->c->priority)
      continue;
    uint64_t h;
    warm_error e = {0};
    if (held_of(o, WARM_PLACE_STREAM, &s->shape, &h, &e) ||
        others(P, o->dev, o) + h > P->devs[o->dev].budget)
      continue; /* its place() would fail: it stays */
    o->active = WARM_PLACE_STREAM;
    o->held = h;
    size_t n = strlen(s->note);
    snprintf(s->note + n, sizeof s->note - n, "%s%s moved to stream",
             n ? "; " : "", o->c->name);
    moved++;
  }
  return moved;
}

/* One call, as pipeline.c's do_call makes it. */
static int call(pplan *P, pstep *s, warm_error *err) {
  pcomp *c = s->pc;
  pdev *d = &P->devs[c->dev];
  int is_auto = c->c->placement == WARM_PLACE_AUTO;
  warm_placement want = is_auto ? WARM_PLACE_RESIDENT : c->active;
  warm_estimate e;
  int rc = estimate(c, want, &s->shape, &e, err);
  if (rc) return rc;
#define NEED(x) ((x).persistent + (x).window + (x).workspace)
#define FITS(x)                                                                \
  (others(P, c->dev, c) + (c->held > NEED(x) ? c->held : NEED(x)) <= d->budget)
  int fits = FITS(e);
  if (!fits && is_auto) {
    if (c->active == WARM_PLACE_RESIDENT) { /* frees its layers first */
      uint64_t h;
      char a[32], b[32], bud[32];
      if ((rc = held_of(c, WARM_PLACE_STREAM, &s->shape, &h, err))) return rc;
      if (others(P, c->dev, c) + h > d->budget) {
        s->used = WARM_PLACE_STREAM;
        snprintf(P->why, sizeof P->why,
                 "%s: %s does not fit resident and cannot move to stream on "
                 "%s: streamed it holds %s beside the %s the others hold; "
                 "budget %s",
                 s->label, c->c->name, d->name, sz(h, a, sizeof a),
                 sz(others(P, c->dev, c), b, sizeof b),
                 sz(d->budget, bud, sizeof bud));
        return 0;
      }
      c->active = WARM_PLACE_STREAM;
      c->held = h;
      snprintf(s->note, sizeof s->note, "%s moved to stream", c->c->name);
    }
    want = WARM_PLACE_STREAM;
    if ((rc = estimate(c, want, &s->shape, &e, err))) return rc;
    fits = FITS(e);
  }
  if (!fits && demote(P, s) > 0) fits = FITS(e);
  s->used = want;
  s->est = e;
  if (!fits) {
    char n[32], pe[32], wi[32], ws[32], ot[32], bud[32];
    snprintf(P->why, sizeof P->why,
             "%s: %s cannot run %s on %s: it needs %s (persistent %s + window "
             "%s + workspace %s) beside the %s the others hold; budget %s",
             s->label, c->c->name, warm_placement_name(want), d->name,
             sz(NEED(e), n, sizeof n), sz(e.persistent, pe, sizeof pe),
             sz(e.window, wi, sizeof wi), sz(e.workspace, ws, sizeof ws),
             sz(others(P, c->dev, c), ot, sizeof ot),
             sz(d->budget, bud, sizeof bud));
    return 0;
  }
  if (want != c->active) {
    if ((rc = held_of(c, want, &s->shape, &c->held, err))) return rc;
    c->active = want;
  }
  s->total = others(P, c->dev, c) + (c->held > NEED(e) ? c->held : NEED(e));
  note_peak(P, c->dev, s->total, s->label);
  for (size_t i = 0; i < P->n_devs; i++)
    if ((int)i != c->dev)
      note_peak(P, (int)i, others(P, (int)i, NULL), s->label);
  s->done = 1;
  return 0;
#undef FITS
#undef NEED
}

/* The steps of one job of the LTX-2 [pipeline] at F x H x W with T text
 * tokens. */
static int build_steps(pplan *P, wh_plan *pl, uint32_t F, uint32_t H,
                       uint32_t W, uint32_t T, warm_error *err) {
  const wh_cfg_pipeline *p = &P->cfg->pipeline;
  pcomp *enc, *st[2] = {NULL, NULL}, *up, *dec, *au;
  int rc;
  if ((rc = add_comp(P, pl, p->encoder, &enc, err))) return rc;
  for (size_t i = 0; i < p->n_stages && i < 2; i++)
    if ((rc = add_comp(P, pl, p->stages[i], &st[i], err))) return rc;
  if ((rc = add_comp(P, pl, p->upsampler, &up, err)) ||
      (rc = add_comp(P, pl, p->decoder, &dec, err)) ||
      (rc = add_comp(P, pl, p->audio_decoder, &au, err)))
    return rc;
  /* Components outside the [pipeline] are placed by the load too. */
  for (size_t i = 0; i < P->cfg->n_components; i++) {
    pcomp *other;
    if ((rc = add_comp(P, pl, P->cfg->components[i].name, &other, err)))
      return rc;
  }
  int two = p->type != WH_PIPE_LTX2_ONE_STAGE;
  /* A guided stage runs every guidance pass of a step in one call; the
   * plan takes all of them (conditional, negative, perturbed, isolated). */
  unsigned bits = WH_LTX2_PASS_COND | WH_LTX2_PASS_UNCOND |
                  WH_LTX2_PASS_PERTURBED | WH_LTX2_PASS_ISOLATED;
  uint32_t passes = p->type == WH_PIPE_LTX2_DISTILLED
                        ? 1
                        : (uint32_t)__builtin_popcount(bits);
  add_step(P, "encode", NULL, enc, (warm_job_shape){T, 0, 0, 0, 1});
  add_step(P, "stage 1", p->stage_adapters[0], st[0],
           (warm_job_shape){T, F, two ? H / 2 : H, two ? W / 2 : W, passes});
  if (two) {
    add_step(P, "upsample", NULL, up, (warm_job_shape){T, F, H, W, 1});
    add_step(P, "stage 2", p->stage_adapters[1], st[1],
             (warm_job_shape){T, F, H, W, 1});
  }
  add_step(P, "decode video", NULL, dec, (warm_job_shape){T, F, H, W, 1});
  if (au)
    add_step(P, "decode audio", NULL, au, (warm_job_shape){T, F, H, W, 1});
  return 0;
}

/* The job's size: the flag, else [pipeline]'s when the file gives it. */
static int job_size(const pplan *P, const wh_plan_job *job,
                    const wh_pipe_facts *f, wh_job_params *q, warm_error *err) {
  const wh_cfg_pipeline *p = &P->cfg->pipeline;
  memset(q, 0, sizeof *q);
  q->prompt = "plan";
  q->frames = job->frames;
  q->height = job->height;
  q->width = job->width;
  int rc = wh_wiring_check_job(f, p, q, err);
  if (rc) return rc;
  const char *miss = !q->frames   ? "frames"
                     : !q->height ? "height"
                     : !q->width  ? "width"
                                  : NULL;
  if (miss)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: the job's %s is neither given (--%s N) nor in "
                          "[pipeline] (%s = N)",
                          P->cfg->path, miss, miss, miss);
  return 0;
}

static void print_device(const pplan *P, int dev, FILE *out) {
  const pdev *d = &P->devs[dev];
  char a[32], b[32], c[32], e[32];
  fprintf(out, "\ndevice %s, budget %s\n", d->name, sz(d->budget, a, sizeof a));
  fprintf(out, "  %-20s %-22s %-16s %12s %12s %12s\n", "after load",
          "component", "placement", "persistent", "window", "host pinned");
  uint64_t load = 0;
  for (size_t i = 0; i < P->n_comps; i++) {
    const pcomp *pc = &P->comps[i];
    if (pc->dev != dev) continue;
    char place[24];
    snprintf(place, sizeof place, "%s%s", warm_placement_name(pc->load),
             pc->c->placement == WARM_PLACE_AUTO ? " (auto)" : "");
    fprintf(out, "  %-20s %-22s %-16s %12s %12s %12s\n", "", pc->c->name, place,
            sz(pc->load_est.persistent, a, sizeof a),
            sz(pc->load_est.window, b, sizeof b),
            sz(pc->load_est.host_pinned, c, sizeof c));
    load += pc->load_est.persistent + pc->load_est.window;
  }
  fprintf(out, "  %-20s %-22s %-16s %12s\n", "", "held after load", "",
          sz(load, a, sizeof a));
  fprintf(out, "  %-20s %-22s %-16s %12s %12s %12s %14s\n", "step", "component",
          "placement", "persistent", "window", "workspace", "device total");
  for (size_t i = 0; i < P->n_steps; i++) {
    const pstep *s = &P->steps[i];
    if (s->pc->dev != dev || !(s->done || s->used)) continue;
    char place[24];
    snprintf(place, sizeof place, "%s%s", warm_placement_name(s->used),
             s->pc->c->placement == WARM_PLACE_AUTO ? " (auto)" : "");
    fprintf(out, "  %-20s %-22s %-16s %12s %12s %12s %14s\n", s->label,
            s->pc->c->name, place, sz(s->est.persistent, a, sizeof a),
            sz(s->est.window, b, sizeof b), sz(s->est.workspace, c, sizeof c),
            s->done ? sz(s->total, e, sizeof e) : "does not fit");
    if (s->note[0]) fprintf(out, "  %-20s (%s)\n", "", s->note);
  }
  fprintf(out, "  peak %s (%llu bytes) of %s at %s\n", sz(d->peak, a, sizeof a),
          (unsigned long long)d->peak, sz(d->budget, b, sizeof b), d->peak_at);
}

/* Runs the replay once the plan's instances exist. */
static int replay(pplan *P, wh_plan *pl, const wh_plan_job *job, FILE *out,
                  warm_error *err) {
  const wh_cfg_pipeline *p = &P->cfg->pipeline;
  const wh_pipe_facts *f = wh_plan_facts(pl);
  wh_job_params q;
  int rc = job_size(P, job, f, &q, err);
  if (rc) return rc;
  if (!f->max_tokens)
    return warm_error_set(err, WARM_EINVAL,
                          "encoder %s reports no prompt length (max_tokens)",
                          p->encoder);
  if ((rc =
           build_steps(P, pl, q.frames, q.height, q.width, f->max_tokens, err)))
    return rc;
  int two = p->type != WH_PIPE_LTX2_ONE_STAGE;
  fprintf(out, "%s: plan of one %s job, %u frames x %u x %u", P->cfg->path,
          wh_pipe_type_name(p->type), q.frames, q.height, q.width);
  if (two) fprintf(out, " (stage 1 at %u x %u)", q.height / 2, q.width / 2);
  fprintf(out, ", %u text tokens, stage 1 with %u pass%s in one call\n",
          f->max_tokens, P->steps[1].shape.batch,
          P->steps[1].shape.batch == 1 ? "" : "es");
  if (p->type != WH_PIPE_LTX2_DISTILLED)
    fprintf(out, "(the negative prompt is a second encode call of the same "
                 "size)\n");
  /* The load itself. */
  for (size_t di = 0; di < P->n_devs; di++) {
    uint64_t h = others(P, (int)di, NULL);
    note_peak(P, (int)di, h, "load");
    if (h > P->devs[di].budget && !P->why[0]) {
      char a[32], b[32];
      snprintf(P->why, sizeof P->why,
               "load: the placed components hold %s on %s; budget %s",
               sz(h, a, sizeof a), P->devs[di].name,
               sz(P->devs[di].budget, b, sizeof b));
    }
  }
  for (size_t i = 0; i < P->n_steps && !P->why[0]; i++)
    if ((rc = call(P, &P->steps[i], err))) return rc;
  for (size_t di = 0; di < P->n_devs; di++)
    print_device(P, (int)di, out);
  /* Streamed components keep their layers in pinned host memory, booked on
   * the host ledger of the machine that runs them: said, not judged, since
   * a plan is often made on another machine. */
  uint64_t pinned = 0;
  for (size_t i = 0; i < P->n_comps; i++)
    pinned += P->comps[i].load_est.host_pinned;
  uint64_t host =
      P->cfg->memory_budget ? P->cfg->memory_budget : wh_physical_ram();
  char a[32], b[32];
  fprintf(out, "\nhost: pinned copies of the streamed layers %s; %s %s%s\n",
          sz(pinned, a, sizeof a),
          P->cfg->memory_budget ? "[host] memory_budget" : "this machine's RAM",
          sz(host, b, sizeof b),
          pinned > host ? " (more than that: the machine that runs it needs "
                          "the RAM)"
                        : "");
  return 0;
}

int wh_plan_main(const char *path, const wh_plan_job *job, FILE *out,
                 FILE *errf) {
  wh_config *cfg = NULL;
  if (wh_config_load(path, &cfg)) {
    fprintf(errf, "%s: out of memory\n", path);
    return 1;
  }
  int status = 1;
  wh_runtime *rt = NULL;
  wh_plan *pl = NULL;
  warm_error err = {0};
  const wh_cfg_pipeline *p = &cfg->pipeline;
  if (!cfg->n_errors && (!p->present || !wh_pipe_type_is_ltx2(p->type)))
    wh_config_error(cfg, p->present ? p->line : 0,
                    "--plan plans the LTX-2 pipelines ([pipeline] type = "
                    "ltx2, ltx2_distilled or ltx2_one_stage)%s",
                    p->present ? "" : "; this file has no [pipeline]");
  if (cfg->n_errors) goto errors;
  if (wh_runtime_create(&rt)) {
    fprintf(errf, "%s: cannot create the runtime\n", path);
    goto done;
  }
  rt->check_only = 1;
  rt->plan_only = 1;
  if (wh_reload_prepare(rt, cfg, &pl)) goto errors;
  pplan *P = calloc(1, sizeof *P);
  if (!P) {
    fprintf(errf, "%s: out of memory\n", path);
    goto done;
  }
  P->rt = rt;
  P->cfg = cfg;
  P->comps =
      calloc(cfg->n_components ? cfg->n_components : 1, sizeof *P->comps);
  if (!P->comps) {
    free(P);
    fprintf(errf, "%s: out of memory\n", path);
    goto done;
  }
  if (replay(P, pl, job, out, &err)) {
    fprintf(errf, "%s\n", err.msg);
  } else if (P->why[0]) {
    fprintf(out, "\ndoes not fit: %s\n", P->why);
  } else {
    fprintf(out, "\nfits: every step within its device's budget\n");
    status = 0;
  }
  free(P->comps);
  free(P);
  goto done;
errors:
  for (size_t i = 0; i < cfg->n_errors; i++)
    fprintf(errf, "%s\n", cfg->errors[i]);
  fprintf(errf, "%s: %zu error%s\n", path, cfg->n_errors,
          cfg->n_errors == 1 ? "" : "s");
done:
  if (pl) wh_plan_free(rt, pl);
  wh_runtime_destroy(rt);
  wh_config_free(cfg);
  return status;
}
