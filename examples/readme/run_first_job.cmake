# Runs the README's first example as a user would, twice, in a new empty
# directory: the first run creates its store there, the second opens it again.
# Each run must exit 0 once its job completed, with the job's status changes and
# its progress printed as distinct lines.
#
#   cmake -DPROGRAM=<jobrt-first-job> -DWORK_DIR=<dir> -P run_first_job.cmake
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
foreach(run first second)
  execute_process(COMMAND "${PROGRAM}" WORKING_DIRECTORY "${WORK_DIR}" TIMEOUT 120
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${run} run, exit ${rc}:\n${out}${err}")
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "the ${run} run failed (exit ${rc})")
  endif()
  foreach(line "job [0-9]+ is queued\n" "job [0-9]+ is paused\n" "job [0-9]+ is running\n"
               "job [0-9]+: +[0-9]+% adding\n" "job [0-9]+ is completed\n"
               "total: 20000100000\n")
    if(NOT out MATCHES "${line}")
      message(FATAL_ERROR "the ${run} run printed no line matching '${line}'")
    endif()
  endforeach()
  if(NOT IS_DIRECTORY "${WORK_DIR}/jobrt-data")
    message(FATAL_ERROR "the ${run} run left no store in ${WORK_DIR}/jobrt-data")
  endif()
endforeach()
