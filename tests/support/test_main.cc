#include <gtest/gtest.h>

#include <csignal>

#include "rightsize/core/http.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  rightsize::initHttpLibraries();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
