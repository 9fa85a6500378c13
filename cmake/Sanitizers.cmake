# TVMAZE_SANITIZE=ON: ASan + UBSan for every target (tests pass under it).
if(TVMAZE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
