/*
 * wk.h — the compute op interface. Two backends sit behind it: cpu (C,
 * OpenBLAS, threads) and cuda (CUDA C, cuBLAS/cuBLASLt). A model is written
 * once against these calls; the context says where it runs.
 *
 * Conventions
 * - Activations are f32 in the context's device memory, dense row-major.
 *   Weights are passed as wk_w (f32, bf16 or fp8-e4m3 + scale) and converted
 *   at use, so streamed and resident weights take exactly the same path.
 * - Every fallible function returns 0 or a negative WK_E* code. Ops are
 *   asynchronous on the cuda backend (ordered on the context's compute
 *   stream); wk_sync waits.
 * - Scratch memory comes from a caller-provided workspace (wk_set_workspace),
 *   so the caller can account it. wk_*_workspace() says how much an op needs;
 *   an op returns WK_ESPACE when the workspace is too small.
 * - Deterministic: no atomics in reductions; the same inputs give the same
 *   bytes run after run, wherever the weight bytes live.
 * - The kernels know nothing of warmd, the ledger, INI or sockets.
 * - Threads: one host thread drives a context at a time (calls from
 *   several threads must be serialised by the caller). Only on cpu may the
 *   memory and copy functions also run on a second thread while ops run
 *   (they touch no context state; a streamer's copy thread uses this).
 * - Arguments are checked before any work: NULL buffers with a non-zero
 *   size, negative sizes, sizes above 2^40, overlapping in/out where an op
 *   forbids it and shape rules below give WK_EINVAL with a message naming
 *   the op and argument (wk_last_error); zero-sized work returns 0 and
 *   touches nothing. The cpu backend returns WK_EUNSUPPORTED for a GEMM
 *   dimension beyond the BLAS int range.
 */
#ifndef WK_H
#define WK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* What libwarm exports (it builds with hidden visibility by default). */
#pragma GCC visibility push(default)

enum {
  WK_OK = 0,
  WK_EINVAL = -1,  /* bad shape/argument */
  WK_ESPACE = -2,  /* workspace too small */
  WK_ENOMEM = -3,  /* allocation failed */
  WK_EDEVICE = -8, /* driver/library call failed */
  WK_EUNSUPPORTED = -6,
};

typedef enum wk_backend { WK_BACKEND_CPU = 0, WK_BACKEND_CUDA = 1 } wk_backend;

typedef enum wk_dtype {
  WK_F32 = 1,
  WK_BF16 = 2,
  WK_FP8_E4M3 = 3,
} wk_dtype;

/* A weight operand: `data` on the context's device (or, for
 * wk_embed_gather_host, host memory). Element value = decode(data) * scale
 * for fp8; scale is ignored otherwise. */
typedef struct wk_w {
  const void *data;
  wk_dtype dtype;
  float scale;
} wk_w;

typedef struct wk_ctx wk_ctx;
typedef struct wk_event wk_event;

/* ---- contexts, memory, copies ------------------------------------------- */

/* 1 when the backend can run here (cuda: a device is present), else 0. */
int wk_backend_available(wk_backend b);
/* Number of CUDA devices (0 when none or when built without CUDA). */
int wk_cuda_device_count(void);

/* threads: cpu worker threads, the caller included (0 = the process
 * default below); ignored on cuda. Every cpu context attaches to the one
 * compute pool of the process (grown to the largest request, stopped with
 * the last context) and splits its ops over at most `threads` of it; BLAS
 * runs single-threaded inside the pool's workers. */
int wk_ctx_create(wk_backend b, int device_index, int threads, wk_ctx **out);
/* The default worker count of cpu contexts created with threads == 0 from
 * now on: 0 = the cores this process may use (its affinity mask). */
void wk_cpu_set_threads(int threads);
/* Workers in the process's cpu pool now (0 when no cpu context exists). */
int wk_cpu_pool_threads(void);
/* A context that only answers the wk_*_workspace() queries of backend b,
 * for estimates made without the device (warmd --plan): cuda needs the
 * CUDA backend library but no GPU; cpu is an ordinary context. Ops that
 * compute or allocate on a cuda sizing context fail with WK_EUNSUPPORTED.
 * Freed with wk_ctx_destroy. */
