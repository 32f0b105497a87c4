// Where the JS API finds its Session. The node build (wasm/api_session_node.cc) owns one; the
// playground links its own definition (web/api_session_web.cc) that returns the page's Session,
// so window.qplay and the panels act on the same model, data and history.
#pragma once

#include "core/session/session.h"

namespace qp::jsapi {

// nullptr while the host has not created its Session yet (the page before its first frame).
Session* ApiSession();

}  // namespace qp::jsapi
