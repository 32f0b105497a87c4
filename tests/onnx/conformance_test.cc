// ONNX backend node tests (Debian libonnx-testdata, onnx 1.12) for every op qplay supports:
// import model.onnx, run the fp32/reference executor on test_data_set_*/input_*.pb and compare with
// output_*.pb. Tolerances are the ONNX backend runner's (onnx/backend/test/runner/__init__.py,
// assert_allclose with rtol=1e-3, atol=1e-7); integer and bool outputs must match exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "core/graph/executor.h"
#include "core/onnx/onnx.h"

namespace qp {
namespace {

const char* kNodeDir = "/usr/share/libonnx-testdata/data/node/";

// In scope: every node test of a supported op with supported types (the count is visible here).
const char* const kInScope[] = {
    "test_add", "test_add_bcast", "test_add_uint8",
    "test_averagepool_1d_default", "test_averagepool_2d_ceil", "test_averagepool_2d_default",
    "test_averagepool_2d_pads", "test_averagepool_2d_pads_count_include_pad",
    "test_averagepool_2d_precomputed_pads", "test_averagepool_2d_precomputed_pads_count_include_pad",
    "test_averagepool_2d_precomputed_same_upper", "test_averagepool_2d_precomputed_strides",
    "test_averagepool_2d_same_lower", "test_averagepool_2d_same_upper", "test_averagepool_2d_strides",
    "test_averagepool_3d_default",
    "test_basic_conv_with_padding", "test_basic_conv_without_padding",
    "test_basic_convinteger", "test_convinteger_with_padding", "test_convinteger_without_padding",
    "test_batchnorm_epsilon", "test_batchnorm_example",
    "test_clip", "test_clip_default_inbounds", "test_clip_default_int8_inbounds",
    "test_clip_default_int8_max", "test_clip_default_int8_min", "test_clip_default_max",
    "test_clip_default_min", "test_clip_example", "test_clip_inbounds", "test_clip_outbounds",
    "test_clip_splitbounds",
    "test_concat_1d_axis_0", "test_concat_1d_axis_negative_1", "test_concat_2d_axis_0",
    "test_concat_2d_axis_1", "test_concat_2d_axis_negative_1", "test_concat_2d_axis_negative_2",
    "test_concat_3d_axis_0", "test_concat_3d_axis_1", "test_concat_3d_axis_2",
    "test_concat_3d_axis_negative_1", "test_concat_3d_axis_negative_2", "test_concat_3d_axis_negative_3",
    "test_constant", "test_constant_pad", "test_edge_pad", "test_reflect_pad",
    "test_conv_with_autopad_same", "test_conv_with_strides_and_asymmetric_padding",
    "test_conv_with_strides_no_padding", "test_conv_with_strides_padding",
    "test_dequantizelinear", "test_dequantizelinear_axis",
    "test_quantizelinear", "test_quantizelinear_axis",
    "test_div", "test_div_bcast", "test_div_example", "test_div_uint8",
    "test_dropout_default", "test_dropout_default_mask", "test_dropout_default_mask_ratio",
    "test_dropout_default_old", "test_dropout_default_ratio", "test_dropout_random_old",
    "test_training_dropout_zero_ratio", "test_training_dropout_zero_ratio_mask",
    "test_dynamicquantizelinear", "test_dynamicquantizelinear_max_adjusted",
    "test_dynamicquantizelinear_min_adjusted",
    "test_flatten_axis0", "test_flatten_axis1", "test_flatten_axis2", "test_flatten_axis3",
    "test_flatten_default_axis", "test_flatten_negative_axis1", "test_flatten_negative_axis2",
    "test_flatten_negative_axis3", "test_flatten_negative_axis4",
    "test_gemm_all_attributes", "test_gemm_alpha", "test_gemm_beta", "test_gemm_default_matrix_bias",
    "test_gemm_default_no_bias", "test_gemm_default_scalar_bias",
    "test_gemm_default_single_elem_vector_bias", "test_gemm_default_vector_bias",
    "test_gemm_default_zero_bias", "test_gemm_transposeA", "test_gemm_transposeB",
    "test_globalaveragepool", "test_globalaveragepool_precomputed",
    "test_hardsigmoid", "test_hardsigmoid_default", "test_hardsigmoid_example",
    "test_hardswish", "test_hardswish_expanded",
    "test_identity",
    "test_leakyrelu", "test_leakyrelu_default", "test_leakyrelu_example",
    "test_logsoftmax_axis_0", "test_logsoftmax_axis_1", "test_logsoftmax_axis_2",
    "test_logsoftmax_default_axis", "test_logsoftmax_example_1", "test_logsoftmax_large_number",
    "test_logsoftmax_negative_axis",
    "test_matmul_2d", "test_matmul_3d", "test_matmul_4d", "test_matmulinteger",
    "test_maxpool_1d_default", "test_maxpool_2d_ceil", "test_maxpool_2d_default",
    "test_maxpool_2d_dilations", "test_maxpool_2d_pads", "test_maxpool_2d_precomputed_pads",
    "test_maxpool_2d_precomputed_same_upper", "test_maxpool_2d_precomputed_strides",
    "test_maxpool_2d_same_lower", "test_maxpool_2d_same_upper", "test_maxpool_2d_strides",
    "test_maxpool_2d_uint8", "test_maxpool_3d_default",
    "test_mul", "test_mul_bcast", "test_mul_example", "test_mul_uint8",
    "test_qlinearconv", "test_qlinearmatmul_2D", "test_qlinearmatmul_3D",
    "test_relu",
    "test_reshape_allowzero_reordered", "test_reshape_extended_dims", "test_reshape_negative_dim",
    "test_reshape_negative_extended_dims", "test_reshape_one_dim", "test_reshape_reduced_dims",
    "test_reshape_reordered_all_dims", "test_reshape_reordered_last_dims",
    "test_reshape_zero_and_negative_dim", "test_reshape_zero_dim",
    "test_sigmoid", "test_sigmoid_example",
    "test_softmax_axis_0", "test_softmax_axis_1", "test_softmax_axis_2", "test_softmax_default_axis",
    "test_softmax_example", "test_softmax_large_number", "test_softmax_negative_axis",
    "test_squeeze", "test_squeeze_negative_axes",
    "test_sub", "test_sub_bcast", "test_sub_example", "test_sub_uint8",
    "test_tanh", "test_tanh_example",
    "test_transpose_all_permutations_0", "test_transpose_all_permutations_1",
    "test_transpose_all_permutations_2", "test_transpose_all_permutations_3",
    "test_transpose_all_permutations_4", "test_transpose_all_permutations_5", "test_transpose_default",
    "test_unsqueeze_axis_0", "test_unsqueeze_axis_1", "test_unsqueeze_axis_2", "test_unsqueeze_axis_3",
    "test_unsqueeze_negative_axes", "test_unsqueeze_three_axes", "test_unsqueeze_two_axes",
    "test_unsqueeze_unsorted_axes",
};

// Node tests of supported ops that are out of scope, with the reason. Each must be rejected by
// import or preparation with a clear Status (checked below), never crash.
struct OutOfScope {
  const char* name;
  const char* reason;
};
const OutOfScope kOutOfScope[] = {
    {"test_batchnorm_epsilon_training_mode", "BatchNormalization training mode (train/ owns it)"},
    {"test_batchnorm_example_training_mode", "BatchNormalization training mode (train/ owns it)"},
    {"test_maxpool_with_argmax_2d_precomputed_pads", "MaxPool Indices output"},
    {"test_maxpool_with_argmax_2d_precomputed_strides", "MaxPool Indices output"},
    {"test_training_dropout", "random Dropout masks in training mode"},
    {"test_training_dropout_default", "random Dropout masks in training mode"},
    {"test_training_dropout_default_mask", "random Dropout masks in training mode"},
    {"test_training_dropout_mask", "random Dropout masks in training mode"},
    {"test_identity_opt", "optional types"},
    {"test_identity_sequence", "sequence types"},
    {"test_dynamicquantizelinear_expanded", "uses ReduceMin/ReduceMax/Round/Cast"},
    {"test_dynamicquantizelinear_max_adjusted_expanded", "uses ReduceMin/ReduceMax/Round/Cast"},
    {"test_dynamicquantizelinear_min_adjusted_expanded", "uses ReduceMin/ReduceMax/Round/Cast"},
    {"test_softmax_axis_0_expanded", "uses ReduceMax/ReduceSum/Exp"},
    {"test_logsoftmax_axis_0_expanded", "uses ReduceMax/ReduceSum/Exp/Log"},
    {"test_convtranspose", "ConvTranspose is not in the op set"},
    {"test_constantofshape_float_ones", "ConstantOfShape is not in the op set"},
};

bool Exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// Element-wise comparison; message names the output, index and values.
void ExpectClose(const Tensor& want, const Tensor& got, const std::string& what) {
  ASSERT_EQ(want.dtype(), got.dtype()) << what << ": dtype " << DTypeName(got.dtype()) << " vs expected "
                                       << DTypeName(want.dtype());
  ASSERT_EQ(want.shape(), got.shape()) << what << ": shape " << ShapeToString(got.shape())
                                       << " vs expected " << ShapeToString(want.shape());
  if (want.dtype() != DType::kFloat32) {
    ASSERT_EQ(0, std::memcmp(want.raw(), got.raw(), want.nbytes())) << what << ": integer data differs";
    return;
  }
  // ONNX backend runner: |got - want| <= atol + rtol * |want|, rtol = 1e-3, atol = 1e-7.
  int bad = 0;
  for (int64_t i = 0; i < want.numel() && bad < 5; ++i) {
    const float w = want.f32()[i], g = got.f32()[i];
    const bool ok = (std::isnan(w) && std::isnan(g)) || w == g ||
                    std::fabs(double(g) - double(w)) <= 1e-7 + 1e-3 * std::fabs(double(w));
    if (!ok) {
      ADD_FAILURE() << what << "[" << i << "]: got " << g << ", expected " << w;
      ++bad;
    }
  }
}

void RunNodeTest(const std::string& name) {
  const std::string dir = kNodeDir + name;
  ASSERT_TRUE(Exists(dir + "/model.onnx")) << dir << " is missing (Debian package libonnx-testdata)";
  Result<Graph> g = onnx::ImportModelFile(dir + "/model.onnx");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  Result<Executor> ex = Executor::Create(*g);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  int sets = 0;
  for (int s = 0;; ++s) {
    const std::string sd = dir + "/test_data_set_" + std::to_string(s);
    if (!Exists(sd)) break;
    ++sets;
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < ex->graph().inputs.size(); ++i) {
      Result<Tensor> t = onnx::ParseTensorFile(sd + "/input_" + std::to_string(i) + ".pb");
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      inputs.push_back(std::move(t).value());
    }
    Result<std::vector<Tensor>> out = ex->Run(inputs);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    for (size_t i = 0; i < out->size(); ++i) {
      Result<Tensor> want = onnx::ParseTensorFile(sd + "/output_" + std::to_string(i) + ".pb");
      ASSERT_TRUE(want.ok()) << want.status().ToString();
      ExpectClose(*want, (*out)[i], name + " set " + std::to_string(s) + " output " + std::to_string(i));
    }
  }
  EXPECT_GT(sets, 0) << name << " has no test_data_set_*";
}

class OnnxConformance : public ::testing::TestWithParam<const char*> {};

TEST_P(OnnxConformance, MatchesReferenceOutputs) { RunNodeTest(GetParam()); }

INSTANTIATE_TEST_SUITE_P(OnnxNode, OnnxConformance, ::testing::ValuesIn(kInScope),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

TEST(OnnxConformanceList, CountAndOutOfScopeAreRejectedCleanly) {
  constexpr size_t kCount = sizeof(kInScope) / sizeof(kInScope[0]);
  std::printf("ONNX node tests in scope: %zu, out of scope (listed): %zu\n", kCount,
              sizeof(kOutOfScope) / sizeof(kOutOfScope[0]));
  for (const OutOfScope& o : kOutOfScope) {
    SCOPED_TRACE(o.name);
    const std::string dir = kNodeDir + std::string(o.name);
    ASSERT_TRUE(Exists(dir + "/model.onnx"));
    Result<Graph> g = onnx::ImportModelFile(dir + "/model.onnx");
    Status s = g.status();
    if (g.ok()) {
      Result<Executor> ex = Executor::Create(*g);
      s = ex.status();
      if (ex.ok()) {
        std::vector<Tensor> inputs;
        for (size_t i = 0; i < ex->graph().inputs.size(); ++i) {
          Result<Tensor> t = onnx::ParseTensorFile(dir + "/test_data_set_0/input_" + std::to_string(i) + ".pb");
          ASSERT_TRUE(t.ok()) << t.status().ToString();
          inputs.push_back(std::move(t).value());
        }
        s = ex->Run(inputs).status();
      }
    }
    EXPECT_FALSE(s.ok()) << o.name << " is listed out of scope (" << o.reason << ") but runs";
    EXPECT_FALSE(s.message().empty());
  }
}

}  // namespace
}  // namespace qp
