// Helpers for the XNNPACK adapters (native only, compiled with QP_WITH_XNNPACK): one-time
// library initialisation and an owning handle for xnn_operator_t. No kernel arithmetic here.
#pragma once

#include <memory>

#include "core/base/status.h"

namespace qp::kernels::xnnpack {

// xnn_initialize(nullptr) once per process; the Status says why XNNPACK is unusable.
Status EnsureInitialized();
// Wraps an xnn_operator_t (passed as void*) so xnn_delete_operator runs when the op dies.
std::shared_ptr<void> OwnOperator(void* op);
// Maps an xnn_status to a Status naming the call.
Status FromXnnStatus(int xnn_status, const char* call);
// xnn_run_operator(op, nullptr): single-threaded, as our other variants.
Status RunOperator(void* op);

}  // namespace qp::kernels::xnnpack
