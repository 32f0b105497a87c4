# QAT and analysis tests (included by tests/workflows/CMakeLists.txt).
target_sources(qp_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/qat_test.cc ${CMAKE_CURRENT_LIST_DIR}/qat_lsqplus_test.cc ${CMAKE_CURRENT_LIST_DIR}/qat_results_test.cc ${CMAKE_CURRENT_LIST_DIR}/analysis_test.cc)
