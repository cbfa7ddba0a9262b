# Warnings are errors for the project's own targets; third-party headers come from
# /usr/include and are treated as system headers by the compiler.
add_library(rightsize_warnings INTERFACE)
target_compile_options(rightsize_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wformat=2 -Wmissing-declarations
  # g++ 12 warns on designated initializers that rely on default member
  # initializers (GCC bug 96868); those are idiomatic here.
  -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # rapidjson 1.1.0 (Debian's) declares GenericMemberIterator's comparisons so
  # that clang, in C++20, finds `it != object.MemberEnd()` on a non-const
  # object ambiguous with its rewritten form (g++ does not warn). Those
  # comparisons are correct, and idiomatic with rapidjson.
  target_compile_options(rightsize_warnings INTERFACE -Wno-ambiguous-reversed-operator)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 at -O3 (CMAKE_BUILD_TYPE=Release) raises a false -Wrestrict inside
  # libstdc++'s std::string operator+ (GCC bug 105329): without this a Release
  # build fails on code that is correct.
  target_compile_options(rightsize_warnings INTERFACE -Wno-restrict)
  # Under -fsanitize=address g++ 12 raises -Wmaybe-uninitialized inside
  # libstdc++'s own std::regex compiler (_Compiler::_M_assertion's _StateT
  # temporaries), in every file that builds a std::regex; GCC documents that
  # sanitizers make this warning's false positives likelier. The plain and
  # ThreadSanitizer builds keep it an error.
  if(RIGHTSIZE_ASAN)
    target_compile_options(rightsize_warnings INTERFACE -Wno-maybe-uninitialized)
  endif()
  # A unity build (CMAKE_UNITY_BUILD: CI's sanitizer builds) compiles sources
  # #included into one file, and g++ then takes every type of an unnamed
  # namespace that a lambda or class captures for one declared in a header
  # (-Wsubobject-linkage): each is still used in one source only.
  if(CMAKE_UNITY_BUILD)
    target_compile_options(rightsize_warnings INTERFACE -Wno-subobject-linkage)
  endif()
endif()
