# QAT and analysis sources of qp_workflows (included by core/workflows/CMakeLists.txt).
target_sources(qp_workflows PRIVATE ${CMAKE_CURRENT_LIST_DIR}/qat.cc ${CMAKE_CURRENT_LIST_DIR}/analysis.cc)
