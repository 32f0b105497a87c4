// Which instruction sets this build of qp_kernels contains, and the helpers the per-family
// X-macro lists (*.inc) use to build their dispatch tables. No kernel logic lives here.
#pragma once

#include <cstdint>
#include <ostream>

namespace qp::kernels {

enum class Isa : uint8_t { kScalar, kWasmSimd, kXnnpack };

inline const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kWasmSimd: return "wasmsimd";
    case Isa::kXnnpack: return "xnnpack";
  }
  return "?";
}

// True when this build compiled the variants of `isa` (scalar always; wasmsimd only in the
// Emscripten build with QP_WASM_SIMD; xnnpack only natively with QP_WITH_XNNPACK).
constexpr bool IsaCompiled(Isa isa) {
  return isa == Isa::kScalar
#if defined(QP_KERNELS_HAVE_WASMSIMD)
         || isa == Isa::kWasmSimd
#endif
#if defined(QP_KERNELS_HAVE_XNNPACK)
         || isa == Isa::kXnnpack
#endif
      ;
}

}  // namespace qp::kernels

// QP_KERNEL_FN_<ISA>(f): &f when the ISA is compiled in, else nullptr. The .inc lists use these so
// one table names every variant in every build; absent ones are skipped (GTEST_SKIP) by the tests.
#define QP_KERNEL_FN_SCALAR(f) (&f)
#if defined(QP_KERNELS_HAVE_WASMSIMD)
#define QP_KERNEL_FN_WASMSIMD(f) (&f)
#else
#define QP_KERNEL_FN_WASMSIMD(f) nullptr
#endif
#if defined(QP_KERNELS_HAVE_XNNPACK)
#define QP_KERNEL_FN_XNNPACK(f) (&f)
#else
#define QP_KERNEL_FN_XNNPACK(f) nullptr
#endif
#define QP_KERNEL_ISA_SCALAR ::qp::kernels::Isa::kScalar
#define QP_KERNEL_ISA_WASMSIMD ::qp::kernels::Isa::kWasmSimd
#define QP_KERNEL_ISA_XNNPACK ::qp::kernels::Isa::kXnnpack

namespace qp::kernels {
// One row of a family's dispatch table, produced by its .inc list. create/run are nullptr when
// the ISA is not compiled into this build.
template <typename CreateFn, typename RunFn>
struct KernelVariant {
  const char* name;  // "<isa>[_<tile>]", e.g. "wasmsimd_4x2c8"
  Isa isa;
  CreateFn create;
  RunFn run;
  bool available() const { return create != nullptr && run != nullptr; }
  // gtest prints parameters with this instead of a byte dump.
  friend void PrintTo(const KernelVariant& v, std::ostream* os) { *os << v.name; }
};
}  // namespace qp::kernels
