/*
 * host/config.c — INI file -> wh_config (see config.h).
 *
 * inih does the tokenising; we feed it through our own line reader so that
 * every handler call knows its line number (the Debian build of inih has no
 * INI_HANDLER_LINENO), so over-long lines are reported instead of silently
 * split, and so that section headers are seen even when a section is empty.
 */
#include "config.h"
#include "http.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WH_INI_MAX_LINE 4096

typedef struct parse_state {
  wh_config *c;
  const char *buf;
  size_t len, pos;
  int line;     /* line number of the line last handed to inih */
  int cur_kind; /* section kind of the last header the reader saw */
  wh_cfg_component *cur_comp;
  wh_cfg_device *cur_dev;
  int oom;
} parse_state;

enum {
  SEC_NONE,
  SEC_HOST,
  SEC_DEVICE,
  SEC_CACHE,
  SEC_COMPONENT,
  SEC_PIPELINE,
  SEC_BAD
};

static const char *const host_keys[] = {"plugin_dir",
                                        "admin_socket",
                                        "admin_socket_mode",
                                        "stats_socket",
                                        "stats_socket_mode",
                                        "memory_budget",
                                        "output_dir",
                                        "log_level",
                                        "http_listen",
                                        "max_body",
                                        "max_queue",
                                        "shutdown_timeout",
                                        NULL};
static const char *const comp_std_keys[] = {
    "plugin",        "weights", "device",   "placement", "stream_window",
    "stream_source", "dtype",   "priority", NULL};

static char *xstrdup(parse_state *s, const char *v) {
  char *r = strdup(v ? v : "");
  if (!r) s->oom = 1;
  return r;
}

static int in_list(const char *k, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(k, *list)) return 1;
  return 0;
}

/* A relative path resolves against the config file's directory. */
static char *resolve_path(parse_state *s, const char *v) {
  if (v[0] == '/' || !s->c->dir) return xstrdup(s, v);
  size_t n = strlen(s->c->dir) + strlen(v) + 2;
  char *r = malloc(n);
  if (!r) {
    s->oom = 1;
    return NULL;
  }
  snprintf(r, n, "%s/%s", s->c->dir, v);
  return r;
}

static int parse_i32(const char *v, int32_t *out) {
  char *end;
  errno = 0;
  if (!*v) return -1;
  long long x = strtoll(v, &end, 10);
  if (errno || *end || x < INT32_MIN || x > INT32_MAX) return -1;
  *out = (int32_t)x;
  return 0;
}


static int parse_log_level(const char *v) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(v, names[i])) return i;
  return -1;
}

static wh_cfg_device *find_device(wh_config *c, const char *name) {
  for (size_t i = 0; i < c->n_devices; i++)
    if (!strcmp(c->devices[i].name, name)) return &c->devices[i];
  return NULL;
}

static wh_cfg_component *find_comp(wh_config *c, const char *name) {
  for (size_t i = 0; i < c->n_components; i++)
    if (!strcmp(c->components[i].name, name)) return &c->components[i];
  return NULL;
}

/* Adds a device entry; NULL (error recorded) on a bad name or duplicate. */
static wh_cfg_device *add_device(parse_state *s, const char *name, int line,
                                 int implicit) {
  wh_config *c = s->c;
  warm_device d;
  if (warm_device_parse(name, &d) != 0) {
    wh_config_error(c, line, "bad device '%s' (expected cpu or cuda:N)", name);
    return NULL;
  }
  char norm[32];
  warm_device_name(d, norm, sizeof norm);
  if (find_device(c, norm)) {
    wh_config_error(c, line, "duplicate section [device %s]", norm);
    return NULL;
  }
  wh_cfg_device *a = realloc(c->devices, (c->n_devices + 1) * sizeof *a);
  if (!a) {
    s->oom = 1;
    return NULL;
  }
  c->devices = a;
  wh_cfg_device *dv = &c->devices[c->n_devices++];
  memset(dv, 0, sizeof *dv);
  dv->name = xstrdup(s, norm);
  dv->dev = d;
  dv->line = line;
  dv->implicit = implicit;
  return dv;
}

