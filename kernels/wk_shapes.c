/*
 * wk_shapes.c — output sizes of the convolutions (wk.h). Pure arithmetic on
 * the descriptors, compiled into libwarm and into the CUDA backend library
 * alike, since both the fronts and the cuda kernels size their outputs with
 * them.
 */
#include "wk_internal.h"
#include "wk_pad.h"

int64_t wk_conv3d_out_t(const wk_conv3d *p) {
  return p->T + p->pt_front + p->pt_back - p->kt + 1;
}
int64_t wk_conv3d_out_h(const wk_conv3d *p) {
  return p->H + p->ph + wk__ph_back(p) - p->kh + 1;
}
int64_t wk_conv3d_out_w(const wk_conv3d *p) {
  return p->W + p->pw + wk__pw_back(p) - p->kw + 1;
}

int64_t wk_conv1d_out_len(const wk_conv1d *p) {
  int64_t span = p->dilation * (p->k - 1) + 1;
  int64_t padded = p->L + p->pad_front + p->pad_back;
  if (p->stride < 1 || padded < span) return 0;
  return (padded - span) / p->stride + 1;
}

int64_t wk_convt1d_out_len(const wk_convt1d *p) {
  return (p->L - 1) * p->stride - 2 * p->padding + p->k;
}
