/*
 * host/oneshot.h — `warmd --once` and `warmd --encode`: one job or one
 * prompt, then exit. Return the process exit status (0, or 1 with the
 * reason on stderr).
 */
#ifndef WH_ONESHOT_H
#define WH_ONESHOT_H

#include "pipeline.h"

/* Runs one job; files go to out_dir (NULL: output_dir/<job id>). */
int wh_oneshot_once(const char *config_path, const wh_job_params *params,
                    const char *out_dir);

/* Encodes prompt with `component` (NULL: [pipeline] encoder, else the only
 * text encoder) into a safetensors file. */
int wh_oneshot_encode(const char *config_path, const char *component,
                      const char *prompt, const char *out_path);

#endif /* WH_ONESHOT_H */
