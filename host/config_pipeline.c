/*
 * host/config_pipeline.c — the [pipeline] section (see config.h): its keys
 * as they are read, and the checks that need the whole file (which roles
 * the type requires or refuses, references to components and adapters, the
 * job defaults).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {"ltxv", "ltx2", "ltx2_distilled",
                                         "ltx2_one_stage"};

const char *wh_pipe_type_name(wh_pipe_type t) {
  return (unsigned)t < 4 ? type_names[t] : "?";
}

int wh_pipe_type_is_ltx2(wh_pipe_type t) {
  return t == WH_PIPE_LTX2 || t == WH_PIPE_LTX2_DISTILLED ||
         t == WH_PIPE_LTX2_ONE_STAGE;
}

int wh_cfg_parse_u32(const char *v, uint32_t lo, uint32_t hi, uint32_t *out) {
  char *end;
  errno = 0;
  if (!*v || *v == '-' || *v == '+') return -1;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || *end || x < lo || x > hi) return -1;
  *out = (uint32_t)x;
  return 0;
}

int wh_cfg_parse_double(const char *v, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  if (!*v) return -1;
  double x = strtod(v, &end);
  if (errno || *end || !(x >= lo && x <= hi)) return -1;
  *out = x;
  return 0;
}

int wh_cfg_name_valid(const char *n) {
  if (!*n || strlen(n) > 64) return 0;
  for (const char *q = n; *q; q++)
    if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
          (*q >= '0' && *q <= '9') || *q == '_' || *q == '.' || *q == '-'))
      return 0;
  return 1;
}

/* Trims spaces and tabs in place. */
static char *trim(char *t) {
  while (*t == ' ' || *t == '\t')
    t++;
  size_t n = strlen(t);
  while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
    t[--n] = 0;
  return t;
}

/* Records the key's first line; 1 (error recorded) when it is a repeat. */
static int dup_key(wh_config *c, int *lp, int L, const char *k) {
  if (*lp) {
    wh_config_error(c, L, "duplicate key '%s' (first at line %d)", k, *lp);
    return 1;
  }
  *lp = L;
  return 0;
}

/* "A[+ADAPTER], B[+ADAPTER]". */
static int parse_stages(wh_config *c, int L, const char *v) {
  wh_cfg_pipeline *p = &c->pipeline;
  char *tmp = strdup(v);
  if (!tmp) return WARM_ENOMEM;
  int rc = 0, bad = 0;
  char *save = NULL;
  for (char *t = strtok_r(tmp, ",", &save); t && !rc;
       t = strtok_r(NULL, ",", &save)) {
    char *item = trim(t);
    if (!*item) {
      wh_config_error(c, L,
                      "'stages' has an empty entry (COMPONENT or "
                      "COMPONENT+ADAPTER, comma-separated)");
      bad++;
      continue;
    }
    if (p->n_stages == WH_PIPELINE_MAX_STAGES) {
      wh_config_error(c, L, "too many stages (at most %d)",
                      WH_PIPELINE_MAX_STAGES);
      break;
    }
    char *plus = strchr(item, '+');
    char *adapter = NULL;
    if (plus) {
      *plus = 0;
      adapter = trim(plus + 1);
    }
    char *comp = trim(item);
    if (!wh_cfg_name_valid(comp) ||
        (adapter && (!wh_cfg_name_valid(adapter) || strchr(adapter, '+')))) {
      wh_config_error(c, L,
                      "bad stage '%s%s%s' (COMPONENT or COMPONENT+ADAPTER, "
                      "names of A-Z a-z 0-9 _ . -)",
                      comp, adapter ? "+" : "", adapter ? adapter : "");
      bad++;
      continue;
    }
    size_t i = p->n_stages;
    p->stages[i] = strdup(comp);
    p->stage_adapters[i] = adapter ? strdup(adapter) : NULL;
    p->n_stages++;
    if (!p->stages[i] || (adapter && !p->stage_adapters[i])) rc = WARM_ENOMEM;
  }
  free(tmp);
  if (!rc && !p->n_stages && !bad)
    wh_config_error(c, L, "'stages' lists no component");
  return rc;
}

/* A role naming one component: encoder, decoder, upsampler, audio_decoder. */
static int role_key(wh_config *c, int L, const char *k, const char *v,
                    char **dst, int *lp) {
  if (dup_key(c, lp, L, k)) return 0;
  if (!*v) {
    wh_config_error(c, L, "'%s' needs a component name", k);
    return 0;
  }
  free(*dst);
  *dst = strdup(v);
  return *dst ? 0 : WARM_ENOMEM;
}

