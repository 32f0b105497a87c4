# Third-party packages, all from Debian (binary packages natively; source packages, prepared by
# scripts/setup.sh under QP_DEPS_DIR, for the Emscripten build). Nothing here downloads anything.
# Defines, when available:
#   qp::gtest            GoogleTest + gmock with main
#   qp::protobuf_lite    protobuf-lite runtime (3.21.12 in both builds)
#   QP_PROTOC            protoc executable (Debian protobuf-compiler, used by both builds)
#   QP_ONNX_PROTO        onnx.proto from Debian libonnx-dev (optimize_for = LITE_RUNTIME)
#   qp::xnnpack          Debian libxnnpack + libpthreadpool (native only)
#   qp::benchmark        Google Benchmark (native only)
#   qp::zlib             zlib for gzip'd IDX files (native only; the browser inflates in JS)
#   qp::imgui            Dear ImGui 1.86 core + GLFW/OpenGL3 backends (Emscripten only)

function(qp_require_path path what)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "qplay: ${what} not found at ${path}. Run ./scripts/setup.sh first.")
  endif()
endfunction()

# ---- protoc and onnx.proto (both builds) ---------------------------------------------------------
find_program(QP_PROTOC protoc)
if(NOT QP_PROTOC)
  message(FATAL_ERROR "qplay: protoc not found (Debian package protobuf-compiler). Run ./scripts/setup.sh.")
endif()
set(QP_ONNX_PROTO "/usr/include/onnx/onnx.proto" CACHE FILEPATH "onnx.proto from libonnx-dev")
qp_require_path("${QP_ONNX_PROTO}" "onnx.proto (Debian package libonnx-dev)")

if(EMSCRIPTEN)
  # GoogleTest from Debian's googletest source package (/usr/src/googletest), single-threaded.
  if(QP_BUILD_TESTS)
    qp_require_path("/usr/src/googletest/CMakeLists.txt" "GoogleTest sources (Debian package googletest)")
    set(gtest_disable_pthreads ON CACHE BOOL "" FORCE)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    add_subdirectory(/usr/src/googletest ${CMAKE_BINARY_DIR}/_googletest EXCLUDE_FROM_ALL)
    add_library(qp_gtest INTERFACE)
    target_link_libraries(qp_gtest INTERFACE gtest gmock)
    add_library(qp::gtest ALIAS qp_gtest)
  endif()

  # protobuf-lite built for wasm by setup.sh (scripts/build-protobuf-wasm.sh).
  set(_pb "${QP_DEPS_DIR}/protobuf-wasm")
  qp_require_path("${_pb}/lib/libprotobuf-lite.a" "protobuf-lite for wasm")
  add_library(qp_protobuf_lite STATIC IMPORTED GLOBAL)
  set_target_properties(qp_protobuf_lite PROPERTIES
    IMPORTED_LOCATION "${_pb}/lib/libprotobuf-lite.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_pb}/include")
  add_library(qp::protobuf_lite ALIAS qp_protobuf_lite)

  if(QP_BUILD_WEB)
    set(_im "${QP_DEPS_DIR}/imgui")
    qp_require_path("${_im}/imgui.cpp" "Dear ImGui sources (Debian source package imgui)")
    add_library(qp_imgui STATIC
      ${_im}/imgui.cpp ${_im}/imgui_draw.cpp ${_im}/imgui_tables.cpp ${_im}/imgui_widgets.cpp
      ${_im}/imgui_demo.cpp
      ${_im}/backends/imgui_impl_glfw.cpp ${_im}/backends/imgui_impl_opengl3.cpp)
    target_include_directories(qp_imgui SYSTEM PUBLIC ${_im} ${_im}/backends)
    # The test-engine hooks let the browser tests find widgets by label (web/test_hooks.cc).
    target_compile_definitions(qp_imgui PUBLIC IMGUI_ENABLE_TEST_ENGINE IMGUI_IMPL_OPENGL_ES3
                                               IMGUI_DISABLE_FILE_FUNCTIONS)
    target_compile_options(qp_imgui PRIVATE -sUSE_GLFW=3)
    target_link_options(qp_imgui INTERFACE -sUSE_GLFW=3 -sUSE_WEBGL2=1 -sFULL_ES3=1
                                           -sMIN_WEBGL_VERSION=2 -sMAX_WEBGL_VERSION=2)
    add_library(qp::imgui ALIAS qp_imgui)
  endif()
else()
  if(QP_BUILD_TESTS)
    find_package(GTest REQUIRED)
    add_library(qp_gtest INTERFACE)
    target_link_libraries(qp_gtest INTERFACE GTest::gtest GTest::gmock)
    add_library(qp::gtest ALIAS qp_gtest)
  endif()

  find_library(QP_PROTOBUF_LITE_LIB NAMES protobuf-lite)
  if(NOT QP_PROTOBUF_LITE_LIB)
    message(FATAL_ERROR "qplay: libprotobuf-lite not found (Debian package libprotobuf-dev).")
  endif()
  add_library(qp_protobuf_lite INTERFACE)
  target_link_libraries(qp_protobuf_lite INTERFACE ${QP_PROTOBUF_LITE_LIB})
  add_library(qp::protobuf_lite ALIAS qp_protobuf_lite)

  if(QP_WITH_XNNPACK)
    find_library(QP_XNNPACK_LIB XNNPACK)
    find_library(QP_PTHREADPOOL_LIB pthreadpool)
    find_path(QP_XNNPACK_INCLUDE xnnpack.h)
    if(NOT QP_XNNPACK_LIB OR NOT QP_PTHREADPOOL_LIB OR NOT QP_XNNPACK_INCLUDE)
      message(FATAL_ERROR "qplay: XNNPACK not found (Debian packages libxnnpack-dev, "
                          "libpthreadpool-dev); or configure with -DQP_WITH_XNNPACK=OFF.")
    endif()
    add_library(qp_xnnpack INTERFACE)
    target_include_directories(qp_xnnpack SYSTEM INTERFACE ${QP_XNNPACK_INCLUDE})
    target_link_libraries(qp_xnnpack INTERFACE ${QP_XNNPACK_LIB} ${QP_PTHREADPOOL_LIB})
    add_library(qp::xnnpack ALIAS qp_xnnpack)
  endif()

  find_package(ZLIB REQUIRED)
  add_library(qp_zlib INTERFACE)
  target_link_libraries(qp_zlib INTERFACE ZLIB::ZLIB)
  add_library(qp::zlib ALIAS qp_zlib)

  if(QP_BUILD_BENCH)
    find_package(benchmark QUIET)
    if(benchmark_FOUND)
      add_library(qp_benchmark INTERFACE)
      target_link_libraries(qp_benchmark INTERFACE benchmark::benchmark)
      add_library(qp::benchmark ALIAS qp_benchmark)
    endif()
  endif()
endif()
