# The man pages, made by the binary itself from the text of its help:
#   cmake -DVC=vhost-conform -DDIR=out [-DGZIP=gzip] -P man_pages.cmake
# DIR/vhost-conform.1 and DIR/vhost-conform-COMMAND.1, gzip'd (Debian's
# policy) when GZIP is given.  Stale pages of an older run go first.
file(GLOB old "${DIR}/*.1" "${DIR}/*.1.gz")
if(old)
  file(REMOVE ${old})
endif()
file(MAKE_DIRECTORY "${DIR}")
execute_process(COMMAND "${VC}" help --man-dir "${DIR}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "vhost-conform help --man-dir failed (${rc})")
endif()
if(GZIP)
  file(GLOB pages "${DIR}/*.1")
  execute_process(COMMAND "${GZIP}" -9nf ${pages} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip of the man pages failed (${rc})")
  endif()
endif()