int wk_ctx_create_sizing(wk_backend b, int threads, wk_ctx **out);
void wk_ctx_destroy(wk_ctx *c);
wk_backend wk_ctx_backend(const wk_ctx *c);
/* Message of the context's last failure; with c == NULL, the message of the
 * last failed wk_ctx_create on the calling thread. */
const char *wk_last_error(const wk_ctx *c);

/* Scratch for ops; caller-owned, on the context's device. */
void wk_set_workspace(wk_ctx *c, void *ptr, size_t bytes);

/* Raw device memory (cpu: 64-byte aligned host memory). Accounting is the
 * caller's. bytes == 0 gives *out == NULL and 0; freeing NULL is a no-op. */
/* Device memory free now and in total: cudaMemGetInfo on cuda; on cpu the
 * available and the physical RAM. For budgets (capacity - reserve). */
int wk_dev_mem_info(wk_ctx *c, size_t *free_bytes, size_t *total_bytes);
int wk_dev_alloc(wk_ctx *c, size_t bytes, void **out);
void wk_dev_free(wk_ctx *c, void *ptr);
/* Page-locked host memory (cpu: aligned host memory). */
int wk_host_alloc_pinned(wk_ctx *c, size_t bytes, void **out);
void wk_host_free_pinned(wk_ctx *c, void *ptr);
/* Page-locks existing host memory (e.g. an mmap'd range) in place; no-op on
 * cpu. */
int wk_host_register(wk_ctx *c, void *ptr, size_t bytes);
int wk_host_unregister(wk_ctx *c, void *ptr);

/* Copies, ordered on the compute stream. */
int wk_copy_h2d(wk_ctx *c, void *dst, const void *src, size_t n);
int wk_copy_d2h(wk_ctx *c, void *dst, const void *src, size_t n);
int wk_copy_d2d(wk_ctx *c, void *dst, const void *src, size_t n);
int wk_memset(wk_ctx *c, void *dst, int value, size_t n);
/* Host -> device on the copy stream (cuda), overlapping compute; a plain
 * synchronous copy on cpu. Order it against compute with events. */
int wk_copy_h2d_async(wk_ctx *c, void *dst, const void *src, size_t n);

/* Events order the copy stream against the compute stream. */
int wk_event_create(wk_ctx *c, wk_event **out);
void wk_event_destroy(wk_ctx *c, wk_event *e);
int wk_event_record_copy(wk_ctx *c, wk_event *e);    /* after queued copies */
int wk_event_record_compute(wk_ctx *c, wk_event *e); /* after queued ops */
int wk_compute_wait(wk_ctx *c, wk_event *e);         /* compute waits on e */
int wk_copy_wait(wk_ctx *c, wk_event *e);            /* copies wait on e */
int wk_event_sync(wk_ctx *c, wk_event *e);           /* host waits on e */
int wk_sync(wk_ctx *c);                              /* host waits on all */

/* ---- dtypes -------------------------------------------------------------- */

/* Element conversion between f32, bf16 and fp8-e4m3 (round to nearest even;
 * fp8 saturates to +-448, NaN -> 0x7F; bf16 keeps NaN). For fp8 the stored
 * byte is fp8(x / scale) on the way in and the value fp8_value(byte) * scale
 * on the way out, both in f32 arithmetic (a division, not a multiply by
 * the reciprocal); conversions between bf16 and fp8 go through f32. scale
 * must be finite and > 0 when one side is fp8. Same dtype: a plain copy
 * (dst == src allowed); otherwise dst must not overlap src. Device memory. */
int wk_convert(wk_ctx *c, void *dst, wk_dtype dst_dt, const void *src,
               wk_dtype src_dt, size_t n, float scale);
/* Host-side scalar helpers, identical rounding to the kernels. */
uint16_t wk_f32_to_bf16(float x);
float wk_bf16_to_f32(uint16_t x);
uint8_t wk_f32_to_fp8(float x); /* x already divided by the scale; e4m3fn */
float wk_fp8_to_f32(uint8_t x);

/* ---- linear algebra ------------------------------------------------------ */

/* y[M,N] = x[M,K] . W[N,K]^T (+ bias[N]). W in any weight dtype (converted
 * in the workspace); bias may have .data == NULL. y must not alias x. */
int wk_linear(wk_ctx *c, const float *x, int64_t M, int64_t K, wk_w W,
              wk_w bias, int64_t N, float *y);
