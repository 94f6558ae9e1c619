// The fixture most suites need: a loop of their own, made fresh for each test, so that nothing a
// test leaves queued, listening or lingering can reach the next one. A suite names it after its
// behaviour (`using HalfClose = LoopFixture;`) or derives from it to add peers and helpers; the
// loop is a base, so it outlives every member a derived fixture adds, as it must.
#pragma once

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace test {

class LoopFixture : public ::testing::Test {
 protected:
  ts::EventLoop loop;
};

}  // namespace test