/* Classifies a "[...]" header the reader saw and creates its entry. */
static void on_section(parse_state *s, const char *sec, int line) {
  wh_config *c = s->c;
  s->cur_comp = NULL;
  s->cur_dev = NULL;
  if (!strcmp(sec, "host")) {
    s->cur_kind = SEC_HOST;
  } else if (!strcmp(sec, "cache")) {
    s->cur_kind = SEC_CACHE;
  } else if (!strcmp(sec, "pipeline")) {
    s->cur_kind = SEC_PIPELINE;
    if (c->pipeline.present) {
      wh_config_error(c, line, "duplicate section [pipeline]");
      s->cur_kind = SEC_BAD;
      return;
    }
    c->pipeline.present = 1;
    c->pipeline.line = line;
  } else if (!strncmp(sec, "device ", 7)) {
    s->cur_kind = SEC_DEVICE;
    const char *n = sec + 7;
    while (*n == ' ')
      n++;
    s->cur_dev = add_device(s, n, line, 0);
    if (!s->cur_dev) s->cur_kind = SEC_BAD;
  } else if (!strncmp(sec, "component ", 10)) {
    s->cur_kind = SEC_COMPONENT;
    const char *n = sec + 10;
    while (*n == ' ')
      n++;
    if (!wh_cfg_name_valid(n)) {
      wh_config_error(c, line,
                      "bad component name '%s' (1-64 of A-Z a-z 0-9 _ . -)", n);
      s->cur_kind = SEC_BAD;
      return;
    }
    if (find_comp(c, n)) {
      wh_config_error(c, line, "duplicate section [component %s]", n);
      s->cur_kind = SEC_BAD;
      return;
    }
    wh_cfg_component *a =
        realloc(c->components, (c->n_components + 1) * sizeof *a);
    if (!a) {
      s->oom = 1;
      s->cur_kind = SEC_BAD;
      return;
    }
    c->components = a;
    wh_cfg_component *cc = &c->components[c->n_components++];
    memset(cc, 0, sizeof *cc);
    cc->name = xstrdup(s, n);
    cc->line = line;
    cc->placement = WARM_PLACE_RESIDENT;
    cc->stream_window = 2;
    cc->stream_source = WARM_SOURCE_PINNED;
    cc->dtype = WARM_F32;
    s->cur_comp = cc;
  } else {
    wh_config_error(c, line,
                    "unknown section [%s] (expected host, device NAME, cache, "
                    "component NAME or pipeline)",
                    sec);
    s->cur_kind = SEC_BAD;
  }
}

/* inih reader: one line per call, counting lines and spotting headers. */
static char *reader(char *str, int num, void *stream) {
  parse_state *s = stream;
  if (s->pos >= s->len) return NULL;
  const char *p = s->buf + s->pos;
  size_t rest = s->len - s->pos;
  const char *nl = memchr(p, '\n', rest);
  size_t linelen = nl ? (size_t)(nl - p) + 1 : rest;
  s->pos += linelen;
  s->line++;
  size_t keep = linelen;
  if (keep > (size_t)num - 1) {
    wh_config_error(s->c, s->line, "line too long (more than %d bytes)",
                    num - 2);
    keep = 0; /* hand inih an empty line instead of a split one */
  }
  if (memchr(p, '\0', keep)) {
    wh_config_error(s->c, s->line, "NUL byte in line");
    keep = 0;
  }
  memcpy(str, p, keep);
  str[keep] = '\0';
  /* Section header? Mirror inih: leading space, '[', up to ']'. */
  const char *q = str;
  if (s->line == 1 && !strncmp(q, "\xEF\xBB\xBF", 3)) q += 3; /* BOM */
  while (*q == ' ' || *q == '\t')
    q++;
  if (*q == '[') {
    const char *e = strchr(q, ']');
    if (e) {
      char sec[256];
      size_t n = (size_t)(e - q - 1);
      if (n >= sizeof sec) n = sizeof sec - 1;
      memcpy(sec, q + 1, n);
      sec[n] = '\0';
      on_section(s, sec, s->line);
    }
  }
  return str;
}