size_t wk_linear_workspace(wk_ctx *c, int64_t M, int64_t K, int64_t N,
                           wk_dtype wdt);

/* Precision of wk_linear with bf16 weights. Off (the default): the result
 * is that of f32 activations times the bf16 weights (on cpu the activations
 * are split into two bf16 halves, two products). On: the activations are
 * rounded to bf16 once, as frameworks run a bf16 model — half the work on
 * cpu, relative error about 2^-9 per product. cuda always rounds them
 * (cuBLAS bf16 GEMMs), so the switch only changes cpu contexts. */
int wk_set_bf16_activations(wk_ctx *c, int on);

/* Strided batched f32 GEMM, column-major-free row-major semantics:
 * C[b] = alpha * op(A[b]) . op(B[b]) + beta * C[b], with op(A) [M,K],
 * op(B) [K,N], C [M,N]; lda/ldb/ldc are row strides of the stored matrices,
 * sA/sB/sC element strides between batches (0 broadcasts A or B; C
 * batches must not overlap). K == 0 gives C = beta * C (beta == 0: zeros). */
int wk_gemm(wk_ctx *c, int trans_a, int trans_b, int64_t M, int64_t N,
            int64_t K, float alpha, const float *A, int64_t lda, int64_t sA,
            const float *B, int64_t ldb, int64_t sB, float beta, float *C,
            int64_t ldc, int64_t sC, int64_t batch);

/* ---- normalisation and elementwise --------------------------------------- */

/* y = x / rms(x) * w over rows of `dim` (plus_one: * (1 + w), Gemma).
 * w.data may be NULL (no affine). y may alias x. */
int wk_rmsnorm(wk_ctx *c, const float *x, wk_w w, int64_t rows, int64_t dim,
               float eps, int plus_one, float *y);
/* y = (x - mean) / sqrt(var + eps) * w + b; w/b may be NULL. y may alias x. */
int wk_layernorm(wk_ctx *c, const float *x, wk_w w, wk_w b, int64_t rows,
                 int64_t dim, float eps, float *y);
/* Softmax over rows of `cols`. y may alias x. A row that is all -inf
 * (fully masked) gives zeros. */
int wk_softmax(wk_ctx *c, const float *x, int64_t rows, int64_t cols, float *y);

/* gelu_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); silu:
 * x / (1 + exp(-x)). y may alias x. */
int wk_gelu_tanh(wk_ctx *c, const float *x, int64_t n, float *y);
int wk_silu(wk_ctx *c, const float *x, int64_t n, float *y);
/* y = a + b, y = a * b (n elements; y may alias a or b). */
int wk_add(wk_ctx *c, const float *a, const float *b, int64_t n, float *y);
int wk_mul(wk_ctx *c, const float *a, const float *b, int64_t n, float *y);
/* y = x * s. */
int wk_scale(wk_ctx *c, const float *x, float s, int64_t n, float *y);
/* y[r, :] = x[r, :] + v[:] (bias add / broadcast over rows). */
int wk_add_row(wk_ctx *c, const float *x, const float *v, int64_t rows,
               int64_t cols, float *y);

/* RMS normalisation across the channels of each position of a channel-first
 * x [C, S]: y[c, s] = x[c, s] / sqrt(mean over c of x[., s]^2 + eps), then
 * y * (1 + scale[c]) + shift[c] when scale is not NULL (shift with it),
 * then SiLU when act: what transposing to [S, C], wk_rmsnorm (no weight),
 * wk_modulate, wk_silu and transposing back compute. tmp: C * S floats of
 * scratch (the CUDA backend goes through channel-last there; the cpu reads
 * x in place and never touches it). y may alias x. */
int wk_channel_rmsnorm(wk_ctx *c, const float *x, int64_t C, int64_t S,
                       float eps, const float *scale, const float *shift,
                       int act, float *tmp, float *y);
/* adaLN: y[r,:] = x[r,:] * (1 + scale[:]) + shift[:]. y may alias x. */
int wk_modulate(wk_ctx *c, const float *x, const float *scale,
                const float *shift, int64_t rows, int64_t cols, float *y);
/* Gated residual: y[r,:] = res[r,:] + gate[:] * h[r,:]. y may alias res
 * or h. */
int wk_gate_add(wk_ctx *c, const float *res, const float *gate, const float *h,
                int64_t rows, int64_t cols, float *y);

