// test_optimizer.cpp — Adafactor and Adam(W) against HF transformers / PyTorch trajectories
// (tests/golden/optim/optim.json from tests/golden/gen_optim_goldens.py), state round trips, schedules.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "train/optimizer.h"

namespace spot {
namespace {

boost::json::value load_goldens() {
  std::ifstream f(std::string(SPOT_SOURCE_DIR) + "/tests/golden/optim/optim.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return boost::json::parse(ss.str());
}

Tensor from_list(const boost::json::array& a, const Shape& shape) {
  std::vector<float> v;
  for (const auto& x : a) v.push_back(static_cast<float>(x.to_number<double>()));
  return Tensor::from_floats(v, shape);
}

std::unique_ptr<Optimizer> make_for(const std::string& name) {
  AdafactorOptions paper;
  if (name == "adafactor_paper_2d" || name == "adafactor_paper_1d" || name == "adafactor_lr_schedule")
    return make_adafactor(paper);
  if (name == "adafactor_beta1_scaled") {
    paper.beta1 = 0.9;
    paper.scale_parameter = true;
    return make_adafactor(paper);
  }
  if (name == "adam") return make_adam();
  if (name == "adamw") return make_adam(AdamOptions{0.9, 0.999, 1e-8, 0.01});
  return nullptr;
}

TEST(Optimizer, MatchesPyTorchTrajectories) {
  const auto root = load_goldens();
  int checked = 0;
  for (const auto& cv : root.at("cases").as_array()) {
    const auto& c = cv.as_object();
    const std::string name(c.at("name").as_string());
    Shape shape;
    for (const auto& d : c.at("shape").as_array()) shape.push_back(d.as_int64());
    auto opt = make_for(name);
    ASSERT_TRUE(opt) << name;
    const double base_lr = name.rfind("adam", 0) == 0 ? 1e-2 : 0.3;
    Tensor p = from_list(c.at("init").as_array(), shape);
    const auto& grads = c.at("grads").as_array();
    const auto& params = c.at("params").as_array();
    for (size_t s = 0; s < grads.size(); ++s) {
      const double lr = c.at("lrs").is_null() ? base_lr : c.at("lrs").as_array()[s].to_number<double>();
      opt->step(p, from_list(grads[s].as_array(), shape), lr);
      const Tensor want = from_list(params[s].as_array(), shape);
      for (int64_t i = 0; i < p.numel(); ++i)
        ASSERT_NEAR(p.f32()[i], want.f32()[i], 2e-6 * std::max(1.0f, std::fabs(want.f32()[i])))
            << name << " step " << s + 1 << " element " << i;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(Optimizer, StateRoundTripIsBitExact) {
  for (const char* name : {"adafactor", "adam"}) {
    auto a = make_optimizer(name), b = make_optimizer(name);
    Tensor p = Tensor::from_floats({0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f}, {2, 3});
    Tensor g = Tensor::from_floats({0.01f, 0.02f, -0.03f, 0.04f, 0.05f, 0.06f}, {2, 3});
    a->step(p, g, 0.1);
    a->step(p, g, 0.1);
    Tensor q = p.clone();
    b->load_state(a->state());
    a->step(p, g, 0.1);
    b->step(q, g, 0.1);
    EXPECT_EQ(std::memcmp(p.raw(), q.raw(), p.nbytes()), 0) << name;
    EXPECT_EQ(b->steps_taken(), 3);
  }
  EXPECT_THROW(make_optimizer("sgd"), Error);
}

TEST(Schedule, Shapes) {
  EXPECT_DOUBLE_EQ((Schedule{"constant", 0.3, 0, 0}).at(7), 0.3);
  EXPECT_DOUBLE_EQ((Schedule{"warmup_constant", 0.3, 10, 0}).at(4), 0.3 * 5 / 10);
  EXPECT_DOUBLE_EQ((Schedule{"warmup_constant", 0.3, 10, 0}).at(20), 0.3);
  EXPECT_DOUBLE_EQ((Schedule{"warmup_linear", 1.0, 10, 110}).at(60), 0.5);
  EXPECT_DOUBLE_EQ((Schedule{"warmup_linear", 1.0, 10, 110}).at(200), 0.0);
  EXPECT_THROW((Schedule{"cosine", 1.0, 0, 0}).at(1), Error);
}

}  // namespace
}  // namespace spot