/* The HTTP keys of [host]: http_listen = ADDR:PORT, max_body = SIZE
 * (1KiB..1GiB), max_queue = 1..100000, shutdown_timeout = seconds
 * (0..86400; 0 cancels at once). */
static void http_key(parse_state *s, const char *k, const char *v) {
  wh_config *c = s->c;
  int L = s->line;
  int *lp = !strcmp(k, "http_listen") ? &c->http_listen_line
            : !strcmp(k, "max_body")  ? &c->max_body_line
            : !strcmp(k, "max_queue") ? &c->max_queue_line
                                      : &c->shutdown_timeout_line;
  if (*lp) {
    wh_config_error(c, L, "duplicate key '%s' (first at line %d)", k, *lp);
    return;
  }
  *lp = L;
  if (!strcmp(k, "http_listen")) {
    struct sockaddr_storage sa;
    warm_error e = {0};
    if (wh_http_parse_listen(v, &sa, &e)) {
      wh_config_error(c, L, "%s", e.msg);
      return;
    }
    free(c->http_listen);
    c->http_listen = xstrdup(s, v);
  } else if (!strcmp(k, "max_body")) {
    uint64_t x;
    if (warm_parse_size(v, &x) || x < 1024 || x > (1ull << 30))
      wh_config_error(c, L, "bad max_body '%s' (a size, 1KiB..1GiB)", v);
    else
      c->max_body = x;
  } else if (!strcmp(k, "max_queue")) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < 1 || x > 100000)
      wh_config_error(c, L, "bad max_queue '%s' (an integer, 1..100000)", v);
    else
      c->max_queue = (uint32_t)x;
  } else {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !(x >= 0 && x <= 86400))
      wh_config_error(c, L, "bad shutdown_timeout '%s' (seconds, 0..86400)", v);
    else
      c->shutdown_timeout = x;
  }
}

/* One key of [host]; paths resolve against the file's directory. */
static void host_key(parse_state *s, const char *k, const char *v) {
  wh_config *c = s->c;
  int L = s->line;
  if (wh_config_ops_key(c, L, k, v)) return;
  if (!in_list(k, host_keys)) {
    wh_config_error(c, L, "unknown key '%s' in [host]", k);
    return;
  }
  char **dst = NULL;
  int *lp = NULL;
  if (!strcmp(k, "plugin_dir"))
    dst = &c->plugin_dir, lp = &c->plugin_dir_line;
  else if (!strcmp(k, "admin_socket"))
    dst = &c->admin_socket, lp = &c->admin_socket_line;
  else if (!strcmp(k, "stats_socket"))
    dst = &c->stats_socket, lp = &c->stats_socket_line;
  else if (!strcmp(k, "output_dir"))
    dst = &c->output_dir, lp = &c->output_dir_line;
  if (dst) {
    if (*lp) {
      wh_config_error(c, L, "duplicate key '%s' (first at line %d)", k, *lp);
      return;
    }
    if (!*v) {
      wh_config_error(c, L, "'%s' needs a path", k);
      return;
    }
    free(*dst);
    *dst = resolve_path(s, v);
    *lp = L;
    return;
  }
  if (!strcmp(k, "http_listen") || !strcmp(k, "max_body") ||
      !strcmp(k, "max_queue") || !strcmp(k, "shutdown_timeout")) {
    http_key(s, k, v);
    return;
  }
  if (!strcmp(k, "memory_budget")) {
    if (c->memory_budget_line)
      wh_config_error(c, L, "duplicate key '%s' (first at line %d)", k,
                      c->memory_budget_line);
    else if (warm_parse_size(v, &c->memory_budget) || !c->memory_budget)
      wh_config_error(c, L, "bad memory_budget '%s' (a size above 0)", v);
    c->memory_budget_line = L;
  } else if (!strcmp(k, "stats_socket_mode")) {
    char *end;
    errno = 0;
    unsigned long m = strtoul(v, &end, 8);
    if (!*v || *end || errno || m > 0777 || (m & 0600) != 0600)
      wh_config_error(c, L,
                      "bad stats_socket_mode '%s' (octal, at most 0777, and "
                      "the owner needs rw: 0600..0777)",
                      v);
    else
      c->stats_socket_mode = (unsigned)m;
    c->stats_socket_mode_line = L;
  } else if (!strcmp(k, "admin_socket_mode")) {
    char *end;
    errno = 0;
    unsigned long m = strtoul(v, &end, 8);
    if (!*v || *end || errno || m > 0777 || (m & 0600) != 0600)
      wh_config_error(c, L,
                      "bad admin_socket_mode '%s' (octal, at most 0777, and "
                      "the owner needs rw: 0600..0777)",
                      v);
    else
      c->admin_socket_mode = (unsigned)m;
    c->admin_socket_mode_line = L;
  } else { /* log_level */
    int lv = parse_log_level(v);
    if (lv < 0)
      wh_config_error(c, L, "bad log_level '%s' (error, warn, info, debug)", v);
    else
      c->log_level = lv;
    c->log_level_line = L;
  }
}

