# Builds a target that must not compile, and checks that the compiler's first
# error is the one expected (jobrt's own static_assert, not an error from deep
# inside a library it uses).
#
#   cmake -DBUILD_DIR=<dir> -DTARGET=<target> -DEXPECTED=<text> -P expect_compile_error.cmake
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc STREQUAL "0")
  message(FATAL_ERROR "${TARGET} compiled, but must not:\n${out}")
endif()
string(FIND "${out}" "error:" at)
if(at EQUAL -1)
  message(FATAL_ERROR "building ${TARGET} failed without a compiler error:\n${out}")
endif()
string(SUBSTRING "${out}" ${at} -1 first_error)
string(FIND "${first_error}" "\n" eol)
string(SUBSTRING "${first_error}" 0 ${eol} first_error)
string(FIND "${first_error}" "${EXPECTED}" found)
if(found EQUAL -1)
  message(FATAL_ERROR "the first error building ${TARGET} is not '${EXPECTED}' but\n"
                      "${first_error}\nfull output:\n${out}")
endif()
message("first error building ${TARGET}, as expected: ${first_error}")
