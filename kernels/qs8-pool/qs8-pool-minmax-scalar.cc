// Scalar references of max, average and global average pooling: direct loops over the
// contracts in qs8-pool.h. The oracles of the wasm SIMD and XNNPACK variants; never optimized.
#include <algorithm>

#include "kernels/qs8-conv/qs8-conv.h"  // ConvOutputSize
#include "kernels/qs8-pool/qs8-pool.h"

namespace qp::kernels::scalar {

Status qs8_maxpool_minmax_create(const QS8MaxPoolParams& params, QS8MaxPoolOp* op) {
  QP_RETURN_IF_ERROR(ValidatePoolGeometry(params.geometry, "qs8 maxpool"));
  if (params.qmin < -128 || params.qmax > 127 || params.qmin >= params.qmax) {
    return OutOfRange("qs8 maxpool: clamp [", params.qmin, ", ", params.qmax, "] is invalid");
  }
  op->params = params;
  ResolvePoolStrides(&op->params.geometry);
  return Status::Ok();
}

// Visits each output pixel's window taps that are inside the image: fn(out_pixel, taps, count)
// where taps[i] points at the input pixel. Shared by max and average pooling.
template <typename Fn>
Status ForEachWindow(const PoolGeometry& g, size_t batch, size_t in_h, size_t in_w,
                     const int8_t* input, int8_t* output, Fn fn) {
  QP_ASSIGN_OR_RETURN(size_t out_h, ConvOutputSize(in_h, g.pad_top, g.pad_bottom, g.kernel_h,
                                                   g.stride_h, g.dilation_h, "height"));
  QP_ASSIGN_OR_RETURN(size_t out_w, ConvOutputSize(in_w, g.pad_left, g.pad_right, g.kernel_w,
                                                   g.stride_w, g.dilation_w, "width"));
  std::vector<const int8_t*> taps(g.kernel_h * g.kernel_w);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t oy = 0; oy < out_h; ++oy) {
      for (size_t ox = 0; ox < out_w; ++ox) {
        size_t count = 0;
        for (size_t ky = 0; ky < g.kernel_h; ++ky) {
          const long iy = static_cast<long>(oy * g.stride_h + ky * g.dilation_h) -
                          static_cast<long>(g.pad_top);
          if (iy < 0 || iy >= static_cast<long>(in_h)) continue;
          for (size_t kx = 0; kx < g.kernel_w; ++kx) {
            const long ix = static_cast<long>(ox * g.stride_w + kx * g.dilation_w) -
                            static_cast<long>(g.pad_left);
            if (ix < 0 || ix >= static_cast<long>(in_w)) continue;
            taps[count++] = input + ((b * in_h + iy) * in_w + ix) * g.input_pixel_stride;
          }
        }
        fn(output + ((b * out_h + oy) * out_w + ox) * g.output_pixel_stride, taps.data(), count);
      }
    }
  }
  return Status::Ok();
}

Status qs8_maxpool_minmax_run(const QS8MaxPoolOp& op, size_t batch, size_t in_h, size_t in_w,
                              const int8_t* input, int8_t* output) {
  const QS8MaxPoolParams& p = op.params;
  return ForEachWindow(p.geometry, batch, in_h, in_w, input, output,
                       [&](int8_t* out, const int8_t* const* taps, size_t count) {
                         for (size_t c = 0; c < p.geometry.channels; ++c) {
                           int32_t m = -128;  // windows hold >= 1 tap (validated padding)
                           for (size_t t = 0; t < count; ++t) m = std::max<int32_t>(m, taps[t][c]);
                           out[c] = static_cast<int8_t>(std::min(std::max(m, p.qmin), p.qmax));
                         }
                       });
}

Status qs8_avgpool_minmax_create(const QS8AvgPoolParams& params, QS8AvgPoolOp* op) {
  return InitQS8AvgPoolOp(params, op);
}

Status qs8_avgpool_minmax_run(const QS8AvgPoolOp& op, size_t batch, size_t in_h, size_t in_w,
                              const int8_t* input, int8_t* output) {
  const QS8AvgPoolParams& p = op.params;
  const size_t full = p.geometry.kernel_h * p.geometry.kernel_w;
  return ForEachWindow(p.geometry, batch, in_h, in_w, input, output,
                       [&](int8_t* out, const int8_t* const* taps, size_t count) {
                         const quant::RequantChannel& rq =
                             op.requant_by_count[p.count_include_pad ? full : count];
                         for (size_t c = 0; c < p.geometry.channels; ++c) {
                           int32_t acc = 0;
                           for (size_t t = 0; t < count; ++t) acc += taps[t][c] - p.input_zero_point;
                           out[c] = static_cast<int8_t>(quant::Requantize(acc, rq, p.output));
                         }
                       });
}

Status qs8_gavgpool_minmax_create(const QS8GlobalAvgPoolParams& params, QS8GlobalAvgPoolOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8GlobalAvgPoolParams(params));
  op->params = params;
  if (!op->params.input_pixel_stride) op->params.input_pixel_stride = params.channels;
  return Status::Ok();
}

Status qs8_gavgpool_minmax_run(const QS8GlobalAvgPoolOp& op, size_t batch, const int8_t* input,
                               int8_t* output) {
  const QS8GlobalAvgPoolParams& p = op.params;
  for (size_t b = 0; b < batch; ++b) {
    const int8_t* image = input + b * p.width * p.input_pixel_stride;
    for (size_t c = 0; c < p.channels; ++c) {
      int32_t acc = 0;
      for (size_t i = 0; i < p.width; ++i) acc += image[i * p.input_pixel_stride + c] - p.input_zero_point;
      output[b * p.channels + c] = static_cast<int8_t>(quant::Requantize(acc, p.requant, p.output));
    }
  }
  return Status::Ok();
}

}  // namespace qp::kernels::scalar