/* threads of [device cpu]: the compute pool's worker count, 0 = the cores
 * the process may use. */
static void device_threads(parse_state *s, wh_cfg_device *d, const char *v) {
  int L = s->line;
  char *end;
  long n = strtol(v, &end, 10);
  if (d->dev.type != WARM_DEVICE_CPU)
    wh_config_error(s->c, L, "threads is a key of [device cpu] only, not of "
                    "[device %s]", d->name);
  else if (d->threads_line)
    wh_config_error(s->c, L, "duplicate key 'threads' (first at line %d)",
                    d->threads_line);
  else if (end == v || *end || n < 0 || n > 256)
    wh_config_error(s->c, L, "bad threads '%s' (0 = all cores, or 1 to 256)",
                    v);
  else
    d->threads = (int)n;
  d->threads_line = L;
}

/* budget / reserve / threads of a [device NAME] section. */
static void device_key(parse_state *s, const char *k, const char *v) {
  wh_cfg_device *d = s->cur_dev;
  int L = s->line;
  uint64_t x;
  if (!strcmp(k, "threads")) {
    device_threads(s, d, v);
    return;
  }
  if (strcmp(k, "budget") && strcmp(k, "reserve")) {
    wh_config_error(s->c, L,
                    "unknown key '%s' in [device %s] (budget, reserve, "
                    "threads)",
                    k, d->name);
    return;
  }
  int *lp = !strcmp(k, "budget") ? &d->budget_line : &d->reserve_line;
  if (*lp) {
    wh_config_error(s->c, L, "duplicate key '%s' (first at line %d)", k, *lp);
    return;
  }
  *lp = L;
  if (warm_parse_size(v, &x) != 0) {
    wh_config_error(s->c, L,
                    "bad size '%s' for %s (bytes or a number with a unit: "
                    "KiB MiB GiB TiB, kB MB GB TB)",
                    v, k);
    return;
  }
  if (!strcmp(k, "budget")) {
    d->budget = x;
    d->budget_set = 1;
  } else {
    d->reserve = x;
  }
}

/* Records every key of a component (for config_get), then interprets the
 * standard ones. */
