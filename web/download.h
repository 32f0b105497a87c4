// Hands bytes to the browser as a file download (a Blob and a temporary <a download> link). The
// bytes are copied into the Blob, so the caller's buffer may go away right after.
#pragma once

#include <string>

namespace qp::web {

void DownloadFile(const std::string& name, const std::string& bytes, const char* mime);

}  // namespace qp::web
