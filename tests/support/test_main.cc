#include <gtest/gtest.h>

#include "rightsize/core/http.h"

int main(int argc, char** argv) {
  rightsize::initHttpLibraries();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