static void component_key(parse_state *s, const char *k, const char *v) {
  wh_cfg_component *cc = s->cur_comp;
  wh_config *c = s->c;
  int L = s->line;
  for (size_t i = 0; i < cc->n_all; i++)
    if (!strcmp(cc->all[i].key, k)) {
      wh_config_error(c, L, "duplicate key '%s' (first at line %d)", k,
                      cc->all[i].line);
      return;
    }
  wh_cfg_kv *a = realloc(cc->all, (cc->n_all + 1) * sizeof *a);
  if (!a) {
    s->oom = 1;
    return;
  }
  cc->all = a;
  cc->all[cc->n_all].key = xstrdup(s, k);
  cc->all[cc->n_all].value = xstrdup(s, v);
  cc->all[cc->n_all].line = L;
  cc->n_all++;
  if (!in_list(k, comp_std_keys)) return; /* plugin-specific */

  if (!strcmp(k, "plugin")) {
    cc->plugin_line = L;
    if (!*v) wh_config_error(c, L, "'plugin' needs a plugin name");
    free(cc->plugin);
    cc->plugin = xstrdup(s, v);
  } else if (!strcmp(k, "weights")) {
    cc->weights_line = L;
    free(cc->weights);
    cc->weights = *v ? resolve_path(s, v) : NULL;
  } else if (!strcmp(k, "device")) {
    cc->device_line = L;
    char norm[32];
    if (warm_device_parse(v, &cc->device) != 0) {
      wh_config_error(c, L, "bad device '%s' (expected cpu or cuda:N)", v);
      return;
    }
    free(cc->device_name);
    cc->device_name =
        xstrdup(s, warm_device_name(cc->device, norm, sizeof norm));
  } else if (!strcmp(k, "placement")) {
    cc->placement_line = L;
    warm_placement p = warm_placement_parse(v);
    if (!p)
      wh_config_error(c, L, "bad placement '%s' (resident, stream, auto)", v);
    else
      cc->placement = p;
  } else if (!strcmp(k, "stream_window")) {
    cc->window_line = L;
    if (wh_cfg_parse_u32(v, 1, 1024, &cc->stream_window))
      wh_config_error(c, L, "bad stream_window '%s' (an integer 1..1024)", v);
  } else if (!strcmp(k, "stream_source")) {
    cc->source_line = L;
    warm_stream_source src = warm_source_parse(v);
    if (!src)
      wh_config_error(c, L, "bad stream_source '%s' (pinned, mmap)", v);
    else
      cc->stream_source = src;
  } else if (!strcmp(k, "dtype")) {
    cc->dtype_line = L;
    warm_dtype dt = warm_dtype_parse(v);
    if (dt != WARM_F32 && dt != WARM_BF16 && dt != WARM_FP8_E4M3)
      wh_config_error(c, L, "bad dtype '%s' (f32, bf16, fp8)", v);
    else
      cc->dtype = dt;
  } else { /* priority */
    cc->priority_line = L;
    if (parse_i32(v, &cc->priority))
      wh_config_error(c, L, "bad priority '%s' (an integer)", v);
  }
}

static int handler(void *user, const char *section, const char *name,
                   const char *value) {
  parse_state *s = user;
  wh_config *c = s->c;
  if (!value) value = "";
  switch (s->cur_kind) {
  case SEC_NONE:
    wh_config_error(c, s->line, "key '%s' outside any section", name);
    break;
  case SEC_HOST:
    host_key(s, name, value);
    break;
  case SEC_DEVICE:
    device_key(s, name, value);
    break;
  case SEC_COMPONENT:
    component_key(s, name, value);
    break;
  case SEC_PIPELINE:
    if (wh_config_pipeline_key(c, s->line, name, value)) s->oom = 1;
    break;
  case SEC_CACHE:
    if (!strcmp(name, "embeddings")) {
      if (warm_parse_size(value, &c->cache_embeddings) != 0)
        wh_config_error(c, s->line, "bad size '%s' for embeddings", value);
    } else {
      wh_config_error(c, s->line, "unknown key '%s' in [cache] (embeddings)",
                      name);
    }
    break;
  default:
    break; /* the bad header was reported once already */
  }
  (void)section;
  return 1; /* keep going: we collect every error ourselves */
}

/* Cross-checks after the whole file was read: required keys, device
 * entries for every component, pipeline references, defaults. */
