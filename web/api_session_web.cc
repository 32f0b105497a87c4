// The playground's answer to wasm/api_session.h: the JS API acts on the App's Session.
#include "wasm/api_session.h"
#include "web/app.h"

namespace qp::jsapi {

Session* ApiSession() {
  web::App* app = web::App::Get();
  return app != nullptr ? &app->session() : nullptr;
}

}  // namespace qp::jsapi
