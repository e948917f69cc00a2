/*
 * host/config_ops.c — the [host] keys for running warmd in production:
 * log_format, api_keys_file, auth_exempt_metrics, instance_id,
 * job_retention and jobs_kept (see docs/operations.md). Kept apart from
 * config.c so the parser proper stays one concern.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "log.h"

static const char *const ops_keys[] = {
    "log_format",  "api_keys_file", "auth_exempt_metrics",
    "instance_id", "job_retention", "jobs_kept",
    NULL};

int wh_instance_id_valid(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n < 1 || n > 63) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
          *s == '-'))
      return 0;
  return 1;
}

/* "90", "90s", "30m", "12h", "7d" -> seconds. */
static int parse_duration(const char *v, double *out) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (!*v || errno || !(x >= 0) || end == v) return -1;
  double mul = 1;
  if (!strcmp(end, "") || !strcmp(end, "s"))
    mul = 1;
  else if (!strcmp(end, "m"))
    mul = 60;
  else if (!strcmp(end, "h"))
    mul = 3600;
  else if (!strcmp(end, "d"))
    mul = 86400;
  else
    return -1;
  x *= mul;
  if (x > 3650 * 86400.0) return -1;
  *out = x;
  return 0;
}

static int parse_bool(const char *v, int *out) {
  static const char *const yes[] = {"yes", "true", "on", "1"};
  static const char *const no[] = {"no", "false", "off", "0"};
  for (int i = 0; i < 4; i++) {
    if (!strcmp(v, yes[i])) return *out = 1, 0;
    if (!strcmp(v, no[i])) return *out = 0, 0;
  }
  return -1;
}

static char *resolve(const wh_config *c, const char *v) {
  if (v[0] == '/' || !c->dir) return strdup(v);
  size_t n = strlen(c->dir) + strlen(v) + 2;
  char *r = malloc(n);
  if (r) snprintf(r, n, "%s/%s", c->dir, v);
  return r;
}

static int *line_of(wh_config *c, const char *k) {
  return !strcmp(k, "log_format")            ? &c->log_format_line
         : !strcmp(k, "api_keys_file")       ? &c->api_keys_file_line
         : !strcmp(k, "auth_exempt_metrics") ? &c->auth_exempt_metrics_line
         : !strcmp(k, "instance_id")         ? &c->instance_id_line
         : !strcmp(k, "job_retention")       ? &c->job_retention_line
                                             : &c->jobs_kept_line;
}

int wh_config_ops_key(wh_config *c, int L, const char *k, const char *v) {
  int known = 0;
  for (const char *const *p = ops_keys; *p; p++)
    known |= !strcmp(*p, k);
  if (!known) return 0;
  int *lp = line_of(c, k);
  if (*lp) {
    wh_config_error(c, L, "duplicate key '%s' (first at line %d)", k, *lp);
    return 1;
  }
  *lp = L;
  if (!strcmp(k, "log_format")) {
    if (!strcmp(v, "text"))
      c->log_format = WH_LOG_TEXT;
    else if (!strcmp(v, "json"))
      c->log_format = WH_LOG_JSON;
    else
      wh_config_error(c, L, "bad log_format '%s' (text, json)", v);
  } else if (!strcmp(k, "api_keys_file")) {
    if (!*v) {
      wh_config_error(c, L, "'api_keys_file' needs a path");
      return 1;
    }
    free(c->api_keys_file);
    c->api_keys_file = resolve(c, v); /* NULL (no memory): reported below */
    if (!c->api_keys_file) wh_config_error(c, L, "out of memory");
  } else if (!strcmp(k, "auth_exempt_metrics")) {
    if (parse_bool(v, &c->auth_exempt_metrics))
      wh_config_error(c, L, "bad auth_exempt_metrics '%s' (yes, no)", v);
  } else if (!strcmp(k, "instance_id")) {
    if (!wh_instance_id_valid(v)) {
      wh_config_error(c, L, "bad instance_id '%s' (1-63 of a-z 0-9 _ -)", v);
      return 1;
    }
    free(c->instance_id);
    if (!(c->instance_id = strdup(v))) wh_config_error(c, L, "out of memory");
  } else if (!strcmp(k, "job_retention")) {
    if (parse_duration(v, &c->job_retention))
      wh_config_error(c, L,
                      "bad job_retention '%s' (a duration: N, Ns, Nm, Nh or "
                      "Nd, at most 3650d; 0 keeps jobs until jobs_kept)",
                      v);
  } else { /* jobs_kept */
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < 0 || x > 10000000)
      wh_config_error(c, L, "bad jobs_kept '%s' (an integer 0..10000000)", v);
    else
      c->jobs_kept = (uint32_t)x;
  }
  return 1;
}

void wh_config_ops_finish(wh_config *c) {
  if (!c->api_keys_file) return;
  char err[1200];
  if (wh_auth_load(c->api_keys_file, &c->api_keys, err, sizeof err))
    wh_config_error(c, c->api_keys_file_line, "api_keys_file: %s", err);
}

void wh_config_ops_free(wh_config *c) {
  free(c->api_keys_file);
  free(c->instance_id);
  wh_auth_free(c->api_keys);
}