static void finish(parse_state *s) {
  wh_config *c = s->c;
  if (!c->admin_socket)
    wh_config_error(c, 0, "[host] admin_socket is required");
  if (!c->plugin_dir) wh_config_error(c, 0, "[host] plugin_dir is required");
  if (c->stats_socket && c->admin_socket &&
      !strcmp(c->stats_socket, c->admin_socket))
    wh_config_error(c, c->stats_socket_line,
                    "stats_socket must differ from admin_socket");
  for (size_t i = 0; i < c->n_components; i++) {
    wh_cfg_component *cc = &c->components[i];
    if (!cc->plugin)
      wh_config_error(c, cc->line, "[component %s] needs 'plugin = NAME'",
                      cc->name);
    if (!cc->device_name) {
      cc->device_name = xstrdup(s, "cpu");
      cc->device.type = WARM_DEVICE_CPU;
      cc->device.index = 0;
    }
    if (cc->device_name && !find_device(c, cc->device_name))
      add_device(s, cc->device_name,
                 cc->device_line ? cc->device_line : cc->line, 1);
    /* Plugin keys point into `all` (stable from here on). */
    cc->plugin_keys = calloc(cc->n_all ? cc->n_all : 1, sizeof(warm_kv));
    if (!cc->plugin_keys) {
      s->oom = 1;
      continue;
    }
    for (size_t k = 0; k < cc->n_all; k++)
      if (!in_list(cc->all[k].key, comp_std_keys)) {
        cc->plugin_keys[cc->n_plugin_keys].key = cc->all[k].key;
        cc->plugin_keys[cc->n_plugin_keys].value = cc->all[k].value;
        cc->n_plugin_keys++;
      }
  }
  uint64_t ram = wh_physical_ram();
  for (size_t i = 0; i < c->n_devices; i++) {
    wh_cfg_device *d = &c->devices[i];
    if (d->budget_set || d->dev.type != WARM_DEVICE_CPU) continue;
    if (d->reserve >= ram)
      wh_config_error(c, d->reserve_line ? d->reserve_line : d->line,
                      "reserve %llu is not below physical RAM %llu",
                      (unsigned long long)d->reserve, (unsigned long long)ram);
    else
      d->budget = ram - d->reserve;
  }
  wh_config_ops_finish(c);
  if (wh_config_pipeline_finish(c)) s->oom = 1;
}

int wh_config_parse(const char *path, const char *buf, size_t len,
                    wh_config **out) {
  *out = NULL;
  wh_config *c = calloc(1, sizeof *c);
  if (!c) return WARM_ENOMEM;
  c->refs = 1;
  parse_state s = {.c = c, .buf = buf, .len = len};
  c->path = xstrdup(&s, path);
  const char *slash = strrchr(path, '/');
  if (slash) {
    c->dir = strndup(path, (size_t)(slash - path) + (slash == path));
  } else {
    char cwd[PATH_MAX];
    c->dir = strdup(getcwd(cwd, sizeof cwd) ? cwd : ".");
  }
  if (!c->dir) s.oom = 1;
  c->admin_socket_mode = 0600;
  c->stats_socket_mode = 0660;
  c->log_level = WARM_LOG_INFO;
  c->max_body = WH_HTTP_DEFAULT_MAX_BODY;
  c->max_queue = 64;
  c->shutdown_timeout = 30;

  /* Process-wide inih settings; set the same way on every parse. */
  ini_allow_multiline = false;
  ini_use_stack = false; /* heap buffer of ini_initial_alloc bytes */
  ini_allow_realloc = false;
  ini_initial_alloc = WH_INI_MAX_LINE;
  ini_max_line = WH_INI_MAX_LINE;
  int rc = ini_parse_stream(reader, &s, handler, &s);
  if (rc > 0)
    wh_config_error(c, rc,
                    "syntax error (expected [section], key = value, or a "
                    "comment)");
  else if (rc < 0)
    s.oom = 1;
  finish(&s);
  wh_config_sort_errors(c);
  if (s.oom) {
    wh_config_free(c);
    return WARM_ENOMEM;
  }
  *out = c;
  return 0;
}

int wh_config_load(const char *path, wh_config **out) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    wh_config *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
      free(c);
      return WARM_ENOMEM;
    }
    c->refs = 1;
    wh_config_error(c, 0, "cannot open: %s", strerror(e));
    *out = c;
    return 0;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 8192;
      char *nb = cap > (64u << 20) ? NULL : realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return WARM_ENOMEM;
      }
      buf = nb;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  fclose(f);
  int rc = wh_config_parse(path, buf, len, out);
  free(buf);
  return rc;
}

const wh_cfg_component *wh_config_component(const wh_config *c,
                                            const char *name) {
  return find_comp((wh_config *)c, name);
}

const wh_cfg_device *wh_config_device(const wh_config *c, const char *name) {
  return find_device((wh_config *)c, name);
}
