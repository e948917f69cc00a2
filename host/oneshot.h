/*
 * host/oneshot.h — `warmd --once` and `warmd --encode`: one job or one
 * prompt, then exit. Return the process exit status (0, or 1 with the
 * reason on stderr).
 */
#ifndef WH_ONESHOT_H
#define WH_ONESHOT_H

#include "pipeline.h"

/* Runs one job; files go to out_dir (NULL: output_dir/<job id>).
 * image_path (NULL: none) is read and checked (PNG or JPEG, its size)
 * before anything loads; a noise file must be readable. */
int wh_oneshot_once(const char *config_path, const wh_job_params *params,
                    const char *image_path, const char *out_dir);

/* Applies one LTX-2 job flag of `--once` (its name without "--":
 * negative-prompt, image, image-strength, noise, video-cfg, video-stg,
 * video-rescale, video-modality, video-skip-step, video-stg-blocks, and
 * audio-* the same) to p; --image only
 * records the path in *image_path. Returns 0, or -1 after printing
 * "warmd: --FLAG 'ARG': the rule" to stderr. */
int wh_oneshot_job_flag(const char *flag, const char *arg, wh_job_params *p,
                        const char **image_path);

/* Encodes prompt with `component` (NULL: [pipeline] encoder, else the only
 * text encoder) into a safetensors file. */
int wh_oneshot_encode(const char *config_path, const char *component,
                      const char *prompt, const char *out_path);

#endif /* WH_ONESHOT_H */
