// XNNPACK adapter helpers (see xnnpack-common.h). Native only.
#include "kernels/xnnpack-common.h"

#include <xnnpack.h>

namespace qp::kernels::xnnpack {

Status EnsureInitialized() {
  static const xnn_status status = xnn_initialize(nullptr);
  return FromXnnStatus(status, "xnn_initialize");
}

std::shared_ptr<void> OwnOperator(void* op) {
  return std::shared_ptr<void>(op, [](void* p) {
    if (p) xnn_delete_operator(static_cast<xnn_operator_t>(p));
  });
}

Status FromXnnStatus(int s, const char* call) {
  switch (static_cast<xnn_status>(s)) {
    case xnn_status_success: return Status::Ok();
    case xnn_status_invalid_parameter:
      return InvalidArgument(call, ": XNNPACK rejected a parameter (xnn_status_invalid_parameter)");
    case xnn_status_unsupported_parameter:
      return Unimplemented(call, ": XNNPACK does not support these parameters");
    case xnn_status_unsupported_hardware:
      return Unimplemented(call, ": XNNPACK does not support this CPU");
    case xnn_status_out_of_memory: return ResourceExhausted(call, ": XNNPACK is out of memory");
    default: return Internal(call, " failed with xnn_status ", s);
  }
}

Status RunOperator(void* op) {
  return FromXnnStatus(xnn_run_operator(static_cast<xnn_operator_t>(op), nullptr),
                       "xnn_run_operator");
}

}  // namespace qp::kernels::xnnpack
