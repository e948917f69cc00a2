/*
 * tests/integration/ffprobe_util.h — what ffprobe (Debian's ffmpeg package,
 * tests only) sees in a media file: its streams by kind, with durations.
 */
#ifndef WT_FFPROBE_UTIL_H
#define WT_FFPROBE_UTIL_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wt_probe {
  int n_h264, n_aac, n_other;
  double video_s, audio_s; /* stream durations, -1 when not said */
  int audio_rate, audio_channels;
} wt_probe;

/* 1 when ffprobe is on PATH. */
static inline int wt_have_ffprobe(void) {
  return system("ffprobe -version >/dev/null 2>&1") == 0;
}

/* Runs ffprobe on path; 0 and *out filled, or -1 when it cannot read it. */
static inline int wt_ffprobe(const char *path, wt_probe *out) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "ffprobe -v error -show_entries "
           "stream=codec_type,codec_name,duration,sample_rate,channels "
           "-of json '%s'",
           path);
  memset(out, 0, sizeof *out);
  out->video_s = out->audio_s = -1;
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  int st = pclose(p);
  buf[n] = '\0';
  json_t *j = st == 0 ? json_loads(buf, 0, NULL) : NULL;
  if (!j) return -1;
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(j, "streams"), i, s) {
    const char *type = json_string_value(json_object_get(s, "codec_type"));
    const char *name = json_string_value(json_object_get(s, "codec_name"));
    const char *dur = json_string_value(json_object_get(s, "duration"));
    if (type && name && !strcmp(type, "video") && !strcmp(name, "h264")) {
      out->n_h264++;
      out->video_s = dur ? atof(dur) : -1;
    } else if (type && name && !strcmp(type, "audio") && !strcmp(name, "aac")) {
      const char *rate = json_string_value(json_object_get(s, "sample_rate"));
      out->n_aac++;
      out->audio_s = dur ? atof(dur) : -1;
      out->audio_rate = rate ? atoi(rate) : 0;
      out->audio_channels =
          (int)json_integer_value(json_object_get(s, "channels"));
    } else {
      out->n_other++;
    }
  }
  json_decref(j);
  return 0;
}

#endif /* WT_FFPROBE_UTIL_H */
