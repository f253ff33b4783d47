// boost_json_src.cpp — Boost.JSON compiled into the fuzzer from its sources (instead of linking the
// prebuilt libboost_json), so that the parser is instrumented too: coverage feedback from inside
// the JSON parser lets libFuzzer learn the header's syntax.
#include <boost/json/src.hpp>