/* y[C, R] = x[R, C]^T. y must not overlap x. */
int wk_transpose(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
                 float *y);

/* ---- LTX-2 text conditioning ---------------------------------------------- */

/* V1 feature normalisation of a hidden state x [rows, cols] whose valid
 * rows are [row0, rows) (left padding): over those elements mean =
 * sum / (n + eps) (n their count, the sum in double) and range = max - min;
 * y = 8 * (x - mean) / (range + eps) on valid rows, 0 on rows < row0.
 * y may alias x. row0 must be < rows. */
int wk_range_norm(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
                  int64_t row0, float eps, float *y);
/* Per-head attention gate (LTX-2.3 gated attention, transformer and
 * connectors): y[r, h, :] = x[r, h, :] * 2 * sigmoid(g[r, h]) for x
 * [rows, H, D] and logits g [rows, H]. y may alias x. */
int wk_head_gate(wk_ctx *c, const float *x, const float *g, int64_t rows,
                 int64_t H, int64_t D, float *y);

/* ---- embeddings and positions -------------------------------------------- */

/* out[t, :] = table[ids[t], :] * mult; table [V, C] on the device. ids on
 * the host. Ids outside [0, V) fail with WK_EINVAL. */
int wk_embed_gather(wk_ctx *c, wk_w table, int64_t V, int64_t C,
                    const int32_t *ids, int64_t T, float mult, float *out);
/* The same, with the table in host memory: only the T rows are converted and
 * copied to the device (for streamed encoders, whose table stays on host). */
int wk_embed_gather_host(wk_ctx *c, wk_w table, int64_t V, int64_t C,
                         const int32_t *ids, int64_t T, float mult, float *out);

/* Rotary embedding in place on x [T, H, D] (row stride H*D) with tables
 * cos/sin [T, D] on the device.
 *   WK_ROPE_HALF: pairs (i, i + D/2) — HF "rotate_half" (Gemma, Llama).
 *   WK_ROPE_INTERLEAVED: pairs (2i, 2i+1) — diffusers LTX-Video. */
enum { WK_ROPE_HALF = 0, WK_ROPE_INTERLEAVED = 1 };
int wk_rope(wk_ctx *c, float *x, int64_t T, int64_t H, int64_t D,
            const float *cos, const float *sin, int mode);
/* Host helper: 1-D tables for positions pos[T] with base theta and linear
 * scaling factor (positions divided by `factor`), HALF layout: cos[t, i] =
 * cos[t, i + D/2] = cos(pos/factor * theta^(-2i/D)), computed in double and
 * rounded once to f32. Does nothing on invalid arguments (NULL, D odd or
 * <= 0, factor == 0). */
void wk_rope_table_1d(const float *pos, int64_t T, int64_t D, double theta,
                      double factor, float *cos_out, float *sin_out);

/* ---- attention ----------------------------------------------------------- */

/*
 * out[b, i, h, :] = softmax_j(scale * q[b,i,h,:] . k[b,j,h/g,:] + mask) v[...]
 * q [B, Tq, Hq, D], k and v [B, Tk, Hkv, D], out [B, Tq, Hq, D], with
 * g = Hq / Hkv (GQA). Masks:
 *   causal:  j > p is masked, p = i + (Tk - Tq) the query's key position
 *            (queries aligned to the end).
 *   window:  when > 0 and causal, j <= p - window is masked too (HF sliding
 *            window: a query sees `window` keys including itself); ignored
 *            when not causal.
 *   kv_mask: [B, Tk] int32 on the device, 0 = masked key (padding); NULL
 *            for none.
 * A query row with every key masked outputs zeros. Never materialises
 * [Tq, Tk]: blocked/online softmax on both backends. out must not overlap
 * k or v. Scratch: wk_attention_workspace (on cpu it depends on D only,
 * not on T).
 */
typedef struct wk_attn {
  int64_t B, Tq, Tk, Hq, Hkv, D;
  float scale;
  int causal;
  int64_t window;
  const int32_t *kv_mask;
} wk_attn;
int wk_attention(wk_ctx *c, const wk_attn *a, const float *q, const float *k,
                 const float *v, float *out);
size_t wk_attention_workspace(wk_ctx *c, const wk_attn *a);

/* ---- video --------------------------------------------------------------- */