int wh_config_pipeline_key(wh_config *c, int L, const char *k, const char *v) {
  wh_cfg_pipeline *p = &c->pipeline;
  if (!strcmp(k, "type")) {
    if (dup_key(c, &p->type_line, L, k)) return 0;
    for (int i = 0; i < 4; i++)
      if (!strcmp(v, type_names[i])) {
        p->type = (wh_pipe_type)i;
        return 0;
      }
    wh_config_error(c, L,
                    "bad type '%s' (ltx2, ltx2_distilled, ltx2_one_stage, "
                    "ltxv)",
                    v);
    return 0;
  }
  if (!strcmp(k, "encoder"))
    return role_key(c, L, k, v, &p->encoder, &p->encoder_line);
  if (!strcmp(k, "decoder"))
    return role_key(c, L, k, v, &p->decoder, &p->decoder_line);
  if (!strcmp(k, "upsampler"))
    return role_key(c, L, k, v, &p->upsampler, &p->upsampler_line);
  if (!strcmp(k, "audio_decoder"))
    return role_key(c, L, k, v, &p->audio_decoder, &p->audio_decoder_line);
  if (!strcmp(k, "stages")) {
    if (dup_key(c, &p->stages_line, L, k)) return 0;
    return parse_stages(c, L, v);
  }
  if (!strcmp(k, "y4m")) {
    if (dup_key(c, &p->y4m_line, L, k)) return 0;
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
      p->y4m = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
      p->y4m = 0;
    else
      wh_config_error(c, L, "bad y4m '%s' (true, false)", v);
    return 0;
  }
  if (!strcmp(k, "frames") || !strcmp(k, "height") || !strcmp(k, "width") ||
      !strcmp(k, "steps")) {
    uint32_t *dst = k[0] == 'f'   ? &p->frames
                    : k[0] == 'h' ? &p->height
                    : k[0] == 'w' ? &p->width
                                  : &p->steps;
    int *lp = k[0] == 'f'   ? &p->frames_line
              : k[0] == 'h' ? &p->height_line
              : k[0] == 'w' ? &p->width_line
                            : &p->steps_line;
    if (dup_key(c, lp, L, k)) return 0;
    if (wh_cfg_parse_u32(v, 1, 65536, dst))
      wh_config_error(c, L, "bad %s '%s' (an integer 1..65536)", k, v);
    return 0;
  }
  if (!strcmp(k, "fps")) {
    if (dup_key(c, &p->fps_line, L, k)) return 0;
    if (wh_cfg_parse_double(v, 0.1, 1000, &p->fps))
      wh_config_error(c, L, "bad fps '%s' (a number 0.1..1000)", v);
    return 0;
  }
  if (!strcmp(k, "stg_blocks")) {
    if (dup_key(c, &p->stg_blocks_line, L, k)) return 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", v);
    p->n_stg_blocks = 0;
    for (char *save = NULL, *t = strtok_r(tmp, ", \t", &save); t;
         t = strtok_r(NULL, ", \t", &save)) {
      uint32_t b;
      if (p->n_stg_blocks == 64 || wh_cfg_parse_u32(t, 0, 1023, &b)) {
        wh_config_error(c, L,
                        "bad stg_blocks '%s' (at most 64 block indices "
                        "0..1023, comma separated)",
                        v);
        return 0;
      }
      p->stg_blocks[p->n_stg_blocks++] = b;
    }
    return 0;
  }
  if (!strcmp(k, "guidance")) {
    if (dup_key(c, &p->guidance_line, L, k)) return 0;
    if (wh_cfg_parse_double(v, 0, 100, &p->guidance))
      wh_config_error(c, L, "bad guidance '%s' (a number 0..100)", v);
    return 0;
  }
  wh_config_error(c, L,
                  "unknown key '%s' in [pipeline] (type, encoder, stages, "
                  "upsampler, decoder, audio_decoder, y4m, frames, height, "
                  "width, steps, fps, guidance, stg_blocks)",
                  k);
  return 0;
}

/* The component's lora.NAME keys, "lora.a, lora.b", into buf. */
static void adapter_keys(const wh_cfg_component *cc, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = 0;
  for (size_t k = 0; k < cc->n_all; k++) {
    const char *key = cc->all[k].key;
    if (strncmp(key, "lora.", 5) || !key[5]) continue;
    int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", key);
    if (w < 0 || (size_t)w >= n - used) break;
    used += (size_t)w;
  }
}

/* A stage's component and adapter exist; errors at the stages line. */
static void check_stage(wh_config *c, size_t i) {
  const wh_cfg_pipeline *p = &c->pipeline;
  const char *name = p->stages[i], *ad = p->stage_adapters[i];
  const wh_cfg_component *cc = wh_config_component(c, name);
  if (!cc) {
    wh_config_error(c, p->stages_line, "stage '%s' is not a component", name);
    return;
  }
  if (!ad) return;
  char key[80];
  snprintf(key, sizeof key, "lora.%s", ad);
  if (wh_cfg_component_get(cc, key)) return;
  char have[512];
  adapter_keys(cc, have, sizeof have);
  wh_config_error(c, p->stages_line,
                  "stage %zu '%s+%s': [component %s] (line %d) has no key "
                  "'%s' (%s%s)",
                  i + 1, name, ad, name, cc->line, key,
                  have[0] ? "its adapters: " : "it has no lora.NAME key", have);
}

static void check_role(wh_config *c, const char *role, const char *name,
                       int line) {
  if (name && !wh_config_component(c, name))
    wh_config_error(c, line, "%s '%s' is not a component", role, name);
}

/* What an LTX-2 type needs: encoder, stages, upsampler (two-stage types),
 * decoder; errors at [pipeline]'s line for a missing key. */
