# A picky warning set for project code (never for generated code).
# tvmaze_warnings(target) applies it; TVMAZE_WERROR turns warnings into errors.
set(TVMAZE_WARNING_FLAGS
  -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes
  -Wmissing-prototypes -Wold-style-definition -Wpointer-arith -Wcast-align
  -Wwrite-strings -Wundef -Wvla -Wnull-dereference -Wdouble-promotion
  -Wno-unused-parameter)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND TVMAZE_WARNING_FLAGS -Wno-format-truncation)
endif()
if(TVMAZE_WERROR)
  list(APPEND TVMAZE_WARNING_FLAGS -Werror)
endif()

function(tvmaze_warnings target)
  target_compile_options(${target} PRIVATE ${TVMAZE_WARNING_FLAGS})
endfunction()