/* Padding modes of the convolutions. WK_PAD_DEFAULT (0) keeps an op's
 * historical behaviour, so a zero-initialised descriptor means what it
 * always meant. REFLECT mirrors without repeating the edge (torch's
 * "reflect": a pad must be smaller than the axis); REPLICATE repeats it. */
enum {
  WK_PAD_DEFAULT = 0,
  WK_PAD_ZEROS = 1,
  WK_PAD_REFLECT = 2,
  WK_PAD_REPLICATE = 3,
};

/*
 * 3-D convolution, stride 1 (dilation 1), x [Ci, T, H, W] -> y [Co, T', H',
 * W'], weight [Co, Ci, kt, kh, kw] in any weight dtype, bias [Co] or NULL.
 * Temporal padding: pt_front before frame 0 and pt_back after the last, in
 * mode tpad (DEFAULT: replicate the edge frames; causal: pt_front = kt - 1,
 * pt_back = 0). Spatial padding: ph rows above and pw columns left, and the
 * same below/right unless `asym` is set, then ph_back / pw_back; mode spad
 * (DEFAULT: zeros). 2-D convs are kt = T = 1; asymmetric padding serves
 * causal 2-D convs (the LTX-2 audio VAE).
 */
typedef struct wk_conv3d {
  int64_t Ci, T, H, W, Co, kt, kh, kw;
  int64_t pt_front, pt_back, ph, pw;
  int tpad, spad; /* WK_PAD_* */
  int asym;
  int64_t ph_back, pw_back;
} wk_conv3d;
/* Output extents of a wk_conv3d (for callers sizing buffers). */
int64_t wk_conv3d_out_t(const wk_conv3d *p);
int64_t wk_conv3d_out_h(const wk_conv3d *p);
int64_t wk_conv3d_out_w(const wk_conv3d *p);
int wk_conv3d_fwd(wk_ctx *c, const wk_conv3d *p, const float *x, wk_w weight,
                  wk_w bias, float *y);
size_t wk_conv3d_workspace(wk_ctx *c, const wk_conv3d *p, wk_dtype wdt);

/*
 * Packed convolution weights. The cpu backend's convolution reads its
 * weights in oneDNN's blocked layout and without an arena reorders them on
 * every call (a tiled decode runs each conv once per tile). A caller whose
 * weights stay at one address, unchanged, can give the context an arena
 * (memory it allocated and booked): each convolution's weights are then
 * reordered into it once, on first use, keyed by the weight pointer and
 * the conv's channels and kernel, and read from there after; the bytes a
 * conv computes are the same either way. A weight that finds no room left
 * is reordered per call as before.
 * wk_conv3d_packed_bytes: the arena bytes conv p's weights take (0 where
 * nothing is packed: the CUDA backend, a cpu without oneDNN, a shape oneDNN
 * does not serve). wk_set_pack_arena: the arena, or NULL / 0 to forget
 * every packed copy (call it before the weights move or are freed, and
 * before freeing the arena).
 */
size_t wk_conv3d_packed_bytes(wk_ctx *c, const wk_conv3d *p, wk_dtype wdt);
int wk_set_pack_arena(wk_ctx *c, void *arena, size_t bytes);

/* Depth to space: x [C*pt*ph*pw, T, H, W] -> y [C, T*pt, H*ph, W*pw], with
 * the input channel index c*pt*ph*pw + it*ph*pw + ih*pw + iw (diffusers
 * LTX-Video upsampler order). */
int wk_depth_to_space3d(wk_ctx *c, const float *x, int64_t C, int64_t T,
                        int64_t H, int64_t W, int pt, int ph, int pw, float *y);

/* Space to depth with a channel-group mean (the LTX-2 encoder's
 * SpaceToDepthDownsample): x [C, T*pt, H*ph, W*pw] -> y [C*pt*ph*pw/group,
 * T, H, W], where the space-to-depth channel c*pt*ph*pw + it*ph*pw + ih*pw
 * + iw holds x[c, t*pt+it, h*ph+ih, w*pw+iw] and y[o] is the mean of its
 * channels o*group .. o*group+group-1 (summed in order, then divided).
 * group must divide C*pt*ph*pw; group 1 is a plain space to depth. */
int wk_space_to_depth3d(wk_ctx *c, const float *x, int64_t C, int64_t T,
                        int64_t H, int64_t W, int pt, int ph, int pw,
                        int64_t group, float *y);

