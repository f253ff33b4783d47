// t5_postprocess.cpp — T5's STS-B target rounding and postprocessors (string_to_float,
// wsc_simple), as declared under "T5 helpers" in eval/tasks.h.
#include <algorithm>
#include <cctype>
#include <cfenv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "eval/tasks.h"
#include "eval/text.h"

namespace spot::eval {

std::string stsb_target(double score) {
  // float32 throughout, as TF computes it: label * 5 rounded half to even, divided by 5.
  const float label = static_cast<float>(score);
  const float scaled = label * 5.0f;
  const int old_mode = std::fegetround();
  std::fesetround(FE_TONEAREST);
  const float rounded = std::nearbyint(scaled);
  std::fesetround(old_mode);
  const float value = rounded / 5.0f;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(value));
  return buf;
}

double t5_string_to_float(const std::string& s) {
  // Python float(): surrounding whitespace allowed, underscores only between digits, no hex.
  std::string t = text::strip(s);
  if (t.empty()) return -1.0;
  std::string digits;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '_') {
      const bool ok = i > 0 && i + 1 < t.size() && std::isdigit(static_cast<unsigned char>(t[i - 1])) &&
                      std::isdigit(static_cast<unsigned char>(t[i + 1]));
      if (!ok) return -1.0;
      continue;
    }
    if (c == 'x' || c == 'X' || c == 'p' || c == 'P') return -1.0;
    digits += c;
  }
  char* end = nullptr;
  const double v = std::strtod(digits.c_str(), &end);
  if (end == digits.c_str() || *end != '\0') return -1.0;
  return v;
}

int wsc_simple_postprocess(const std::string& prediction, const std::string& referent) {
  static const std::set<std::string> determiners = {"a",    "an",   "few",   "her",   "his",  "each", "every",
                                                    "many", "much", "my",    "our",   "some", "that", "the",
                                                    "their", "these", "this", "those", "which", "whose", "your"};
  auto clean_ = [](const std::string& s) {
    const std::string t = text::lower(text::strip(s));
    std::vector<std::string> kept;
    for (const auto& w : text::split_on(t, ' '))
      if (!determiners.count(w)) kept.push_back(w);
    return text::join(kept, " ");
  };
  const std::string p = clean_(prediction);
  if (p.empty()) return -1;  // an empty prediction must not match a False label by accident
  const std::string r = clean_(referent);
  if ((p.find('\'') != std::string::npos) != (r.find('\'') != std::string::npos)) return 0;
  const std::vector<std::string> pw = text::split_on(p, ' '), rw = text::split_on(r, ' ');
  const std::set<std::string> ps(pw.begin(), pw.end()), rs(rw.begin(), rw.end());
  const bool p_in_r = std::includes(rs.begin(), rs.end(), ps.begin(), ps.end());
  const bool r_in_p = std::includes(ps.begin(), ps.end(), rs.begin(), rs.end());
  return (p_in_r || r_in_p) ? 1 : 0;
}

}  // namespace spot::eval
