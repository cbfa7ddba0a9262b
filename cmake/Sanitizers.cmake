if(RIGHTSIZE_ASAN AND RIGHTSIZE_TSAN)
  message(FATAL_ERROR "RIGHTSIZE_ASAN and RIGHTSIZE_TSAN cannot be combined")
endif()
if(RIGHTSIZE_FUZZ AND RIGHTSIZE_TSAN)
  message(FATAL_ERROR "RIGHTSIZE_FUZZ and RIGHTSIZE_TSAN cannot be combined")
endif()
if(RIGHTSIZE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RIGHTSIZE_FUZZ needs clang (libFuzzer), but the C++ compiler is "
                        "${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER}: configure a new build directory with "
                        "CC=clang CXX=clang++ (scripts/fuzz does)")
  endif()
  # Every library gets libFuzzer's coverage instrumentation and ASan+UBSan;
  # only the targets under fuzz/ link libFuzzer itself (-fsanitize=fuzzer).
  # _GLIBCXX_ASSERTIONS makes an out-of-range operator[] on a standard
  # container abort, which ASan misses within a vector's capacity.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer
                      -fsanitize-ignorelist=${PROJECT_SOURCE_DIR}/fuzz/ubsan_ignorelist.txt)
  add_compile_definitions(_GLIBCXX_ASSERTIONS)
  add_link_options(-fsanitize=address,undefined)
elseif(RIGHTSIZE_ASAN)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(RIGHTSIZE_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
# The ASan and TSan builds compile at -O1 with line tables, after the build
# type's flags (the last -O and -g win): the sanitizers' documented setting,
# and all their reports need (file:line in every frame). Half the compile
# time of RelWithDebInfo's -O2 -g (g++ 12, measured 2026-12-06: cli/main.cc
# 47 s -> 23 s under ASan, tests/sizing/redis_store_test.cc 56 s -> 25 s,
# under TSan 20 s -> 11 s), which is most of CI's time.
if(RIGHTSIZE_ASAN OR RIGHTSIZE_TSAN)
  add_compile_options(-O1 -g1)
endif()
