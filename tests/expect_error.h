// expect_error.h — the one "this must throw a spot::Error that says X" check the test files share.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/check.h"

namespace spot::test {

// Runs f, which must throw spot::Error whose message contains every one of `parts`.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected a spot::Error containing '" << parts.front() << "', nothing was thrown";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

// The same with one needle. S is deduced, so a braced list of several never lands here.
template <class F, class S, class = std::enable_if_t<std::is_convertible_v<const S&, std::string>>>
void expect_error(F&& f, const S& needle) {
  expect_error(std::forward<F>(f), std::vector<std::string>{std::string(needle)});
}

}  // namespace spot::test
