// WebAssembly SIMD128 qs8/qc8 convolution: im2col straight into int16 rows (padding filled with
// the input zero point, so it cancels against the folded bias; k padded with zeros to a multiple
// of 8) feeding the 2x4c8 GEMM of qs8-gemm; 1x1 stride-1 unpadded convolutions only widen the
// NHWC input pixels; depthwise ones use the qs8-dwconv kernel. Bit-exact with the scalar
// reference.
#include <algorithm>
#include <cstring>

#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/qs8-dwconv/qs8-dwconv.h"
#include "kernels/qs8-gemm/qs8-gemm.h"

namespace qp::kernels::wasmsimd {

namespace {
bool IsDepthwise(const QS8ConvParams& p) {
  return p.group_input_channels == 1 && p.group_output_channels == 1;
}
bool IsPointwise(const QS8ConvParams& p) {
  return p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 &&
         p.pad_top == 0 && p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
}
constexpr size_t kIm2colRows = 128;  // output pixels per im2col chunk (bounds scratch memory)
}  // namespace

Status qs8_conv_minmax_2x4c8_create(const QS8ConvParams& params, QS8ConvOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8ConvParams(params));
  InitQS8ConvOp(params, op);
  const QS8ConvParams& p = op->params;
  if (IsDepthwise(p)) {
    // [C][kh][kw][1] -> [kh][kw][C]
    const size_t c = p.groups, taps = p.kernel_h * p.kernel_w;
    std::vector<int8_t> hwc(taps * c);
    for (size_t ch = 0; ch < c; ++ch) {
      for (size_t t = 0; t < taps; ++t) hwc[t * c + ch] = params.weights[ch * taps + t];
    }
    QS8DwConvParams d;
    d.channels = c;
    d.kernel_h = p.kernel_h;
    d.kernel_w = p.kernel_w;
    d.stride_h = p.stride_h;
    d.stride_w = p.stride_w;
    d.dilation_h = p.dilation_h;
    d.dilation_w = p.dilation_w;
    d.pad_top = p.pad_top;
    d.pad_left = p.pad_left;
    d.pad_bottom = p.pad_bottom;
    d.pad_right = p.pad_right;
    d.input_pixel_stride = p.input_pixel_stride;
    d.output_pixel_stride = p.output_pixel_stride;
    d.weights = hwc.data();
    d.bias = params.bias;
    d.input_zero_point = p.input_zero_point;
    d.requant = op->requant.data();
    d.per_channel = true;
    d.output = p.output;
    auto dw = std::make_shared<QS8DwConvOp>();
    QP_RETURN_IF_ERROR(qs8_dwconv_minmax_8c2r_create(d, dw.get()));
    op->backend = dw;
    return Status::Ok();
  }
  const size_t k = p.kernel_h * p.kernel_w * p.group_input_channels;
  const size_t goc = p.group_output_channels;
  const size_t panel = qs8_gemm_2x4c8_packed_size(goc, k);
  const size_t bias_per_group = qs8_gemm_2x4c8_padded_n(goc);
  std::vector<int16_t> packed(p.groups * panel);
  op->bias.resize(p.groups * bias_per_group);
  for (size_t g = 0; g < p.groups; ++g) {
    qs8_gemm_2x4c8_pack(goc, k, params.weights + g * goc * k, k,
                        params.bias ? params.bias + g * goc : nullptr, p.input_zero_point,
                        packed.data() + g * panel, op->bias.data() + g * bias_per_group);
  }
  op->weights.resize(packed.size() * sizeof(int16_t));
  std::memcpy(op->weights.data(), packed.data(), op->weights.size());
  // The GEMM reads requant for padded_n(goc) channels of the last group: lanes past goc are
  // computed and never stored.
  op->requant.resize(op->requant.size() + 3, op->requant.back());
  return Status::Ok();
}