/* ---- audio and signal ------------------------------------------------------ */

/*
 * 1-D convolution (torch Conv1d): x [Ci, L] -> y [Co, Lo], weight
 * [Co, Ci/groups, k] in any weight dtype, bias [Co] or NULL. The input is
 * padded by pad_front / pad_back samples in mode `pad` (DEFAULT: zeros);
 * Lo = (L + pad_front + pad_back - dilation*(k-1) - 1) / stride + 1.
 */
typedef struct wk_conv1d {
  int64_t Ci, L, Co, k, stride, dilation, groups, pad_front, pad_back;
  int pad; /* WK_PAD_* */
  /* The weight holds one group's slice [Co/groups, Ci/groups, k], used by
   * every group (a depthwise filter shared by all channels). */
  int shared;
} wk_conv1d;
int64_t wk_conv1d_out_len(const wk_conv1d *p);
int wk_conv1d_fwd(wk_ctx *c, const wk_conv1d *p, const float *x, wk_w weight,
                  wk_w bias, float *y);
size_t wk_conv1d_workspace(wk_ctx *c, const wk_conv1d *p, wk_dtype wdt);

/*
 * Transposed 1-D convolution (torch ConvTranspose1d, output_padding 0):
 * x [Ci, L] -> y [Co, Lo], weight [Ci, Co/groups, k], bias [Co] or NULL;
 * Lo = (L - 1)*stride - 2*padding + k.
 */
typedef struct wk_convt1d {
  int64_t Ci, L, Co, k, stride, padding, groups;
  int shared; /* weight [Ci/groups, Co/groups, k] shared by every group */
} wk_convt1d;
int64_t wk_convt1d_out_len(const wk_convt1d *p);
int wk_conv_transpose1d(wk_ctx *c, const wk_convt1d *p, const float *x,
                        wk_w weight, wk_w bias, float *y);

/* Nearest-neighbour upsampling: x [C, T, H, W] -> y [C, T*ft, H*fh, W*fw]
 * (torch interpolate mode "nearest" with integer factors). */
int wk_upsample_nearest(wk_ctx *c, const float *x, int64_t C, int64_t T,
                        int64_t H, int64_t W, int ft, int fh, int fw,
                        float *y);

/* GroupNorm over x [C, S] (S positions per channel): each of `groups`
 * groups of C/groups channels is normalised over all its (C/groups)*S
 * values (biased variance), then * w[c] + b[c] (w/b may be NULL). y may
 * alias x. */
int wk_group_norm(wk_ctx *c, const float *x, int64_t C, int64_t S,
                  int64_t groups, wk_w w, wk_w b, float eps, float *y);

/* y = x >= 0 ? x : slope * x;  y = tanh(x). y may alias x. */
int wk_leaky_relu(wk_ctx *c, const float *x, int64_t n, float slope, float *y);
int wk_tanh(wk_ctx *c, const float *x, int64_t n, float *y);

/* Snake / SnakeBeta over x [C, L] (BigVGAN): y = x + sin(a x)^2 / (b + 1e-9)
 * with a = alpha[c], b = beta[c] (beta.data NULL: b = a), both exp()'d
 * first when `logscale`. alpha/beta f32 [C]. y may alias x. */
int wk_snake(wk_ctx *c, const float *x, int64_t C, int64_t L, wk_w alpha,
             wk_w beta, int logscale, float *y);

/* Pads each row of x [C, L] to y [C, front + L + back] in mode `mode`
 * (DEFAULT: zeros; reflect needs front and back below L). */
int wk_pad1d(wk_ctx *c, const float *x, int64_t C, int64_t L, int64_t front,
             int64_t back, int mode, float *y);

/* STFT magnitude: x [2N, T] (the real rows, then the imaginary rows, as a
 * conv1d with stacked DFT bases gives them) -> y [N, T] = sqrt(re^2 + im^2).
 * y must not overlap x. */
int wk_complex_abs(wk_ctx *c, const float *x, int64_t N, int64_t T, float *y);

/* y = log(max(x, lo));  y = min(max(x, lo), hi). y may alias x. */
int wk_log_clamp(wk_ctx *c, const float *x, int64_t n, float lo, float *y);
int wk_clamp(wk_ctx *c, const float *x, int64_t n, float lo, float hi,
             float *y);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif /* WK_H */