static int ltx2_roles(wh_config *c) {
  wh_cfg_pipeline *p = &c->pipeline;
  const char *tn = wh_pipe_type_name(p->type);
  int two = p->type != WH_PIPE_LTX2_ONE_STAGE;
  if (!p->encoder_line)
    wh_config_error(c, p->line,
                    "[pipeline] type = %s needs 'encoder = "
                    "COMPONENT' (the text encoder)",
                    tn);
  if (!p->decoder_line)
    wh_config_error(c, p->line,
                    "[pipeline] type = %s needs 'decoder = "
                    "COMPONENT' (the video VAE)",
                    tn);
  if (two && !p->upsampler_line)
    wh_config_error(c, p->line,
                    "[pipeline] type = %s needs 'upsampler = "
                    "COMPONENT' (the latent upsampler between the stages)",
                    tn);
  if (!two && p->upsampler_line)
    wh_config_error(c, p->upsampler_line,
                    "upsampler: type = ltx2_one_stage runs one stage at full "
                    "size and has no upsampler");
  if (!p->stages_line) {
    wh_config_error(c, p->line, "[pipeline] type = %s needs 'stages = %s'", tn,
                    two ? "STAGE1, STAGE2" : "TRANSFORMER");
    return 0;
  }
  if (!p->n_stages) return 0; /* reported at the stages line */
  if (p->type == WH_PIPE_LTX2 && p->n_stages != 2)
    wh_config_error(c, p->stages_line,
                    "stages: type = ltx2 needs 2 stages (stage 1, stage 2), "
                    "found %zu",
                    p->n_stages);
  else if (p->type == WH_PIPE_LTX2_DISTILLED && p->n_stages > 2)
    wh_config_error(c, p->stages_line,
                    "stages: type = ltx2_distilled takes 1 stage (used for "
                    "both) or 2, found %zu",
                    p->n_stages);
  else if (p->type == WH_PIPE_LTX2_ONE_STAGE && p->n_stages != 1)
    wh_config_error(c, p->stages_line,
                    "stages: type = ltx2_one_stage takes 1 stage, found %zu",
                    p->n_stages);
  if (p->type == WH_PIPE_LTX2_DISTILLED && p->n_stages == 1) {
    p->stages[1] = strdup(p->stages[0]);
    p->stage_adapters[1] =
        p->stage_adapters[0] ? strdup(p->stage_adapters[0]) : NULL;
    if (!p->stages[1] || (p->stage_adapters[0] && !p->stage_adapters[1])) {
      free(p->stages[1]);
      p->stages[1] = NULL;
      return WARM_ENOMEM;
    }
    p->n_stages = 2;
  }
  return 0;
}

int wh_config_pipeline_finish(wh_config *c) {
  wh_cfg_pipeline *p = &c->pipeline;
  int rc = 0;
  if (wh_pipe_type_is_ltx2(p->type)) {
    rc = ltx2_roles(c);
    if (!p->y4m_line) p->y4m = 0;
  } else {
    if (p->upsampler_line)
      wh_config_error(c, p->upsampler_line,
                      "upsampler: type = ltxv has no upsampler (a key of "
                      "type = ltx2 and ltx2_distilled)");
    if (p->audio_decoder_line)
      wh_config_error(c, p->audio_decoder_line,
                      "audio_decoder: type = ltxv has no audio (a key of the "
                      "LTX-2 types)");
    for (size_t i = 0; i < p->n_stages; i++)
      if (p->stage_adapters[i])
        wh_config_error(c, p->stages_line,
                        "stage %zu '%s+%s': a stage adapter needs an LTX-2 "
                        "type (type = ltx2, ltx2_distilled, ltx2_one_stage)",
                        i + 1, p->stages[i], p->stage_adapters[i]);
    if (!p->y4m_line) p->y4m = 1;
    /* LTX-Video's defaults; the LTX-2 types leave absent keys at 0. */
    if (!p->frames_line) p->frames = 9;
    if (!p->height_line) p->height = 64;
    if (!p->width_line) p->width = 64;
    if (!p->steps_line) p->steps = 8;
    if (!p->fps_line) p->fps = 24;
    if (!p->guidance_line) p->guidance = 3;
  }
  if (!p->present) return rc;
  check_role(c, "encoder", p->encoder, p->encoder_line);
  check_role(c, "decoder", p->decoder, p->decoder_line);
  check_role(c, "upsampler", p->upsampler, p->upsampler_line);
  check_role(c, "audio_decoder", p->audio_decoder, p->audio_decoder_line);
  for (size_t i = 0; i < p->n_stages; i++) {
    /* The normalised second stage of a one-stage distilled line is the
     * same entry: report it once. */
    if (i == 1 && p->type == WH_PIPE_LTX2_DISTILLED &&
        !strcmp(p->stages[0], p->stages[1]) &&
        !!p->stage_adapters[0] == !!p->stage_adapters[1] &&
        (!p->stage_adapters[0] ||
         !strcmp(p->stage_adapters[0], p->stage_adapters[1])))
      continue;
    check_stage(c, i);
  }
  return rc;
}