Status qs8_conv_minmax_2x4c8_run(const QS8ConvOp& op, size_t batch, size_t in_h, size_t in_w,
                                 const int8_t* input, int8_t* output) {
  const QS8ConvParams& p = op.params;
  if (IsDepthwise(p)) {
    return qs8_dwconv_minmax_8c2r_run(*static_cast<const QS8DwConvOp*>(op.backend.get()), batch,
                                     in_h, in_w, input, output);
  }
  QP_ASSIGN_OR_RETURN(size_t out_h, ConvOutputSize(in_h, p.pad_top, p.pad_bottom, p.kernel_h,
                                                   p.stride_h, p.dilation_h, "height"));
  QP_ASSIGN_OR_RETURN(size_t out_w, ConvOutputSize(in_w, p.pad_left, p.pad_right, p.kernel_w,
                                                   p.stride_w, p.dilation_w, "width"));
  const size_t gic = p.group_input_channels, goc = p.group_output_channels;
  const size_t k = p.kernel_h * p.kernel_w * gic;
  const size_t kp = qs8_gemm_2x4c8_padded_k(k);
  const size_t panel = qs8_gemm_2x4c8_packed_size(goc, k);
  const size_t bias_per_group = qs8_gemm_2x4c8_padded_n(goc);
  const auto* weights = reinterpret_cast<const int16_t*>(op.weights.data());
  if (IsPointwise(p)) {
    const size_t pixels = batch * in_h * in_w;
    op.scratch16.resize(std::min(pixels, kIm2colRows) * kp);
    for (size_t first = 0; first < pixels; first += kIm2colRows) {
      const size_t count = std::min(kIm2colRows, pixels - first);
      for (size_t g = 0; g < p.groups; ++g) {
        qs8_gemm_2x4c8_widen_rows(count, gic, input + first * p.input_pixel_stride + g * gic,
                                  p.input_pixel_stride, op.scratch16.data());
        qs8_gemm_2x4c8_compute(count, goc, gic, op.scratch16.data(), kp, weights + g * panel,
                               op.bias.data() + g * bias_per_group, op.requant.data() + g * goc,
                               p.output, output + first * p.output_pixel_stride + g * goc,
                               p.output_pixel_stride);
      }
    }
    return Status::Ok();
  }
  const size_t pixels = out_h * out_w;
  op.scratch16.resize(std::min(pixels, kIm2colRows) * kp);
  int16_t* rows = op.scratch16.data();
  const int16_t za = static_cast<int16_t>(p.input_zero_point);
  // Dense rows (one group, unit horizontal dilation, pixels packed): a kernel row's kw taps are one
  // contiguous run of kw * gic input values, widened in one call. For few input channels (the
  // MobileNetV2 stem: 3) this replaces kw calls on 3 values each (a scalar tail every time).
  const bool dense_rows = p.groups == 1 && p.dilation_w == 1 && p.input_pixel_stride == gic;
  const size_t run = p.kernel_w * gic;
  for (size_t b = 0; b < batch; ++b) {
    const int8_t* image = input + b * in_h * in_w * p.input_pixel_stride;
    int8_t* out_image = output + b * pixels * p.output_pixel_stride;
    for (size_t first = 0; first < pixels; first += kIm2colRows) {
      const size_t count = std::min(kIm2colRows, pixels - first);
      for (size_t g = 0; g < p.groups; ++g) {
        for (size_t r = 0; r < count; ++r) {
          const size_t oy = (first + r) / out_w, ox = (first + r) % out_w;
          int16_t* row = rows + r * kp;
          const long ix0 = static_cast<long>(ox * p.stride_w) - static_cast<long>(p.pad_left);
          const bool inside_w = ix0 >= 0 && ix0 + static_cast<long>(p.kernel_w) <= static_cast<long>(in_w);
          for (size_t ky = 0; ky < p.kernel_h; ++ky) {
            const long iy = static_cast<long>(oy * p.stride_h + ky * p.dilation_h) -
                            static_cast<long>(p.pad_top);
            if (dense_rows && inside_w && iy >= 0 && iy < static_cast<long>(in_h)) {
              qs8_widen_int8(run, image + (iy * in_w + ix0) * gic, row);
              row += run;
              continue;
            }
            for (size_t kx = 0; kx < p.kernel_w; ++kx, row += gic) {
              const long ix = static_cast<long>(ox * p.stride_w + kx * p.dilation_w) -
                              static_cast<long>(p.pad_left);
              if (iy < 0 || iy >= static_cast<long>(in_h) || ix < 0 ||
                  ix >= static_cast<long>(in_w)) {
                std::fill(row, row + gic, za);
              } else {
                qs8_widen_int8(gic, image + (iy * in_w + ix) * p.input_pixel_stride + g * gic,
                               row);
              }
            }
          }
          std::fill(row, rows + (r + 1) * kp, int16_t{0});
        }
        qs8_gemm_2x4c8_compute(count, goc, k, rows, kp, weights + g * panel,
                               op.bias.data() + g * bias_per_group, op.requant.data() + g * goc,
                               p.output, out_image + first * p.output_pixel_stride + g * goc,
                               p.output_pixel_stride);
      }
    }
  }
  return Status::Ok();
}

}  // namespace qp::kernels::wasmsimd
