// The node build's Session: one per module instance (see api_session.h).
#include "wasm/api_session.h"

namespace qp::jsapi {

Session* ApiSession() {
  static Session session;
  return &session;
}

}  // namespace qp::jsapi
